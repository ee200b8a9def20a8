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

from gallery_core.reasons import Reason

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
    """`path` relative to `root`, refusing anything that leads out of the root.

    The relative path is the *logical* one (the name the user sees: it gives the id and the
    collection). Symbolic links are followed only when their fully resolved target is inside
    the root too (a collection that links one image into two categories has the same image
    under two paths); a link, or `..`, that leads anywhere else is refused. The target must be
    a regular file, and the name valid UTF-8.
    """
    root = root.resolve()
    absolute = Path(os.path.normpath(path if path.is_absolute() else root / path))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        raise PathRejected(Reason.PATH_ESCAPE, f"{path} is outside {root}") from None
    if not rel.parts:
        raise PathRejected(Reason.NOT_A_FILE, f"{path} is the root itself")
    real = Path(os.path.realpath(absolute))
    if root != real and root not in real.parents:
        raise PathRejected(Reason.PATH_ESCAPE, f"{path} resolves to {real}, outside {root}")
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        raise PathRejected(Reason.UNREADABLE, f"{path}: {exc.strerror}") from None
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
