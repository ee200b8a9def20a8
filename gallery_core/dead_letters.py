"""Dead letters: every accepted image that cannot be made searchable ends here, with a reason.

One record per failure on the dead-letter topic (``paintings.dlq``), keyed by the artwork id,
its value this JSON object. Kafka Connect writes its own dead letters (malformed documents) to
the same topic: those carry the original record and Connect's ``__connect.errors.*`` headers;
`from_connect_headers` reads them into the same shape, so operators see one list.

`DeadLetterTopic` is the one reader of that topic: its size (`gallery status`), its newest
records (``GET /api/dead-letters``) and the letters that follow a point (``gallery ingest
--wait`` accounting for every file it published).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, TopicPartition
from pydantic import BaseModel, ConfigDict, Field

from gallery_core.clients import consumer
from gallery_core.contracts import load_topics
from gallery_core.reasons import Reason, Stage
from gallery_core.settings import Settings

__all__ = [
    "CONNECT_HEADER",
    "DeadLetter",
    "DeadLetterTopic",
    "FoundLetter",
    "Reason",
    "Stage",
    "decode_record",
    "from_connect_headers",
    "header_bytes",
]


#: Present on every dead letter Kafka Connect's errant record reporter writes.
CONNECT_HEADER = "__connect.errors.exception.class.name"


class DeadLetter(BaseModel):
    """One failure: where it happened (``stage``), why (``reason``, a `Reason` value, or a
    code Kafka Connect gave) and which file it was."""

    model_config = ConfigDict(frozen=True)

    stage: str
    reason: str
    detail: str
    key: str | None
    path: str | None = None
    collection: str | None = None
    content_sha256: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    #: When the failure was recorded (seconds since the epoch).
    at: float = Field(default_factory=time.time)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes) -> DeadLetter:
        return cls.model_validate_json(raw)


def from_connect_headers(key: bytes | None, headers: dict[str, bytes]) -> DeadLetter:
    """A dead letter written by Kafka Connect's errant record reporter, in our shape."""

    def text(name: str) -> str | None:
        value = headers.get(f"__connect.errors.{name}")
        return value.decode(errors="replace") if value is not None else None

    partition, offset = text("partition"), text("offset")
    return DeadLetter(
        stage=Stage.SINK,
        reason=Reason.REJECTED_DOCUMENT,
        detail=text("exception.message") or text("exception.class.name") or "",
        key=key.decode(errors="replace") if key else None,
        source_topic=text("topic"),
        source_partition=int(partition) if partition else None,
        source_offset=int(offset) if offset else None,
    )


def decode_record(
    key: bytes | None, value: bytes | None, headers: dict[str, bytes], timestamp_ms: int | None
) -> DeadLetter | None:
    """One dead-letter record in our shape; None for what is not a dead letter at all."""
    if CONNECT_HEADER in headers:
        letter = from_connect_headers(key, headers)
        # Connect forwards the original vector record: its path and collection help operators.
        try:
            original = json.loads(value or b"")
        except ValueError:
            original = None
        if isinstance(original, dict):
            path, collection = original.get("path"), original.get("collection")
            letter = letter.model_copy(
                update={
                    "path": path if isinstance(path, str) else None,
                    "collection": collection if isinstance(collection, str) else None,
                }
            )
        if timestamp_ms:
            letter = letter.model_copy(update={"at": timestamp_ms / 1000})
        return letter
    if not value:
        return None
    try:
        return DeadLetter.from_json(value)
    except (ValueError, TypeError):
        return None


