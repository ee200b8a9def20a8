"""Where thumbnails and display copies live: ``<media_dir>/{thumbs,images}/<id[:2]>/<id>.jpg``.

The worker writes them (re-encoded from decoded pixels, never the uploaded bytes) and the API
serves them; in docker-compose the folder is a volume shared by both. Writes are atomic
(temporary file + rename), so the API never serves half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MediaStore"]


@dataclass(frozen=True)
class MediaStore:
    root: Path
    thumbnail_side: int = 320
    display_side: int = 1600

    def thumbnail_path(self, artwork_id: str) -> Path:
        return self.root / "thumbs" / artwork_id[:2] / f"{artwork_id}.jpg"

    def display_path(self, artwork_id: str) -> Path:
        return self.root / "images" / artwork_id[:2] / f"{artwork_id}.jpg"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def save(self, artwork_id: str, thumbnail: bytes, display: bytes) -> str:
        """Write both files; returns the thumbnail's path relative to the media root."""
        _write_atomic(self.display_path(artwork_id), display)
        thumb = self.thumbnail_path(artwork_id)
        _write_atomic(thumb, thumbnail)
        return self.relative(thumb)

    def delete(self, artwork_id: str) -> None:
        for path in (self.thumbnail_path(artwork_id), self.display_path(artwork_id)):
            path.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
