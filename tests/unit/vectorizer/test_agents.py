"""The Faust agent, driven with ``agent.test_context()``: no Kafka, a fake encoder.

The agent reads an in-memory channel instead of the images topic; what it sends to the
vectors and dead-letter topics is caught by `AsyncMock`s put in place of those topics'
``send``. Decoding runs in the real sandboxed decode processes, as in the worker.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock

import pytest
from PIL import Image

from gallery_core.contracts import load_index
from gallery_core.image_records import ImageHeaders, encode_headers
from gallery_core.media import MediaStore
from gallery_core.settings import get_settings
from tests.fakes import FakeEncoder
from vectorizer.pipeline import BatchProcessor, DecodePool

WAIT_S = 60.0  # the first batch starts a decode process


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """`vectorizer.agents`, imported with settings that point nowhere real.

    If an earlier test already imported it, its settings stay; nothing below depends on them
    except through the attributes the `worker` fixture patches.
    """
    run_dir = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALLERY_PATHS__RUN_DIR", str(run_dir))
        mp.setenv("GALLERY_PATHS__MEDIA_DIR", str(run_dir / "media"))
        mp.setenv("GALLERY_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")  # never connected to
        mp.setenv("APP_STORE", "memory://")  # Faust's own variable for the table store
        get_settings.cache_clear()
        try:
            module = importlib.import_module("vectorizer.agents")
        finally:
            get_settings.cache_clear()
    yield module
    # The agent's stream makes the app's Kafka consumer object (never started, so never
    # connected); its thread's event loop is never run, and never closed unless closed here.
    consumer = module.app._consumer
    if consumer is not None:
        consumer._thread.thread_loop.close()
        module.app._consumer = None


@pytest.fixture(scope="module")
def pool() -> Iterator[DecodePool]:
    decode = DecodePool(workers=1)
    yield decode
    decode.close()


@dataclass
class Worker:
    agents: ModuleType
    vectors: AsyncMock
    dlq: AsyncMock
    media: Path


def _delivered(*_args: Any, **_kwargs: Any) -> asyncio.Future[None]:
    """What `Topic.send` returns: a future of the delivery; here already delivered."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


@pytest.fixture
def worker(
    agents: ModuleType, pool: DecodePool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Worker]:
    app = agents.app
    # Tables (none today) would live in memory, not in the data dir.
    assert app.conf.store.scheme == "memory"
    monkeypatch.setattr(agents.settings.worker, "batch_size", 1)
    monkeypatch.setattr(agents.settings.worker, "batch_within_s", 0.05)
    index = load_index()
    processor = BatchProcessor(
        FakeEncoder(dims=index.dims),
        pool,
        MediaStore(tmp_path),
        dims=index.dims,
        max_bytes=1 << 20,
        max_pixels=10**7,
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-vectorize")
    # What load_processor() would have loaded: it returns these instead of the real model.
    monkeypatch.setitem(agents._state, "processor", processor)
    monkeypatch.setitem(agents._state, "executor", executor)
    vectors = AsyncMock(side_effect=_delivered)
    dlq = AsyncMock(side_effect=_delivered)
    monkeypatch.setattr(agents.vectors_topic, "send", vectors)
    monkeypatch.setattr(agents.dlq_topic, "send", dlq)
    try:
        yield Worker(agents, vectors, dlq, tmp_path)
    finally:
        executor.shutdown(wait=True)


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def headers(key: str, **meta: object) -> list[tuple[str, str | bytes | None]]:
    return encode_headers(
        ImageHeaders(
            path=f"art/{key}.png", collection="art", content_sha256="s" + key, metadata=meta
        )
    )


async def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"the agent did not {what} within {WAIT_S:g} s")
        await asyncio.sleep(0.01)


def put_and_wait(
    worker: Worker, records: list[tuple[bytes, bytes | None, Any]], sends: int
) -> None:
    """Run the agent, give it `records` (key, value, headers), wait for `sends` sends."""

    def sent() -> bool:
        return worker.vectors.await_count + worker.dlq.await_count >= sends

    async def run() -> None:
        async with worker.agents.vectorize.test_context() as agent:
            for key, value, hdrs in records:
                await agent.put(value, key=key, headers=hdrs)
            await _until(sent, f"send {sends} records")

    # A thread of its own: a session-wide event loop may already run in this one (Playwright's
    # sync API keeps one running for the browser tests), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_a_valid_image_becomes_one_vector_record_keyed_by_the_artwork_id(
    worker: Worker,
) -> None:
    put_and_wait(worker, [(b"a1", png((200, 10, 10)), headers("a1", title="Red"))], sends=1)
    worker.dlq.assert_not_awaited()
    worker.vectors.assert_awaited_once()
    sent = worker.vectors.await_args.kwargs  # type: ignore[union-attr]
    assert sent["key"] == b"a1"
    doc = json.loads(sent["value"])
    assert doc["id"] == "a1" and doc["path"] == "art/a1.png" and doc["collection"] == "art"
    assert doc["title"] == "Red" and doc["content_sha256"] == "sa1" and doc["model"] == "fake"
    assert len(doc["embedding"]) == load_index().dims
    assert (worker.media / doc["thumbnail"]).is_file()


def test_a_corrupt_image_becomes_one_dead_letter_at_the_decode_stage(worker: Worker) -> None:
    good = png((1, 2, 3))
    put_and_wait(worker, [(b"bad", good[: len(good) // 2], headers("bad"))], sends=1)
    worker.vectors.assert_not_awaited()
    worker.dlq.assert_awaited_once()
    sent = worker.dlq.await_args.kwargs  # type: ignore[union-attr]
    assert sent["key"] == b"bad"
    letter = json.loads(sent["value"])
    assert letter["stage"] == "decode" and letter["reason"] == "truncated"
    assert letter["detail"]
    assert (letter["key"], letter["path"], letter["source_topic"]) == (
        "bad",
        "art/bad.png",
        worker.agents.images_topic.get_topic_name(),
    )


def test_a_tombstone_becomes_a_tombstone_on_the_vectors_topic(worker: Worker) -> None:
    put_and_wait(worker, [(b"gone", None, headers("gone"))], sends=1)
    worker.dlq.assert_not_awaited()
    worker.vectors.assert_awaited_once_with(key=b"gone", value=None)


def test_a_batch_of_mixed_records_makes_one_model_call_and_one_output_per_record(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a full batch ends it: the four records are one batch.
    monkeypatch.setattr(worker.agents.settings.worker, "batch_size", 4)
    monkeypatch.setattr(worker.agents.settings.worker, "batch_within_s", 10 * WAIT_S)
    records = [
        (b"ok1", png((9, 9, 9)), headers("ok1")),
        (b"text", b"hello", headers("text")),
        (b"gone", None, headers("gone")),
        (b"ok2", png((90, 9, 9)), headers("ok2")),
    ]
    put_and_wait(worker, records, sends=4)
    assert worker.agents._state["processor"].encoder.calls == [2]
    sent = [c.kwargs for c in worker.vectors.await_args_list]
    assert [s["key"] for s in sent] == [b"ok1", b"gone", b"ok2"]
    assert [json.loads(s["value"])["id"] for s in sent if s["value"] is not None] == [
        "ok1",
        "ok2",
    ]
    assert sent[1]["value"] is None
    worker.dlq.assert_awaited_once()
    letter = json.loads(worker.dlq.await_args.kwargs["value"])  # type: ignore[union-attr]
    assert (letter["key"], letter["stage"], letter["reason"]) == (
        "text",
        "decode",
        "unsupported_format",
    )
