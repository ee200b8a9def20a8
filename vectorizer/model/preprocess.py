"""Safe, pure image decoding shared by the folder worker and the API.

Both sides call `decode_image` on untrusted bytes, so a query image goes through
exactly the same pipeline as an indexed one:

1. cheap byte checks: empty input, ``max_bytes``, magic-byte sniffing against an
   allowlist (`ImageFormat`: JPEG, PNG, GIF, WebP, TIFF, BMP; nothing else reaches
   Pillow, and Pillow is told to try only the sniffed format);
2. a pure structural walk of PNG chunks, JPEG markers, GIF blocks and the WebP
   RIFF header that finds where the image stream ends; anything but a little zero
   padding after that end is rejected as a ``polyglot`` (a PNG with a ZIP
   appended, a GIFAR, ...), and a stream that stops inside a chunk, segment or
   block (or a JPEG without its end marker) as ``truncated``. JPEGs may carry
   further JPEG images after the first one only if they declare them in an MPF
   (multi-picture) segment, as cameras do. TIFF and BMP are not checked (their
   layout is offset based). This check is a cheap heuristic: data hidden *inside*
   ancillary chunks or segments is not detected, so never serve the original
   bytes, only re-encoded copies (`make_thumbnail`);
3. ``Image.open`` and the ``width * height <= max_pixels`` check, before any
   pixel is decoded (Pillow's own decompression-bomb warning is turned into an
   error for this call only);
4. the first frame is loaded in full (``ImageFile.LOAD_TRUNCATED_IMAGES`` is
   never touched, so a short file is an error), the EXIF orientation is applied,
   and whatever the mode, the result is converted to 8-bit RGB, alpha being
   composited over `BACKGROUND_RGB`.

Every failure is an `ImageDecodeError` with a `DecodeReason`; no Pillow
exception escapes. `decode_image_sandboxed` runs the same function in a
throw-away process with an address-space limit and a time cap.

Thread safety: `decode_image` uses `warnings.catch_warnings`, which on
Python < 3.14 swaps the process-wide warning filters for the duration of the
call. Decoding from several threads at once is still correct (our own pixel
check does not depend on the warning), but a warning raised by another thread
at that moment may be recorded and dropped instead of shown.
"""

from __future__ import annotations

import io
import logging
import math
import multiprocessing
import re
import struct
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from vectorizer.errors import DecodeReason, ImageDecodeError

__all__ = [
    "BACKGROUND_RGB",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_TRAILING_PADDING",
    "MODEL_RESAMPLE",
    "SANDBOX_MEMORY_BYTES",
    "SANDBOX_TIMEOUT_S",
    "THUMBNAIL_QUALITY",
    "DecodeReason",
    "DecodedImage",
    "ImageDecodeError",
    "ImageFormat",
    "decode_image",
    "decode_image_sandboxed",
    "make_thumbnail",
    "sniff_format",
    "to_model_input",
    "to_rgb",
]

log = logging.getLogger(__name__)

MiB: Final = 1024 * 1024

#: Largest accepted file, in bytes (the project's maximum upload / ingest size).
MAX_IMAGE_BYTES: Final = 32 * MiB
#: Largest accepted ``width * height`` of the first frame. Pillow's own guard
#: (``Image.MAX_IMAGE_PIXELS``, about 89.5 million) is also enforced as an error.
MAX_IMAGE_PIXELS: Final = 64_000_000
#: Colour that transparent pixels are composited over.
BACKGROUND_RGB: Final[tuple[int, int, int]] = (255, 255, 255)
#: Zero bytes tolerated after the end of a PNG/JPEG/GIF/WebP stream (alignment
#: padding written by some scanners and cameras). Zeros cannot carry a payload.
MAX_TRAILING_PADDING: Final = 4096
#: Filter used by `to_model_input`. Pillow's bilinear filter is antialiased when
#: downscaling (its support grows with the scale factor), it is what Keras'
#: ``image_dataset_from_directory`` / ``tf.image.resize`` use by default, and it is
#: about twice as fast as LANCZOS. Index and query images both go through this one
#: function, which matters more than the filter itself.
MODEL_RESAMPLE: Final = Image.Resampling.BILINEAR
#: ``reducing_gap`` for `to_model_input`: big photos are first shrunk by an integer
#: factor with a box filter (fast), leaving at least 3x for the real filter, which
#: Pillow documents as indistinguishable from full resampling in most cases.
MODEL_REDUCING_GAP: Final = 3.0
#: JPEG/WebP quality of gallery thumbnails.
THUMBNAIL_QUALITY: Final = 85
#: Defaults of `decode_image_sandboxed`: wall-clock budget (including the start of
#: the worker process) and address-space limit (``RLIMIT_AS``) of the worker.
SANDBOX_TIMEOUT_S: Final = 30.0
SANDBOX_MEMORY_BYTES: Final = 3 * 1024 * MiB