def header_bytes(
    headers: Iterable[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
) -> dict[str, bytes]:
    """Kafka headers (a client's list of pairs, or a mapping) as a name -> bytes dict."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or [])
    return {k: v.encode() if isinstance(v, str) else (v or b"") for k, v in pairs}


@dataclass(frozen=True)
class FoundLetter:
    """A dead letter as read from the topic, with where it sits."""

    letter: DeadLetter
    partition: int
    offset: int


class DeadLetterTopic:
    """The dead-letter topic, read with one consumer that commits nothing.

    Thread-safe: one call at a time (the API shares one instance between requests).
    """

    def __init__(self, settings: Settings, group_id: str, timeout_s: float = 5.0) -> None:
        self.topic = load_topics().dlq.name
        self.timeout_s = timeout_s
        self._consumer = consumer(settings, group_id, **{"enable.partition.eof": True})
        self._lock = threading.Lock()

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> DeadLetterTopic:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ranges(self) -> dict[int, tuple[int, int]] | None:
        """(low, high) watermarks per partition; None when the topic does not exist."""
        meta = self._consumer.list_topics(self.topic, timeout=self.timeout_s)
        found = meta.topics.get(self.topic)
        if found is None or found.error is not None:
            return None
        return {
            p: self._consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=self.timeout_s
            )
            for p in found.partitions
        }

    def offsets(self, *, end: bool = True) -> dict[int, int]:
        """Where each partition ends now (letters after this belong to what follows), or,
        with ``end=False``, where it begins."""
        with self._lock:
            ranges = self._ranges() or {}
        return {p: high if end else low for p, (low, high) in ranges.items()}

    def count(self) -> int | None:
        """Records in the topic (all partitions); None when Kafka or the topic is missing."""
        try:
            with self._lock:
                ranges = self._ranges()
        except Exception:  # unreachable: the caller reports, never raises
            return None
        return None if ranges is None else sum(high - low for low, high in ranges.values())

    def newest(self, limit: int) -> tuple[int, list[FoundLetter]]:
        """The topic's record count and its newest ``limit`` dead letters, newest first."""
        with self._lock:
            ranges = self._ranges()
            if not ranges:
                return 0, []
            total = sum(high - low for low, high in ranges.values())
            ends = {p: high for p, (low, high) in ranges.items() if high > low}
            starts = [
                TopicPartition(self.topic, p, max(low, high - limit))
                for p, (low, high) in ranges.items()
                if high > low
            ]
            if not starts:
                return total, []
            found = self._read_until(starts, ends)
        found.sort(key=lambda f: (f.letter.at, f.offset), reverse=True)
        return total, found[:limit]

    def _read_until(self, starts: list[TopicPartition], ends: dict[int, int]) -> list[FoundLetter]:
        self._consumer.assign(starts)
        found: list[FoundLetter] = []
        deadline = time.monotonic() + self.timeout_s
        try:
            while ends and time.monotonic() < deadline:
                for msg in self._consumer.consume(500, timeout=0.5):
                    partition, offset, error = msg.partition(), msg.offset(), msg.error()
                    if partition is None or offset is None:
                        continue
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            ends.pop(partition, None)
                        continue
                    if partition in ends and offset >= ends[partition] - 1:
                        ends.pop(partition)
                    letter = decode_record(
                        msg.key(), msg.value(), header_bytes(msg.headers()), msg.timestamp()[1]
                    )
                    if letter is not None:
                        found.append(FoundLetter(letter, partition, offset))
        finally:
            self._consumer.unassign()
        return found

    def follow(self, start: dict[int, int]) -> None:
        """Read from ``start`` (partition -> offset) on; `poll` returns what arrives."""
        with self._lock:
            self._consumer.assign([TopicPartition(self.topic, p, o) for p, o in start.items()])

    def poll(self, timeout_s: float = 0.2) -> list[tuple[str, DeadLetter]]:
        """The dead letters (with their keys) that arrived since the last call."""
        out: list[tuple[str, DeadLetter]] = []
        with self._lock:
            messages = self._consumer.consume(500, timeout=timeout_s)
        for msg in messages:
            raw_key = msg.key()
            if msg.error() or not isinstance(raw_key, bytes):
                continue
            letter = decode_record(raw_key, msg.value(), header_bytes(msg.headers()), None)
            if letter is not None:
                out.append((raw_key.decode(errors="replace"), letter))
        return out
