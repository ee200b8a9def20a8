"""gallery_core.dead_letters.decode_record: our own and Kafka Connect's records, one shape."""

from __future__ import annotations

import json

from gallery_core.dead_letters import DeadLetter
from gallery_core.dead_letters import decode_record as decode_dead_letter


def test_a_worker_dead_letter_is_read_from_its_json_value() -> None:
    letter = DeadLetter(stage="decode", reason="truncated", detail="cut", key="k", path="c/a.png")
    out = decode_dead_letter(b"k", letter.to_json(), {}, 1_700_000_000_000)
    assert out == letter


def test_a_connect_dead_letter_takes_its_reason_from_headers_and_path_from_the_record() -> None:
    headers = {
        "__connect.errors.exception.class.name": b"org.apache.kafka.connect.errors.DataException",
        "__connect.errors.exception.message": b"mapper_parsing_exception",
        "__connect.errors.topic": b"paintings.vectors",
        "__connect.errors.partition": b"1",
        "__connect.errors.offset": b"42",
    }
    value = json.dumps({"id": "k", "path": "c/b.png", "collection": "c", "embedding": [0.1]})
    out = decode_dead_letter(b"k", value.encode(), headers, 1_700_000_000_000)
    assert out is not None
    assert (out.stage, out.reason, out.detail) == (
        "sink",
        "rejected_document",
        "mapper_parsing_exception",
    )
    assert (out.path, out.collection, out.source_offset, out.at) == (
        "c/b.png",
        "c",
        42,
        1_700_000_000.0,
    )


def test_what_is_not_a_dead_letter_is_skipped() -> None:
    assert decode_dead_letter(b"k", None, {}, None) is None
    assert decode_dead_letter(b"k", b"not json", {}, None) is None