class ImageFormat(StrEnum):
    """The allowlist of input formats, identified by magic bytes (see `sniff_format`)."""

    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"
    WEBP = "webp"
    TIFF = "tiff"
    BMP = "bmp"

    @property
    def pil_format(self) -> str:
        """The Pillow plugin id that may open this format (the only one tried)."""
        return self.name

    @property
    def mime_type(self) -> str:
        return _MIME_TYPES[self]


_MIME_TYPES: Final = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.GIF: "image/gif",
    ImageFormat.WEBP: "image/webp",
    ImageFormat.TIFF: "image/tiff",
    ImageFormat.BMP: "image/bmp",
}


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """A decoded, upright, RGB first frame and facts about the source file.

    ``width`` and ``height`` are the dimensions stored in the file, before the EXIF
    orientation is applied; ``rgb.size`` is the upright size (the two differ by a
    swap when ``exif_transposed`` is true and the orientation is a 90° turn).
    ``rgb`` carries no metadata (its ``info`` is empty).
    """

    rgb: Image.Image
    format: ImageFormat
    width: int
    height: int
    n_frames: int
    exif_transposed: bool


# --------------------------------------------------------------------------- sniffing

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES: Final = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # + is BigTIFF
#: DIB header sizes Pillow's BMP reader understands; checking this keeps "BM..." text out.
_BMP_DIB_HEADER_SIZES: Final = frozenset({12, 40, 52, 56, 64, 108, 124})

#: Signatures of formats we reject on purpose, only to write a clearer error detail.
_KNOWN_REJECTED: Final = (
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"SIMPLE  =", "FITS"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xffO\xffQ", "JPEG 2000"),
    (b"PK\x03\x04", "ZIP"),
    (b"qoif", "QOI"),
    (b"<?xml", "XML/SVG"),
    (b"<svg", "SVG"),
)


def sniff_format(data: bytes) -> ImageFormat | None:
    """The allowed format ``data`` starts with, by magic bytes alone; None otherwise.

    File names and declared content types are never consulted.
    """
    head = bytes(data[:32])
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(_PNG_SIGNATURE):
        return ImageFormat.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[:4] in _TIFF_SIGNATURES:
        return ImageFormat.TIFF
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_DIB_HEADER_SIZES
    ):
        return ImageFormat.BMP
    return None


def _describe_unsupported(data: bytes) -> str:
    head = bytes(data[:32])
    for signature, name in _KNOWN_REJECTED:
        if head.startswith(signature):
            return f"{name} is not an accepted image format"
    if head[4:8] == b"ftyp":
        return "ISO media (HEIF/AVIF/MP4) is not an accepted image format"
    return f"unrecognised file signature {head[:8].hex(' ')}"


# ------------------------------------------------------------------ stream structure

#: Caps on the structural walk, so hostile files cannot make it slow. Real files stay
#: far below them (a 32 MiB PNG written in 8 KiB IDAT chunks has 4,096 chunks; a GIF
#: uses 255-byte sub-blocks, about 130,000 in 32 MiB).
_MAX_PNG_CHUNKS: Final = 100_000
_MAX_JPEG_MARKERS: Final = 10_000
_MAX_GIF_BLOCKS: Final = 1_000_000


def _too_many(what: str, limit: int) -> ImageDecodeError:
    return ImageDecodeError(DecodeReason.CORRUPT, f"more than {limit:,} {what}")


def _ran_out(fmt: str, pos: int) -> ImageDecodeError:
    # Raised without asking Pillow: a stream that stops inside a chunk, segment or
    # block is truncated (or hides something), and Pillow's header parsers are slow
    # on long runs of filler bytes.
    return ImageDecodeError(
        DecodeReason.TRUNCATED, f"the {fmt} data stops inside a block at byte {pos}"
    )


