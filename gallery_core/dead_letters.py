"""Dead letters: every accepted image that cannot be made searchable ends here, with a reason.

One record per failure on the dead-letter topic (``paintings.dlq``), keyed by the artwork id,
its value this JSON object. Kafka Connect writes its own dead letters (malformed documents) to
the same topic: those carry the original record and Connect's ``__connect.errors.*`` headers;
`from_connect_headers` reads them into the same shape, so operators see one list.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from gallery_core.reasons import Reason, Stage

__all__ = [
    "CONNECT_HEADER",
    "DeadLetter",
    "Reason",
    "Stage",
    "decode_record",
    "from_connect_headers",
]


#: Present on every dead letter Kafka Connect's errant record reporter writes.
CONNECT_HEADER = "__connect.errors.exception.class.name"


@dataclass(frozen=True)
class DeadLetter:
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
    at: float = field(default_factory=time.time)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> DeadLetter:
        data: dict[str, Any] = json.loads(raw)
        fields: dict[str, Any] = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


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
            letter = replace(
                letter,
                path=original.get("path") if isinstance(original.get("path"), str) else None,
                collection=(
                    original.get("collection")
                    if isinstance(original.get("collection"), str)
                    else None
                ),
            )
        if timestamp_ms:
            letter = replace(letter, at=timestamp_ms / 1000)
        return letter
    if not value:
        return None
    try:
        return DeadLetter.from_json(value)
    except (ValueError, TypeError):
        return None
