"""The image decoder turns untrusted bytes into an RGB first frame, or a precise error.

Every input is generated here with Pillow; no binary fixture is stored.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFile

from gallery_core.errors import GalleryError, ImageDecodeError
from gallery_core.imaging import (
    BACKGROUND_RGB,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_TRAILING_PADDING,
    DecodedImage,
    ImageFormat,
    decode_image,
    decode_image_sandboxed,
    sniff_format,
    to_model_input,
    to_rgb,
)
from gallery_core.media import make_thumbnail
from gallery_core.reasons import Reason

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


# ------------------------------------------------------------------------ helpers


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def noise(size: tuple[int, int] = (64, 64), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def halves(size: tuple[int, int], left: tuple[int, ...], right: tuple[int, ...]) -> Image.Image:
    """An image whose left half is ``left`` and right half ``right`` (mode from tuple length)."""
    mode = "RGBA" if len(left) == 4 else "RGB"
    img = Image.new(mode, size, left)
    img.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return img


def frames(size: tuple[int, int] = (32, 24)) -> list[Image.Image]:
    return [Image.new("RGB", size, colour) for colour in (RED, GREEN, BLUE)]


def patch_png_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR width/height (and its CRC) of a PNG, leaving the pixel data alone."""
    ihdr = bytearray(data[8:33])  # length(4) type(4) data(13) crc(4)
    assert ihdr[4:8] == b"IHDR"
    struct.pack_into(">II", ihdr, 8, width, height)
    struct.pack_into(">I", ihdr, 21, zlib.crc32(bytes(ihdr[4:21])))
    return data[:8] + bytes(ihdr) + data[33:]


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.txt", "not an image " * 100)
    return buf.getvalue()


