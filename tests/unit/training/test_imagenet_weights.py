"""EfficientNet-Lite0 ImageNet weights: the torch-free .pth reader, the name mapping, and
the converted Keras model against the PyTorch source model's own outputs.

The reference outputs (``tests/fixtures/efficientnet_lite0_reference.npz``) come from
``tests/fixtures/make_efficientnet_reference.py``, run once with PyTorch and the
``efficientnet-lite-pytorch`` package (see ``tests/fixtures/README.md``).
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gallery_core.model.efficientnet_lite import (
    ENDPOINT_CHANNELS,
    ENDPOINTS,
    lite0_blocks,
    make_efficientnet_lite0_backbone,
    make_efficientnet_lite0_classifier,
    weight_layer_names,
)
from gallery_core.settings import REPO_ROOT
from training import imagenet_weights as iw
from training.imagenet_weights import (
    PTH_REQUIREMENT,
    ImageNetWeightsUnavailable,
    WeightMismatch,
    keras_layer_for_torch_key,
    lite0_weights_path,
    load_efficientnet_lite0_weights,
)
from training.torch_file import TorchFileError, read_torch_state_dict

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "efficientnet_lite0_reference.npz"

# --- a tiny torch.save writer (no torch): the pickle opcodes torch itself emits ----------


class _Global:
    """Pickled as ``GLOBAL module name`` (what pickling torch's own objects writes)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle wants reduce functions callable
        raise AssertionError("never called")


class _Storage:
    def __init__(self, key: str, data: np.ndarray, view: tuple[str, int, int] | None = None):
        self.key, self.data, self.view = key, data, view


class _Tensor:
    def __init__(
        self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self) -> Any:
        rebuild = _Global("torch._utils", "_rebuild_tensor_v2")
        return rebuild, (self.storage, self.offset, self.size, self.stride, False, OrderedDict())


_STORAGE_NAMES = {"<f4": "FloatStorage", "<f8": "DoubleStorage", "<i8": "LongStorage"}


class _TorchPickler(pickle._Pickler):  # type: ignore[misc]  # the pure-Python pickler
    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def _save_global(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    dispatch[_Global] = _save_global

    def __init__(self, file: io.BytesIO, *, legacy: bool) -> None:
        super().__init__(file, protocol=2)
        self.legacy = legacy

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _Storage):
            return None
        dtype = _Global("torch", _STORAGE_NAMES[obj.data.dtype.str])
        if self.legacy:
            return ("storage", dtype, obj.key, "cpu", obj.data.size, obj.view)
        return ("storage", dtype, obj.key, "cpu", obj.data.size)


def _dumps(obj: Any, *, legacy: bool) -> bytes:
    buf = io.BytesIO()
    _TorchPickler(buf, legacy=legacy).dump(obj)
    return buf.getvalue()


def _write_zip(path: Path, state: OrderedDict[str, _Tensor], storages: list[_Storage]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _dumps(state, legacy=False))
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        for s in storages:
            zf.writestr(f"archive/data/{s.key}", s.data.tobytes())


def _write_legacy(path: Path, state: OrderedDict[str, _Tensor], storages: list[_Storage]) -> None:
    out = io.BytesIO()
    out.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
    out.write(pickle.dumps(1001, protocol=2))
    out.write(pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2))
    out.write(_dumps(state, legacy=True))
    out.write(pickle.dumps([s.key for s in storages], protocol=2))
    for s in storages:
        out.write(struct.pack("<q", s.data.size))
        out.write(s.data.tobytes())
    path.write_bytes(out.getvalue())


