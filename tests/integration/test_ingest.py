"""`gallery ingest` and the watched folder, end to end on the real stack and worker."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path, PurePosixPath

import pytest
from rich.console import Console

from gallery_core.clients import es_client
from gallery_core.contracts import load_index
from gallery_core.settings import Settings
from producer.ingest import IngestSummary, dlq_offsets, ingest
from tests.integration.imagesets import broken_files, noise_png, write_many
from tests.integration.sinkutil import count, delete_collection, new_collection, wait_for_count

pytestmark = pytest.mark.integration

QUIET = Console(stderr=True, quiet=True)


def test_ingest_accounts_for_every_file_and_dead_letters_each_broken_one(
    stack: Settings, tmp_path: Path
) -> None:
    collection = new_collection()
    root = tmp_path / "drop"
    outside = tmp_path / "outside"
    outside.mkdir()
    write_many(root / collection, 12, seed=5)
    expected = broken_files(root / collection / "broken", outside)

    summary = ingest(stack, root, wait=True, timeout_s=300, console=QUIET)

    reasons = {Path(item["path"]).name: item["reason"] for item in summary.rejected}
    reasons.update({Path(item["path"]).name: item["reason"] for item in summary.dead_letters})
    assert reasons == expected
    assert summary.indexed == 12 and summary.pending == 0 and not summary.failed_delivery
    assert summary.accepted == 12 + summary.dead_lettered
    with es_client(stack) as es:
        assert count(es, collection) == 12

    dlq_before = dlq_offsets(stack)
    again = ingest(stack, root, wait=True, timeout_s=60, console=QUIET)
    assert again.accepted == 0 and again.unchanged == summary.accepted
    # the refused files are reported again, but not dead-lettered a second time
    assert len(again.rejected) == len(summary.rejected) and dlq_offsets(stack) == dlq_before
    with es_client(stack) as es:
        delete_collection(stack, es, collection)


def test_a_dropped_file_becomes_searchable_and_a_removed_one_disappears(stack: Settings) -> None:
    collection = new_collection()
    folder = stack.paths.watch_dir / collection
    folder.mkdir(parents=True)
    es = es_client(stack)
    try:
        original = noise_png(42)
        (folder / "a.png").write_bytes(original)
        (folder / "copy-of-a.png").write_bytes(original)  # identical image, second path
        assert wait_for_count(es, collection, 2, timeout=60) == 2
        hits = es.search(
            index=load_index().name,
            query={"term": {"collection": collection}},
            source=["path", "content_sha256"],
        )["hits"]["hits"]
        assert sorted(h["_source"]["path"] for h in hits) == [
            f"{collection}/a.png",
            f"{collection}/copy-of-a.png",
        ]
        assert len({h["_source"]["content_sha256"] for h in hits}) == 1

        (folder / "a.png").unlink()
        assert wait_for_count(es, collection, 1, timeout=60) == 1
    finally:
        shutil.rmtree(folder)
        wait_for_count(es, collection, 0, timeout=60)
        es.close()


def test_a_file_copied_slowly_is_published_once_complete(stack: Settings) -> None:
    collection = new_collection()
    folder = stack.paths.watch_dir / collection
    folder.mkdir(parents=True)
    es = es_client(stack)
    try:
        data = noise_png(7, size=300)
        with (folder / "slow.png").open("wb") as fh:  # written in pieces, like a slow copy
            for start in range(0, len(data), len(data) // 5 + 1):
                fh.write(data[start : start + len(data) // 5 + 1])
                fh.flush()
                time.sleep(0.3)
        assert wait_for_count(es, collection, 1, timeout=60) == 1
        (doc,) = es.search(
            index=load_index().name, query={"term": {"collection": collection}}, source=["width"]
        )["hits"]["hits"]
        assert doc["_source"]["width"] == 300
    finally:
        shutil.rmtree(folder)
        wait_for_count(es, collection, 0, timeout=60)
        es.close()


def test_works_vectorized_by_another_model_are_told_apart(stack: Settings) -> None:
    """After a model upgrade, `make demo` republishes what an older model vectorized."""
    from gallery_cli.demo import served_model_version
    from gallery_core.sources.paths import artwork_id
    from producer.ingest import await_accounted, vectorized_by_other_model

    collection = new_collection()
    folder = stack.paths.watch_dir / collection
    paths = write_many(folder, 2, seed=17)
    es = es_client(stack)
    try:
        assert wait_for_count(es, collection, 2, timeout=60) == 2
        ids = [artwork_id(PurePosixPath(f"{collection}/{p.name}")) for p in paths]
        version = served_model_version(stack)
        assert vectorized_by_other_model(stack, ids, version) == []
        assert sorted(vectorized_by_other_model(stack, ids, "an-older-model")) == sorted(ids)

        expected = {
            i: hashlib.sha256(p.read_bytes()).hexdigest() for i, p in zip(ids, paths, strict=True)
        }
        current = IngestSummary()
        await_accounted(
            stack, expected, dlq_offsets(stack), current, 30, QUIET, model_version=version
        )
        assert current.indexed == 2
        other = IngestSummary()
        await_accounted(
            stack, expected, dlq_offsets(stack), other, 1, QUIET, model_version="an-older-model"
        )
        assert other.indexed == 0  # still outstanding: the documents are from another model
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        wait_for_count(es, collection, 0, timeout=60)
        es.close()
