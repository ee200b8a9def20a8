"""What the worker does with a batch of image records: pure of Kafka and Faust.

decode (in sandboxed processes) -> model input -> one batched model call -> check every
vector -> a vector record per image, or a dead letter with the stage and reason. Tombstones
(a removed file) become tombstones on the vectors topic and remove the media files.
The Faust agent (`vectorizer.agents`) only moves records in and out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from gallery_core.dead_letters import DeadLetter
from gallery_core.documents import METADATA_FIELDS
from gallery_core.errors import ImageDecodeError
from gallery_core.image_records import ImageHeaders
from gallery_core.imaging import Sandbox, decode_image, to_model_input
from gallery_core.media import MediaStore, make_thumbnail
from gallery_core.model.encoder import Encoder, RegionEncoder
from gallery_core.model.views import picture_regions
from gallery_core.reasons import Reason, Stage
from gallery_core.vector_records import encode_vector_record

__all__ = [
    "BatchProcessor",
    "DecodePool",
    "ImageEvent",
    "Output",
    "PreparedImage",
    "check_vectors",
    "prepare_image",
    "region_documents",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageEvent:
    key: str
    data: bytes | None  # None: the file was removed (tombstone)
    headers: ImageHeaders
    topic: str = ""
    partition: int = -1
    offset: int = -1


@dataclass(frozen=True)
class PreparedImage:
    pixels: npt.NDArray[np.uint8]
    thumbnail: bytes
    display: bytes
    fields: dict[str, Any]


@dataclass(frozen=True)
class Output:
    """One result per input event: a vector record (value None = delete) or a dead letter."""

    key: str
    value: bytes | None = None
    dead_letter: DeadLetter | None = None


def prepare_image(
    data: bytes, input_size: int, max_bytes: int, max_pixels: int, thumb: int, display: int
) -> PreparedImage:
    """Runs in a decode process: bytes -> model input, thumbnail and display copy."""
    decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    return PreparedImage(
        pixels=to_model_input(decoded, input_size),
        thumbnail=make_thumbnail(decoded, thumb),
        display=make_thumbnail(decoded, display),
        fields={
            "format": decoded.format.value,
            "width": decoded.rgb.width,
            "height": decoded.rgb.height,
            "n_frames": decoded.n_frames,
        },
    )


class DecodePool:
    """The worker's decoders: `prepare_image` in a `gallery_core.imaging.Sandbox`.

    A decoder that dies or overruns reports its image as ``resource_limit`` or ``timeout`` and
    the sandbox replaces its processes, so one bad file never stops the worker.
    """

    def __init__(
        self, workers: int = 2, memory_bytes: int = 3 << 30, cpu_seconds: int = 60
    ) -> None:
        self._sandbox = Sandbox(workers, memory_bytes, cpu_seconds)

    def prepare_all(
        self,
        blobs: list[bytes],
        input_size: int,
        max_bytes: int,
        max_pixels: int,
        store: MediaStore,
        timeout_s: float = 60.0,
    ) -> list[PreparedImage | ImageDecodeError]:
        calls = [
            (data, input_size, max_bytes, max_pixels, store.thumbnail_side, store.display_side)
            for data in blobs
        ]
        return self._sandbox.run_all(prepare_image, calls, timeout_s)

    def restart(self) -> None:
        self._sandbox.restart()

    def close(self) -> None:
        self._sandbox.close()


def check_vectors(vectors: npt.NDArray[np.float32], dims: int) -> list[str | None]:
    """Per row: None if the vector may be indexed, else why not (W9/W10)."""
    problems: list[str | None] = []
    for row in vectors:
        if row.shape != (dims,):
            problems.append(f"vector has {row.shape[0]} dims, the index has {dims}")
        elif not np.all(np.isfinite(row)):
            problems.append("vector has NaN or Inf values")
        elif float(np.linalg.norm(row)) < 1e-6:
            problems.append("vector is all zeros")
        else:
            problems.append(None)
    return problems


def _region_problem(regions: npt.NDArray[np.float32], dims: int) -> str | None:
    """None if every region vector may be indexed, else why not (W9/W10)."""
    if not len(regions):
        return None
    problem = next((p for p in check_vectors(regions, dims) if p is not None), None)
    return None if problem is None else f"region {problem}"


def region_documents(
    regions: npt.NDArray[np.float32], width: int, height: int
) -> list[dict[str, Any]]:
    """The nested ``regions`` of a document: each region's box in the picture, and vector."""
    boxes = picture_regions(width, height)
    return [
        {"box": ",".join(f"{c:g}" for c in box.as_list()), "vector": [float(x) for x in vector]}
        for box, vector in zip(boxes, regions, strict=True)
    ]


