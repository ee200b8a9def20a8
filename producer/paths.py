"""Which files are candidates, where they may be, and the ids and collections they get: pure.

The artwork id is the SHA-256 of the file's path relative to the root (NFC-normalised, POSIX
separators): re-publishing the same path overwrites its document, a file changed in place
keeps its id, and two identical images under two paths are two works linked by their equal
`content_sha256` (the gallery shows them as copies of each other).
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath

from gallery_core.dead_letters import Reason

__all__ = [
    "DEFAULT_COLLECTION",
    "PathRejected",
    "artwork_id",
    "collection_of",
    "is_ignored",
    "relative_path",
]

DEFAULT_COLLECTION = "default"

_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


class PathRejected(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason.value}: {detail}")


def is_ignored(name: str) -> bool:
    """Hidden, temporary and system files are never published (nor reported)."""
    lower = name.lower()
    return name.startswith((".", "~$")) or lower in _IGNORED_NAMES or lower.endswith(_TEMP_SUFFIXES)


def relative_path(root: Path, path: Path) -> PurePosixPath:
    """`path` relative to `root`, refusing anything that leaves the root.

    No component between the root and the file may be a symbolic link (links are never
    followed, whatever they point to), `..` may not appear, the target must be a regular
    file, and the name must be valid UTF-8.
    """
    root = root.resolve()
    absolute = path if path.is_absolute() else root / path
    try:
        rel = Path(os.path.normpath(absolute)).relative_to(root)
    except ValueError:
        raise PathRejected(Reason.PATH_ESCAPE, f"{path} is outside {root}") from None
    if not rel.parts or ".." in Path(os.path.relpath(absolute, root)).parts:
        raise PathRejected(Reason.PATH_ESCAPE, f"{path} leaves {root}")
    current = root
    for part in rel.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError as exc:
            raise PathRejected(Reason.UNREADABLE, f"{current}: {exc.strerror}") from None
        if stat.S_ISLNK(mode):
            raise PathRejected(Reason.PATH_ESCAPE, f"{current} is a symbolic link (not followed)")
    if not stat.S_ISREG(mode):
        raise PathRejected(Reason.NOT_A_FILE, f"{path} is not a regular file")
    try:
        text = os.fsencode(rel).decode("utf-8")
    except UnicodeDecodeError:
        raise PathRejected(Reason.UNREADABLE, f"{os.fsencode(rel)!r} is not valid UTF-8") from None
    return PurePosixPath(unicodedata.normalize("NFC", text))


def collection_of(rel: PurePosixPath) -> str:
    """The top-level subfolder (e.g. `artworks`, `photographs`); files at the root: default."""
    return rel.parts[0] if len(rel.parts) > 1 else DEFAULT_COLLECTION


def artwork_id(rel: PurePosixPath) -> str:
    return hashlib.sha256(rel.as_posix().encode()).hexdigest()
