"""The vectors topic -> Kafka Connect sink -> Elasticsearch path, on the real local stack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer
from elasticsearch import Elasticsearch

from gallery_core.clients import es_client
from gallery_core.contracts import load_connectors, load_index, load_topics
from gallery_core.probes import connector_status
from gallery_core.settings import Settings
from gallery_core.vector_records import vector_producer
from tests.integration.sinkutil import (
    count,
    dlq_size,
    new_collection,
    produce_tombstones,
    produce_vectors,
    random_vectors,
    wait_for_count,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def es(stack: Settings) -> Iterator[Elasticsearch]:
    with es_client(stack) as client:
        yield client


def test_records_become_documents_under_their_key_and_a_tombstone_deletes_one(
    stack: Settings, es: Elasticsearch
) -> None:
    collection = new_collection()
    ids = [f"{collection}-{i}" for i in range(20)]
    vectors = random_vectors(20, seed=1)
    produce_vectors(stack, collection, ids, vectors)
    assert wait_for_count(es, collection, 20) == 20

    docs = es.mget(index=load_index().name, ids=ids)["docs"]
    assert [d["_id"] for d in docs] == ids
    for doc, vector in zip(docs, vectors, strict=True):
        assert doc["found"]
        assert len(doc["_source"]["embedding"]) == load_index().dims
        assert doc["_source"]["embedding"][:3] == pytest.approx(vector[:3].tolist(), rel=1e-6)

    produce_tombstones(stack, ids[:1])
    assert wait_for_count(es, collection, 19) == 19
    assert not es.exists(index=load_index().name, id=ids[0])

    # A replay of the same keys overwrites: still 19 documents, each at a newer version.
    produce_vectors(stack, collection, ids[1:], vectors[1:])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        versions = [d["_version"] for d in es.mget(index=load_index().name, ids=ids[1:])["docs"]]
        if all(v >= 2 for v in versions):
            break
        time.sleep(0.25)
    assert all(v >= 2 for v in versions)
    assert count(es, collection) == 19
    produce_tombstones(stack, ids)


def test_malformed_record_goes_to_the_dead_letter_topic_and_the_sink_keeps_running(
    stack: Settings, es: Elasticsearch
) -> None:
    collection = new_collection()
    topics = load_topics()
    before = dlq_size(stack)
    producer = vector_producer(stack)
    bad_dims = json.dumps({"id": "bad", "embedding": [1.0, 2.0, 3.0], "collection": collection})
    producer.produce(topics.vectors.name, key=f"{collection}-bad".encode(), value=bad_dims.encode())
    producer.produce(topics.vectors.name, key=f"{collection}-notjson".encode(), value=b"{not json")
    assert producer.flush(30) == 0
    good = [f"{collection}-good"]
    produce_vectors(stack, collection, good, random_vectors(1, seed=2))

    assert wait_for_count(es, collection, 1) == 1
    deadline = time.monotonic() + 30
    while dlq_size(stack) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert dlq_size(stack) == before + 2

    # Both dead letters carry the reason in Connect's context headers.
    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka.bootstrap_servers,
            "group.id": f"tests-{collection}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topics.dlq.name])
    reasons: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while len(reasons) < 2 and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error() or not (msg.key() or b"").startswith(collection.encode()):
            continue
        headers = {k: (v or b"").decode() for k, v in msg.headers() or []}
        reasons[msg.key().decode()] = headers.get("__connect.errors.exception.message", "")
    consumer.close()
    assert set(reasons) == {f"{collection}-bad", f"{collection}-notjson"}
    assert all(reasons.values()), reasons

    (sink,) = load_connectors()
    state = connector_status(stack, sink.name)
    assert state["state"] == "RUNNING"
    assert all(t["state"] == "RUNNING" for t in state["tasks"])
    produce_tombstones(stack, good)
