"""The default model's data: which images train it and which are held out for evaluation.

* generated styles: seed `TRAIN_STYLE_SEED` for training, `EVAL_STYLE_SEED` (never
  seen in training) for evaluation;
* openclipart-png: `OPENCLIPART_HOLDOUT` of the files (chosen by a hash of the file
  name) are held out for evaluation, the rest train the genre head.

Decoded arrays are cached as ``.npy`` under ``cache_dir`` (keyed by size and counts),
so `gallery train` and `gallery eval` decode the 8,000 clip-art PNGs once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np

from training.datasets import (
    OPENCLIPART_ROOT,
    ArrayDataset,
    generated_styles,
    load_arrays,
    read_openclipart,
    split_holdout,
)
from training.progress import Progress, no_progress
from training.styles import STYLE_NAMES

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_CLEAN_VIEWS",
    "DEFAULT_EPOCHS",
    "DEFAULT_HARD_NEGATIVES",
    "DEFAULT_MAX_MINUTES",
    "DEFAULT_VERSION",
    "EVAL_STYLE_SEED",
    "OPENCLIPART_HOLDOUT",
    "TRAIN_STYLE_SEED",
    "eval_sets",
    "train_set",
]

TRAIN_STYLE_SEED: Final = 0
EVAL_STYLE_SEED: Final = 1
OPENCLIPART_HOLDOUT: Final = 0.2
DEFAULT_CACHE_DIR: Final = Path("artifacts/cache")
#: The shipped model's version and schedule (`gallery train --default`).
DEFAULT_VERSION: Final = "2026.11-4"
DEFAULT_EPOCHS: Final = 22
DEFAULT_MAX_MINUTES: Final = 52.0
#: Half of each batch drawn as mined nearest neighbours, and half of the contrastive
#: pairs (original, damaged copy): +0.022 style and +0.026 category precision@10 and
#: +0.007 copy recall@1 over 2026.11-3 (gallery_core/model/README.md, Attempts, `2026.11-4`).
DEFAULT_HARD_NEGATIVES: Final = 0.5
DEFAULT_CLEAN_VIEWS: Final = 0.5


def _cached(path: Path, build: Callable[[], ArrayDataset]) -> ArrayDataset:
    npy, meta = path.with_suffix(".npy"), path.with_suffix(".json")
    if npy.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        labels = {k: np.asarray(v, dtype=np.int32) for k, v in info["labels"].items()}
        return ArrayDataset(np.load(npy), labels, info["classes"], info["ids"])
    ds = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(npy, ds.images)
    meta.write_text(
        json.dumps(
            {
                "labels": {k: v.tolist() for k, v in ds.labels.items()},
                "classes": ds.classes,
                "ids": ds.ids,
            }
        )
    )
    return ds


def _styles(
    seed: int, size: int, per_style: int, cache_dir: Path, progress: Progress, label: str
) -> ArrayDataset:
    """Generated images of every style (cached); the progress bar only when rendering."""
    return _cached(
        cache_dir / f"styles-seed{seed}-{size}-{per_style}",
        lambda: generated_styles(
            per_style,
            seed=seed,
            size=size,
            progress=progress(label, per_style * len(STYLE_NAMES)),
        ),
    )


def _openclipart_split(
    size: int, cache_dir: Path, root: Path, progress: Progress
) -> tuple[ArrayDataset, ArrayDataset]:
    items = read_openclipart(root)
    kept, held = split_holdout(items, OPENCLIPART_HOLDOUT)
    train = _cached(
        cache_dir / f"openclipart-train-{size}-{len(kept)}",
        lambda: load_arrays(kept, size, progress=progress("decoding clip art (train)", len(kept))),
    )
    test = _cached(
        cache_dir / f"openclipart-heldout-{size}-{len(held)}",
        lambda: load_arrays(
            held,
            size,
            classes=train.classes,
            progress=progress("decoding clip art (held out)", len(held)),
        ),
    )
    return train, test


def train_set(
    size: int, *, per_style: int = 400, progress: Progress = no_progress
) -> tuple[ArrayDataset, list[str]]:
    """Generated styles (seed 0) + the non-held-out clip art, and a description of each."""
    styles = _styles(
        TRAIN_STYLE_SEED, size, per_style, DEFAULT_CACHE_DIR, progress, "rendering styles"
    )
    clip, _ = _openclipart_split(size, DEFAULT_CACHE_DIR, OPENCLIPART_ROOT, progress)
    notes = [
        f"{len(styles)} generated images, {len(styles.classes['style'])} styles x {per_style} "
        f"(training.styles, seed {TRAIN_STYLE_SEED})",
        f"{len(clip)} openclipart-png images (Debian, {len(clip.classes['genre'])} categories "
        f"as genre), {OPENCLIPART_HOLDOUT:.0%} held out by file-name hash",
    ]
    return ArrayDataset.concat([styles, clip]), notes


def eval_sets(
    size: int, *, per_style: int = 60, progress: Progress = no_progress
) -> tuple[ArrayDataset, ArrayDataset]:
    """``(held-out generated styles (seed 1), held-out openclipart)``."""
    styles = _styles(
        EVAL_STYLE_SEED, size, per_style, DEFAULT_CACHE_DIR, progress, "rendering held-out styles"
    )
    _, clip = _openclipart_split(size, DEFAULT_CACHE_DIR, OPENCLIPART_ROOT, progress)
    return styles, clip
