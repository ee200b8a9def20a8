"""The allowlist of input formats, recognised by their magic bytes alone.

File names and declared content types are never consulted: `sniff_format` decides what a
file is, and `describe_unsupported` says in words what a refused file looks like.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["PNG_SIGNATURE", "ImageFormat", "describe_unsupported", "sniff_format"]


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


PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
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
    if head.startswith(PNG_SIGNATURE):
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


def describe_unsupported(data: bytes) -> str:
    head = bytes(data[:32])
    for signature, name in _KNOWN_REJECTED:
        if head.startswith(signature):
            return f"{name} is not an accepted image format"
    if head[4:8] == b"ftyp":
        return "ISO media (HEIF/AVIF/MP4) is not an accepted image format"
    return f"unrecognised file signature {head[:8].hex(' ')}"
