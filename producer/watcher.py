"""The long-running watcher of `watch_dir`: an initial sync, then file-system events.

- A file is published once it was closed after writing (inotify close-write) or its size and
  mtime held still for `settle_s` (P1), and only if it changed since its last delivered
  publication (state), so restarts do not re-vectorize the collection.
- A removed file (or a folder, or the source of a move) becomes a tombstone for its id.
- A refused file is dead-lettered once per version (size, mtime), not on every event.
- Every few seconds it touches a heartbeat file, which `gallery status` reads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from gallery_core.image_records import ImageHeaders
from gallery_core.publisher import ImagePublisher
from gallery_core.settings import Settings
from gallery_core.sources.files import Accepted, file_version, inspect_file
from gallery_core.sources.paths import collection_of, is_ignored
from gallery_core.sources.sidecar import SIDECAR_NAMES, SidecarIndex
from producer.state import Published, PublishedState
from producer.walk import is_candidate_name, walk_images

__all__ = ["FolderWatcher"]

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 5.0


@dataclass
class _Pending:
    last_event: float
    signature: tuple[int, int] | None = None
    closed: bool = False


class _Handler(FileSystemEventHandler):
    def __init__(self, events: queue.Queue[FileSystemEvent]) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.events.put(event)


class FolderWatcher:
    def __init__(
        self, settings: Settings, publisher: ImagePublisher, state: PublishedState
    ) -> None:
        self.settings = settings
        self.root = settings.paths.watch_dir
        self.publisher = publisher
        self.state = state
        self.sidecars = SidecarIndex(self.root)
        self.pending: dict[Path, _Pending] = {}
        self.events: queue.Queue[FileSystemEvent] = queue.Queue()
        self.heartbeat = settings.paths.run_dir / "producer" / "heartbeat"

    # --- decisions -----------------------------------------------------------------------

    def consider(self, path: Path) -> None:
        """Publish `path` if it is a new or changed image; dead-letter it if refused."""
        result = inspect_file(self.root, path, self.sidecars, self.settings.limits)
        key = os.path.relpath(path, self.root)
        if not isinstance(result, Accepted):
            version = file_version(path)
            if not self.state.already_refused(self.root, key, version):
                logger.warning(
                    "refused %s: %s %s", path, result.letter.reason, result.letter.detail
                )
                self.publisher.publish_dead_letter(
                    result.letter, _remember_refusal(self.state, self.root, key, version)
                )
            return
        self.state.drop_refusal(self.root, key)
        rel = result.rel.as_posix()
        before = self.state.get(self.root, rel)
        if before is not None and before.sha256 == result.headers.content_sha256:
            return
        item = Published(
            rel,
            result.artwork_id,
            result.size,
            result.mtime_ns,
            result.headers.content_sha256 or "",
        )

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                self.state.put(self.root, item)
                logger.info("published %s (%s)", rel, result.artwork_id[:12])
            else:  # stays unpublished in the state: the next sync publishes it again
                logger.error("delivery of %s failed: %s", rel, err)

        self.publisher.publish_image(result.artwork_id, result.data, result.headers, delivered)

    def remove(self, rel: str) -> None:
        """Tombstone a removed file's id (only if it was published)."""
        before = self.state.get(self.root, rel)
        if before is None:
            return
        headers = ImageHeaders(path=rel, collection=collection_of(PurePosixPath(rel)))

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                self.state.delete(self.root, rel)
                logger.info("removed %s (%s)", rel, before.artwork_id[:12])
            else:
                logger.error("removal of %s failed: %s", rel, err)

        self.publisher.publish_removal(before.artwork_id, headers, delivered)

    def remove_under(self, folder: Path) -> None:
        try:
            prefix = os.path.relpath(folder, self.root)
        except ValueError:
            return
        for item in self.state.under(self.root, prefix):
            self.remove(item.rel)

    def sync(self) -> None:
        """Publish what is new or changed, remove what disappeared while we were not looking."""
        seen = set()
        for path in walk_images(self.root):
            seen.add(path)
            self.consider(path)
            self.publisher.poll(0)
        for item in self.state.under(self.root):
            if not (self.root / item.rel).exists():
                self.remove(item.rel)
        logger.info("initial sync of %s: %d files", self.root, len(seen))

    # --- events --------------------------------------------------------------------------

    def _in_hidden_folder(self, path: Path) -> bool:
        """Below a hidden or temporary folder (a copy being staged): not ours to publish yet."""
        try:
            parents = path.parent.relative_to(self.root).parts
        except ValueError:
            return False
        return any(is_ignored(part) for part in parents)

    def _mark(self, path: Path, *, closed: bool = False) -> None:
        if self._in_hidden_folder(path):
            return
        if not is_candidate_name(path.name):
            if path.name.lower() in SIDECAR_NAMES:
                self._sidecar_changed(path)
            return
        entry = self.pending.setdefault(path, _Pending(last_event=time.monotonic()))
        entry.last_event = time.monotonic()
        entry.closed = entry.closed or closed

    def _sidecar_changed(self, path: Path) -> None:
        """New metadata: forget cached tables and republish the images it describes."""
        folder = PurePosixPath(os.path.relpath(path.parent, self.root))
        if ".." in folder.parts:
            return
        self.sidecars.invalidate(folder)
        for image in walk_images(path.parent):
            rel = os.path.relpath(image, self.root)
            self.state.drop_refusal(self.root, rel)
            published = self.state.get(self.root, rel)
            if published is not None:
                self.state.delete(self.root, published.rel)  # force republish with new metadata
            self._mark(image)

    def handle(self, event: FileSystemEvent) -> None:
        src = Path(os.fsdecode(event.src_path))
        if isinstance(event, (DirMovedEvent, FileMovedEvent)):
            dest = Path(os.fsdecode(event.dest_path))
            if event.is_directory:
                self.remove_under(src)
                for path in walk_images(dest):
                    self._mark(path)
            else:
                self.remove(os.path.relpath(src, self.root))
                self._mark(dest, closed=True)
        elif isinstance(event, DirDeletedEvent):
            self.remove_under(src)
        elif isinstance(event, FileDeletedEvent):
            self.pending.pop(src, None)
            self.remove(os.path.relpath(src, self.root))
        elif isinstance(event, DirCreatedEvent):
            for path in walk_images(src):  # files copied in before the folder was watched
                self._mark(path)
        elif isinstance(event, FileClosedEvent):
            self._mark(src, closed=True)
        elif not event.is_directory and event.event_type in ("created", "modified"):
            self._mark(src)

    def check_pending(self) -> None:
        now = time.monotonic()
        settle = self.settings.producer.settle_s
        for path, entry in list(self.pending.items()):
            signature = file_version(path)
            if signature is None:  # gone before it settled
                del self.pending[path]
                continue
            stable = signature == entry.signature and now - entry.last_event >= settle
            entry.signature = signature
            if entry.closed or stable:
                del self.pending[path]
                self.consider(path)

    def run(self, stop: threading.Event) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Handler(self.events), str(self.root), recursive=True)
        observer.start()  # watch first, then sync: nothing falls between the two
        try:
            self.sync()
            last_beat = 0.0
            while not stop.is_set():
                deadline = time.monotonic() + self.settings.producer.poll_interval_s
                while time.monotonic() < deadline:
                    with contextlib.suppress(queue.Empty):
                        self.handle(self.events.get(timeout=0.05))
                self.check_pending()
                self.publisher.poll(0)
                if time.monotonic() - last_beat > HEARTBEAT_EVERY_S:
                    self.heartbeat.write_text(str(time.time()))
                    last_beat = time.monotonic()
        finally:
            observer.stop()
            observer.join(timeout=10)
            left = self.publisher.flush(60)
            if left:
                logger.error(
                    "%d records undelivered at exit; the next start republishes them", left
                )


def _remember_refusal(
    state: PublishedState, root: Path, key: str, version: tuple[int, int] | None
) -> Callable[[Any, Any], None]:
    """Delivery callback of a dead letter: once delivered, that version is not sent again."""

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            logger.error("dead letter for %s not delivered: %s", key, err)
        else:
            state.put_refusal(root, key, version)

    return delivered
