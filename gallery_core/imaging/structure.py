"""A pure structural walk of PNG chunks, JPEG markers, GIF blocks and the WebP RIFF header.

It finds where the image stream ends; anything but a little zero padding after that end is a
``polyglot`` (a PNG with a ZIP appended, a GIFAR, ...), and a stream that stops inside a chunk,
segment or block (or a JPEG without its end marker) is ``truncated``. JPEGs may carry further
JPEG images after the first one only if they declare them in an MPF (multi-picture) segment, as
cameras do. TIFF and BMP are not checked (their layout is offset based). A cheap heuristic:
data hidden *inside* ancillary chunks is not detected, so the product never serves original
bytes, only re-encoded copies (`gallery_core.media.make_thumbnail`).
"""

from __future__ import annotations

import re
import struct
from typing import Final

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging.formats import PNG_SIGNATURE, ImageFormat
from gallery_core.reasons import Reason

__all__ = ["MAX_TRAILING_PADDING", "check_structure"]

#: Zero bytes tolerated after the end of a PNG/JPEG/GIF/WebP stream (alignment
#: padding written by some scanners and cameras). Zeros cannot carry a payload.
MAX_TRAILING_PADDING: Final = 4096


#: Caps on the structural walk, so hostile files cannot make it slow. Real files stay
#: far below them (a 32 MiB PNG written in 8 KiB IDAT chunks has 4,096 chunks; a GIF
#: uses 255-byte sub-blocks, about 130,000 in 32 MiB).
_MAX_PNG_CHUNKS: Final = 100_000
_MAX_JPEG_MARKERS: Final = 10_000
_MAX_GIF_BLOCKS: Final = 1_000_000


def _too_many(what: str, limit: int) -> ImageDecodeError:
    return ImageDecodeError(Reason.CORRUPT, f"more than {limit:,} {what}")


def _ran_out(fmt: str, pos: int) -> ImageDecodeError:
    # Raised without asking Pillow: a stream that stops inside a chunk, segment or
    # block is truncated (or hides something), and Pillow's header parsers are slow
    # on long runs of filler bytes.
    return ImageDecodeError(Reason.TRUNCATED, f"the {fmt} data stops inside a block at byte {pos}")


def _scan_png(data: bytes) -> int | None:
    n = len(data)
    pos = len(PNG_SIGNATURE)
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
                    Reason.POLYGLOT, f"non-PNG data at byte {pos}, after the image data"
                )
            raise ImageDecodeError(Reason.CORRUPT, f"invalid PNG chunk at byte {pos}")
        end: int = pos + 12 + length
        if end > n:
            raise _ran_out("PNG", pos)
        if pos == len(PNG_SIGNATURE):
            if ctype != b"IHDR" or length != 13:
                raise ImageDecodeError(Reason.CORRUPT, "PNG does not start with IHDR")
            width, height = struct.unpack_from(">II", data, pos + 8)
            # The PNG spec caps both at 2**31 - 1; larger values are negative to many readers.
            if not (0 < width <= 0x7FFFFFFF and 0 < height <= 0x7FFFFFFF):
                raise ImageDecodeError(
                    Reason.INVALID_DIMENSIONS, f"PNG header declares {width}x{height}"
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
                Reason.CORRUPT, f"JPEG segment 0x{marker:02X} has length {seglen}"
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
                Reason.POLYGLOT, f"non-GIF data at byte {pos}, after the image data"
            )
        else:
            raise ImageDecodeError(Reason.CORRUPT, f"invalid GIF block at byte {pos}")
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


def check_structure(data: bytes, fmt: ImageFormat) -> None:
    """Walk the container structure; raise if it is cut short or followed by other data.

    Pure, and linear in the number of chunks/segments/blocks (capped).
    """
    scanner = _SCANNERS.get(fmt)
    if scanner is None:
        return
    try:
        end = scanner(data)
    except (IndexError, ValueError, struct.error) as exc:  # a scanner bug must not escape
        raise ImageDecodeError(Reason.CORRUPT, f"unreadable {fmt.name} structure") from exc
    if end is None:
        return
    trailing = len(data) - end
    if trailing and (trailing > MAX_TRAILING_PADDING or data[end:].strip(b"\x00")):
        raise ImageDecodeError(
            Reason.POLYGLOT,
            f"{trailing} bytes of non-image data after the end of the {fmt.name} stream",
        )
