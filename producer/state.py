"""What the producer has published, so a restart or a re-ingest only sends what changed.

A small SQLite table (``<run_dir>/producer/state.sqlite``): per root folder and relative path,
the artwork id, size, mtime and content hash of the last *delivered* publication. A row is
written only from a delivery report, so a producer killed between produce() and flush()
publishes those files again on restart (P4); since the id is the same, the document is
overwritten, not duplicated.

A second table remembers each refused file's version (size, mtime) once its dead letter
was delivered, so a restarted watcher or a re-run of `gallery ingest` does not
dead-letter the same unchanged file again.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Published", "PublishedState"]


@dataclass(frozen=True)
class Published:
    rel: str
    artwork_id: str
    size: int
    mtime_ns: int
    sha256: str


class PublishedState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS published (root TEXT, rel TEXT, artwork_id TEXT, "
                "size INTEGER, mtime_ns INTEGER, sha256 TEXT, PRIMARY KEY (root, rel))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS refused (root TEXT, rel TEXT, size INTEGER, "
                "mtime_ns INTEGER, PRIMARY KEY (root, rel))"
            )

    def get(self, root: Path, rel: str) -> Published | None:
        with self._lock:
            row = self._db.execute(
                "SELECT rel, artwork_id, size, mtime_ns, sha256 FROM published "
                "WHERE root = ? AND rel = ?",
                (str(root), rel),
            ).fetchone()
        return Published(*row) if row else None

    def put(self, root: Path, item: Published) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO published VALUES (?, ?, ?, ?, ?, ?)",
                (str(root), item.rel, item.artwork_id, item.size, item.mtime_ns, item.sha256),
            )

    def delete(self, root: Path, rel: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM published WHERE root = ? AND rel = ?", (str(root), rel))

    def under(self, root: Path, prefix: str = "") -> list[Published]:
        """Everything published from `root` (optionally below the folder `prefix`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rel, artwork_id, size, mtime_ns, sha256 FROM published WHERE root = ?",
                (str(root),),
            ).fetchall()
        items = [Published(*r) for r in rows]
        if prefix:
            items = [i for i in items if i.rel.startswith(prefix.rstrip("/") + "/")]
        return items

    def refusal(self, root: Path, rel: str) -> tuple[int, int] | None:
        """The (size, mtime_ns) of `rel` when its dead letter was delivered, if it was."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns FROM refused WHERE root = ? AND rel = ?", (str(root), rel)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def already_refused(self, root: Path, rel: str, version: tuple[int, int] | None) -> bool:
        """True if this version of `rel` was dead-lettered already (a gone file never was)."""
        return version is not None and self.refusal(root, rel) == version

    def put_refusal(self, root: Path, rel: str, version: tuple[int, int] | None) -> None:
        """Remember that this version's dead letter was delivered (a gone file: nothing)."""
        if version is None:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)", (str(root), rel, *version)
            )

    def drop_refusal(self, root: Path, rel: str) -> None:
        if self.refusal(root, rel) is not None:  # a read first: most files were never refused
            with self._lock:
                self._db.execute("DELETE FROM refused WHERE root = ? AND rel = ?", (str(root), rel))

    def close(self) -> None:
        with self._lock:
            self._db.close()
