"""The painting model: ImageNet EfficientNet-Lite0 features plus a trained style part.

One forward pass per image gives two things (`make_painting_model`):

* ``embedding`` (`EMBEDDING_DIM`, unit length): what similar-by-id and the index's HNSW
  graph use. It joins (`WeightedJoin`, shares `EMBEDDING_SHARES`) two unit vectors:

  - **content**: the global average of Lite0's last feature map (`HEAD_CHANNELS`), as
    ImageNet training left it (every projection of it measured lost same-artist
    retrieval on the real-painting dev set);
  - **style**: channel means and standard deviations (the diagonal of the Gram
    matrices style transfer matches) of three depths of the network, each block
    L2-normalised, projected by a trained `Dense` to `STYLE_DIMS`. It is the part
    trained to cluster works of one hand (`training.painting_recipe`).

* ``regions`` (``1 + REGION_GRID**2`` vectors of `REGION_DIMS`): the whole picture and
  its `REGION_GRID` x `REGION_GRID` regions of `REGION_SIDE` of each side, average-pooled
  (`RegionPooling`, fixed area weights) from three depths of the same pass (`REGION_DEPTHS`:
  the last map and the last blocks at strides 32 and 16, `REGION_FEATURE_DIMS` in all:
  the shallower maps keep more of what blur and downscaling leave), projected by a fixed
  ``whiten`` layer (whitening learned from damaged copies of the training images, so
  that what a copy changes is damped and what tells works apart is kept:
  `training.painting_recipe.fit_learned_whitening`) and L2-normalised. The index keeps
  them in a nested field, so that a detail, or a photo of the work in a frame, finds the
  work (`gallery_core.model.views`).

The input is what `to_model_input` gives every model (the centre square, resized), so the
regions cover that square; a detail keeping 60 % of each side of a 4:3 picture still
overlaps its nearest region by at least ~85 %.
"""

from __future__ import annotations

from typing import Any, Final

import keras
import numpy as np
import numpy.typing as npt
from keras import layers

from gallery_core.model.build import WeightedJoin
from gallery_core.model.efficientnet_lite import (
    ENDPOINT_CHANNELS,
    HEAD_CHANNELS,
    efficientnet_lite0,
    lite_preprocessing,
)
from gallery_core.model.spec import EMBEDDING_DIM, REGION_DIMS, STYLE_DIMS
from gallery_core.model.views import REGION_GRID

__all__ = [
    "CONTENT_DIMS",
    "EMBEDDING_SHARES",
    "REGIONS_LAYER",
    "REGION_DEPTHS",
    "REGION_FEATURES_LAYER",
    "REGION_FEATURE_DIMS",
    "STYLE_DEPTHS",
    "STYLE_DIMS",
    "ChannelStats",
    "RegionPooling",
    "make_painting_model",
    "region_weights",
]

#: Width of the content part of the embedding (Lite0's last feature map).
CONTENT_DIMS: Final = HEAD_CHANNELS
#: Share of the cosine given to (content, style).
EMBEDDING_SHARES: Final = (0.5, 0.5)
#: Lite0 feature maps whose channel statistics make the style descriptor.
STYLE_DEPTHS: Final = ("stride8", "stride16", "stride32")
#: Name of the regions output.
REGIONS_LAYER: Final = "regions"
#: Lite0 feature maps the region vectors are pooled from, and the pooled width: the
#: whitening learned from copies on all three found held-out clip-art copies more often
#: than on the last map alone (recall@1 0.859 against 0.837; model README, Attempts).
REGION_DEPTHS: Final = ("head", "stride32", "stride16")
REGION_FEATURE_DIMS: Final = sum(ENDPOINT_CHANNELS[d] for d in REGION_DEPTHS)
#: The pooled region features before the ``whiten`` layer (what the recipe fits it on).
REGION_FEATURES_LAYER: Final = "region_features"
CONTENT_LAYER: Final = "content"
STYLE_LAYER: Final = "style"
STYLE_STATS_LAYER: Final = "style_stats"


