"""Retrieval metrics on hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import EvalReport
from training.metrics import (
    best_threshold,
    fused_top_k,
    label_retrieval,
    match_scores,
    recall_at_k,
    top_k,
)


def _unit(*rows: list[float]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_top_k_orders_by_cosine() -> None:
    index = _unit([1, 0], [0, 1], [1, 1])
    idx, sim = top_k(_unit([1, 0.1]), index, 2)
    assert idx.tolist() == [[0, 2]]
    assert sim[0, 0] > sim[0, 1]


def test_recall_at_k_ignores_distractors() -> None:
    neighbours = np.asarray([[0, 1], [0, 1], [2, 0]])
    truth = np.asarray([0, 1, -1])
    assert recall_at_k(neighbours, truth, 1) == pytest.approx(0.5)
    assert recall_at_k(neighbours, truth, 2) == pytest.approx(1.0)


def test_match_scores_count_distractor_hits_as_false_positives() -> None:
    top1 = np.asarray([0, 5, 2, 3])
    sims = np.asarray([0.9, 0.8, 0.95, 0.3], dtype=np.float32)
    truth = np.asarray([0, 1, -1, 3])
    s = match_scores(top1, sims, truth, 0.5)
    # declared: 0 (right), 1 (wrong), 2 (distractor) -> TP 1, FP 2; positives 3.
    assert (s.precision, s.recall) == pytest.approx((1 / 3, 1 / 3))
    assert best_threshold(top1, sims, truth) < 0.31  # declaring all gives the best F1 here


def test_label_retrieval_precision_and_map() -> None:
    v = _unit([1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9])
    y = np.asarray([0, 0, 1, 1])
    r = label_retrieval(v, y, k=1)
    assert r["precision_at_1"] == pytest.approx(1.0)
    assert r["map"] == pytest.approx(1.0)
    # Swap labels so each nearest neighbour is of the other class.
    r = label_retrieval(v, np.asarray([0, 1, 0, 1]), k=1)
    assert r["precision_at_1"] == pytest.approx(0.0)
    # Queries 1 and 3 find their one relevant item at rank 2 (AP 1/2), queries 0 and 2
    # at rank 3 (AP 1/3): mAP = 5/12.
    assert r["map"] == pytest.approx(5 / 12)


def _report(cnn: float, rand: float, hist: float, imagenet: float = 0.5) -> EvalReport:
    fam = {
        m: {"recall_at_1": r, "recall_at_10": 1.0, "precision": 1.0, "recall": r, "f1": r}
        for m, r in (
            ("cnn", cnn),
            ("imagenet", imagenet),
            ("random_init", rand),
            ("histogram", hist),
        )
    }
    lab = {
        m: {"precision_at_10": p, "map": p, "queries": 10}
        for m, p in (("cnn", 0.95), ("imagenet", 0.6), ("random_init", 0.3), ("histogram", 0.5))
    }
    return EvalReport(
        model="m",
        version="v",
        n_indexed=10,
        n_distractors=2,
        n_styles=10,
        n_categories=12,
        thresholds={"cnn": 0.9},
        perturbation={"flip": fam, "noise": dict(fam)},
        labels={"style": lab, "category": lab},
    )


def test_targets_need_strictly_better_recall_except_a_shared_perfect_score() -> None:
    met = {t["target"][:20]: t["met"] for t in _report(0.95, 0.9, 0.9).targets()}
    assert all(met.values())
    tie = _report(1.0, 1.0, 0.5).targets()
    assert tie[1]["met"] is True  # 1.000 cannot be beaten
    lost = _report(0.92, 0.95, 0.5).targets()
    assert lost[1]["met"] is False and "flip" in lost[1]["value"]
    lost_to_imagenet = _report(0.92, 0.5, 0.5, imagenet=0.93).targets()
    assert lost_to_imagenet[1]["met"] is False


def test_fused_top_k_ranks_a_work_by_its_best_view_and_region() -> None:
    e = np.eye(4, dtype=np.float32)
    # Work 0 is the photo's whole picture; work 1 has the photo's detail as its 3rd region.
    index = np.stack([[e[0], e[3], e[3]], [e[2], e[2], e[1]], [e[2], e[3], e[3]]])
    detail_photo = np.stack([e[1], 0.6 * e[0] + 0.8 * e[2]])  # (views, d)
    nn, sims = fused_top_k([detail_photo, e[:1]], index, 2)
    assert nn[0].tolist() == [1, 2] and sims[0][0] == pytest.approx(1.0)
    assert nn[1][0] == 0 and sims[1][0] == pytest.approx(1.0)
    # One vector per work and one view: the same as top_k.
    flat = index[:, 0]
    assert (
        fused_top_k([e[2][None]], flat[:, None], 3)[0].tolist()
        == top_k(e[2][None], flat, 3)[0].tolist()
    )