def _synthetic() -> tuple[OrderedDict[str, _Tensor], list[_Storage], dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    conv = rng.standard_normal(2 * 3 * 3 * 3).astype("<f4")
    shared = rng.standard_normal(10).astype("<f4")  # two tensors in one storage
    wide = rng.standard_normal(6).astype("<f8")
    count = np.array([42], dtype="<i8")
    storages = [
        _Storage("0", conv),
        _Storage("1", shared),
        _Storage("2", wide),
        _Storage("3", count),
    ]
    state = OrderedDict(
        [
            ("conv.weight", _Tensor(storages[0], 0, (2, 3, 3, 3), (27, 9, 3, 1))),
            ("bn.weight", _Tensor(storages[1], 0, (4,), (1,))),
            ("bn.bias", _Tensor(storages[1], 4, (6,), (1,))),
            # A transposed (non-contiguous) view: size (3, 2), stride (1, 3).
            ("fc.weight", _Tensor(storages[2], 0, (3, 2), (1, 3))),
            ("bn.num_batches_tracked", _Tensor(storages[3], 0, (), ())),
        ]
    )
    expected = {
        "conv.weight": conv.reshape(2, 3, 3, 3),
        "bn.weight": shared[:4],
        "bn.bias": shared[4:],
        "fc.weight": wide.reshape(2, 3).T,
        "bn.num_batches_tracked": np.array(42, dtype=np.int64),
    }
    return state, storages, expected


@pytest.mark.parametrize("writer", [_write_zip, _write_legacy], ids=["zip", "legacy"])
def test_reader_rebuilds_tensors_from_both_pth_formats(tmp_path: Path, writer: Any) -> None:
    state, storages, expected = _synthetic()
    path = tmp_path / "tiny.pth"
    writer(path, state, storages)
    got = read_torch_state_dict(path)
    assert list(got) == list(expected)
    for name, want in expected.items():
        assert got[name].dtype == want.dtype.newbyteorder("="), name
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
        assert got[name].flags.c_contiguous and got[name].flags.owndata


def test_reader_resolves_legacy_storage_views(tmp_path: Path) -> None:
    data = np.arange(8, dtype="<f4")
    root = _Storage("root", data)
    # A legacy storage view: "v" = root[2:7]; the tensor starts 1 element into it.
    view = _Storage("root", data, view=("v", 2, 5))
    state = OrderedDict([("x", _Tensor(view, 1, (3,), (1,)))])
    _write_legacy(tmp_path / "v.pth", state, [root])
    np.testing.assert_array_equal(read_torch_state_dict(tmp_path / "v.pth")["x"], [3, 4, 5])


def test_reader_refuses_globals_outside_the_allow_list(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> Any:
            return _Global("os", "system"), ("echo pwned",)

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _dumps(OrderedDict([("x", Evil())]), legacy=False))
    with pytest.raises(TorchFileError, match=r"refusing to load os\.system"):
        read_torch_state_dict(path)


def test_reader_rejects_tensors_past_their_storage(tmp_path: Path) -> None:
    storage = _Storage("0", np.zeros(4, dtype="<f4"))
    state = OrderedDict([("x", _Tensor(storage, 2, (3,), (1,)))])
    _write_zip(tmp_path / "bad.pth", state, [storage])
    with pytest.raises(TorchFileError, match="runs past"):
        read_torch_state_dict(tmp_path / "bad.pth")


def test_reader_rejects_non_torch_files(tmp_path: Path) -> None:
    (tmp_path / "x.pth").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(TorchFileError):
        read_torch_state_dict(tmp_path / "x.pth")


# --- the name mapping, on a synthetic state dict shaped like the real one ------------


def _torch_state_dict_for(model: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """Random tensors with the PyTorch port's names and layouts for ``model``'s layers."""
    rng = np.random.default_rng(seed)
    inner = {
        "expand_conv": "_expand_conv",
        "expand_bn": "_bn0",
        "dw_conv": "_depthwise_conv",
        "dw_bn": "_bn1",
        "project_conv": "_project_conv",
        "project_bn": "_bn2",
    }
    top = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head"}
    top |= {"head_bn": "_bn1", "fc": "_fc"}
    out: dict[str, np.ndarray] = {}
    for name in weight_layer_names(classifier=any(x.name == "effnet_fc" for x in model.layers)):
        short = name.removeprefix("effnet_")
        if short.startswith("block"):
            idx, _, kind = short.removeprefix("block").partition("_")
            module = f"_blocks.{idx}.{inner[kind]}"
        else:
            kind, module = short, top[short]
        shapes = [w.shape for w in model.get_layer(name).get_weights()]
        if kind.endswith("bn"):
            for p in ("weight", "bias", "running_mean", "running_var"):
                out[f"{module}.{p}"] = rng.random(shapes[0], dtype=np.float32) + 0.5
            out[f"{module}.num_batches_tracked"] = np.zeros((1,), dtype=np.int64)
        elif kind == "fc":
            out[f"{module}.weight"] = rng.standard_normal(shapes[0][::-1], dtype=np.float32)
            out[f"{module}.bias"] = rng.standard_normal(shapes[1], dtype=np.float32)
        else:
            kh, kw, c_in, c_out = shapes[0]
            torch_shape = (c_in, 1, kh, kw) if kind == "dw_conv" else (c_out, c_in, kh, kw)
            out[f"{module}.weight"] = rng.standard_normal(torch_shape, dtype=np.float32)
    return out


@pytest.fixture(scope="module")
def small_classifier() -> Any:
    return make_efficientnet_lite0_classifier(64)


def test_mapping_transposes_each_kind_of_tensor(small_classifier: Any) -> None:
    state = _torch_state_dict_for(small_classifier)
    assert len(state) == 296  # as many tensors as the real checkpoint
    load_efficientnet_lite0_weights(small_classifier, state)
    stem = small_classifier.get_layer("effnet_stem_conv").get_weights()[0]
    np.testing.assert_array_equal(stem, state["_conv_stem.weight"].transpose(2, 3, 1, 0))
    dw = small_classifier.get_layer("effnet_block5_dw_conv").get_weights()[0]
    torch_dw = state["_blocks.5._depthwise_conv.weight"]
    assert dw.shape == (3, 3, 240, 1)
    np.testing.assert_array_equal(dw[:, :, :, 0], torch_dw[:, 0].transpose(1, 2, 0))
    gamma, beta, mean, var = small_classifier.get_layer("effnet_block5_dw_bn").get_weights()
    np.testing.assert_array_equal(var, state["_blocks.5._bn1.running_var"])
    np.testing.assert_array_equal(beta, state["_blocks.5._bn1.bias"])
    kernel, bias = small_classifier.get_layer("effnet_fc").get_weights()
    np.testing.assert_array_equal(kernel, state["_fc.weight"].T)


def test_mapping_fails_loudly_on_leftover_or_missing_tensors(small_classifier: Any) -> None:
    state = _torch_state_dict_for(small_classifier)
    before = small_classifier.get_layer("effnet_stem_conv").get_weights()[0].copy()
    with pytest.raises(WeightMismatch, match="no Keras layer"):
        load_efficientnet_lite0_weights(small_classifier, state | {"_blocks.99._se.weight": before})
    with pytest.raises(WeightMismatch, match="unknown layers"):
        load_efficientnet_lite0_weights(small_classifier, state | {"_blocks.16._bn1.bias": before})
    missing = {k: v for k, v in state.items() if k != "_blocks.7._project_conv.weight"}
    with pytest.raises(WeightMismatch, match="effnet_block7_project_conv"):
        load_efficientnet_lite0_weights(small_classifier, missing)
    partial_bn = {k: v for k, v in state.items() if k != "_bn1.running_mean"}
    with pytest.raises(WeightMismatch, match="effnet_head_bn"):
        load_efficientnet_lite0_weights(small_classifier, partial_bn)
    wrong = state | {"_conv_head.weight": np.zeros((1280, 320, 3, 3), np.float32)}
    with pytest.raises(WeightMismatch, match="effnet_head_conv"):
        load_efficientnet_lite0_weights(small_classifier, wrong)
    # Nothing was assigned by the failed attempts.
    after = small_classifier.get_layer("effnet_stem_conv").get_weights()[0]
    np.testing.assert_array_equal(after, before)


def test_backbone_without_classifier_skips_fc_only() -> None:
    backbone = make_efficientnet_lite0_backbone(64)
    state = _torch_state_dict_for(make_efficientnet_lite0_classifier(64))
    load_efficientnet_lite0_weights(backbone, state)  # _fc.* are the only tensors skipped
    out = backbone(np.zeros((1, 64, 64, 3), np.float32), training=False)
    assert list(out) == list(ENDPOINTS)
    for name, stride in zip(ENDPOINTS, (2, 4, 8, 16, 32, 32), strict=True):
        assert tuple(out[name].shape) == (1, 64 // stride, 64 // stride, ENDPOINT_CHANNELS[name])


def test_torch_key_mapping_names() -> None:
    assert keras_layer_for_torch_key("_blocks.3._bn1.running_var") == (
        "effnet_block3_dw_bn",
        "running_var",
    )
    assert keras_layer_for_torch_key("_fc.bias", "x") == ("x_fc", "bias")
    assert len(lite0_blocks()) == 16


def test_missing_package_names_the_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iw.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImageNetWeightsUnavailable, match=PTH_REQUIREMENT):
        lite0_weights_path()


# --- the real checkpoint against the PyTorch model's outputs -------------------------


@pytest.fixture(scope="module")
def lite0_state() -> dict[str, np.ndarray]:
    try:
        path = lite0_weights_path()
    except ImageNetWeightsUnavailable as exc:
        pytest.skip(f"ImageNet weights not installed ({exc})")
    return read_torch_state_dict(path)


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _normalise(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) - 127.0) / 128.0


def _assert_logits_match(got: np.ndarray, want: np.ndarray) -> None:
    scale = float(np.abs(want).max())
    diff = float(np.abs(got - want).max())
    assert diff < 1e-4 * scale, f"max |keras - torch| = {diff:.2e} (logit scale {scale:.1f})"
    np.testing.assert_array_equal(np.argsort(-got)[:, :5], np.argsort(-want)[:, :5])


def test_checkpoint_is_read_completely(lite0_state: dict[str, np.ndarray]) -> None:
    assert len(lite0_state) == 296
    assert lite0_state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert lite0_state["_fc.weight"].shape == (1000, 1280)
    assert all(v.dtype == np.float32 for k, v in lite0_state.items() if "num_batches" not in k)


@pytest.mark.parametrize(
    ("size", "key", "padding"),
    [
        (128, "logits_128", "explicit"),
        (256, "logits_256", "explicit"),
        (112, "logits_dynamic_crop112", "explicit"),
        (128, "logits_128", "conv"),
        (112, "logits_dynamic_crop112", "conv"),
    ],
)
def test_keras_logits_match_the_pytorch_source(
    lite0_state: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    size: int,
    key: str,
    padding: Any,
) -> None:
    images = reference["images"]
    if size == 256:  # each pixel repeated 2x2, exactly as the generator did
        images = np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)
    elif size == 112:  # the central crop: an odd 7x7 input to the last stride-2 conv
        o = int(reference["crop_offset"])
        images = images[:, o : o + size, o : o + size]
    model = make_efficientnet_lite0_classifier(size, padding=padding)
    load_efficientnet_lite0_weights(model, lite0_state)
    got = np.asarray(model(_normalise(images), training=False))
    _assert_logits_match(got, reference[key])