def reason_of(data: bytes, **limits: int) -> Reason:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, **limits)
    return info.value.reason


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tol: int = 0) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def centre(img: Image.Image) -> tuple[int, ...]:
    pixel = img.getpixel((img.width // 2, img.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


# ---------------------------------------------------------------- formats, frames

LOSSLESS = {"PNG", "GIF", "TIFF", "BMP"}


@pytest.mark.parametrize(
    ("pil_format", "expected", "params"),
    [
        ("PNG", ImageFormat.PNG, {}),
        ("JPEG", ImageFormat.JPEG, {"quality": 95}),
        ("GIF", ImageFormat.GIF, {}),
        ("WEBP", ImageFormat.WEBP, {"quality": 95}),
        ("TIFF", ImageFormat.TIFF, {"compression": "tiff_deflate"}),
        ("BMP", ImageFormat.BMP, {}),
    ],
)
def test_every_allowed_format_decodes_to_an_rgb_image_of_its_size(
    pil_format: str, expected: ImageFormat, params: dict[str, Any]
) -> None:
    data = encode(Image.new("RGB", (48, 32), (200, 40, 10)), pil_format, **params)

    assert sniff_format(data) is expected
    decoded = decode_image(data)

    assert isinstance(decoded, DecodedImage)
    assert decoded.format is expected
    assert (decoded.width, decoded.height) == (48, 32)
    assert decoded.rgb.mode == "RGB"
    assert decoded.rgb.size == (48, 32)
    assert decoded.n_frames == 1
    assert decoded.exif_transposed is False
    assert type(decoded.rgb) is Image.Image  # detached from the file object
    assert decoded.rgb.info == {}
    tol = 0 if pil_format in LOSSLESS else 6
    assert close_to(centre(decoded.rgb), (200, 40, 10), tol)


@pytest.mark.parametrize(
    ("pil_format", "params"),
    [
        ("GIF", {"duration": 100, "loop": 0}),
        ("PNG", {"duration": 100}),  # APNG
        ("WEBP", {"duration": 100, "lossless": True}),
        ("TIFF", {}),  # multi-page
    ],
)
def test_animations_and_multi_page_files_give_the_first_frame_and_count_all(
    pil_format: str, params: dict[str, Any]
) -> None:
    first, *rest = frames()
    data = encode(first, pil_format, save_all=True, append_images=rest, **params)

    decoded = decode_image(data)

    assert decoded.n_frames == 3
    assert decoded.rgb.size == (32, 24)
    assert close_to(centre(decoded.rgb), RED, 2)


def test_a_multi_picture_jpeg_is_accepted_and_not_taken_for_a_polyglot() -> None:
    first, second, _ = frames()
    data = encode(first, "MPO", save_all=True, append_images=[second])

    decoded = decode_image(data)

    assert decoded.format is ImageFormat.JPEG
    assert decoded.n_frames == 2
    assert close_to(centre(decoded.rgb), RED, 6)


@pytest.mark.parametrize(
    "params",
    [{"progressive": True}, {"restart_marker_blocks": 1}, {"optimize": True, "subsampling": 0}],
)
def test_progressive_and_restart_marker_jpegs_are_not_taken_for_polyglots(
    params: dict[str, Any],
) -> None:
    data = encode(noise(), "JPEG", **params)

    assert decode_image(data).rgb.size == (64, 64)


def test_end_of_image_bytes_inside_a_jpeg_comment_do_not_end_the_stream() -> None:
    data = encode(noise(), "JPEG", comment=b"fake end \xff\xd9 and more text")

    assert decode_image(data).rgb.size == (64, 64)


def test_sniffing_uses_magic_bytes_only() -> None:
    assert sniff_format(b"\xff\xd8\xff\xe0rest") is ImageFormat.JPEG
    assert sniff_format(b"\x89PNG\r\n\x1a\n") is ImageFormat.PNG
    assert sniff_format(b"GIF87a") is ImageFormat.GIF
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") is ImageFormat.WEBP
    assert sniff_format(b"II*\x00") is ImageFormat.TIFF
    assert sniff_format(b"MM\x00*") is ImageFormat.TIFF
    assert sniff_format(encode(Image.new("RGB", (2, 2)), "BMP")) is ImageFormat.BMP
    assert sniff_format(b"BMW is a car maker, this is text") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_format(b"%PDF-1.7") is None
    assert sniff_format(b"") is None


def test_image_formats_are_lower_case_strings_with_mime_types() -> None:
    assert ImageFormat.JPEG == "jpeg"
    assert ImageFormat.WEBP.mime_type == "image/webp"
    assert ImageFormat.TIFF.pil_format == "TIFF"


# ------------------------------------------------------------------------- modes


def _palette(colour: tuple[int, int, int], transparent: bool) -> bytes:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([*colour, 0, 0, 0])
    return encode(img, "PNG", **({"transparency": 0} if transparent else {}))


def _gif_with_transparency() -> bytes:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([*RED, 0, 0, 0])
    return encode(img, "GIF", transparency=0)


MODE_CASES: list[tuple[str, Callable[[], bytes], tuple[int, int, int]]] = [
    ("1", lambda: encode(Image.new("1", (16, 16), 1), "PNG"), (255, 255, 255)),
    ("L", lambda: encode(Image.new("L", (16, 16), 100), "PNG"), (100, 100, 100)),
    ("LA", lambda: encode(Image.new("LA", (16, 16), (100, 255)), "PNG"), (100, 100, 100)),
    ("P", lambda: _palette((10, 20, 30), transparent=False), (10, 20, 30)),
    ("P", lambda: _palette((10, 20, 30), transparent=True), BACKGROUND_RGB),
    ("P", _gif_with_transparency, BACKGROUND_RGB),
    ("RGBA", lambda: encode(Image.new("RGBA", (16, 16), (10, 20, 30, 255)), "PNG"), (10, 20, 30)),
    ("CMYK", lambda: encode(Image.new("CMYK", (16, 16), (0, 255, 0, 0)), "TIFF"), (255, 0, 255)),
    ("CMYK", lambda: encode(Image.new("CMYK", (16, 16), (0, 0, 0, 0)), "JPEG"), (255, 255, 255)),
    ("I;16", lambda: encode(Image.new("I;16", (16, 16), 40000), "PNG"), (156, 156, 156)),
    ("I;16", lambda: encode(Image.new("I;16", (16, 16), 65535), "TIFF"), (255, 255, 255)),
    ("I", lambda: encode(Image.new("I", (16, 16), 40000), "TIFF"), (156, 156, 156)),
    ("I", lambda: encode(Image.new("I", (16, 16), 200), "TIFF"), (200, 200, 200)),
    ("F", lambda: encode(Image.new("F", (16, 16), 0.5), "TIFF"), (128, 128, 128)),
    ("F", lambda: encode(Image.new("F", (16, 16), 99.0), "TIFF"), (99, 99, 99)),
]


@pytest.mark.parametrize(("source_mode", "make", "expected"), MODE_CASES)
def test_every_pixel_mode_in_a_file_becomes_rgb_with_the_right_colour(
    source_mode: str, make: Callable[[], bytes], expected: tuple[int, int, int]
) -> None:
    data = make()
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.mode == source_mode  # the case tests what it says it tests

    decoded = decode_image(data)

    assert decoded.rgb.mode == "RGB"
    tol = 2 if data.startswith(b"\xff\xd8") else 0
    assert close_to(centre(decoded.rgb), expected, tol)


def test_a_ycbcr_tiff_decodes_to_rgb() -> None:
    source = Image.new("YCbCr", (16, 16), (100, 120, 130))
    data = encode(source, "TIFF", compression="tiff_deflate")

    decoded = decode_image(data)

    assert decoded.rgb.mode == "RGB"
    assert close_to(centre(decoded.rgb), centre(source.convert("RGB")), 3)


@pytest.mark.parametrize(
    "mode",
    ["1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"]
    + ["I;16", "I;16B", "I;16L", "I", "F"],
)
def test_to_rgb_accepts_every_pillow_mode(mode: str) -> None:
    out = to_rgb(Image.new(mode, (5, 3)))

    assert out.mode == "RGB"
    assert out.size == (5, 3)


def test_transparent_pixels_are_composited_over_the_background_colour() -> None:
    img = halves((40, 20), (255, 0, 0, 0), (0, 0, 255, 255))  # invisible red | opaque blue
    img.putpixel((30, 10), (0, 0, 0, 128))  # half-transparent black

    rgb = decode_image(encode(img, "PNG")).rgb

    assert rgb.getpixel((5, 10)) == BACKGROUND_RGB
    assert rgb.getpixel((35, 10)) == BLUE
    half = tuple(round(c * 127 / 255) for c in BACKGROUND_RGB)
    assert close_to(rgb.getpixel((30, 10)), half, 1)  # type: ignore[arg-type]


def test_sixteen_bit_grey_with_a_transparent_value_uses_the_background() -> None:
    values = np.zeros((16, 16), dtype=np.uint16)
    values[:, 8:] = 50000
    data = encode(Image.fromarray(values), "PNG", transparency=0)

    rgb = decode_image(data).rgb

    assert rgb.getpixel((2, 2)) == BACKGROUND_RGB
    assert rgb.getpixel((12, 2)) == (195, 195, 195)


# -------------------------------------------------------------------------- EXIF


@pytest.mark.parametrize(
    ("orientation", "upright_transpose"),
    [(6, Image.Transpose.ROTATE_270), (8, Image.Transpose.ROTATE_90)],
)
def test_exif_orientation_is_applied_so_the_image_is_upright(
    orientation: int, upright_transpose: Image.Transpose
) -> None:
    stored = halves((80, 40), RED, BLUE)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    upright = stored.transpose(upright_transpose)

    decoded = decode_image(data)

    assert decoded.exif_transposed is True
    assert decoded.rgb.size == upright.size == (40, 80)
    assert (decoded.width, decoded.height) == (80, 40)  # as stored in the file
    for xy in [(20, 10), (20, 70)]:
        expected = upright.getpixel(xy)
        assert isinstance(expected, tuple)
        assert close_to(decoded.rgb.getpixel(xy), expected, 8)  # type: ignore[arg-type]


# ----------------------------------------------------------------- rejected input


def test_zero_bytes_are_rejected_as_empty() -> None:
    assert reason_of(b"") is Reason.EMPTY


def test_more_bytes_than_the_limit_are_rejected_before_anything_else() -> None:
    png = encode(noise(), "PNG")
    assert reason_of(png, max_bytes=len(png) - 1) is Reason.TOO_LARGE
    assert decode_image(png, max_bytes=len(png)).rgb.size == (64, 64)
    assert reason_of(bytes(MAX_IMAGE_BYTES + 1)) is Reason.TOO_LARGE


def test_a_text_file_named_jpg_is_an_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "painting.jpg"
    path.write_text("Mona Lisa, Leonardo da Vinci, c. 1503\n")

    assert reason_of(path.read_bytes()) is Reason.UNSUPPORTED_FORMAT


def test_a_pdf_is_an_unsupported_format_and_the_detail_says_so() -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")

    assert info.value.reason is Reason.UNSUPPORTED_FORMAT
    assert "PDF" in info.value.detail


@pytest.mark.parametrize("pil_format", ["PDF", "ICO", "TGA", "PPM", "PCX", "EPS", "SGI"])
def test_formats_outside_the_allowlist_never_reach_pillow(pil_format: str) -> None:
    data = encode(Image.new("RGB", (16, 16), RED), pil_format)

    assert reason_of(data) is Reason.UNSUPPORTED_FORMAT


def test_a_fits_file_is_an_unsupported_format() -> None:
    header = b"SIMPLE  =                    T" + b" " * 50 + b"END" + b" " * 77
    assert reason_of(header.ljust(2880, b" ")) is Reason.UNSUPPORTED_FORMAT


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG"])
def test_a_file_cut_at_sixty_percent_is_truncated(pil_format: str) -> None:
    data = encode(noise((96, 96)), pil_format)

    assert reason_of(data[: int(len(data) * 0.6)]) is Reason.TRUNCATED


def test_a_jpeg_without_its_end_marker_is_truncated() -> None:
    data = encode(noise(), "JPEG")
    assert data.endswith(b"\xff\xd9")

    assert reason_of(data[:-2]) is Reason.TRUNCATED
    assert reason_of(data[:-2] + b"\x00" * 64) is Reason.TRUNCATED


def test_a_webp_shorter_than_its_riff_header_says_is_truncated() -> None:
    data = encode(noise(), "WEBP")

    assert reason_of(data[:-10]) is Reason.TRUNCATED


def test_a_file_of_filler_bytes_after_the_signature_is_rejected_quickly() -> None:
    filler = b"\xff\xd8" + b"\xff" * (4 * 1024 * 1024)

    assert reason_of(filler) is Reason.TRUNCATED


def test_a_png_without_iend_or_a_gif_without_trailer_still_decodes() -> None:
    png = encode(noise((16, 16)), "PNG")
    gif = encode(noise((16, 16)), "GIF")
    assert png.endswith(b"IEND\xaeB`\x82") and gif.endswith(b";")

    assert decode_image(png[:-12]).rgb.size == (16, 16)
    assert decode_image(gif[:-1]).rgb.size == (16, 16)


def test_a_png_signature_followed_by_garbage_is_corrupt() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0d" + b"\x01\x02\x03\x04" * 40

    assert reason_of(data) is Reason.CORRUPT


def test_a_damaged_jpeg_body_is_corrupt_or_truncated_never_a_pillow_error() -> None:
    data = bytearray(encode(noise(), "JPEG"))
    data[6:60] = b"\x00" * 54  # keep the signature, wreck the first segments

    assert reason_of(bytes(data)) in {Reason.CORRUPT, Reason.TRUNCATED}


# ---------------------------------------------------------------------- polyglots


def test_a_png_with_a_zip_appended_is_a_polyglot() -> None:
    png = encode(noise(), "PNG")
    polyglot = png + zip_bytes()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))  # really both

    assert reason_of(polyglot) is Reason.POLYGLOT


