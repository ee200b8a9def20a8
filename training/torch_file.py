"""A PyTorch ``torch.save`` state dict read into numpy arrays, without PyTorch.

`read_torch_state_dict` understands both PyTorch serialisations: the zip format
(``torch >= 1.6``: ``<dir>/data.pkl`` plus one raw buffer per storage in
``<dir>/data/<key>``) and the legacy one (``torch < 1.6``: a run of pickles - magic
number, protocol version, system info, the object, the list of storage keys - followed by
each storage as an int64 element count and its raw bytes).
The object pickle is read by `_StateDictUnpickler`, whose ``find_class`` resolves only
``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` /
``_rebuild_parameter`` and the ``torch.*Storage`` type names, all mapped to local
stand-ins, so reading a checkpoint can execute no code from it.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from gallery_core.errors import ModelError

__all__ = ["TorchFileError", "read_torch_state_dict"]

#: First pickles of a legacy (pre-zip) ``torch.save`` file.
_LEGACY_MAGIC: Final = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL: Final = 1001

#: ``torch.<Name>Storage`` -> little-endian numpy dtype.
_STORAGE_DTYPES: Final = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class TorchFileError(ModelError):
    """The file is not a PyTorch state dict this reader understands (or is damaged)."""


# --- reading the pickle -------------------------------------------------------------


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for a ``torch.<Name>Storage`` class named in the pickle."""

    name: str
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class _StorageRef:
    """A storage named by a persistent id; its bytes are looked up after unpickling."""

    key: str
    dtype: np.dtype[Any]
    numel: int
    # Legacy files may name a slice of a root storage: (root key, root numel, offset).
    view_of: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class _PendingTensor:
    """What ``_rebuild_tensor_v2`` returned: a strided view waiting for its storage."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: _StorageRef,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _PendingTensor:
    if not isinstance(storage, _StorageRef):
        raise TorchFileError(f"tensor over {type(storage).__name__}, expected a storage")
    return _PendingTensor(
        storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride))
    )


def _rebuild_parameter(
    data: _PendingTensor, requires_grad: bool = False, backward_hooks: object = None
) -> _PendingTensor:
    return data


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a state dict with an allow-list: OrderedDict, tensors and storages."""

    _ALLOWED: Final[Mapping[tuple[str, str], Any]] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        **{
            ("torch", name): _StorageType(name, np.dtype(code))
            for name, code in _STORAGE_DTYPES.items()
        },
    }

    def __init__(self, file: IO[bytes], *, legacy: bool) -> None:
        super().__init__(file)
        self._legacy = legacy

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise TorchFileError(
                f"refusing to load {module}.{name} from a PyTorch file "
                "(only plain tensor state dicts are supported)"
            ) from None

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise TorchFileError(f"unsupported persistent id {pid!r:.80}")
        if self._legacy:
            if len(pid) != 6:
                raise TorchFileError(f"unsupported legacy storage id {pid!r:.80}")
            _, storage_type, key, _location, numel, view = pid
        else:
            if len(pid) != 5:
                raise TorchFileError(f"unsupported storage id {pid!r:.80}")
            _, storage_type, key, _location, numel = pid
            view = None
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"unsupported storage type {storage_type!r:.80}")
        if view is None:
            return _StorageRef(str(key), storage_type.dtype, int(numel))
        view_key, view_offset, view_numel = view
        return _StorageRef(
            str(view_key),
            storage_type.dtype,
            int(view_numel),
            (str(key), int(numel), int(view_offset)),
        )


def _unpickle(data: bytes, *, legacy: bool) -> tuple[Any, int]:
    """The object in ``data`` (the first pickle in it) and the bytes it took."""
    buf = io.BytesIO(data)
    try:
        obj = _StateDictUnpickler(buf, legacy=legacy).load()
    except TorchFileError:
        raise
    except Exception as exc:  # a damaged pickle raises anything from EOFError to TypeError
        raise TorchFileError(f"cannot unpickle the state dict: {exc}") from exc
    return obj, buf.tell()


def _plain_pickle(buf: io.BytesIO) -> Any:
    """One of the legacy header pickles: plain data only (no globals at all)."""

    class _NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise TorchFileError(f"unexpected {module}.{name} in a legacy header")

    try:
        return _NoGlobals(buf).load()
    except TorchFileError:
        raise
    except Exception as exc:
        raise TorchFileError(f"not a PyTorch file: {exc}") from exc


# --- storages and tensors -----------------------------------------------------------


def _legacy_storages(buf: io.BytesIO, refs: Mapping[str, _StorageRef]) -> dict[str, bytes]:
    keys = _plain_pickle(buf)
    if not isinstance(keys, list):
        raise TorchFileError("legacy file: storage key list missing")
    out: dict[str, bytes] = {}
    for key in keys:
        key = str(key)
        if key not in refs:
            raise TorchFileError(f"legacy file: storage {key} is not referenced")
        ref = refs[key]
        head = buf.read(8)
        if len(head) != 8:
            raise TorchFileError(f"legacy file: truncated before storage {key}")
        (numel,) = struct.unpack("<q", head)
        if numel != ref.numel:
            raise TorchFileError(
                f"legacy file: storage {key} has {numel} elements, not {ref.numel}"
            )
        nbytes = numel * ref.dtype.itemsize
        raw = buf.read(nbytes)
        if len(raw) != nbytes:
            raise TorchFileError(f"legacy file: storage {key} is truncated")
        out[key] = raw
    return out


