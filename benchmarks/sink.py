"""Sink freshness: how long from producing a vector record until it is searchable.

Produces `records` vector records at a steady rate to the vectors topic (through the real
Kafka Connect sink into the real Elasticsearch), polls Elasticsearch for the ids still
outstanding, and reports p50/p95/max of (first seen - produced). The refresh interval of the
index (1 s) is part of what is measured, as a user would experience it. The records are
deleted again with tombstones at the end.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from gallery_core.clients import es_client
from gallery_core.contracts import load_index, load_topics
from gallery_core.settings import Settings
from gallery_core.vector_records import encode_vector_record, vector_producer

__all__ = ["run_sink_benchmark"]


def run_sink_benchmark(
    settings: Settings,
    *,
    records: int = 300,
    rate_per_s: float = 100.0,
    timeout_s: float = 120.0,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or Console(stderr=True)
    index = load_index()
    topic = load_topics().vectors.name
    rng = np.random.default_rng(7)
    run = uuid.uuid4().hex[:8]
    ids = [f"bench-{run}-{i:05d}" for i in range(records)]
    produced_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    producer = vector_producer(settings)
    es = es_client(settings)
    interval = 1.0 / rate_per_s
    start = time.monotonic()
    next_poll = start
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("produced / searchable", total=records * 2)
        for i, artwork_id in enumerate(ids):
            vector = rng.standard_normal(index.dims).astype(np.float32)
            producer.produce(
                topic,
                key=artwork_id.encode(),
                value=encode_vector_record(
                    artwork_id, vector, model="benchmark", model_version="0", collection="bench"
                ),
            )
            producer.poll(0)
            produced_at[artwork_id] = time.monotonic()
            progress.advance(task)
            target = start + (i + 1) * interval
            while time.monotonic() < target:
                if time.monotonic() >= next_poll:
                    _poll(es, index.name, produced_at, seen_at, progress, task)
                    next_poll = time.monotonic() + 0.05
                time.sleep(min(0.005, max(0.0, target - time.monotonic())))
        producer.flush(30)
        deadline = time.monotonic() + timeout_s
        while len(seen_at) < records and time.monotonic() < deadline:
            _poll(es, index.name, produced_at, seen_at, progress, task)
            time.sleep(0.05)
    for artwork_id in ids:  # clean up: tombstones delete through the same sink
        producer.produce(topic, key=artwork_id.encode(), value=None)
    producer.flush(30)
    es.close()
    latencies = np.array([seen_at[i] - produced_at[i] for i in seen_at]) * 1000
    return {
        "records": records,
        "searchable": len(seen_at),
        "rate_per_s": rate_per_s,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
        "p95_ms": round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None,
        "max_ms": round(float(latencies.max()), 1) if len(latencies) else None,
        "refresh_interval": index.settings.get("refresh_interval"),
    }


def _poll(
    es: Any,
    index: str,
    produced: dict[str, float],
    seen: dict[str, float],
    progress: Progress,
    task: Any,
) -> None:
    outstanding = [i for i in produced if i not in seen]
    if not outstanding:
        return
    found = es.search(
        index=index,
        query={"ids": {"values": outstanding[:1000]}},
        size=len(outstanding[:1000]),
        source=False,
    )
    now = time.monotonic()
    for hit in found["hits"]["hits"]:
        if hit["_id"] not in seen:
            seen[hit["_id"]] = now
            progress.advance(task)