def test_a_png_whose_iend_is_replaced_by_a_zip_is_a_polyglot() -> None:
    png = encode(noise(), "PNG")
    assert png.endswith(b"IEND\xaeB`\x82")

    assert reason_of(png[:-12] + zip_bytes()) is Reason.POLYGLOT


def test_data_after_the_end_of_a_jpeg_is_a_polyglot() -> None:
    jpeg = encode(noise(), "JPEG")

    assert reason_of(jpeg + b"<script>alert(1)</script>") is Reason.POLYGLOT
    assert reason_of(jpeg + zip_bytes()) is Reason.POLYGLOT


def test_a_jpeg_appended_to_a_jpeg_without_a_multi_picture_index_is_a_polyglot() -> None:
    jpeg = encode(noise(), "JPEG")

    assert reason_of(jpeg + jpeg) is Reason.POLYGLOT


def test_a_gif_with_a_zip_appended_is_a_polyglot() -> None:
    gif = encode(Image.new("P", (16, 16), 1), "GIF")

    assert reason_of(gif + zip_bytes()) is Reason.POLYGLOT


def test_a_webp_with_data_after_its_riff_chunk_is_a_polyglot() -> None:
    webp = encode(noise(), "WEBP")

    assert reason_of(webp + b"PK\x03\x04 trailing") is Reason.POLYGLOT


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_a_little_zero_padding_after_the_image_is_tolerated(pil_format: str) -> None:
    data = encode(noise((16, 16)), pil_format)

    assert decode_image(data + b"\x00" * 7).rgb.size == (16, 16)
    assert decode_image(data + b"\x00" * MAX_TRAILING_PADDING).rgb.size == (16, 16)
    assert reason_of(data + b"\x00" * (MAX_TRAILING_PADDING + 1)) is Reason.POLYGLOT


