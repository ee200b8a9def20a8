"""Hard-negative batches for the contrastive loss (pure numpy, seeded by the caller).

A batch of 64 images drawn at random from 10,000 rarely holds two images that look
alike, so the instance-contrastive loss never has to tell apart the siblings that
copy search confuses (the same arrow in another colour, moon phases, near-identical
line drawings). Here part of every batch is made of *neighbours*: each epoch the
training loop embeds the training images as they are now (`nearest_neighbours`), and
`hard_negative_batch` draws anchors as usual and adds, for each, one of its nearest
neighbours. Inside the batch the neighbour is a negative of the anchor, so the loss
pushes exactly the confusable pairs apart (batch-level hard-negative mining).

Near-duplicates (the same drawing at another resolution, which the exact-duplicate
filter of `datasets.load_arrays` keeps) must not be pushed apart: `near_duplicates`
marks neighbour pairs whose 32 px grey thumbnails are almost equal, and they are
never drawn. Nor are pairs that share a label the model is meant to cluster by
(`same_label`; the training loop applies it to the style head).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "NEAR_DUPLICATE_DIFF",
    "grey_thumbnails",
    "hard_negative_batch",
    "near_duplicates",
    "nearest_neighbours",
    "same_label",
]

#: Mean absolute difference (0..255 grey levels) of two 32 px grey thumbnails below which
#: a neighbour pair counts as the same picture.
NEAR_DUPLICATE_DIFF: Final = 4.0
THUMB_SIDE: Final = 32


def nearest_neighbours(
    embeddings: npt.NDArray[np.float32], k: int, *, chunk: int = 1024
) -> npt.NDArray[np.int64]:
    """``(n, k)`` indices of each row's ``k`` most cosine-similar other rows, best first.

    ``embeddings`` are unit rows. Works in chunks of ``chunk`` queries so memory stays
    ``chunk x n`` floats.
    """
    n = len(embeddings)
    if not 0 < k < n:
        raise ValueError(f"k must be in 1..{n - 1}")
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        sims = embeddings[start : start + chunk] @ embeddings.T
        rows = np.arange(len(sims))
        sims[rows, start + rows] = -np.inf  # never oneself
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[start : start + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def grey_thumbnails(
    images: npt.NDArray[np.uint8], side: int = THUMB_SIDE
) -> npt.NDArray[np.float32]:
    """``(n, side*side)`` grey thumbnails (box-averaged) of square uint8 RGB images."""
    n, size = images.shape[0], images.shape[1]
    if size % side:
        raise ValueError(f"image side {size} is not a multiple of {side}")
    f = size // side
    out = np.empty((n, side * side), dtype=np.float32)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    for start in range(0, n, 512):
        block = images[start : start + 512].astype(np.float32) @ weights
        block = block.reshape(-1, side, f, side, f).mean(axis=(2, 4))
        out[start : start + 512] = block.reshape(len(block), -1)
    return out


def near_duplicates(
    thumbs: npt.NDArray[np.float32],
    neighbours: npt.NDArray[np.int64],
    max_diff: float = NEAR_DUPLICATE_DIFF,
    *,
    chunk: int = 512,
) -> npt.NDArray[np.bool_]:
    """``(n, k)``: True where neighbour ``neighbours[i, j]`` looks the same as image ``i``.

    Works in chunks of rows, so memory stays ``chunk x k`` thumbnails.
    """
    out = np.empty(neighbours.shape, dtype=np.bool_)
    for start in range(0, len(neighbours), chunk):
        rows = thumbs[start : start + chunk, None, :]
        diff = np.abs(rows - thumbs[neighbours[start : start + chunk]]).mean(axis=2)
        out[start : start + chunk] = diff < max_diff
    return out


def same_label(
    labels: npt.NDArray[np.int32], neighbours: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """``(n, k)``: True where image ``i`` and ``neighbours[i, j]`` carry the same label (>= 0)."""
    out: npt.NDArray[np.bool_] = (labels[:, None] == labels[neighbours]) & (labels[:, None] >= 0)
    return out


def hard_negative_batch(
    rng: np.random.Generator,
    probs: npt.NDArray[np.float64],
    neighbours: npt.NDArray[np.int64],
    usable: npt.NDArray[np.bool_],
    batch_size: int,
    share: float,
) -> npt.NDArray[np.int64]:
    """``batch_size`` distinct indices: anchors drawn by ``probs`` plus one neighbour each.

    About ``share`` of the batch are neighbours (``neighbours[a, j]`` with
    ``usable[a, j]``, drawn at random among an anchor's usable ones); an anchor whose
    usable neighbours are all in the batch already gets none, and the batch is topped up
    with further draws by ``probs``.
    """
    if not 0.0 <= share <= 0.5:
        raise ValueError("share must be in 0..0.5 (one neighbour per anchor at most)")
    n_anchors = batch_size - int(round(batch_size * share))
    anchors = rng.choice(len(probs), n_anchors, replace=False, p=probs)
    chosen = list(anchors)
    taken = set(chosen)
    for a in anchors:
        if len(chosen) == batch_size:
            break
        options = [int(j) for j in neighbours[a][usable[a]] if int(j) not in taken]
        if options:
            pick = options[int(rng.integers(len(options)))]
            chosen.append(pick)
            taken.add(pick)
    while len(chosen) < batch_size:
        extra = int(rng.choice(len(probs), p=probs))
        if extra not in taken:
            chosen.append(extra)
            taken.add(extra)
    return np.asarray(chosen, dtype=np.int64)