def _scan_png(data: bytes) -> int | None:
    n = len(data)
    pos = len(_PNG_SIGNATURE)
    seen_idat = False
    for _ in range(_MAX_PNG_CHUNKS):
        if pos == n and seen_idat:
            return None  # complete chunks, no IEND: Pillow accepts that, nothing is hidden
        if pos + 12 > n:
            raise _ran_out("PNG", pos)
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if not ctype.isalpha() or length > 0x7FFFFFFF:
            if seen_idat:
                raise ImageDecodeError(
                    DecodeReason.POLYGLOT, f"non-PNG data at byte {pos}, after the image data"
                )
            raise ImageDecodeError(DecodeReason.CORRUPT, f"invalid PNG chunk at byte {pos}")
        end: int = pos + 12 + length
        if end > n:
            raise _ran_out("PNG", pos)
        if pos == len(_PNG_SIGNATURE):
            if ctype != b"IHDR" or length != 13:
                raise ImageDecodeError(DecodeReason.CORRUPT, "PNG does not start with IHDR")
            width, height = struct.unpack_from(">II", data, pos + 8)
            # The PNG spec caps both at 2**31 - 1; larger values are negative to many readers.
            if not (0 < width <= 0x7FFFFFFF and 0 < height <= 0x7FFFFFFF):
                raise ImageDecodeError(
                    DecodeReason.INVALID_DIMENSIONS, f"PNG header declares {width}x{height}"
                )
        if ctype == b"IEND":
            return end
        seen_idat = seen_idat or ctype == b"IDAT"
        pos = end
    raise _too_many("PNG chunks", _MAX_PNG_CHUNKS)


#: In entropy-coded JPEG data, 0xFF is followed by 0x00 (byte stuffing), RST0-7 or
#: more 0xFF fill bytes; anything else is the next marker.
_JPEG_NEXT_MARKER: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_NOT_FILL: Final = re.compile(rb"[^\xff]")
_JPEG_STANDALONE: Final = frozenset({0x00, 0x01, 0xD8, *range(0xD0, 0xD8)})
_JPEG_SOS: Final = 0xDA
_JPEG_EOI: Final = 0xD9
_JPEG_APP2: Final = 0xE2
#: Most images an MPF (multi-picture) JPEG may append after the primary one.
_MAX_MPF_IMAGES: Final = 64


def _scan_jpeg_stream(data: bytes, start: int) -> tuple[int, bool]:
    """Walk one JPEG stream from its SOI at ``start`` to its first EOI, as libjpeg does.

    Returns the offset just past the EOI and whether the stream has an MPF
    (multi-picture) segment. A stream without EOI is truncated: Pillow rejects most
    of them anyway, and the others could hide appended data.
    """
    n = len(data)
    pos = start + 2
    has_mpf = False
    for _ in range(_MAX_JPEG_MARKERS):
        if pos < n and data[pos] != 0xFF:
            # Extraneous bytes between segments: libjpeg skips to the next 0xFF too.
            pos = data.find(b"\xff", pos)
            if pos < 0:
                raise _ran_out("JPEG", n)
        fill_end = _JPEG_NOT_FILL.search(data, pos)
        if fill_end is None:
            raise _ran_out("JPEG", n)
        marker = data[fill_end.start()]
        pos = fill_end.start() + 1
        if marker == _JPEG_EOI:
            return pos, has_mpf
        if marker in _JPEG_STANDALONE:
            continue
        if pos + 2 > n:
            raise _ran_out("JPEG", pos)
        (seglen,) = struct.unpack_from(">H", data, pos)
        if seglen < 2:
            raise ImageDecodeError(
                DecodeReason.CORRUPT, f"JPEG segment 0x{marker:02X} has length {seglen}"
            )
        if pos + seglen > n:
            raise _ran_out("JPEG", pos)
        if marker == _JPEG_APP2 and data[pos + 2 : pos + 6] == b"MPF\x00":
            has_mpf = True
        pos += seglen
        if marker == _JPEG_SOS:
            match = _JPEG_NEXT_MARKER.search(data, pos)
            if match is None:
                raise _ran_out("JPEG", n)
            pos = match.start()
    raise _too_many("JPEG markers", _MAX_JPEG_MARKERS)


