"""Pixels for the model: the one transform index and query images both go through."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from gallery_core.imaging.decode import DecodedImage, rgb_of

__all__ = ["MODEL_REDUCING_GAP", "MODEL_RESAMPLE", "to_model_input"]

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


def to_model_input(img: DecodedImage | Image.Image, size: int) -> npt.NDArray[np.uint8]:
    """A ``(size, size, 3)`` uint8 array: shorter side resized to ``size``, centre crop.

    This is the usual CNN evaluation transform: no padding bars and no distortion,
    at the cost of the borders of very elongated images. The crop box is passed to
    ``Image.resize`` so only the kept square is resampled (filter: `MODEL_RESAMPLE`).
    Model-specific scaling (``/255``, mean subtraction...) is left to the model.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    rgb = rgb_of(img)
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
