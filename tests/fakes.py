"""Test doubles for our own interfaces (never for Kafka, Connect or Elasticsearch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from gallery_core.dead_letters import DeadLetter
from gallery_core.image_records import ImageHeaders


class FakeEncoder:
    """Mean colour, tiled to `dims` and normalised: deterministic, fast, no TensorFlow."""

    name = "fake"
    version = "0"

    def __init__(
        self,
        dims: int = 256,
        input_size: int = 32,
        transform: Callable[[npt.NDArray[np.float32]], Any] | None = None,
    ) -> None:
        self.dims, self.input_size, self.transform = dims, input_size, transform
        self.calls: list[int] = []

    def encode(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        self.calls.append(len(images))
        means = images.reshape(len(images), -1, 3).mean(axis=1).astype(np.float32) + 1.0
        vectors = np.tile(means, (1, self.dims // 3 + 1))[:, : self.dims]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if self.transform is not None:
            vectors = self.transform(vectors)
        return vectors


class FakeRegionEncoder(FakeEncoder):
    """`FakeEncoder` plus region vectors: the mean colour of each `picture_regions` box of the
    model input (tiled to ``region_dims``), the whole picture first."""

    def __init__(
        self,
        dims: int = 256,
        region_dims: int = 12,
        input_size: int = 30,
        region_transform: Callable[[npt.NDArray[np.float32]], Any] | None = None,
    ) -> None:
        super().__init__(dims=dims, input_size=input_size)
        self.region_dims = region_dims
        self.region_transform = region_transform

    def encode_with_regions(
        self, images: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        from gallery_core.model.views import picture_regions

        vectors = self.encode(images)
        s = self.input_size
        boxes = picture_regions(s, s)
        out = np.zeros((len(images), len(boxes), self.region_dims), np.float32)
        for r, box in enumerate(boxes):
            x0, y0, x1, y1 = box.pixels(s, s)
            means = images[:, y0:y1, x0:x1].reshape(len(images), -1, 3).mean(axis=1) + 1.0
            tiled = np.tile(means, (1, self.region_dims // 3 + 1))[:, : self.region_dims]
            out[:, r] = tiled / np.linalg.norm(tiled, axis=1, keepdims=True)
        if self.region_transform is not None:
            out = self.region_transform(out)
        return vectors, out


class FakePublisher:
    """Records what would be published and reports delivery at once (or an error)."""

    def __init__(self, fail: bool = False) -> None:
        self.images: list[tuple[str, bytes, ImageHeaders]] = []
        self.removals: list[str] = []
        self.dead_letters: list[DeadLetter] = []
        self.fail = fail

    def _deliver(self, callback: Callable[[Any, Any], None]) -> None:
        callback("broker down" if self.fail else None, None)

    def publish_image(self, key: str, data: bytes, headers: ImageHeaders, on_delivery: Any) -> None:
        self.images.append((key, data, headers))
        self._deliver(on_delivery)

    def publish_removal(self, key: str, headers: ImageHeaders, on_delivery: Any) -> None:
        self.removals.append(key)
        self._deliver(on_delivery)

    def publish_dead_letter(self, letter: DeadLetter, on_delivery: Any) -> None:
        self.dead_letters.append(letter)
        self._deliver(on_delivery)

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 60.0) -> int:
        return 0