def _scan_jpeg(data: bytes) -> int | None:
    end, has_mpf = _scan_jpeg_stream(data, 0)
    if has_mpf:  # further images of a multi-picture file follow the primary one
        for _ in range(_MAX_MPF_IMAGES):
            if not data.startswith(b"\xff\xd8\xff", end):
                break
            end, _has_mpf = _scan_jpeg_stream(data, end)
    return end


def _scan_gif(data: bytes) -> int | None:
    n = len(data)
    if n < 13:
        raise _ran_out("GIF", n)
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    seen_image = False
    budget = _MAX_GIF_BLOCKS
    while budget > 0:
        if pos == n and seen_image:
            return None  # complete blocks, no trailer: common, and nothing is hidden
        if pos >= n:
            raise _ran_out("GIF", pos)
        block = data[pos]
        if block == 0x3B:  # trailer
            return pos + 1
        if block == 0x21:  # extension: introducer, label, sub-blocks
            pos += 2
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size, sub-blocks
            if pos + 10 > n:
                raise _ran_out("GIF", pos)
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            seen_image = True
        elif seen_image:
            raise ImageDecodeError(
                DecodeReason.POLYGLOT, f"non-GIF data at byte {pos}, after the image data"
            )
        else:
            raise ImageDecodeError(DecodeReason.CORRUPT, f"invalid GIF block at byte {pos}")
        while budget > 0:  # data sub-blocks, each at most 255 bytes, ended by an empty one
            budget -= 1
            if pos >= n:
                raise _ran_out("GIF", pos)
            size = data[pos]
            pos += 1 + size
            if size == 0:
                break
    raise _too_many("GIF blocks", _MAX_GIF_BLOCKS)


def _scan_webp(data: bytes) -> int | None:
    if len(data) < 12:
        raise _ran_out("WebP", len(data))
    riff_size = int.from_bytes(data[4:8], "little")
    end = 8 + riff_size
    if riff_size % 2 and len(data) > end:  # RIFF pads odd chunks; some writers omit it
        end += 1
    if end > len(data):
        raise _ran_out("WebP", len(data))
    return end


_SCANNERS: Final = {
    ImageFormat.PNG: _scan_png,
    ImageFormat.JPEG: _scan_jpeg,
    ImageFormat.GIF: _scan_gif,
    ImageFormat.WEBP: _scan_webp,
}


def _check_structure(data: bytes, fmt: ImageFormat) -> None:
    """Walk the container structure; raise if it is cut short or followed by other data.

    Pure, and linear in the number of chunks/segments/blocks (capped).
    """
    scanner = _SCANNERS.get(fmt)
    if scanner is None:
        return
    try:
        end = scanner(data)
    except (IndexError, ValueError, struct.error) as exc:  # a scanner bug must not escape
        raise ImageDecodeError(DecodeReason.CORRUPT, f"unreadable {fmt.name} structure") from exc
    if end is None:
        return
    trailing = len(data) - end
    if trailing and (trailing > MAX_TRAILING_PADDING or data[end:].strip(b"\x00")):
        raise ImageDecodeError(
            DecodeReason.POLYGLOT,
            f"{trailing} bytes of non-image data after the end of the {fmt.name} stream",
        )


# ------------------------------------------------------------------------- decoding


