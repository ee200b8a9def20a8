"""Safe, pure image decoding: the one path untrusted bytes take to become pixels.

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
   bytes, only re-encoded copies (`gallery_core.media.make_thumbnail`);
3. ``Image.open`` and the ``width * height <= max_pixels`` check, before any
   pixel is decoded (Pillow's own decompression-bomb warning is turned into an
   error for this call only);
4. the first frame is loaded in full (``ImageFile.LOAD_TRUNCATED_IMAGES`` is
   never touched, so a short file is an error), the EXIF orientation is applied,
   and whatever the mode, the result is converted to 8-bit RGB, alpha being
   composited over `BACKGROUND_RGB`.

Every failure is an `ImageDecodeError` with a `Reason`; no Pillow
exception escapes. `gallery_core.imaging.sandbox` runs the same function in processes with an
address-space limit and a time cap.

Thread safety: `decode_image` uses `warnings.catch_warnings`, which on
Python < 3.14 swaps the process-wide warning filters for the duration of the
call. Decoding from several threads at once is still correct (our own pixel
check does not depend on the warning), but a warning raised by another thread
at that moment may be recorded and dropped instead of shown.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging.formats import ImageFormat, describe_unsupported, sniff_format
from gallery_core.imaging.structure import check_structure
from gallery_core.reasons import Reason

__all__ = [
    "BACKGROUND_RGB",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "DecodedImage",
    "check_size",
    "decode_image",
    "rgb_of",
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


def check_size(data: bytes, max_bytes: int) -> bytes:
    """The cheap checks every decode starts with: some bytes, and not too many."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data:
        raise ImageDecodeError(Reason.EMPTY, "the image has no bytes")
    if len(data) > max_bytes:
        raise ImageDecodeError(
            Reason.TOO_LARGE, f"{len(data)} bytes is more than the limit of {max_bytes}"
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
    data = check_size(data, max_bytes)
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageDecodeError(Reason.UNSUPPORTED_FORMAT, describe_unsupported(data))
    check_structure(data, fmt)
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
            raise ImageDecodeError(Reason.TOO_MANY_PIXELS, str(exc)) from exc
        except MemoryError as exc:
            raise ImageDecodeError(Reason.RESOURCE_LIMIT, "out of memory while decoding") from exc
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
                Reason.INVALID_DIMENSIONS, f"{fmt.name} declares {width}x{height}"
            )
        if width * height > max_pixels:
            raise ImageDecodeError(
                Reason.TOO_MANY_PIXELS,
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
    return DecodedImage(rgb, fmt, width, height, n_frames, transposed)


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
        return ImageDecodeError(Reason.TRUNCATED, detail)
    return ImageDecodeError(Reason.CORRUPT, detail)


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
            Reason.UNSUPPORTED_MODE, f"cannot convert mode {img.mode} to RGB"
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


def rgb_of(img: DecodedImage | Image.Image) -> Image.Image:
    return img.rgb if isinstance(img, DecodedImage) else to_rgb(img)