# ------------------------------------------------------------------ bombs, sizes


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20000, 20000),  # past 2x Pillow's limit: DecompressionBombError
        (10000, 10000),  # past Pillow's limit: DecompressionBombWarning, made an error
        (8200, 8000),  # under Pillow's limit, over ours
    ],
)
def test_a_small_file_declaring_huge_dimensions_is_rejected_before_decoding(
    width: int, height: int
) -> None:
    bomb = patch_png_size(encode(Image.new("1", (64, 64)), "PNG"), width, height)
    assert len(bomb) < 1000
    assert width * height > MAX_IMAGE_PIXELS

    assert reason_of(bomb) is Reason.TOO_MANY_PIXELS


def test_a_real_compressed_bomb_is_rejected_without_loading_its_pixels() -> None:
    bomb = encode(Image.new("1", (9000, 9000)), "PNG")
    assert len(bomb) < 50_000

    assert reason_of(bomb) is Reason.TOO_MANY_PIXELS
    assert reason_of(encode(noise((20, 20)), "PNG"), max_pixels=399) is (Reason.TOO_MANY_PIXELS)
    assert decode_image(encode(noise((20, 20)), "PNG"), max_pixels=400).rgb.size == (20, 20)


@pytest.mark.parametrize(("width", "height"), [(0, 64), (64, 0), (2**31, 64)])
def test_zero_or_out_of_range_dimensions_are_invalid(width: int, height: int) -> None:
    data = patch_png_size(encode(Image.new("L", (64, 64)), "PNG"), width, height)

    assert reason_of(data) is Reason.INVALID_DIMENSIONS