def _check_size(data: bytes, max_bytes: int) -> bytes:
    """The cheap checks every decode starts with: some bytes, and not too many."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data:
        raise ImageDecodeError(DecodeReason.EMPTY, "the image has no bytes")
    if len(data) > max_bytes:
        raise ImageDecodeError(
            DecodeReason.TOO_LARGE, f"{len(data)} bytes is more than the limit of {max_bytes}"
        )
    return data


def decode_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> DecodedImage:
    """Decode untrusted bytes into an upright RGB first frame, or raise `ImageDecodeError`.

    ``max_pixels`` bounds ``width * height`` and is checked before pixel data is
    decoded. Pillow's guard (``Image.MAX_IMAGE_PIXELS``) applies as well, so the
    effective limit is the smaller of the two.
    """
    if max_bytes <= 0 or max_pixels <= 0:
        raise ValueError("max_bytes and max_pixels must be positive")
    data = _check_size(data, max_bytes)
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageDecodeError(DecodeReason.UNSUPPORTED_FORMAT, _describe_unsupported(data))
    _check_structure(data, fmt)
    return _decode_with_pillow(data, fmt, max_pixels=max_pixels)


def _decode_with_pillow(data: bytes, fmt: ImageFormat, *, max_pixels: int) -> DecodedImage:
    with warnings.catch_warnings(record=True) as caught:
        # Record (do not show) Pillow's warnings about odd metadata, but make the
        # decompression-bomb warning an exception. Restored when the block exits.
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            result = _open_and_convert(data, fmt, max_pixels)
        except ImageDecodeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageDecodeError(DecodeReason.TOO_MANY_PIXELS, str(exc)) from exc
        except MemoryError as exc:
            raise ImageDecodeError(
                DecodeReason.RESOURCE_LIMIT, "out of memory while decoding"
            ) from exc
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
            raise _classify_pillow_error(exc, fmt) from exc
    for warning in caught:
        log.debug("decoding %s: %s: %s", fmt.name, warning.category.__name__, warning.message)
    return result


def _open_and_convert(data: bytes, fmt: ImageFormat, max_pixels: int) -> DecodedImage:
    with Image.open(io.BytesIO(data), formats=[fmt.pil_format]) as img:
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageDecodeError(
                DecodeReason.INVALID_DIMENSIONS, f"{fmt.name} declares {width}x{height}"
            )
        if width * height > max_pixels:
            raise ImageDecodeError(
                DecodeReason.TOO_MANY_PIXELS,
                f"{width}x{height} = {width * height} pixels is more than {max_pixels}",
            )
        n_frames = int(getattr(img, "n_frames", 1))
        if img.tell() != 0:
            img.seek(0)
        img.load()
        upright, transposed = _apply_exif_orientation(img)
        rgb = to_rgb(upright)
        if rgb is img:  # detach from the ImageFile (plain Image, no file handle)
            rgb = img.copy()
    rgb.info = {}
    return DecodedImage(
        rgb=rgb,
        format=fmt,
        width=width,
        height=height,
        n_frames=n_frames,
        exif_transposed=transposed,
    )


def _apply_exif_orientation(img: Image.Image) -> tuple[Image.Image, bool]:
    """``ImageOps.exif_transpose`` when the orientation is 2-8; broken EXIF is ignored."""
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation not in range(2, 9):
            return img, False
        upright = ImageOps.exif_transpose(img)
    except Exception as exc:  # malformed EXIF must not reject an otherwise good image
        log.debug("ignoring unreadable EXIF orientation: %r", exc)
        return img, False
    if upright is None:  # only with in_place=True; keeps the type checker honest
        return img, False
    return upright, True


def _classify_pillow_error(exc: Exception, fmt: ImageFormat) -> ImageDecodeError:
    if isinstance(exc, UnidentifiedImageError):
        detail = f"Pillow cannot parse this {fmt.name} file"
    else:
        detail = f"{type(exc).__name__}: {exc}"[:300]
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in text:
        return ImageDecodeError(DecodeReason.TRUNCATED, detail)
    return ImageDecodeError(DecodeReason.CORRUPT, detail)


# ----------------------------------------------------------------- mode conversion

_ALPHA_MODES: Final = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_HIGH_DEPTH_MODES: Final = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def to_rgb(img: Image.Image, background: tuple[int, int, int] = BACKGROUND_RGB) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; alpha/transparency is composited over ``background``.

    - 1, L, P, CMYK, YCbCr, LAB, HSV, RGBX: Pillow's conversion.
    - Anything with alpha or a ``transparency`` key (LA, PA, RGBA, P/L/RGB with tRNS...):
      composited over ``background``.
    - I;16*: the top 8 bits. I (32-bit int): as is when the values fit 0-255, top 8
      of 16 bits when they fit 0-65535, else stretched min-max to 0-255.
      F (float): x255 when the values fit 0-1, as is when they fit 0-255, else
      stretched; NaN and infinities become 0.

    An RGB image without transparency is returned as is (not copied).
    Raises `ImageDecodeError` (``unsupported_mode``) when no conversion exists.
    """
    if img.mode in _HIGH_DEPTH_MODES:
        gray, alpha = _high_depth_to_l(img)
        return _composite(gray.convert("RGB"), alpha, background)
    if img.mode in _ALPHA_MODES or img.has_transparency_data:
        # Premultiplied La has no direct route to RGBA; LA un-premultiplies it.
        rgba = (img.convert("LA") if img.mode == "La" else img).convert("RGBA")
        return _composite(rgba.convert("RGB"), rgba.getchannel("A"), background)
    if img.mode == "RGB":
        return img
    try:
        return img.convert("RGB")
    except ValueError as exc:
        raise ImageDecodeError(
            DecodeReason.UNSUPPORTED_MODE, f"cannot convert mode {img.mode} to RGB"
        ) from exc


