"""The query benchmark's in-process baselines: numpy brute force and Annoy (the prior art).

Both answer the same similar-by-id queries as Elasticsearch, one query at a time, over the
matrix the index was loaded with; each returns its per-query wall times and its answers as
row numbers of that matrix, the query's own row left out.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.query_vectors import Vectors

__all__ = ["ANNOY_TREES", "annoy_top_k", "numpy_top_k", "top_k_excluding"]

ANNOY_TREES = 25  # the prior art's setting


def top_k_excluding(matrix: Vectors, row: int, k: int) -> npt.NDArray[np.intp]:
    """Rows of the ``k`` largest dot products with ``matrix[row]``, best first, ``row`` left out."""
    scores = matrix @ matrix[row]
    scores[row] = -np.inf
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def numpy_top_k(
    matrix: Vectors, queries: list[int], warmup: list[int], k: int
) -> tuple[list[float], Any]:
    """Brute force: ``(seconds per query, answers)`` after warming up on ``warmup``."""
    for q in warmup:
        top_k_excluding(matrix, q, k)
    seconds, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(top_k_excluding(matrix, q, k))
        seconds.append(time.perf_counter() - started)
    return seconds, answers


def annoy_top_k(
    matrix: Vectors, queries: list[int], warmup: list[int], k: int
) -> tuple[float, list[float], list[list[int]]]:
    """Annoy (angular, `ANNOY_TREES` trees): ``(build seconds, seconds per query, answers)``."""
    from annoy import AnnoyIndex

    index = AnnoyIndex(matrix.shape[1], "angular")
    for i, row in enumerate(matrix):
        index.add_item(i, row)
    started = time.perf_counter()
    index.build(ANNOY_TREES, n_jobs=-1)
    build_s = time.perf_counter() - started

    def query(q: int) -> list[int]:
        # default search_k (n_trees * n); one extra because the query itself comes back
        return [j for j in index.get_nns_by_vector(matrix[q], k + 1) if j != q][:k]

    for q in warmup:
        query(q)
    seconds, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(query(q))
        seconds.append(time.perf_counter() - started)
    index.unload()
    return build_s, seconds, answers
