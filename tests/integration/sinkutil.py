"""Helpers for tests that drive the real vectors topic -> Connect -> Elasticsearch path."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import numpy as np
from confluent_kafka import Consumer, TopicPartition
from elasticsearch import Elasticsearch

from gallery_core.contracts import load_index, load_topics
from gallery_core.settings import Settings
from gallery_core.vector_records import encode_vector_record, vector_producer


def new_collection() -> str:
    """A collection name of its own per test, so tests never see each other's documents."""
    return f"test-{uuid.uuid4().hex[:10]}"


def random_vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, load_index().dims)).astype(np.float32)


def produce_vectors(
    settings: Settings, collection: str, ids: list[str], vectors: np.ndarray
) -> None:
    producer = vector_producer(settings)
    topic = load_topics().vectors.name
    for artwork_id, vector in zip(ids, vectors, strict=True):
        producer.produce(
            topic,
            key=artwork_id.encode(),
            value=encode_vector_record(
                artwork_id, vector, model="test", model_version="0", collection=collection
            ),
        )
        producer.poll(0)
    assert producer.flush(60) == 0


def produce_tombstones(settings: Settings, ids: Iterable[str]) -> None:
    producer = vector_producer(settings)
    topic = load_topics().vectors.name
    for artwork_id in ids:
        producer.produce(topic, key=artwork_id.encode(), value=None)
    assert producer.flush(60) == 0


def count(es: Elasticsearch, collection: str) -> int:
    es.indices.refresh(index=load_index().name)
    return int(
        es.count(index=load_index().name, query={"term": {"collection": collection}})["count"]
    )


def wait_for_count(es: Elasticsearch, collection: str, expected: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    seen = count(es, collection)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        seen = count(es, collection)
    return seen


def dlq_size(settings: Settings) -> int:
    topic = load_topics().dlq.name
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": "tests-dlq-size"}
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = 0
        for p in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def delete_collection(settings: Settings, es: Elasticsearch, collection: str) -> None:
    """Remove a test's documents the way the product does: tombstones on the images topic."""
    index = load_index().name
    es.indices.refresh(index=index)
    ids = [
        hit["_id"]
        for hit in es.search(
            index=index, query={"term": {"collection": collection}}, size=10_000, source=False
        )["hits"]["hits"]
    ]
    producer = vector_producer(settings, **{"compression.type": "none"})
    for artwork_id in ids:
        producer.produce(load_topics().images.name, key=artwork_id.encode(), value=None)
    assert producer.flush(60) == 0
    assert wait_for_count(es, collection, 0, timeout=120) == 0
