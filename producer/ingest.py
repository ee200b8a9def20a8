"""`gallery ingest DIR`: publish every image under DIR, optionally wait until each is accounted.

"Accounted" means: searchable in Elasticsearch with this content hash, or in the dead-letter
topic (from the worker or the sink). Files refused before publishing (outside the root, too
large, not an image) are reported as `rejected` and dead-lettered too.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gallery_core.clients import es_client
from gallery_core.contracts import load_index, load_topics
from gallery_core.dead_letters import DeadLetterTopic
from gallery_core.publisher import ImagePublisher
from gallery_core.settings import Settings
from gallery_core.sources.files import Accepted, file_version, inspect_file
from gallery_core.sources.sidecar import SidecarIndex
from producer.state import Published, PublishedState
from producer.walk import walk_images

__all__ = [
    "IngestSummary",
    "await_accounted",
    "dlq_offsets",
    "ingest",
    "vectorized_by_other_model",
]


@dataclass
class IngestSummary:
    accepted: int = 0
    unchanged: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    failed_delivery: list[dict[str, str]] = field(default_factory=list)
    indexed: int = 0
    dead_lettered: int = 0
    dead_letters: list[dict[str, str]] = field(default_factory=list)
    pending: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def ingest(
    settings: Settings,
    directory: Path,
    *,
    wait: bool,
    force: bool = False,
    timeout_s: float = 1800.0,
    console: Console | None = None,
) -> IngestSummary:
    console = console or Console(stderr=True)
    started = time.monotonic()
    root = directory.resolve()
    topics = load_topics()
    summary = IngestSummary()
    dlq_start = dlq_offsets(settings) if wait else {}
    state = PublishedState(settings.paths.run_dir / "producer" / "state.sqlite")
    sidecars = SidecarIndex(root)
    expected: dict[str, str] = {}  # artwork id -> content sha256 still to account for
    lock = threading.Lock()

    def delivered(item: Accepted) -> Any:
        def callback(err: Any, msg: Any) -> None:
            with lock:
                if err is not None:
                    summary.failed_delivery.append({"path": item.rel.as_posix(), "error": str(err)})
                    expected.pop(item.artwork_id, None)
                    return
            state.put(
                root,
                Published(
                    item.rel.as_posix(),
                    item.artwork_id,
                    item.size,
                    item.mtime_ns,
                    item.headers.content_sha256 or "",
                ),
            )

        return callback

    def refused(key: str, version: tuple[int, int] | None) -> Any:
        def callback(err: Any, msg: Any) -> None:
            if err is not None:
                with lock:
                    summary.failed_delivery.append({"path": key, "error": str(err)})
            else:
                state.put_refusal(root, key, version)

        return callback

    with (
        ImagePublisher(settings, topics.images.name, topics.dlq.name) as publisher,
        _progress(console) as progress,
    ):
        task = progress.add_task("publishing", total=None)
        for path in walk_images(root):
            result = inspect_file(root, path, sidecars, settings.limits)
            if isinstance(result, Accepted):
                before = state.get(root, result.rel.as_posix())
                if (
                    not force
                    and before is not None
                    and before.sha256 == result.headers.content_sha256
                ):
                    summary.unchanged += 1
                else:
                    summary.accepted += 1
                    with lock:
                        expected[result.artwork_id] = result.headers.content_sha256 or ""
                    publisher.publish_image(
                        result.artwork_id, result.data, result.headers, delivered(result)
                    )
            else:
                summary.rejected.append(
                    {
                        "path": result.path,
                        "reason": result.letter.reason,
                        "detail": result.letter.detail,
                    }
                )
                # Each version of a refused file is dead-lettered once, even with `force`
                # (which re-vectorizes images; a refusal does not depend on the model).
                key = os.path.relpath(path, root)
                version = file_version(path)
                if not state.already_refused(root, key, version):
                    publisher.publish_dead_letter(result.letter, refused(key, version))
            progress.advance(task)
        progress.update(task, total=progress.tasks[task].completed)
        left = publisher.flush(120)
        if left:
            summary.failed_delivery.append({"path": "*", "error": f"{left} undelivered at exit"})
    state.close()

    if wait and expected:
        await_accounted(settings, expected, dlq_start, summary, timeout_s, console)
    summary.seconds = round(time.monotonic() - started, 2)
    return summary


def vectorized_by_other_model(settings: Settings, ids: list[str], model_version: str) -> list[str]:
    """The ids among ``ids`` whose document was vectorized by a model other than
    ``model_version`` (after a model upgrade they must go through the worker again)."""
    index = load_index().name
    stale: list[str] = []
    with es_client(settings) as es:
        for start in range(0, len(ids), 1000):
            docs = es.mget(index=index, ids=ids[start : start + 1000], source=["model_version"])[
                "docs"
            ]
            stale += [
                d["_id"]
                for d in docs
                if d.get("found") and (d.get("_source") or {}).get("model_version") != model_version
            ]
    return stale


def dlq_offsets(settings: Settings, *, end: bool = True) -> dict[int, int]:
    """Where the dead-letter topic ends now (dead letters after this belong to what follows),
    or, with ``end=False``, where it begins (to account for files dead-lettered earlier)."""
    with DeadLetterTopic(settings, "gallery-ingest", timeout_s=10) as dlq:
        return dlq.offsets(end=end)


def await_accounted(
    settings: Settings,
    expected: dict[str, str],
    dlq_start: dict[int, int],
    summary: IngestSummary,
    timeout_s: float,
    console: Console,
    *,
    model_version: str | None = None,
) -> None:
    """Wait until every id in ``expected`` (id -> content sha256) is searchable with that
    content (and, if given, vectorized by ``model_version``) or has a dead letter after
    ``dlq_start``; counts go into ``summary``."""
    index = load_index().name
    dlq = DeadLetterTopic(settings, "gallery-ingest")
    dlq.follow(dlq_start)
    es = es_client(settings)
    outstanding = dict(expected)
    deadline = time.monotonic() + timeout_s
    with _progress(console) as progress:
        task = progress.add_task("searchable or dead-lettered", total=len(outstanding))
        while outstanding and time.monotonic() < deadline:
            for key, letter in dlq.poll(0.2):
                if key not in outstanding:
                    continue
                if letter.content_sha256 and letter.content_sha256 != outstanding[key]:
                    continue  # a dead letter of an older version of this file
                summary.dead_lettered += 1
                summary.dead_letters.append(
                    {
                        "path": letter.path or key,
                        "stage": letter.stage,
                        "reason": letter.reason,
                        "detail": letter.detail,
                    }
                )
                del outstanding[key]
                progress.advance(task)
            ids = list(outstanding)
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                docs = es.mget(
                    index=index,
                    ids=chunk,
                    source=["content_sha256", "model_version"],
                    realtime=False,
                )["docs"]
                for doc in docs:
                    source = doc.get("_source") or {}
                    if (
                        doc.get("found")
                        and source.get("content_sha256") == outstanding.get(doc["_id"])
                        and model_version in (None, source.get("model_version"))
                    ):
                        summary.indexed += 1
                        outstanding.pop(doc["_id"], None)
                        progress.advance(task)
            if outstanding:
                time.sleep(0.25)
    summary.pending = len(outstanding)
    dlq.close()
    es.close()
