"""Why an image did not become searchable: one closed set of codes for every stage.

A dead letter (`gallery_core.dead_letters`) carries a `Stage` and a `Reason`; an
`ImageDecodeError` carries a `Reason` too, so a refused upload and a dead-lettered file say
the same thing in the same words. The values are stable, lower-case identifiers that
operators filter on.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason", "Stage"]


class Stage(StrEnum):
    PRODUCER = "producer"  # the file was refused before it was published
    DECODE = "decode"  # the worker could not decode the image
    EMBED = "embed"  # the model failed or returned an invalid vector
    PUBLISH = "publish"  # the vector record could not be produced
    SINK = "sink"  # Kafka Connect / Elasticsearch refused the document


class Reason(StrEnum):
    # --- the bytes (the decoder, the producer's checks)
    #: Zero bytes of input.
    EMPTY = "empty"
    #: More bytes than the limit (``GALLERY_LIMITS__MAX_IMAGE_BYTES``).
    TOO_LARGE = "too_large"
    #: The magic bytes are not one of the allowed formats (JPEG, PNG, GIF, WebP, TIFF, BMP).
    UNSUPPORTED_FORMAT = "unsupported_format"
    #: ``width * height`` above the pixel limit (or Pillow's decompression-bomb guard fired).
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
    # --- the file (the producer)
    #: A path outside the watched folder (a symlink or ``..``).
    PATH_ESCAPE = "path_escape"
    #: Not a regular file (a directory, a device, a socket).
    NOT_A_FILE = "not_a_file"
    #: The file could not be read.
    UNREADABLE = "unreadable"
    # --- the worker and the sink
    #: The model returned a vector that cannot be indexed (NaN, zeros, wrong size).
    INVALID_VECTOR = "invalid_vector"
    #: The model raised.
    MODEL_ERROR = "model_error"
    #: A bug of ours; the detail says where.
    INTERNAL = "internal_error"
    #: Kafka Connect / Elasticsearch refused the document.
    REJECTED_DOCUMENT = "rejected_document"
