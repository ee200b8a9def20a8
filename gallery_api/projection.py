"""Vectors -> 2-D map coordinates for the gallery's map: pure, no I/O.

t-SNE (scikit-learn, Barnes-Hut) after a PCA down to at most 50 dimensions, the usual recipe:
PCA removes noise and makes the neighbour search cheap, t-SNE keeps local neighbourhoods, which
is what a "works that look alike sit together" map needs. Tiny inputs, where t-SNE's perplexity
cannot be met, fall back to PCA alone. The output is scaled into the unit square (aspect ratio
kept, centred), so the front end never needs to know the method's raw scale.

Runs are deterministic for a given seed. t-SNE is O(n log n) but slow in absolute terms (about
15 s for 2,000 points on two laptop cores), so the API samples large collections and caches
the result (see `gallery_api.routes.map`).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_TSNE_POINTS", "Method", "fit_unit_square", "project"]

#: Below this many points t-SNE is meaningless (perplexity must stay under n); PCA is used.
MIN_TSNE_POINTS = 8
PCA_DIMS = 50


class Method(StrEnum):
    TSNE = "tsne"
    PCA = "pca"


def fit_unit_square(points: NDArray[np.floating], margin: float = 0.02) -> NDArray[np.float32]:
    """Scale and centre 2-D points into [margin, 1 - margin]^2, keeping the aspect ratio."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"expected an (n, 2) array, got shape {pts.shape}")
    if len(pts) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if not np.all(np.isfinite(pts)):
        raise ValueError("points must be finite")
    low, high = pts.min(axis=0), pts.max(axis=0)
    span = float((high - low).max())
    centre = (low + high) / 2
    if span == 0.0:
        return np.full(pts.shape, 0.5, dtype=np.float32)
    scaled: NDArray[np.float64] = (pts - centre) / span * (1.0 - 2 * margin) + 0.5
    return scaled.astype(np.float32)


def _pca(x: NDArray[np.float64], dims: int, seed: int) -> NDArray[np.float64]:
    from sklearn.decomposition import PCA

    dims = min(dims, x.shape[0], x.shape[1])
    out: NDArray[np.float64] = PCA(n_components=dims, random_state=seed).fit_transform(x)
    return out


def project(
    vectors: NDArray[np.floating],
    *,
    method: Method = Method.TSNE,
    seed: int = 0,
    perplexity: float = 30.0,
    max_iter: int = 500,
) -> tuple[NDArray[np.float32], Method]:
    """2-D coordinates in the unit square for each row of `vectors`, and the method used.

    t-SNE is asked for but PCA is used when there are fewer than `MIN_TSNE_POINTS` rows; one
    row sits in the centre, none gives an empty array.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, d) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("vectors must be finite")
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32), method
    if n == 1:
        return np.full((1, 2), 0.5, dtype=np.float32), method
    if np.allclose(x, x[0]):  # nothing to spread: every point in the centre
        return np.full((n, 2), 0.5, dtype=np.float32), Method.PCA
    if method is Method.PCA or n < MIN_TSNE_POINTS:
        reduced = _pca(x, 2, seed)
        if reduced.shape[1] == 1:  # only two rows, or one direction of variance
            reduced = np.hstack([reduced, np.zeros_like(reduced)])
        return fit_unit_square(reduced), Method.PCA

    from sklearn.manifold import TSNE

    reduced = _pca(x, PCA_DIMS, seed) if x.shape[1] > PCA_DIMS else x
    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, (n - 1) / 3),
        init="pca",
        learning_rate="auto",
        max_iter=max(250, max_iter),
        random_state=seed,
    )
    return fit_unit_square(tsne.fit_transform(reduced)), Method.TSNE
