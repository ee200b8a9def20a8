"""The image-safety layer: untrusted bytes in, an upright RGB picture or a clear reason out.

Every image the product touches (a file in the watched folder, an upload to the API, a
training image) goes through `decode_image`:

1. cheap byte checks: empty input, ``max_bytes``, magic-byte sniffing against an allowlist
   (`gallery_core.imaging.formats`);
2. a structural walk that refuses truncated streams and polyglots
   (`gallery_core.imaging.structure`);
3. Pillow, told to try only the sniffed format, with the pixel limit checked before any pixel
   is decoded, then EXIF orientation and conversion to 8-bit RGB
   (`gallery_core.imaging.decode`).

`gallery_core.imaging.sandbox` runs it in processes with memory and CPU caps;
`to_model_input` makes the model's square input. Failures are `ImageDecodeError` with a
`gallery_core.reasons.Reason`.
"""

from __future__ import annotations

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging.decode import (
    BACKGROUND_RGB,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    DecodedImage,
    decode_image,
    to_rgb,
)
from gallery_core.imaging.formats import ImageFormat, sniff_format
from gallery_core.imaging.model_input import MODEL_RESAMPLE, to_model_input
from gallery_core.imaging.sandbox import Sandbox, decode_image_sandboxed
from gallery_core.imaging.structure import MAX_TRAILING_PADDING
from gallery_core.reasons import Reason

__all__ = [
    "BACKGROUND_RGB",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_TRAILING_PADDING",
    "MODEL_RESAMPLE",
    "DecodedImage",
    "ImageDecodeError",
    "ImageFormat",
    "Reason",
    "Sandbox",
    "decode_image",
    "decode_image_sandboxed",
    "sniff_format",
    "to_model_input",
    "to_rgb",
]
