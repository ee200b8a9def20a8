"""The record on the vectors topic, which the sink connector writes as an index document.

Key: the artwork id (SHA-256 hex of the image's path in its collection, see
`gallery_core.sources.paths.artwork_id`), as UTF-8 text. Value: a `VectorRecord` as JSON (the
fields of ``mappings/paintings.json``), or null — a tombstone — to delete the document.
The topic is compacted, so replaying it rebuilds the index (Elasticsearch is a derived view).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from confluent_kafka import Producer
from pydantic import ConfigDict

from gallery_core.clients import producer
from gallery_core.documents import ArtworkDocument, RegionDocument
from gallery_core.settings import Settings

__all__ = ["VectorRecord", "encode_vector_record", "vector_producer"]


class VectorRecord(ArtworkDocument):
    """A work's document with its vectors, as the worker writes it and the sink indexes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    embedding: list[float]
    #: The whole picture and its regions, each a box and a vector (photo search).
    regions: list[RegionDocument] | None = None
    #: The thumbnail's path relative to the media folder.
    thumbnail: str | None = None
    size_bytes: int | None = None
    n_frames: int | None = None
    #: When the worker wrote it (milliseconds since the epoch).
    ingested_at: int | None = None


def encode_vector_record(
    artwork_id: str, vector: Sequence[float] | npt.NDArray[np.floating[Any]], **fields: Any
) -> bytes:
    """The JSON value of a `VectorRecord`; only the fields given are written.

    Raises `pydantic.ValidationError` for a field the document does not have or a value of
    the wrong type.
    """
    record = VectorRecord(id=artwork_id, embedding=[float(x) for x in vector], **fields)
    return record.model_dump_json(exclude_unset=True).encode()


def vector_producer(settings: Settings, **overrides: Any) -> Producer:
    """The one producer configuration (`gallery_core.clients.producer_config`), short linger."""
    return producer(settings, **{"linger.ms": 5, **overrides})
