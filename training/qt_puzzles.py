"""The GCompris puzzle boards' raw materials: Qt resource archives and jigsaw pieces.

`read_rcc` unpacks a Qt resource archive (``.rcc``, format versions 1-3, entries stored,
zlib- or zstd-compressed); `assemble_pieces` puts a painting back together from its
jigsaw-shaped pieces with transparency, trims the ragged outer edge and fills the
one-pixel seams. Used by `training.real_paintings`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
from PIL import Image, ImageFilter

from gallery_core.errors import GalleryError

__all__ = ["RccError", "assemble_pieces", "read_rcc"]


class RccError(GalleryError):
    """A Qt resource archive that cannot be read."""


# --- Qt resource archives ---------------------------------------------------------------

_RCC_COMPRESSED: Final = 0x01
_RCC_DIRECTORY: Final = 0x02
_RCC_COMPRESSED_ZSTD: Final = 0x04


def _zstd_decompress(data: bytes) -> bytes:
    try:
        import zstandard

        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))
    except ImportError:
        pass
    try:
        import cramjam

        return bytes(cramjam.zstd.decompress(data))
    except ImportError as exc:
        raise RccError("zstd-compressed entry and neither zstandard nor cramjam") from exc


def read_rcc(data: bytes) -> dict[str, bytes]:
    """Every file in a Qt binary resource (``rcc``) archive, by path, decompressed.

    Layout (format versions 1-3, all integers big-endian): ``qres``, version, then the
    offsets of the tree, data and names sections (version 3 adds a flags word). A tree
    node is 14 bytes (22 from version 2: a last-modified stamp follows): name offset
    (u32), flags (u16), then for a directory its child count and first child index (u32,
    u32), for a file its country and language (u16, u16) and data offset (u32). A name is
    its length in UTF-16 units (u16), a hash (u32) and the UTF-16-BE text; a data entry
    is its length (u32) and bytes, which with the compressed flag are ``qCompress``
    output (u32 uncompressed length + zlib stream) or, with the zstd flag, a zstd frame.
    """
    if data[:4] != b"qres":
        raise RccError("not a Qt resource archive (no qres magic)")
    try:
        version, tree, payload, names = struct.unpack_from(">IIII", data, 4)
        if version not in (1, 2, 3):
            raise RccError(f"unsupported rcc format version {version}")
        node_size = 14 if version == 1 else 22
        files: dict[str, bytes] = {}

        def name_at(offset: int) -> str:
            (length,) = struct.unpack_from(">H", data, names + offset)
            start = names + offset + 6
            raw = data[start : start + 2 * length]
            if len(raw) != 2 * length:
                raise RccError("name runs past the end of the archive")
            return raw.decode("utf-16-be")

        def walk(index: int, prefix: str, depth: int) -> None:
            if depth > 64:
                raise RccError("directory tree too deep (a cycle?)")
            node = tree + index * node_size
            name_offset, flags = struct.unpack_from(">IH", data, node)
            name = name_at(name_offset) if index else ""
            path = f"{prefix}{name}"
            if flags & _RCC_DIRECTORY:
                count, first = struct.unpack_from(">II", data, node + 6)
                for child in range(first, first + count):
                    walk(child, f"{path}/" if index else "", depth + 1)
                return
            (offset,) = struct.unpack_from(">I", data, node + 10)
            (length,) = struct.unpack_from(">I", data, payload + offset)
            start = payload + offset + 4
            blob = data[start : start + length]
            if len(blob) != length:
                raise RccError(f"{path}: data runs past the end of the archive")
            if flags & _RCC_COMPRESSED:
                blob = zlib.decompress(blob[4:])
            elif flags & _RCC_COMPRESSED_ZSTD:
                blob = _zstd_decompress(blob)
            files[path] = blob

        walk(0, "", 0)
    except (struct.error, zlib.error, UnicodeDecodeError) as exc:
        raise RccError(f"corrupt Qt resource archive: {exc}") from exc
    return files


# --- compositing -------------------------------------------------------------------------

#: Least share of opaque pixels in the outermost row or column of an assembled painting.
_EDGE_OPAQUE: Final = 0.98


def _trim_ragged_edges(
    alpha: Image.Image, box: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """Shrink `box` until each outermost row and column is (nearly) all opaque, by at
    most 4% of a side: the pieces' outer borders are not always flush."""
    opaque = np.asarray(alpha) == 255
    left, top, right, bottom = box
    limit_x, limit_y = max(1, (right - left) // 25), max(1, (bottom - top) // 25)
    changed = True
    while changed and left < right - 1 and top < bottom - 1:
        changed = False
        if left - box[0] < limit_x and opaque[top:bottom, left].mean() < _EDGE_OPAQUE:
            left, changed = left + 1, True
        if box[2] - right < limit_x and opaque[top:bottom, right - 1].mean() < _EDGE_OPAQUE:
            right, changed = right - 1, True
        if top - box[1] < limit_y and opaque[top, left:right].mean() < _EDGE_OPAQUE:
            top, changed = top + 1, True
        if box[3] - bottom < limit_y and opaque[bottom - 1, left:right].mean() < _EDGE_OPAQUE:
            bottom, changed = bottom - 1, True
    return left, top, right, bottom


def _fill_holes(image: Image.Image) -> Image.Image:
    """RGB: `image` over a blur of itself (premultiplied, so holes take their neighbours'
    colours), then over white for anything still uncovered."""
    filled = image
    for radius in (2, 8):
        under = image.convert("RGBa").filter(ImageFilter.BoxBlur(radius)).convert("RGBA")
        under.putalpha(under.getchannel("A").point(lambda v: 255 if v else 0))
        under.alpha_composite(filled)
        filled = under
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    white.alpha_composite(filled)
    return white.convert("RGB")


def assemble_pieces(
    pieces: Sequence[tuple[Image.Image, float, float]], width: int, height: int
) -> Image.Image:
    """The RGB painting that `pieces` (image, centre x, centre y as fractions of a
    ``width`` x ``height`` board) make when each is laid at its place.

    Pieces are alpha-composited in order; the result is cropped to the painting (the
    opaque bounding box, less ragged outer rows and columns), and the hairline gaps
    that rounding leaves between neighbouring pieces are filled from their neighbours."""
    placed = []
    for image, x, y in pieces:
        rgba = image.convert("RGBA")
        left = round(x * width - rgba.width / 2)
        top = round(y * height - rgba.height / 2)
        placed.append((rgba, left, top))
    if not placed:
        raise ValueError("no pieces")
    x0 = min(0, *(left for _, left, _ in placed))
    y0 = min(0, *(top for _, _, top in placed))
    x1 = max(width, *(left + im.width for im, left, _ in placed))
    y1 = max(height, *(top + im.height for im, _, top in placed))
    canvas = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    for rgba, left, top in placed:
        canvas.alpha_composite(rgba, (left - x0, top - y0))
    alpha = canvas.getchannel("A")
    box = alpha.getbbox()
    if box is None:
        raise ValueError("the pieces are fully transparent")
    box = _trim_ragged_edges(alpha, box)
    return _fill_holes(canvas.crop(box))
