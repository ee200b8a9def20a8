"""Exceptions raised by the vectorizer package.

Our exception hierarchy::

    * VectorizerError
      x ImageDecodeError    (reason: DecodeReason, detail: str)

`ImageDecodeError` is the only error the image decoder
(`vectorizer.model.preprocess`) lets escape for bad input: every Pillow
exception is mapped to one of the `DecodeReason` values below, so callers (the
folder worker, the API) can branch on `err.reason` instead of parsing messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["DecodeReason", "ImageDecodeError", "VectorizerError"]


class VectorizerError(Exception):
    """Base class for every error raised on purpose by the vectorizer package."""


class DecodeReason(StrEnum):
    """Why an image was rejected. The values are stable, lower-case identifiers."""

    #: Zero bytes of input.
    EMPTY = "empty"
    #: More bytes than the caller's ``max_bytes``.
    TOO_LARGE = "too_large"
    #: The magic bytes are not one of the allowed formats (JPEG, PNG, GIF, WebP, TIFF, BMP).
    UNSUPPORTED_FORMAT = "unsupported_format"
    #: ``width * height`` above ``max_pixels`` (or Pillow's decompression-bomb guard fired).
    TOO_MANY_PIXELS = "too_many_pixels"
    #: A zero or negative width or height.
    INVALID_DIMENSIONS = "invalid_dimensions"
    #: The file ends before the image data does.
    TRUNCATED = "truncated"
    #: The file has the right signature but cannot be decoded.
    CORRUPT = "corrupt"
    #: Non-image data after the end of the image stream (e.g. a PNG with a ZIP appended).
    POLYGLOT = "polyglot"
    #: A pixel mode that cannot be converted to RGB.
    UNSUPPORTED_MODE = "unsupported_mode"
    #: The sandboxed decoder did not finish within its time budget.
    TIMEOUT = "timeout"
    #: The decoder ran out of memory (or the sandbox process died).
    RESOURCE_LIMIT = "resource_limit"


class ImageDecodeError(VectorizerError):
    """The bytes could not be turned into an RGB image.

    ``str(err)`` is ``"<reason>: <detail>"``; both parts are also attributes.
    """

    reason: DecodeReason
    detail: str

    def __init__(self, reason: DecodeReason | str, detail: str = "") -> None:
        self.reason = DecodeReason(reason)
        self.detail = detail
        super().__init__(self.reason, detail)

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason.value!r}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error picklable across the sandbox's process boundary.
        return (type(self), (self.reason.value, self.detail))
