"""What the gallery's status and browse pages need beyond `/api/status`.

- ``GET /api/limits``: what a client should know before it asks (upload size, largest k).
- ``GET /api/collections``: the collections and their document counts (a terms aggregation).
- ``GET /api/dead-letters?limit=20``: the newest records of the dead-letter topic, decoded into
  one shape whether the worker, the producer or Kafka Connect wrote them
  (`gallery_core.dead_letters`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Annotated

from confluent_kafka import Consumer, KafkaError, TopicPartition
from fastapi import APIRouter, Query
from pydantic import BaseModel

from gallery_api.deps import StateDep
from gallery_core.contracts import load_topics
from gallery_core.dead_letters import decode_record
from gallery_core.settings import Settings

__all__ = [
    "CollectionCount",
    "CollectionList",
    "DeadLetterItem",
    "DeadLetterList",
    "Limits",
    "router",
]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["operations"])


class Limits(BaseModel):
    max_image_bytes: int
    max_k: int
    formats: list[str]


class CollectionCount(BaseModel):
    name: str
    count: int
    #: Listed in ``GALLERY_API__FEATURED_COLLECTIONS``: the gallery shows it first.
    featured: bool = False


class CollectionList(BaseModel):
    total: int
    collections: list[CollectionCount]


class DeadLetterItem(BaseModel):
    stage: str
    reason: str
    detail: str
    key: str | None = None
    path: str | None = None
    collection: str | None = None
    content_sha256: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    #: When the failure was recorded (seconds since the epoch).
    at: float | None = None
    partition: int
    offset: int


class DeadLetterList(BaseModel):
    #: Records in the dead-letter topic (all partitions), not only those listed.
    total: int
    items: list[DeadLetterItem]


@router.get("/limits", response_model=Limits)
async def limits(state: StateDep) -> Limits:
    """Upload size limit and largest k, so a client can refuse early with a clear message."""
    return Limits(
        max_image_bytes=state.settings.limits.max_image_bytes,
        max_k=state.settings.api.max_k,
        formats=["JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP"],
    )


@router.get("/collections", response_model=CollectionList)
async def collections(state: StateDep) -> CollectionList:
    """Every collection with its number of works: featured ones first, then largest first."""
    found = await state.es.search(
        index=state.index.name,
        size=0,
        track_total_hits=True,
        aggs={"by": {"terms": {"field": "collection", "size": 1000}}},
    )
    buckets = found["aggregations"]["by"]["buckets"]
    return CollectionList(
        total=int(found["hits"]["total"]["value"]),
        collections=featured_first(
            [CollectionCount(name=b["key"], count=b["doc_count"]) for b in buckets],
            state.settings.api.featured_collections,
        ),
    )


def featured_first(counts: list[CollectionCount], featured: list[str]) -> list[CollectionCount]:
    """``counts`` with the ``featured`` collections marked and moved to the front, in order."""
    rank = {name: i for i, name in enumerate(featured)}
    marked = [c.model_copy(update={"featured": c.name in rank}) for c in counts]
    return sorted(marked, key=lambda c: rank.get(c.name, len(rank)))


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _item(
    key: str | bytes | None,
    value: str | bytes | None,
    headers: list[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None,
    timestamp_ms: int | None,
) -> DeadLetterItem | None:
    pairs = headers.items() if isinstance(headers, dict) else (headers or [])
    raw_headers = {k: _bytes(v) or b"" for k, v in pairs}
    letter = decode_record(_bytes(key), _bytes(value), raw_headers, timestamp_ms)
    if letter is None:
        return None
    fields = asdict(letter)
    fields.update(stage=str(letter.stage), reason=str(letter.reason), partition=-1, offset=-1)
    return DeadLetterItem(**fields)


def read_dead_letters(settings: Settings, limit: int, timeout_s: float = 5.0) -> DeadLetterList:
    """The newest `limit` records of each partition, newest first overall, cut to `limit`."""
    topic = load_topics().dlq.name
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": "gallery-api-dead-letters",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "logger": logging.getLogger("gallery_api.dead_letters.librdkafka"),
        }
    )
    items: list[DeadLetterItem] = []
    total = 0
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            return DeadLetterList(total=0, items=[])
        ends: dict[int, int] = {}
        starts: list[TopicPartition] = []
        for partition in meta.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout_s
            )
            total += high - low
            if high > low:
                ends[partition] = high
                starts.append(TopicPartition(topic, partition, max(low, high - limit)))
        if not starts:
            return DeadLetterList(total=total, items=[])
        consumer.assign(starts)
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.5):
                partition, offset, error = msg.partition(), msg.offset(), msg.error()
                if partition is None or offset is None:
                    continue
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        ends.pop(partition, None)
                    continue
                if partition in ends and offset >= ends[partition] - 1:
                    ends.pop(partition)
                item = _item(msg.key(), msg.value(), msg.headers(), msg.timestamp()[1])
                if item is not None:
                    items.append(item.model_copy(update={"partition": partition, "offset": offset}))
    finally:
        consumer.close()
    items.sort(key=lambda item: (item.at or 0.0, item.offset), reverse=True)
    return DeadLetterList(total=total, items=items[:limit])


@router.get("/dead-letters", response_model=DeadLetterList)
async def dead_letters(
    state: StateDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> DeadLetterList:
    """The newest dead letters with their reasons (stage, reason code, detail, path)."""
    return await asyncio.get_running_loop().run_in_executor(
        state.executor, read_dead_letters, state.settings, limit
    )