class BatchProcessor:
    def __init__(
        self,
        encoder: Encoder,
        decoder: DecodePool,
        store: MediaStore,
        *,
        dims: int,
        max_bytes: int,
        max_pixels: int,
        region_dims: int = 0,
    ) -> None:
        if encoder.dims != dims:
            # W10: refuse to start rather than write vectors the index cannot hold.
            raise ValueError(
                f"model {encoder.name} makes {encoder.dims}-dim vectors; "
                f"the index mapping has {dims}"
            )
        model_region_dims = getattr(encoder, "region_dims", 0)
        if model_region_dims and region_dims and model_region_dims != region_dims:
            raise ValueError(
                f"model {encoder.name} makes {model_region_dims}-dim region vectors; "
                f"the index mapping has {region_dims}"
            )
        self.encoder, self.decoder, self.store = encoder, decoder, store
        self.dims, self.max_bytes, self.max_pixels = dims, max_bytes, max_pixels
        #: Region vectors are written when both the model and the index have them.
        self.region_dims = region_dims if model_region_dims else 0

    def process(self, events: list[ImageEvent]) -> list[Output]:
        outputs: dict[int, Output] = {}
        to_decode = [(i, e) for i, e in enumerate(events) if e.data is not None]
        for i, event in enumerate(events):
            if event.data is None:
                self.store.delete(event.key)
                outputs[i] = Output(event.key, None)
        prepared = self.decoder.prepare_all(
            [e.data for _, e in to_decode if e.data is not None],
            self.encoder.input_size,
            self.max_bytes,
            self.max_pixels,
            self.store,
        )
        ready: list[tuple[int, ImageEvent, PreparedImage]] = []
        for (i, event), result in zip(to_decode, prepared, strict=True):
            if isinstance(result, ImageDecodeError):
                outputs[i] = self._dead(event, Stage.DECODE, result.reason.value, result.detail)
            else:
                ready.append((i, event, result))
        if ready:
            try:
                vectors, regions = self._encode(np.stack([p.pixels for _, _, p in ready]))
            except Exception as exc:  # the model failing must not stop the stream
                logger.exception("model failed on a batch of %d", len(ready))
                for i, event, _ in ready:
                    outputs[i] = self._dead(event, Stage.EMBED, Reason.MODEL_ERROR, repr(exc))
            else:
                problems = check_vectors(vectors, self.dims)
                for k, (i, event, prep) in enumerate(ready):
                    problem = problems[k] or _region_problem(regions[k], self.region_dims)
                    if problem is not None:
                        outputs[i] = self._dead(event, Stage.EMBED, Reason.INVALID_VECTOR, problem)
                        continue
                    thumbnail = self.store.save(event.key, prep.thumbnail, prep.display)
                    try:
                        record = self._record(event, vectors[k], regions[k], prep, thumbnail)
                    except ValidationError as exc:  # metadata the document cannot hold
                        detail = f"the document is not valid: {exc}"[:500]
                        outputs[i] = self._dead(event, Stage.PUBLISH, Reason.INTERNAL, detail)
                        continue
                    outputs[i] = Output(event.key, record)
        return [outputs[i] for i in range(len(events))]

    def _encode(
        self, pixels: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Vectors, and region vectors (``(n, 0, 0)`` when the model or index has none)."""
        if self.region_dims and isinstance(self.encoder, RegionEncoder):
            return self.encoder.encode_with_regions(pixels)
        return self.encoder.encode(pixels), np.zeros((len(pixels), 0, 0), np.float32)

    def _record(
        self,
        event: ImageEvent,
        vector: npt.NDArray[np.float32],
        regions: npt.NDArray[np.float32],
        prep: PreparedImage,
        thumb: str,
    ) -> bytes:
        h = event.headers
        meta = dict(h.metadata)
        known = {k: meta.pop(k) for k in METADATA_FIELDS if k in meta}
        extra = meta.pop("metadata", None)
        return encode_vector_record(
            event.key,
            vector,
            model=self.encoder.name,
            model_version=self.encoder.version,
            content_sha256=h.content_sha256,
            path=h.path,
            collection=h.collection,
            size_bytes=len(event.data or b""),
            thumbnail=thumb,
            ingested_at=int(time.time() * 1000),
            **known,
            **prep.fields,
            **(
                {"regions": region_documents(regions, prep.fields["width"], prep.fields["height"])}
                if len(regions)
                else {}
            ),
            **({"metadata": extra} if isinstance(extra, dict) and extra else {}),
        )

    def _dead(self, event: ImageEvent, stage: Stage, reason: str, detail: str) -> Output:
        logger.warning(
            "dead-lettering %s (%s): %s %s", event.key, event.headers.path, reason, detail
        )
        return Output(
            event.key,
            dead_letter=DeadLetter(
                stage=stage,
                reason=str(reason),
                detail=detail,
                key=event.key,
                path=event.headers.path,
                collection=event.headers.collection,
                content_sha256=event.headers.content_sha256,
                source_topic=event.topic,
                source_partition=event.partition,
                source_offset=event.offset,
            ),
        )
