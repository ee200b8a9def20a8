"""Turn one file under a root into a publishable image, or a refusal with a reason."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from gallery_core.dead_letters import DeadLetter
from gallery_core.image_records import ImageHeaders
from gallery_core.imaging import sniff_format
from gallery_core.reasons import Reason, Stage
from gallery_core.settings import LimitSettings
from gallery_core.sources.paths import PathRejected, artwork_id, collection_of, relative_path
from gallery_core.sources.sidecar import SidecarIndex, layout_metadata

__all__ = ["Accepted", "Refused", "file_version", "inspect_file"]


def file_version(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of `path` itself (a link is not followed), or None if it is gone."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Accepted:
    rel: PurePosixPath
    artwork_id: str
    data: bytes
    headers: ImageHeaders
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Refused:
    path: str
    letter: DeadLetter


def _refuse(path: str, reason: str, detail: str, rel: PurePosixPath | None) -> Refused:
    key = artwork_id(rel) if rel is not None else hashlib.sha256(path.encode()).hexdigest()
    return Refused(
        path,
        DeadLetter(
            stage=Stage.PRODUCER,
            reason=reason,
            detail=detail,
            key=key,
            path=rel.as_posix() if rel is not None else path,
            collection=collection_of(rel) if rel is not None else None,
        ),
    )


def inspect_file(
    root: Path,
    path: Path,
    sidecars: SidecarIndex,
    limits: LimitSettings,
) -> Accepted | Refused:
    """Read and check a file: inside the root, not a link, a size we accept, an image header.

    Full decoding (truncation, bombs, polyglots) is the worker's job, in its sandbox; here
    only what is cheap and certain is refused, with the same reason codes.
    """
    max_bytes, max_pixels = limits.max_image_bytes, limits.max_image_pixels
    shown = os.fsdecode(path)
    try:
        rel = relative_path(root, path)
    except PathRejected as exc:
        return _refuse(shown, exc.reason, exc.detail, None)
    try:
        st = os.stat(root / rel)  # links were checked to stay inside the root
        if st.st_size > max_bytes:
            return _refuse(
                shown,
                Reason.TOO_LARGE,
                f"{st.st_size} bytes is more than the limit of {max_bytes}",
                rel,
            )
        with open(root / rel, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return _refuse(shown, Reason.UNREADABLE, exc.strerror or str(exc), rel)
    if not data:
        return _refuse(shown, Reason.EMPTY, "the file has no bytes", rel)
    if len(data) > max_bytes:  # grew while we read it
        return _refuse(shown, Reason.TOO_LARGE, f"more than the limit of {max_bytes} bytes", rel)
    fmt = sniff_format(data)
    if fmt is None:
        return _refuse(
            shown,
            Reason.UNSUPPORTED_FORMAT,
            "not a JPEG, PNG, GIF, WebP, TIFF or BMP file (by its magic bytes)",
            rel,
        )
    try:  # the header only: cheap, and proves the file is an image of that format (P1, P7)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=[fmt.pil_format]) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        return _refuse(shown, Reason.TOO_MANY_PIXELS, str(exc), rel)
    except Exception as exc:  # Pillow raises many types for a bad header
        return _refuse(shown, Reason.CORRUPT, f"unreadable {fmt.value} header: {exc}", rel)
    if width * height > max_pixels:  # W1: refused before a worker decodes a pixel
        return _refuse(
            shown,
            Reason.TOO_MANY_PIXELS,
            f"{width}x{height} is more than {max_pixels} pixels",
            rel,
        )
    meta = sidecars.lookup(rel).merged_over(layout_metadata(rel))
    return Accepted(
        rel=rel,
        artwork_id=artwork_id(rel),
        data=data,
        headers=ImageHeaders(
            path=rel.as_posix(),
            collection=collection_of(rel),
            content_sha256=hashlib.sha256(data).hexdigest(),
            metadata=meta.as_fields(),
        ),
        size=len(data),
        mtime_ns=st.st_mtime_ns,
    )