def test_unknown_input_size_and_pooled_features_match(
    lite0_state: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> None:
    x = _normalise(reference["images"])
    model = make_efficientnet_lite0_classifier(None)  # "same" padding path for stride 2
    load_efficientnet_lite0_weights(model, lite0_state)
    _assert_logits_match(np.asarray(model(x, training=False)), reference["logits_128"])

    backbone = make_efficientnet_lite0_backbone(128, endpoints=("head",))
    load_efficientnet_lite0_weights(backbone, lite0_state)
    pooled = np.asarray(backbone(x, training=False)["head"]).mean(axis=(1, 2))
    want = reference["features_128"]
    assert np.abs(pooled - want).max() < 1e-4 * np.abs(want).max()


def test_recognisable_images_get_their_imagenet_classes(
    lite0_state: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> None:
    # Independent of the torch logits: the converted model recognises the real photos.
    model = make_efficientnet_lite0_classifier(128)
    load_efficientnet_lite0_weights(model, lite0_state)
    logits = np.asarray(model(_normalise(reference["images"]), training=False))
    names = list(reference["names"])
    assert int(np.argmax(logits[names.index("opencv_butterfly")])) == 323  # monarch
    hopper_top5 = set(np.argsort(-logits[names.index("grace_hopper")])[:5].tolist())
    assert {652, 834} <= hopper_top5  # military uniform, suit
