"""The query benchmark's synthetic data: clustered unit vectors and artwork-like ids.

The vectors stand in for the model's embeddings (low intrinsic dimension, meaningful
neighbours); the ids look like the product's artwork ids, so the index holds documents the
similar route accepts.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

__all__ = ["DECIMALS", "Vectors", "as_json_floats", "synthetic_ids", "synthetic_vectors"]

Vectors = npt.NDArray[np.float32]

#: Decimals the synthetic components are rounded to: 12.6 KB of JSON per 1,344-dim vector
#: instead of 30 KB (a float32 printed as a double), which halves the bulk load at 1M. The
#: norms move by ~1e-5; every method (numpy, Annoy, Elasticsearch) sees the same values.
DECIMALS = 5


def as_json_floats(vector: Vectors) -> list[float]:
    """The vector as the short decimals it was rounded to (what the bulk request sends)."""
    return [float(x) for x in np.round(vector.astype(np.float64), DECIMALS)]


def synthetic_vectors(
    n: int,
    dims: int,
    *,
    centres: int = 200,
    latent_dims: int = 16,
    spread: float = 0.25,
    noise: float = 0.2,
    seed: int = 0,
) -> Vectors:
    """``(n, dims)`` float32 unit rows from a mixture of ``centres`` low-rank Gaussians.

    Each cluster is a random unit centre plus ``spread`` times a random ``latent_dims``-dim
    subspace, plus a little isotropic ``noise``. Real image embeddings have a low intrinsic
    dimension; an isotropic Gaussian in 256 dims would make all cluster-mates nearly
    equidistant (no meaningful neighbours, the worst case of every ANN index).
    """
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((centres, dims))
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    labels = rng.integers(0, centres, size=n)
    # float32 from the start, normalised a cluster at a time: 1M x 1,344 is 5.4 GB, not 11.
    out = np.empty((n, dims), dtype=np.float32)
    for c in range(centres):
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            continue
        basis = rng.standard_normal((latent_dims, dims)) / np.sqrt(dims)
        z = rng.standard_normal((len(rows), latent_dims))
        iso = rng.standard_normal((len(rows), dims)) / np.sqrt(dims)
        block = centre[c] + spread * (z @ basis) + noise * iso
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[rows] = np.round(block, DECIMALS)
    return out


def synthetic_ids(n: int, prefix: str = "bench") -> list[str]:
    """Artwork-like ids: SHA-256 hex of ``<prefix>/<i>.jpg`` (as the product hashes paths)."""
    return [hashlib.sha256(f"{prefix}/{i:06d}.jpg".encode()).hexdigest() for i in range(n)]
