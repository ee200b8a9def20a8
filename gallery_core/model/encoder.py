"""The `Encoder` interface the worker and the API call, and its Keras implementation.

Usage::

    encoder = load_encoder()                        # the shipped default model
    arrays = np.stack([to_model_input(img, encoder.input_size) for img in images])
    vectors = encoder.encode(arrays)                # (n, encoder.dims) float32, unit rows

`encode` takes what `gallery_core.imaging.to_model_input` returns: all other
preprocessing is inside the model. It runs the model with ``training=False`` in
batches of at most `KerasEncoder.max_batch`, so any ``n`` fits in memory.
A `KerasEncoder` may be called from any one thread at a time (the worker's executor
thread); concurrent calls are serialised by a lock.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from gallery_core.errors import ModelError
from gallery_core.model.card import ModelCard, card_path_for
from gallery_core.model.spec import EMBEDDING_DIM, INPUT_SIZE

__all__ = [
    "DEFAULT_MODEL_PATH",
    "Encoder",
    "KerasEncoder",
    "ModelNotFound",
    "RandomInitEncoder",
    "RegionEncoder",
    "l2_normalise",
    "load_encoder",
]

log = logging.getLogger(__name__)

#: The shipped default model (its card is ``default.card.json`` beside it).
DEFAULT_MODEL_PATH: Final = Path(__file__).resolve().parent / "weights" / "default.keras"


class ModelNotFound(ModelError):
    """The model file (or its model card) does not exist."""


@runtime_checkable
class Encoder(Protocol):
    """Turns a batch of uint8 RGB images into L2-normalised float32 vectors."""

    name: str
    version: str
    input_size: int
    dims: int

    def encode(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """``(n, S, S, 3)`` uint8 -> ``(n, dims)`` float32 with unit L2 rows."""
        ...


@runtime_checkable
class RegionEncoder(Encoder, Protocol):
    """An `Encoder` that also embeds the regions of each image (`gallery_core.model.views`).

    ``regions[:, 0]`` is the whole picture, ``regions[:, 1:]`` the regions of
    `views.index_regions`, in that order; each row has unit length and ``region_dims``.
    """

    region_dims: int

    def encode_with_regions(
        self, images: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``(n, S, S, 3)`` -> ``((n, dims), (n, 1 + regions, region_dims))``."""
        ...


