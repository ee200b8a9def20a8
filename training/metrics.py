"""Retrieval metrics on L2-normalised vectors (pure numpy).

Copy recovery: queries are perturbed copies; ``truth[i]`` is the index row of query
``i``'s original, or -1 for a distractor whose original is not indexed.
Label retrieval: leave-one-out over one labelled set (each image queries the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "MatchScores",
    "best_threshold",
    "fused_top_k",
    "label_retrieval",
    "match_scores",
    "recall_at_k",
    "top_k",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def top_k(queries: F32, index: F32, k: int) -> tuple[I64, F32]:
    """Indices and cosine similarities of each query's ``k`` nearest index rows."""
    sim = queries @ index.T
    k = min(k, index.shape[0])
    part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sim, part, 1), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, 1).astype(np.int64)
    return idx, np.take_along_axis(sim, idx, 1).astype(np.float32)


def fused_top_k(query_sets: list[F32], index: F32, k: int) -> tuple[I64, F32]:
    """`top_k` for photos seen as several views against works stored as several vectors.

    ``query_sets[i]``: ``(views, d)``; ``index``: ``(works, vectors per work, d)``. A work
    scores by its best (view, vector) pair, as the API's search by photo ranks works.
    """
    works, per_work, d = index.shape
    flat = index.reshape(works * per_work, d)
    k = min(k, works)
    idx = np.zeros((len(query_sets), k), np.int64)
    sims = np.zeros((len(query_sets), k), np.float32)
    for i, q in enumerate(query_sets):
        scores = (flat @ q.T).reshape(works, per_work * len(q)).max(axis=1)
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.argsort(-scores[part], kind="stable")]
        idx[i], sims[i] = order, scores[order]
    return idx, sims


def recall_at_k(neighbours: I64, truth: I64, k: int) -> float:
    """Share of (non-distractor) queries whose original is among the first ``k`` hits."""
    pos = truth >= 0
    if not pos.any():
        return float("nan")
    hit = (neighbours[pos, :k] == truth[pos, None]).any(axis=1)
    return float(hit.mean())


@dataclass(frozen=True, slots=True)
class MatchScores:
    precision: float
    recall: float
    f1: float


def match_scores(top1: I64, top1_sim: F32, truth: I64, threshold: float) -> MatchScores:
    """Treat "top-1 similarity >= threshold" as "this is a copy of the top-1 hit".

    TP: declared and right; FP: declared and wrong (or the query is a distractor);
    recall = TP / non-distractor queries.
    """
    declared = top1_sim >= threshold
    right = declared & (top1 == truth) & (truth >= 0)
    tp = int(right.sum())
    fp = int(declared.sum()) - tp
    positives = int((truth >= 0).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return MatchScores(precision, recall, f1)


def best_threshold(top1: I64, top1_sim: F32, truth: I64) -> float:
    """The similarity threshold with the highest F1 over all the given queries."""
    candidates = np.unique(np.round(top1_sim, 4))
    if len(candidates) > 400:
        candidates = np.quantile(top1_sim, np.linspace(0, 1, 401))
    best, best_f1 = float(candidates[0]), -1.0
    for t in candidates:
        f1 = match_scores(top1, top1_sim, truth, float(t)).f1
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def label_retrieval(vectors: F32, labels: npt.NDArray[np.integer], k: int = 10) -> dict[str, float]:
    """Leave-one-out precision@k and mAP (mean average precision over the full ranking).

    Images with label -1 are ignored; a query whose class has no other member is skipped.
    """
    keep = labels >= 0
    v, y = vectors[keep], labels[keep]
    n = len(y)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    order = np.argsort(-sim, axis=1, kind="stable")[:, : n - 1]
    rel = y[order] == y[:, None]  # (n, n-1) relevance in ranked order
    n_rel = rel.sum(axis=1)
    ok = n_rel > 0
    kk = min(k, n - 1)
    p_at_k = rel[:, :kk].mean(axis=1)
    cum = np.cumsum(rel, axis=1)
    ranks = np.arange(1, n, dtype=np.float64)
    ap = (rel * cum / ranks).sum(axis=1) / np.maximum(n_rel, 1)
    return {
        f"precision_at_{k}": float(p_at_k[ok].mean()),
        "map": float(ap[ok].mean()),
        "queries": int(ok.sum()),
    }
