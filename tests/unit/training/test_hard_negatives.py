"""Hard-negative batches: neighbour mining, the near-duplicate guard and batch drawing."""

from __future__ import annotations

import numpy as np
import pytest

from training.hard_negatives import (
    grey_thumbnails,
    hard_negative_batch,
    near_duplicates,
    nearest_neighbours,
    same_label,
)


def _unit_rows(n: int, dims: int, seed: int) -> np.ndarray:
    e = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    out: np.ndarray = e / np.linalg.norm(e, axis=1, keepdims=True)
    return out


def test_nearest_neighbours_match_brute_force_best_first_and_never_self() -> None:
    e = _unit_rows(300, 12, 0)
    nb = nearest_neighbours(e, 4, chunk=64)  # several chunks
    sims = e @ e.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :4]
    np.testing.assert_array_equal(nb, expected)
    assert not (nb == np.arange(300)[:, None]).any()


def test_nearest_neighbours_rejects_k_outside_the_set() -> None:
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(_unit_rows(5, 3, 1), 5)


def test_a_rescaled_copy_is_a_near_duplicate_and_a_different_drawing_is_not() -> None:
    rng = np.random.default_rng(2)
    base = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    # The same picture, slightly re-rendered (+-2 grey levels), and an unrelated one.
    jitter = np.clip(base.astype(np.int16) + rng.integers(-2, 3, base.shape), 0, 255)
    other = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    images = np.concatenate([base, jitter.astype(np.uint8), other])
    thumbs = grey_thumbnails(images)
    assert thumbs.shape == (3, 32 * 32)
    dup = near_duplicates(thumbs, np.array([[1, 2], [0, 2], [0, 1]]))
    np.testing.assert_array_equal(dup, [[True, False], [True, False], [False, False]])


def test_a_batch_pairs_anchors_with_their_usable_neighbours() -> None:
    n = 200
    e = _unit_rows(n, 8, 3)
    nb = nearest_neighbours(e, 5)
    usable = np.ones_like(nb, dtype=bool)
    usable[:, 0] = False  # say every best neighbour is a near-duplicate
    probs = np.full(n, 1 / n)
    batch = hard_negative_batch(np.random.default_rng(4), probs, nb, usable, 32, 0.5)
    assert len(batch) == 32 and len(set(batch.tolist())) == 32
    anchors, added = batch[:16], batch[16:]
    # Every added image is a usable neighbour (never the unusable best one) of an anchor.
    owners = [[a for a in anchors if j in nb[a][usable[a]]] for j in added]
    assert all(owners)


def test_a_batch_is_topped_up_when_neighbours_run_out() -> None:
    n = 50
    nb = np.tile(np.arange(1, 4), (n, 1))  # everyone's neighbours are images 1, 2 and 3
    usable = np.ones_like(nb, dtype=bool)
    batch = hard_negative_batch(np.random.default_rng(5), np.full(n, 1 / n), nb, usable, 20, 0.5)
    assert len(batch) == 20 and len(set(batch.tolist())) == 20


def test_share_above_one_half_is_refused() -> None:
    nb = np.zeros((4, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="share"):
        hard_negative_batch(np.random.default_rng(0), np.full(4, 0.25), nb, nb == 0, 4, 0.75)


def test_pairs_with_one_label_are_marked_and_unlabelled_images_never_match() -> None:
    labels = np.array([0, 0, 1, -1, -1], dtype=np.int32)
    neighbours = np.array([[1, 2], [0, 3], [0, 1], [4, 0], [3, 2]])
    np.testing.assert_array_equal(
        same_label(labels, neighbours),
        [[True, False], [True, False], [False, False], [False, False], [False, False]],
    )