def l2_normalise(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = v / np.maximum(norms, np.float32(1e-12))
    return out


class KerasEncoder:
    """An embedding model from `gallery_core.model.build`, run with ``training=False``."""

    max_batch: int = 64

    def __init__(self, model: Any, card: ModelCard) -> None:
        in_shape = tuple(model.inputs[0].shape[1:])
        if in_shape != (card.input_size, card.input_size, 3):
            raise ModelError(f"model input {in_shape} disagrees with its card")
        outputs = model.output if isinstance(model.output, dict) else {"embedding": model.output}
        out_dims = int(outputs["embedding"].shape[-1])
        #: Width of each region vector; 0 when the model has no regions output.
        self.region_dims = int(outputs["regions"].shape[-1]) if "regions" in outputs else 0
        if out_dims != card.embedding_dims:
            raise ModelError(f"model output {out_dims} disagrees with its card")
        self._model = model
        self.card = card
        self.name = card.name
        self.version = card.version
        self.input_size = card.input_size
        self.dims = out_dims
        self._lock = threading.Lock()
        self._fn: Any = None

    @classmethod
    def load(cls, path: Path) -> KerasEncoder:
        """Load ``path`` (a ``.keras`` file) and the model card beside it."""
        path = Path(path)
        card_path = card_path_for(path)
        if not path.is_file():
            raise ModelNotFound(
                f"no model file at {path}; train one with `gallery train` "
                "or point VECTORIZER settings at an existing .keras file"
            )
        if not card_path.is_file():
            raise ModelNotFound(f"model {path} has no model card at {card_path}")
        import keras

        from gallery_core.model import build, painting  # noqa: F401  (registers custom layers)

        model = keras.saving.load_model(path, compile=False)
        return cls(model, ModelCard.load(card_path))

    def _call(
        self, batch: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        if self._fn is None:
            import tensorflow as tf

            model = self._model
            spec = tf.TensorSpec((None, self.input_size, self.input_size, 3), tf.uint8)
            self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        out = self._fn(batch)
        if isinstance(out, dict):
            regions = out.get("regions")
            return (
                np.asarray(out["embedding"], dtype=np.float32),
                None if regions is None else np.asarray(regions, dtype=np.float32),
            )
        return np.asarray(out, dtype=np.float32), None

    def _checked(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        arr = np.asarray(images)
        expected = (self.input_size, self.input_size, 3)
        if arr.ndim != 4 or arr.shape[1:] != expected:
            raise ValueError(f"expected (n, {expected[0]}, {expected[1]}, 3), got {arr.shape}")
        if arr.dtype != np.uint8:
            raise ValueError(f"expected uint8 pixels, got {arr.dtype}")
        return arr

    def encode(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return self.encode_with_regions(images)[0]

    def encode_with_regions(
        self, images: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Vectors and region vectors (``(n, 0, 0)`` for a model without regions)."""
        arr = self._checked(images)
        if len(arr) == 0:
            return np.zeros((0, self.dims), np.float32), np.zeros((0, 0, 0), np.float32)
        with self._lock:
            parts = [
                self._call(arr[i : i + self.max_batch]) for i in range(0, len(arr), self.max_batch)
            ]
        # The model ends in UnitNormalization; normalise again to absorb float error.
        vectors = l2_normalise(np.concatenate([p[0] for p in parts]))
        if self.region_dims == 0:
            return vectors, np.zeros((len(arr), 0, 0), np.float32)
        regions = np.concatenate([p[1] for p in parts if p[1] is not None])
        n, r, d = regions.shape
        return vectors, l2_normalise(regions.reshape(n * r, d)).reshape(n, r, d)


class RandomInitEncoder(KerasEncoder):
    """The same network with random (seeded) weights: the untrained baseline."""

    def __init__(
        self,
        backbone: str = "compact",
        *,
        input_size: int = INPUT_SIZE,
        dims: int = EMBEDDING_DIM,
        seed: int = 0,
    ) -> None:
        from gallery_core.model.build import make_embedding_model

        model = make_embedding_model(backbone, input_size=input_size, embedding_dim=dims, seed=seed)
        card = ModelCard(
            name=f"random-{backbone}",
            version=f"seed-{seed}",
            backbone=backbone,
            input_size=input_size,
            embedding_dims=dims,
            trained=False,
            notes="random initial weights; a baseline, not a useful model",
        )
        super().__init__(model, card)

    @classmethod
    def like(cls, encoder: KerasEncoder, seed: int = 0) -> RandomInitEncoder:
        """The same architecture as ``encoder`` with freshly initialised (seeded) weights."""
        import keras

        keras.utils.set_random_seed(seed)
        model = keras.models.clone_model(encoder._model)
        card = ModelCard(
            name=f"random-{encoder.card.backbone}",
            version=f"seed-{seed}",
            backbone=encoder.card.backbone,
            input_size=encoder.input_size,
            embedding_dims=encoder.dims,
            trained=False,
            notes=f"random initial weights in the architecture of {encoder.name}",
        )
        self = cls.__new__(cls)
        KerasEncoder.__init__(self, model, card)
        return self


@cache
def _load_cached(path: Path) -> KerasEncoder:
    encoder = KerasEncoder.load(path)
    log.info(
        "loaded model %s %s from %s (input %dpx, %d dims)",
        encoder.name,
        encoder.version,
        path,
        encoder.input_size,
        encoder.dims,
    )
    if not encoder.card.trained:
        log.warning("model %s is untrained: its vectors are not meaningful", path)
    return encoder


def load_encoder(path: Path | None = None) -> KerasEncoder:
    """The model at ``path`` (None: the shipped default), loaded once per process."""
    return _load_cached(Path(path or DEFAULT_MODEL_PATH).resolve())