def test_decoding_leaves_pillow_and_warning_settings_unchanged() -> None:
    filters_before = list(warnings.filters)
    pixels_before = Image.MAX_IMAGE_PIXELS
    bomb = patch_png_size(encode(Image.new("1", (64, 64)), "PNG"), 10000, 10000)

    reason_of(bomb)
    reason_of(encode(noise(), "PNG")[:500])

    assert warnings.filters == filters_before
    assert pixels_before == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"])
def test_damaged_files_raise_only_image_decode_errors(pil_format: str) -> None:
    good = encode(noise((24, 24), seed=1), pil_format)
    rng = np.random.default_rng(42)
    for _ in range(40):
        damaged = bytearray(good)
        for pos in rng.integers(0, len(good), size=int(rng.integers(1, 8))):
            damaged[pos] = int(rng.integers(0, 256))
        cut = int(rng.integers(1, len(good) + 1))
        for candidate in (bytes(damaged), good[:cut]):
            try:
                decoded = decode_image(candidate)
            except ImageDecodeError:
                continue
            assert decoded.rgb.mode == "RGB"


# ------------------------------------------------------------------------ errors


def test_decode_errors_carry_reason_and_detail_and_survive_pickling() -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(b"hello")
    err = info.value

    assert isinstance(err, GalleryError)
    assert str(err).startswith("unsupported_format: ")
    assert err.detail and err.detail in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.reason, clone.detail) == (err.reason, err.detail)
    assert Reason("too_many_pixels") is Reason.TOO_MANY_PIXELS


