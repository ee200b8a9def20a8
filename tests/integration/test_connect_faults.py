"""Kill -9 Kafka Connect in the middle of a stream: nothing lost, nothing duplicated."""

from __future__ import annotations

import threading
import time

import pytest
from rich.console import Console

from devstack.layout import Layout
from devstack.stack import process, up
from gallery_core.clients import es_client
from gallery_core.contracts import load_index
from gallery_core.settings import Settings
from tests.integration.sinkutil import (
    count,
    new_collection,
    produce_tombstones,
    produce_vectors,
    random_vectors,
    wait_for_count,
)

pytestmark = pytest.mark.integration

TOTAL = 1000


def test_connect_killed_mid_stream_ends_with_exactly_every_record(stack: Settings) -> None:
    collection = new_collection()
    ids = [f"{collection}-{i:04d}" for i in range(TOTAL)]
    vectors = random_vectors(TOTAL, seed=3)
    es = es_client(stack)

    def stream() -> None:  # 1,000 records over ~5 s, in chunks, as a worker would emit them
        for start in range(0, TOTAL, 50):
            produce_vectors(stack, collection, ids[start : start + 50], vectors[start : start + 50])
            time.sleep(0.25)

    producer = threading.Thread(target=stream)
    producer.start()
    # Kill Connect once part of the stream is in Elasticsearch and part is still coming.
    deadline = time.monotonic() + 60
    while count(es, collection) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    partial = count(es, collection)
    process(Layout.from_settings(stack), "connect").kill()
    producer.join()
    assert 0 < partial < TOTAL, "the kill did not land mid-stream"

    up(stack, Console(stderr=True))  # the operator's recovery: restarts what is down
    assert wait_for_count(es, collection, TOTAL, timeout=120) == TOTAL
    time.sleep(3)  # late redeliveries after the restart must not add documents
    assert count(es, collection) == TOTAL
    found = es.mget(index=load_index().name, ids=ids, source=False)["docs"]
    assert all(d["found"] for d in found)
    produce_tombstones(stack, ids)
    es.close()