def _collect_refs(obj: Mapping[str, Any]) -> dict[str, _StorageRef]:
    """The root storages the tensors use, by key (views resolve to their root)."""
    refs: dict[str, _StorageRef] = {}
    for value in obj.values():
        if isinstance(value, _PendingTensor):
            ref = value.storage
            if ref.view_of is not None:
                root_key, root_numel, _ = ref.view_of
                ref = _StorageRef(root_key, ref.dtype, root_numel)
            if refs.setdefault(ref.key, ref) != ref:
                raise TorchFileError(f"storage {ref.key} is described inconsistently")
    return refs


def _materialise(t: _PendingTensor, storages: Mapping[str, bytes]) -> npt.NDArray[Any]:
    ref = t.storage
    base_offset = 0
    key = ref.key
    if ref.view_of is not None:
        key, _, base_offset = ref.view_of
    if key not in storages:
        raise TorchFileError(f"storage {key} is missing from the file")
    flat = np.frombuffer(storages[key], dtype=ref.dtype)
    start = base_offset + t.offset
    if len(t.size) != len(t.stride) or any(s < 0 for s in (*t.size, *t.stride)):
        raise TorchFileError(f"bad tensor geometry size={t.size} stride={t.stride}")
    if 0 in t.size:
        return np.zeros(t.size, dtype=ref.dtype.newbyteorder("="))
    last = start + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
    if start < 0 or last >= flat.size:
        raise TorchFileError(f"tensor runs past its storage {key}")
    view = np.lib.stride_tricks.as_strided(
        flat[start:],
        shape=t.size,
        strides=tuple(s * ref.dtype.itemsize for s in t.stride),
        writeable=False,
    )
    # A native-endian, contiguous copy that owns its memory.
    return np.array(view, dtype=ref.dtype.newbyteorder("="), order="C", copy=True)


def _to_arrays(obj: Any, storages: Mapping[str, bytes]) -> dict[str, npt.NDArray[Any]]:
    if not isinstance(obj, Mapping):
        raise TorchFileError(f"expected a state dict, found {type(obj).__name__}")
    out: dict[str, npt.NDArray[Any]] = {}
    for name, value in obj.items():
        if not isinstance(value, _PendingTensor):
            raise TorchFileError(f"{name!r} is a {type(value).__name__}, not a tensor")
        out[str(name)] = _materialise(value, storages)
    return out


def _read_zip(zf: zipfile.ZipFile) -> dict[str, npt.NDArray[Any]]:
    pkls = [n for n in zf.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pkls) != 1:
        raise TorchFileError(f"expected one data.pkl in the archive, found {len(pkls)}")
    root = pkls[0][: -len("data.pkl")]
    byteorder_name = f"{root}byteorder"
    if byteorder_name in zf.namelist():
        order = zf.read(byteorder_name).decode().strip()
        if order != "little":
            raise TorchFileError(f"unsupported byte order {order!r}")
    obj, _ = _unpickle(zf.read(pkls[0]), legacy=False)
    storages: dict[str, bytes] = {}
    for key, ref in _collect_refs(obj if isinstance(obj, Mapping) else {}).items():
        try:
            raw = zf.read(f"{root}data/{key}")
        except KeyError:
            raise TorchFileError(f"storage {key} is missing from the archive") from None
        if len(raw) != ref.numel * ref.dtype.itemsize:
            raise TorchFileError(f"storage {key} has {len(raw)} bytes, expected {ref.numel}")
        storages[key] = raw
    return _to_arrays(obj, storages)


def _read_legacy(data: bytes) -> dict[str, npt.NDArray[Any]]:
    buf = io.BytesIO(data)
    if _plain_pickle(buf) != _LEGACY_MAGIC:
        raise TorchFileError("not a PyTorch file (bad magic number)")
    if _plain_pickle(buf) != _LEGACY_PROTOCOL:
        raise TorchFileError("unsupported legacy PyTorch protocol version")
    sys_info = _plain_pickle(buf)
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise TorchFileError("big-endian PyTorch files are not supported")
    obj, used = _unpickle(data[buf.tell() :], legacy=True)
    buf.seek(buf.tell() + used)
    refs = _collect_refs(obj if isinstance(obj, Mapping) else {})
    storages = _legacy_storages(buf, refs)
    return _to_arrays(obj, storages)


def read_torch_state_dict(path: str | Path) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a ``torch.save``-d state dict as numpy arrays, without torch.

    Raises `TorchFileError` for anything but a dict of plain CPU tensors.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return _read_zip(zf)
    return _read_legacy(path.read_bytes())
