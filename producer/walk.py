"""Walk a folder for candidate images: hidden, temporary and sidecar files are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from gallery_core.sources.paths import is_ignored
from gallery_core.sources.sidecar import SIDECAR_NAMES

__all__ = ["is_candidate_name", "walk_images"]


def is_candidate_name(name: str) -> bool:
    return not is_ignored(name) and name.lower() not in SIDECAR_NAMES


def walk_images(root: Path) -> Iterator[Path]:
    """Every candidate file below `root`, in a stable order; links are listed, never followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        for name in sorted(filenames):
            if is_candidate_name(name):
                yield Path(dirpath) / name