def _composite(
    rgb: Image.Image, alpha: Image.Image | None, background: tuple[int, int, int]
) -> Image.Image:
    if alpha is None or alpha.getextrema() == (255, 255):
        return rgb
    out = Image.new("RGB", rgb.size, background)
    out.paste(rgb, (0, 0), alpha)
    return out


def _high_depth_to_l(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    arr = np.asarray(img)
    alpha = None
    transparency = img.info.get("transparency")
    if isinstance(transparency, int) and img.mode != "F":
        alpha = Image.fromarray(np.where(arr == transparency, 0, 255).astype(np.uint8))
    if img.mode.startswith("I;16"):
        return Image.fromarray((arr >> 8).astype(np.uint8)), alpha
    if img.mode == "I":
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 0xFF:
            u8 = arr.astype(np.uint8)
        elif lo >= 0 and hi <= 0xFFFF:
            u8 = (arr >> 8).astype(np.uint8)
        else:
            u8 = _stretch(arr.astype(np.float32), float(lo), float(hi))
        return Image.fromarray(u8), alpha
    values = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    flo, fhi = float(values.min()), float(values.max())
    if flo >= 0.0 and fhi <= 1.0:
        values *= 255.0
    elif not (flo >= 0.0 and fhi <= 255.0):
        return Image.fromarray(_stretch(values, flo, fhi)), alpha
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8)), alpha


def _stretch(values: npt.NDArray[np.float32], lo: float, hi: float) -> npt.NDArray[np.uint8]:
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    out: npt.NDArray[np.uint8] = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return out


# ------------------------------------------------------------- model input, thumbnails


def _rgb_of(img: DecodedImage | Image.Image) -> Image.Image:
    return img.rgb if isinstance(img, DecodedImage) else to_rgb(img)


def to_model_input(img: DecodedImage | Image.Image, size: int) -> npt.NDArray[np.uint8]:
    """A ``(size, size, 3)`` uint8 array: shorter side resized to ``size``, centre crop.

    This is the usual CNN evaluation transform: no padding bars and no distortion,
    at the cost of the borders of very elongated images. The crop box is passed to
    ``Image.resize`` so only the kept square is resampled (filter: `MODEL_RESAMPLE`).
    Model-specific scaling (``/255``, mean subtraction...) is left to the model.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    rgb = _rgb_of(img)
    width, height = rgb.size
    side = min(width, height)
    left = (width - side) / 2
    top = (height - side) / 2
    square = rgb.resize(
        (size, size),
        resample=MODEL_RESAMPLE,
        box=(left, top, left + side, top + side),
        reducing_gap=MODEL_REDUCING_GAP,
    )
    out = np.array(square, dtype=np.uint8)
    assert out.shape == (size, size, 3)
    return out


_THUMBNAIL_FORMATS: Final = frozenset({ImageFormat.JPEG, ImageFormat.WEBP})


def make_thumbnail(
    img: DecodedImage | Image.Image,
    max_side: int,
    *,
    output_format: ImageFormat = ImageFormat.JPEG,
    quality: int = THUMBNAIL_QUALITY,
) -> bytes:
    """JPEG (default) or WebP bytes of the image shrunk to fit ``max_side`` (never enlarged).

    The output is re-encoded from pixels only: no EXIF, ICC or other metadata, and
    none of the original file's bytes.
    """
    if max_side <= 0:
        raise ValueError("max_side must be positive")
    if output_format not in _THUMBNAIL_FORMATS:
        raise ValueError(f"thumbnails are JPEG or WebP, not {output_format}")
    rgb = _rgb_of(img)
    width, height = rgb.size
    scale = max_side / max(width, height)
    if scale < 1:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Bicubic after a box pre-reduction: measured 40% cheaper per image than Lanczos with
        # JPEG optimisation on openclipart, for files about 10% larger; thumbnails are made
        # for every ingested image, on the worker's critical path.
        rgb = rgb.resize(target, resample=Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    if output_format is ImageFormat.JPEG:
        rgb.save(buf, format="JPEG", quality=quality)
    else:
        rgb.save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()


# ------------------------------------------------------------------------- sandbox

_Payload = tuple[bytes, tuple[int, int], str, int, int, int, bool]


def _limit_worker(memory_bytes: int, cpu_seconds: int) -> None:
    """ProcessPoolExecutor initializer: cap the worker's address space and CPU time."""
    import resource

    def lower(limit: int, wanted: int, slack: int = 0) -> None:
        _soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
            new_hard = min(hard, wanted + slack)
        else:
            new_hard = wanted + slack
        resource.setrlimit(limit, (wanted, new_hard))

    lower(resource.RLIMIT_AS, memory_bytes)
    # SIGXCPU at the soft limit, SIGKILL one second later: a backstop should the
    # parent fail to kill a worker that overran its wall-clock budget.
    lower(resource.RLIMIT_CPU, cpu_seconds, slack=1)