# ----------------------------------------------------------- model input, thumbnails


@pytest.mark.parametrize("size", [(300, 200), (200, 300), (10, 7), (224, 224)])
def test_model_input_is_a_square_uint8_array(size: tuple[int, int]) -> None:
    decoded = decode_image(encode(noise(size), "PNG"))

    arr = to_model_input(decoded, 224)

    assert arr.shape == (224, 224, 3)
    assert arr.dtype == np.uint8
    assert arr.flags.writeable


def test_model_input_resizes_the_shorter_side_and_crops_the_centre() -> None:
    bands = Image.new("RGB", (300, 100), RED)
    bands.paste(GREEN, (100, 0, 200, 100))
    bands.paste(BLUE, (200, 0, 300, 100))

    arr = to_model_input(bands, 32)

    assert (arr[2:-2, 2:-2] == np.array(GREEN, dtype=np.uint8)).all()


def test_model_input_accepts_a_pil_image_of_any_mode() -> None:
    arr = to_model_input(Image.new("LA", (50, 40), (10, 255)), 16)

    assert arr.shape == (16, 16, 3)
    assert (arr == 10).all()
    with pytest.raises(ValueError):
        to_model_input(Image.new("RGB", (4, 4)), 0)


def test_thumbnails_are_jpeg_by_default_fit_the_box_and_keep_the_aspect() -> None:
    decoded = decode_image(encode(noise((200, 100)), "PNG"))

    thumb = make_thumbnail(decoded, 64)

    assert thumb.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.size == (64, 32)


def test_webp_thumbnails_are_available() -> None:
    thumb = make_thumbnail(noise((100, 200)), 50, output_format=ImageFormat.WEBP)

    assert thumb[:4] == b"RIFF" and thumb[8:12] == b"WEBP"
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.size == (25, 50)


def test_thumbnails_never_enlarge_and_carry_no_metadata() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Artist] = "someone"
    decoded = decode_image(encode(noise((20, 10)), "JPEG", exif=exif))

    thumb = make_thumbnail(decoded, 64)

    with Image.open(io.BytesIO(thumb)) as img:
        assert img.size == (10, 20)
        assert not img.getexif()
    with pytest.raises(ValueError):
        make_thumbnail(decoded, 64, output_format=ImageFormat.PNG)


# ------------------------------------------------------------------------ sandbox

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="resource limits are POSIX")


@posix_only
def test_the_sandbox_returns_the_same_image_as_decoding_in_process() -> None:
    data = encode(noise((40, 30)), "PNG")

    here, there = decode_image(data), decode_image_sandboxed(data, timeout_s=20)

    assert there.format is here.format
    assert (there.width, there.height, there.n_frames) == (here.width, here.height, 1)
    assert there.rgb.tobytes() == here.rgb.tobytes()


@posix_only
def test_the_sandbox_passes_decode_errors_through() -> None:
    data = encode(noise(), "PNG")

    with pytest.raises(ImageDecodeError) as info:
        decode_image_sandboxed(data[: len(data) // 2], timeout_s=20)

    assert info.value.reason is Reason.TRUNCATED


@posix_only
def test_the_sandbox_gives_up_after_its_time_budget() -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_image_sandboxed(encode(noise(), "PNG"), timeout_s=0.001)

    assert info.value.reason is Reason.TIMEOUT


@posix_only
def test_the_sandbox_reports_running_out_of_memory_as_a_resource_limit() -> None:
    big = encode(Image.new("1", (8000, 8000)), "PNG")  # 64 Mpx: 192 MB once RGB

    with pytest.raises(ImageDecodeError) as info:
        decode_image_sandboxed(big, timeout_s=20, memory_bytes=256 * 1024 * 1024)

    assert info.value.reason is Reason.RESOURCE_LIMIT
