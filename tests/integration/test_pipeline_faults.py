"""Kill or stop each moving part in the middle of a stream: exact counts at the end.

Each test publishes a set of small distinct images (its own collection), breaks one
component once part of the set is searchable, repairs it the way an operator would
(`gallery up`), and then requires every image searchable exactly once and no dead letter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from devstack.layout import Layout
from devstack.stack import process, up
from gallery_core.clients import es_client
from gallery_core.settings import Settings
from producer.ingest import ingest
from tests.integration.imagesets import write_many
from tests.integration.sinkutil import (
    count,
    delete_collection,
    dlq_size,
    new_collection,
    wait_for_count,
)

pytestmark = pytest.mark.integration

QUIET = Console(stderr=True, quiet=True)


def run_with_fault(
    stack: Settings, tmp_path: Path, total: int, fault: Callable[[Layout], None]
) -> tuple[int, int]:
    collection = new_collection()
    write_many(tmp_path / "drop" / collection, total, seed=hash(collection) % 10_000)
    dead_before = dlq_size(stack)
    es = es_client(stack)
    summary = ingest(stack, tmp_path / "drop", wait=False, console=QUIET)
    assert summary.accepted == total and not summary.failed_delivery

    deadline = time.monotonic() + 120
    while count(es, collection) < total // 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    partial = count(es, collection)
    fault(Layout.from_settings(stack))
    up(stack, QUIET)  # the operator's repair: restart whatever is down

    final = wait_for_count(es, collection, total, timeout=600)
    time.sleep(2)  # late redeliveries must not add documents
    assert count(es, collection) == final
    delete_collection(stack, es, collection)
    es.close()
    assert 0 < partial < total, "the fault did not land mid-stream"
    assert dlq_size(stack) == dead_before
    return partial, final


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    stack: Settings, tmp_path: Path
) -> None:
    _, final = run_with_fault(stack, tmp_path, 2000, lambda lay: process(lay, "worker").kill())
    assert final == 2000


def test_elasticsearch_down_for_30s_mid_stream_loses_nothing(
    stack: Settings, tmp_path: Path
) -> None:
    def outage(layout: Layout) -> None:
        process(layout, "elasticsearch").stop(timeout=60)
        time.sleep(30)

    _, final = run_with_fault(stack, tmp_path, 600, outage)
    assert final == 600


def test_connect_restarted_mid_stream_loses_nothing(stack: Settings, tmp_path: Path) -> None:
    _, final = run_with_fault(
        stack, tmp_path, 600, lambda lay: process(lay, "connect").stop(timeout=60)
    )
    assert final == 600
