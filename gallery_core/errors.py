"""Exceptions the ground floor raises on purpose.

Our exception hierarchy::

    * GalleryError
      ├─ ImageDecodeError    (reason: Reason, detail: str)
      └─ ModelError          the model file, its card or its weights are missing or wrong

`ImageDecodeError` is the only error the image decoder (`gallery_core.imaging`) lets escape
for bad input: every Pillow exception is mapped to one of the `Reason` values, so callers
(the worker, the API) branch on ``err.reason`` instead of parsing messages. Each service
translates at its edge: the worker into a dead letter, the API into problem JSON.
"""

from __future__ import annotations

from typing import Any

from gallery_core.reasons import Reason

__all__ = ["GalleryError", "ImageDecodeError", "ModelError"]


class GalleryError(Exception):
    """Base class for every error raised on purpose by the product's own code."""


class ModelError(GalleryError):
    """The model cannot be loaded or built: a missing file, a card that disagrees, no weights."""


class ImageDecodeError(GalleryError):
    """The bytes could not be turned into an RGB image.

    ``str(err)`` is ``"<reason>: <detail>"``; both parts are also attributes.
    """

    reason: Reason
    detail: str

    def __init__(self, reason: Reason | str, detail: str = "") -> None:
        self.reason = Reason(reason)
        self.detail = detail
        super().__init__(self.reason, detail)

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason.value!r}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error picklable across the sandbox's process boundary.
        return (type(self), (self.reason.value, self.detail))