def _decode_in_worker(data: bytes, max_bytes: int, max_pixels: int) -> _Payload:
    decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    rgb = decoded.rgb
    return (
        rgb.tobytes(),
        rgb.size,
        decoded.format.value,
        decoded.width,
        decoded.height,
        decoded.n_frames,
        decoded.exif_transposed,
    )


def _sandbox_context() -> multiprocessing.context.BaseContext:
    # Never fork: the API and the worker run threads, and forking them is unsafe.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def decode_image_sandboxed(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    timeout_s: float = SANDBOX_TIMEOUT_S,
    memory_bytes: int = SANDBOX_MEMORY_BYTES,
) -> DecodedImage:
    """`decode_image` in a throw-away process limited to ``memory_bytes`` of address space.

    The worker is killed after ``timeout_s`` seconds of wall-clock time (which
    includes starting it, tens of milliseconds with ``forkserver``). Raises
    `ImageDecodeError` with ``timeout`` or ``resource_limit`` (out of memory, or the
    worker died), or any reason `decode_image` gives. POSIX only (``resource``).
    Empty, oversized and non-image input is rejected before a process is started.
    """
    if timeout_s <= 0 or memory_bytes <= 0:
        raise ValueError("timeout_s and memory_bytes must be positive")
    data = _check_size(data, max_bytes)
    if sniff_format(data) is None:
        raise ImageDecodeError(DecodeReason.UNSUPPORTED_FORMAT, _describe_unsupported(data))

    executor = ProcessPoolExecutor(
        max_workers=1,
        mp_context=_sandbox_context(),
        initializer=_limit_worker,
        initargs=(memory_bytes, math.ceil(timeout_s) + 1),
    )
    future = None
    try:
        future = executor.submit(_decode_in_worker, data, max_bytes, max_pixels)
        payload = future.result(timeout=timeout_s)
    except TimeoutError as exc:
        raise ImageDecodeError(
            DecodeReason.TIMEOUT, f"decoding took longer than {timeout_s:g} s"
        ) from exc
    except BrokenProcessPool as exc:
        raise ImageDecodeError(
            DecodeReason.RESOURCE_LIMIT, "the decoder process died (memory or CPU limit?)"
        ) from exc
    except MemoryError as exc:  # raised in the worker outside decode_image
        raise ImageDecodeError(
            DecodeReason.RESOURCE_LIMIT, "out of memory in the decoder process"
        ) from exc
    finally:
        if future is None or not future.done():
            _kill_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)

    raw, size, fmt, width, height, n_frames, transposed = payload
    return DecodedImage(
        rgb=Image.frombytes("RGB", size, raw),
        format=ImageFormat(fmt),
        width=width,
        height=height,
        n_frames=n_frames,
        exif_transposed=transposed,
    )


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor cannot cancel a running task (Python 3.14 adds
    # kill_workers()); until then reach for its process table. RLIMIT_CPU is the backstop.
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.kill()
