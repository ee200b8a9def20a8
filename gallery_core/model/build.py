"""Model factories: the embedding network (what is served) and the training model (heads).

The embedding model takes ``(S, S, 3)`` **uint8** RGB (what
`gallery_core.imaging.to_model_input` returns) and does its own scaling, so
serving and training cannot drift: the only preprocessing outside the model is the
decode + resize + centre crop that index and query images share. Its output is the
L2-normalised hidden layer (``EMBEDDING_DIM`` wide) used as the image's vector.

Backbones (`Backbone`):

* ``compact``: a small plain CNN of our own (conv-BN-ReLU stages, global average and
  max pooling), sized to run at well over 150 images/s at batch 32 on 2 CPU cores;
  the shipped default.
* ``mobilenet_v3_small``, ``mobilenet_v3_large``, ``efficientnet_b0``: the
  ``keras.applications`` networks, randomly initialised by default
  (``weights=None``). Asking for ``"imagenet"`` weights (opt-in) loads Keras' weights, which
  needs either the file in Keras' cache (``~/.keras/models`` or ``$KERAS_HOME``) or a
  network connection; offline it raises `PretrainedWeightsUnavailable`.

With ``descriptor=True`` (the shipped default since ``2026.11-2``) part of the vector is
a fixed `LayoutDescriptor` (tiny grey image + colour thumbnail) joined to the learned
part by `WeightedJoin` with the shares `DESCRIPTOR_WEIGHTS`.

The training model (`make_training_model`) adds one classification head per label
set (style, genre) on top of the *normalised* embedding, as cosine classifiers
(``NormFace``): the logits are scaled cosines between the embedding and a unit vector
per class, so what the heads learn is exactly what cosine kNN search uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

import keras
from keras import layers

from gallery_core.errors import ModelError
from gallery_core.model.spec import EMBEDDING_DIM, INPUT_SIZE

__all__ = [
    "DESCRIPTOR_DIMS",
    "DESCRIPTOR_WEIGHTS",
    "EMBEDDING_LAYER",
    "GaussianLowPass",
    "LEARNED_LAYER",
    "LayoutDescriptor",
    "MAX_EMBEDDING_DIM",
    "Backbone",
    "CosineHead",
    "PretrainedWeightsUnavailable",
    "embedding_of",
    "make_embedding_model",
    "make_training_model",
]

#: Name of the model's output layer (the L2-normalised vector).
EMBEDDING_LAYER: Final = "embedding"
#: With ``descriptor=True``: the L2-normalised learned part, before it is joined to the
#: fixed colour/layout descriptor (what the training heads and the contrastive loss see).
LEARNED_LAYER: Final = "learned_embedding"
#: Grid of the greyscale tiny image and of the colour thumbnail in `LayoutDescriptor`.
DESCRIPTOR_GREY_GRID: Final = 8
DESCRIPTOR_COLOUR_GRID: Final = 4
#: Width of `LayoutDescriptor`'s output (8x8 grey + 4x4x3 colour).
DESCRIPTOR_DIMS: Final = DESCRIPTOR_GREY_GRID**2 + 3 * DESCRIPTOR_COLOUR_GRID**2
#: Share of the cosine similarity given to (learned, grey tiny image, colour thumbnail).
#: Only the served embedding uses them (training sees the learned part alone), so they
#: were chosen after training on perturbed *training* clip art (see README, Attempts).
DESCRIPTOR_WEIGHTS: Final = (0.9, 0.1, 0.0)
#: The widest vector an Elasticsearch dense_vector field holds.
MAX_EMBEDDING_DIM: Final = 4096
#: Channels of the compact CNN's stages at ``width=1.0``.
COMPACT_STAGES: Final = (32, 64, 128, 256)


class Backbone(StrEnum):
    """The feature extractors `make_embedding_model` can build."""

    COMPACT = "compact"
    MOBILENET_V3_SMALL = "mobilenet_v3_small"
    MOBILENET_V3_LARGE = "mobilenet_v3_large"
    EFFICIENTNET_B0 = "efficientnet_b0"


class PretrainedWeightsUnavailable(ModelError):
    """ImageNet weights were asked for but are neither cached nor downloadable."""


def _compact_features(x: Any, width: float, seed: int, multi_scale: bool) -> Any:
    """Plain conv-BN-ReLU stages; returns the concatenated global average and max pools.

    With ``multi_scale`` the third stage is pooled too: its finer grid keeps more of
    what tells two near-identical images apart (copy detection).
    """
    init = keras.initializers.HeNormal(seed=seed)

    def conv(t: Any, filters: int, stride: int, name: str) -> Any:
        t = layers.Conv2D(
            filters,
            3,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer=init,
            name=f"{name}_conv",
        )(t)
        t = layers.BatchNormalization(name=f"{name}_bn")(t)
        return layers.ReLU(name=f"{name}_relu")(t)

    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)
    x = conv(x, max(8, int(24 * width)), 2, "stem")
    pooled = []
    for i, channels in enumerate(COMPACT_STAGES, start=1):
        filters = max(8, int(channels * width))
        x = conv(x, filters, 2, f"stage{i}_a")
        x = conv(x, filters, 1, f"stage{i}_b")
        if multi_scale and i == len(COMPACT_STAGES) - 1:
            pooled.append(layers.GlobalAveragePooling2D(name=f"stage{i}_avg_pool")(x))
            pooled.append(layers.GlobalMaxPooling2D(name=f"stage{i}_max_pool")(x))
    pooled.append(layers.GlobalAveragePooling2D(name="avg_pool")(x))
    pooled.append(layers.GlobalMaxPooling2D(name="max_pool")(x))
    return layers.Concatenate(name="pooled")(pooled)


@keras.saving.register_keras_serializable(package="gallery")
class GaussianLowPass(layers.Layer):  # type: ignore[misc]
    """A fixed Gaussian blur of ``sigma`` px (separable, edges mirrored), no trained weights.

    In front of the CNN it removes what no copy of a picture keeps anyway (pixel noise,
    JPEG blocks, the aliasing of a thumbnail blown back up), so the features are
    computed from the part of the image that survives; training sees the same input.
    """

    def __init__(self, sigma: float, **kwargs: Any):
        super().__init__(**kwargs)
        if sigma <= 0:
            raise ValueError("sigma must be positive")
        self.sigma = float(sigma)
        self.radius = max(1, math.ceil(3 * self.sigma))

    def _kernel_1d(self) -> Any:
        ops = keras.ops
        t = ops.arange(-self.radius, self.radius + 1, dtype="float32")
        k = ops.exp(-(t**2) / (2 * self.sigma**2))
        return k / ops.sum(k)

    def call(self, x: Any) -> Any:
        ops = keras.ops
        r = self.radius
        channels = x.shape[-1]
        k = self._kernel_1d()
        x = ops.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="symmetric")
        rows = ops.tile(ops.reshape(k, (2 * r + 1, 1, 1, 1)), (1, 1, channels, 1))
        cols = ops.tile(ops.reshape(k, (1, 2 * r + 1, 1, 1)), (1, 1, channels, 1))
        x = ops.depthwise_conv(x, rows, strides=1, padding="valid")
        return ops.depthwise_conv(x, cols, strides=1, padding="valid")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="gallery")
class LayoutDescriptor(layers.Layer):  # type: ignore[misc]
    """0..255 RGB -> [8x8 greyscale tiny image, 4x4 colour thumbnail], no trained weights.

    Each half is mean-subtracted and L2-normalised (so brightness and contrast changes
    cancel). It keeps what the trained CNN learns to ignore: the exact colours and the
    coarse layout, which tell near-identical clip-art siblings apart, and it survives
    blur, downscaling, noise and JPEG, where the trained features are weakest.
    """

    def __init__(
        self,
        grey_grid: int = DESCRIPTOR_GREY_GRID,
        colour_grid: int = DESCRIPTOR_COLOUR_GRID,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.grey_grid = grey_grid
        self.colour_grid = colour_grid

    @staticmethod
    def _pool_unit(t: Any, grid: int) -> Any:
        ops = keras.ops
        side = t.shape[1]
        p = max(1, side // grid)
        t = ops.average_pool(t[:, : p * grid, : p * grid, :], p, strides=p, padding="valid")
        t = ops.reshape(t, (-1, grid * grid * t.shape[-1]))
        t = t - ops.mean(t, axis=-1, keepdims=True)
        return t / ops.sqrt(ops.sum(ops.square(t), axis=-1, keepdims=True) + 1e-6)

    def call(self, x: Any) -> Any:
        ops = keras.ops
        x = ops.cast(x, "float32")
        grey = ops.sum(x * ops.convert_to_tensor([0.299, 0.587, 0.114]), axis=-1, keepdims=True)
        return ops.concatenate(
            [self._pool_unit(grey, self.grey_grid), self._pool_unit(x, self.colour_grid)], axis=-1
        )

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], self.grey_grid**2 + 3 * self.colour_grid**2)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "grey_grid": self.grey_grid,
            "colour_grid": self.colour_grid,
        }


@keras.saving.register_keras_serializable(package="gallery")
class WeightedJoin(layers.Layer):  # type: ignore[misc]
    """Concatenates unit vectors scaled by ``sqrt(share)``: cosine = sum(share_i * cos_i)."""

    def __init__(self, sizes: list[int], shares: list[float], **kwargs: Any):
        super().__init__(**kwargs)
        if len(sizes) != len(shares) or any(s < 0 for s in shares) or sum(shares) <= 0:
            raise ValueError("sizes and shares must match; shares >= 0, not all 0")
        self.sizes = [int(s) for s in sizes]
        self.shares = [float(s) for s in shares]

    def call(self, x: Any) -> Any:
        ops = keras.ops
        total = sum(self.shares)
        parts = []
        for i, (size, share) in enumerate(zip(self.sizes, self.shares, strict=True)):
            start = sum(self.sizes[:i])
            parts.append(x[:, start : start + size] * (share / total) ** 0.5)
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sizes": self.sizes, "shares": self.shares}


def _applications_features(x: Any, backbone: Backbone, input_size: int, weights: str | None) -> Any:
    apps = keras.applications
    shape = (input_size, input_size, 3)
    # keras.applications models take 0..255 floats: their own Rescaling/Normalization
    # layers are inside them (include_preprocessing=True, the default).
    kwargs: dict[str, Any] = {
        "input_shape": shape,
        "include_top": False,
        "weights": weights,
        "pooling": "avg",
    }
    try:
        if backbone is Backbone.MOBILENET_V3_SMALL:
            net = apps.MobileNetV3Small(minimalistic=False, **kwargs)
        elif backbone is Backbone.MOBILENET_V3_LARGE:
            net = apps.MobileNetV3Large(minimalistic=False, **kwargs)
        elif backbone is Backbone.EFFICIENTNET_B0:
            net = apps.EfficientNetB0(**kwargs)
        else:  # pragma: no cover - exhaustive over Backbone
            raise ValueError(backbone)
    except Exception as exc:
        if weights is None:
            raise
        raise PretrainedWeightsUnavailable(
            f"could not load {weights!r} weights for {backbone.value}: {exc}. Keras downloads "
            "them once into ~/.keras/models (or $KERAS_HOME/models); on a machine without "
            "internet, copy the file there first, or use weights=None and train."
        ) from exc
    return net(x)


def make_embedding_model(
    backbone: Backbone | str = Backbone.COMPACT,
    *,
    input_size: int = INPUT_SIZE,
    embedding_dim: int = EMBEDDING_DIM,
    weights: str | None = None,
    width: float = 1.0,
    multi_scale: bool = False,
    descriptor: bool = False,
    descriptor_weights: tuple[float, float, float] = DESCRIPTOR_WEIGHTS,
    input_blur: float = 0.0,
    seed: int = 0,
) -> keras.Model:
    """uint8 ``(None, S, S, 3)`` -> float32 ``(None, embedding_dim)`` with unit L2 norm.

    ``weights`` is None (random init, seeded by ``seed``) or ``"imagenet"`` (only for
    the ``keras.applications`` backbones; see `PretrainedWeightsUnavailable`).
    ``width`` scales the compact CNN's channels; ``multi_scale`` also pools its third
    stage. ``descriptor`` joins a fixed `LayoutDescriptor` (``DESCRIPTOR_DIMS`` of the
    ``embedding_dim``) to the learned vector, with cosine shares ``descriptor_weights``
    (learned, grey, colour); the learned part is the layer `LEARNED_LAYER`.
    ``input_blur`` > 0 puts a fixed `GaussianLowPass` of that sigma (px at the input
    size) in front of the backbone (the descriptor still reads the unblurred input).
    """
    backbone = Backbone(backbone)
    if descriptor and embedding_dim <= DESCRIPTOR_DIMS:
        raise ValueError(f"with descriptor=True embedding_dim must exceed {DESCRIPTOR_DIMS}")
    if not 0 < embedding_dim <= MAX_EMBEDDING_DIM:
        raise ValueError(f"embedding_dim must be in 1..{MAX_EMBEDDING_DIM}")
    if weights not in (None, "imagenet"):
        raise ValueError("weights must be None or 'imagenet'")
    if weights is not None and backbone is Backbone.COMPACT:
        raise ValueError("the compact backbone has no pretrained weights")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8", name="image")
    # Rescaling casts to float32; scale 1 keeps 0..255 (the backbones scale themselves).
    x = layers.Rescaling(1.0, name="to_float")(inputs)
    if input_blur > 0:
        x = GaussianLowPass(input_blur, name="low_pass")(x)
    if backbone is Backbone.COMPACT:
        features = _compact_features(x, width, seed, multi_scale)
    else:
        features = _applications_features(x, backbone, input_size, weights)
    learned_dim = embedding_dim - DESCRIPTOR_DIMS if descriptor else embedding_dim
    raw = layers.Dense(
        learned_dim,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
        name="embedding_dense",
    )(features)
    if not descriptor:
        out = layers.UnitNormalization(axis=-1, name=EMBEDDING_LAYER)(raw)
        return keras.Model(inputs, out, name=f"embed_{backbone.value}")
    learned = layers.UnitNormalization(axis=-1, name=LEARNED_LAYER)(raw)
    desc = LayoutDescriptor(name="layout_descriptor")(inputs)
    joined = WeightedJoin(
        [learned_dim, DESCRIPTOR_GREY_GRID**2, 3 * DESCRIPTOR_COLOUR_GRID**2],
        list(descriptor_weights),
        name="weighted_join",
    )(layers.Concatenate(name="joined")([learned, desc]))
    out = layers.UnitNormalization(axis=-1, name=EMBEDDING_LAYER)(joined)
    return keras.Model(inputs, out, name=f"embed_{backbone.value}")


@keras.saving.register_keras_serializable(package="gallery")
class CosineHead(layers.Layer):  # type: ignore[misc]
    """Logits = ``scale * cos(embedding, class_centre)`` (NormFace / cosine softmax)."""

    def __init__(self, n_classes: int, scale: float = 16.0, seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.n_classes = n_classes
        self.scale = scale
        self.seed = seed

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("CosineHead needs a known input width")
        self.centres = self.add_weight(
            name="centres",
            shape=(dim, self.n_classes),
            initializer=keras.initializers.GlorotUniform(seed=self.seed),
        )

    def call(self, x: Any) -> Any:
        ops = keras.ops
        centres = self.centres / ops.sqrt(
            ops.sum(ops.square(self.centres), axis=0, keepdims=True) + 1e-12
        )
        return self.scale * ops.matmul(x, centres)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "n_classes": self.n_classes,
            "scale": self.scale,
            "seed": self.seed,
        }


def make_training_model(
    embedding_model: keras.Model, heads: Mapping[str, int], *, seed: int = 0
) -> keras.Model:
    """The embedding model plus one cosine classification head per ``{name: n_classes}``.

    Outputs a dict: ``"embedding"`` and one logits tensor per head name. The heads
    share (and train) the embedding model's weights; only the embedding model is saved
    for serving.
    """
    if not heads:
        raise ValueError("at least one head is needed")
    inputs = embedding_model.inputs[0]
    names = {layer.name for layer in embedding_model.layers}
    # With a fixed descriptor the heads and the contrastive loss train the learned part.
    emb = (
        embedding_model.get_layer(LEARNED_LAYER).output
        if LEARNED_LAYER in names
        else embedding_model.outputs[0]
    )
    outputs: dict[str, Any] = {EMBEDDING_LAYER: emb}
    for i, (name, n) in enumerate(sorted(heads.items())):
        if n < 2:
            raise ValueError(f"head {name!r} needs at least 2 classes, got {n}")
        outputs[name] = CosineHead(n, seed=seed + 10 + i, name=f"head_{name}")(emb)
    return keras.Model(inputs, outputs, name="train_" + embedding_model.name)


def embedding_of(model: keras.Model) -> keras.Model:
    """The serving part of a model returned by `make_training_model` (or the model itself)."""
    out = model.get_layer(EMBEDDING_LAYER).output
    return keras.Model(model.inputs[0], out, name=model.name.removeprefix("train_"))