def region_weights(grid: int) -> npt.NDArray[np.float32]:
    """``(1 + REGION_GRID**2, grid, grid)`` area weights of the whole map and each region.

    A region is the box `views.index_regions` gives for a square picture (60 % of each side,
    spread evenly); a map cell counts with the share of its area inside the box, and each
    row of weights sums to 1, so pooling with them is an exact box average.
    """
    from gallery_core.model.views import index_regions

    boxes = [(0.0, 0.0, 1.0, 1.0)] + [(b.x0, b.y0, b.x1, b.y1) for b in index_regions(1, 1)]
    edges = np.linspace(0.0, 1.0, grid + 1)
    out = np.zeros((len(boxes), grid, grid), np.float32)
    for r, (x0, y0, x1, y1) in enumerate(boxes):
        wx = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0, None)
        wy = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0, None)
        w = np.outer(wy, wx)
        out[r] = w / w.sum()
    return out


@keras.saving.register_keras_serializable(package="gallery")
class RegionPooling(layers.Layer):  # type: ignore[misc]
    """``(n, g, g, c)`` -> ``(n, 1 + REGION_GRID**2, c)``: box averages with fixed weights."""

    def __init__(self, grid: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.grid = int(grid)
        self._weights = keras.ops.convert_to_tensor(region_weights(self.grid))

    def call(self, x: Any) -> Any:
        return keras.ops.einsum("nhwc,rhw->nrc", x, self._weights)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], 1 + REGION_GRID**2, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "grid": self.grid}


@keras.saving.register_keras_serializable(package="gallery")
class ChannelStats(layers.Layer):  # type: ignore[misc]
    """``(n, h, w, c)`` -> ``(n, 2c)``: per-channel mean and standard deviation, L2-normalised."""

    def call(self, x: Any) -> Any:
        ops = keras.ops
        mean = ops.mean(x, axis=(1, 2))
        std = ops.sqrt(ops.maximum(ops.mean(ops.square(x), axis=(1, 2)) - ops.square(mean), 1e-6))
        stats = ops.concatenate([mean, std], axis=-1)
        return stats / ops.maximum(ops.norm(stats, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], 2 * int(input_shape[-1] or 0))


def make_painting_model(input_size: int, *, name: str = "painting_embedding") -> keras.Model:
    """uint8 ``(S, S, 3)`` -> ``{"embedding": (EMBEDDING_DIM,), "regions": (1 + R, REGION_DIMS)}``.

    The backbone is built without weights (the recipe loads the converted ImageNet
    weights into it and freezes it); the ``whiten`` and ``style_projection`` layers start
    at random and are set by the recipe.
    """
    if input_size % 32:
        raise ValueError("input_size must be a multiple of 32 (Lite0's total stride)")
    if CONTENT_DIMS + STYLE_DIMS != EMBEDDING_DIM:
        raise ValueError("content + style dims must equal EMBEDDING_DIM")
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8", name="image")
    x = lite_preprocessing()(inputs)  # casts the uint8 input to float
    features = efficientnet_lite0(x, padding="conv")
    grid = input_size // 32
    pooled = RegionPooling(grid, name="region_pool")(features["head"])
    deeper = [
        RegionPooling(int(features[d].shape[1]), name=f"region_pool_{d}")(features[d])
        for d in REGION_DEPTHS[1:]
    ]
    region_features = layers.Concatenate(name=REGION_FEATURES_LAYER)([pooled, *deeper])
    regions = layers.Dense(REGION_DIMS, name="whiten")(region_features)
    regions = layers.UnitNormalization(axis=-1, name=REGIONS_LAYER)(regions)
    content = layers.Cropping1D((0, REGION_GRID**2), name="whole_picture")(pooled)
    content = layers.Flatten(name="whole_picture_flat")(content)
    content = layers.UnitNormalization(axis=-1, name=CONTENT_LAYER)(content)
    stats = layers.Concatenate(name=STYLE_STATS_LAYER)(
        [ChannelStats(name=f"{d}_stats")(features[d]) for d in STYLE_DEPTHS]
    )
    style = layers.Dense(STYLE_DIMS, name="style_projection")(stats)
    style = layers.UnitNormalization(axis=-1, name=STYLE_LAYER)(style)
    joined = layers.Concatenate(name="parts")([content, style])
    embedding = WeightedJoin([CONTENT_DIMS, STYLE_DIMS], list(EMBEDDING_SHARES), name="embedding")(
        joined
    )
    return keras.Model(inputs, {"embedding": embedding, REGIONS_LAYER: regions}, name=name)
