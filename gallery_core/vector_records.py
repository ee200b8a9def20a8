"""The record on the vectors topic, which the sink connector writes as an index document.

Key: the artwork id (SHA-256 hex of the image's path in its collection, see
`gallery_core.sources.paths.artwork_id`), as UTF-8 text. Value: the document JSON
(fields of ``mappings/paintings.json``), or null — a tombstone — to delete the document.
The topic is compacted, so replaying it rebuilds the index (Elasticsearch is a derived view).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from confluent_kafka import Producer

from gallery_core.clients import producer
from gallery_core.settings import Settings

__all__ = ["encode_vector_record", "vector_producer"]


def encode_vector_record(
    artwork_id: str, vector: Sequence[float] | npt.NDArray[np.floating[Any]], **fields: Any
) -> bytes:
    doc = {"id": artwork_id, "embedding": [float(x) for x in vector], **fields}
    return json.dumps(doc, separators=(",", ":")).encode()


def vector_producer(settings: Settings, **overrides: Any) -> Producer:
    """The one producer configuration (`gallery_core.clients.producer_config`), short linger."""
    return producer(settings, **{"linger.ms": 5, **overrides})
