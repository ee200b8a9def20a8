"""Non-learned baseline descriptors, behind the same `Encoder` interface as the CNN.

`ColourHistogramEncoder`: a 72-bin HSV colour histogram (Hellinger: square roots)
concatenated with a mean-subtracted 8x8 greyscale "tiny image" (Torralba et al.),
the two halves weighted equally and the whole L2-normalised. It is the classic
cheap "looks alike" vector the CNN has to beat.

`imagenet_backbone_encoder`: the ImageNet EfficientNet-Lite0 the painting model starts
from, pooled, with nothing of the project's on top.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from gallery_core.model.card import ModelCard
from gallery_core.model.encoder import KerasEncoder, l2_normalise

__all__ = ["ColourHistogramEncoder", "imagenet_backbone_encoder"]

H_BINS, S_BINS, V_BINS = 8, 3, 3
TINY = 8


class ColourHistogramEncoder:
    """Colour histogram + tiny image (``dims = 72 + 64``)."""

    name = "colour-histogram+tiny-image"
    version = "1"
    dims = H_BINS * S_BINS * V_BINS + TINY * TINY

    def __init__(self, input_size: int) -> None:
        self.input_size = input_size

    def _one(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        img = Image.fromarray(rgb)
        hsv = np.asarray(img.convert("HSV"), dtype=np.int32)
        h = hsv[..., 0] * H_BINS // 256
        s = hsv[..., 1] * S_BINS // 256
        v = hsv[..., 2] * V_BINS // 256
        hist = np.bincount(
            ((h * S_BINS + s) * V_BINS + v).ravel(), minlength=H_BINS * S_BINS * V_BINS
        )
        hist = np.sqrt(hist / hist.sum()).astype(np.float32)
        tiny = np.asarray(
            img.convert("L").resize((TINY, TINY), Image.Resampling.BOX), dtype=np.float32
        ).ravel()
        tiny -= tiny.mean()
        tiny /= max(float(np.linalg.norm(tiny)), 1e-6)
        return np.concatenate([hist / max(float(np.linalg.norm(hist)), 1e-6), tiny])

    def encode(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(
                f"expected (n, {self.input_size}, {self.input_size}, 3), got {arr.shape}"
            )
        if len(arr) == 0:
            return np.zeros((0, self.dims), np.float32)
        return l2_normalise(np.stack([self._one(a) for a in arr]))


def imagenet_backbone_encoder(input_size: int) -> KerasEncoder:
    """The raw ImageNet EfficientNet-Lite0: global average of its last feature map (1,280).

    The baseline the painting model must beat: the same frozen backbone, before any of
    the project's whitening, style training or regions.
    """
    import keras

    from gallery_core.model.efficientnet_lite import efficientnet_lite0, lite_preprocessing
    from training.painting_recipe import load_imagenet_backbone

    inputs = keras.Input((input_size, input_size, 3), dtype="uint8")
    head = efficientnet_lite0(lite_preprocessing()(inputs))["head"]
    pooled = keras.layers.GlobalAveragePooling2D()(head)
    model = keras.Model(inputs, keras.layers.UnitNormalization()(pooled))
    requirement = load_imagenet_backbone(model)
    card = ModelCard(
        name="imagenet-lite0",
        version="raw",
        backbone="efficientnet_lite0_imagenet",
        input_size=input_size,
        embedding_dims=int(model.outputs[0].shape[-1]),
        trained=True,
        notes=f"ImageNet weights from {requirement}, global average pool; no project training",
    )
    return KerasEncoder(model, card)
