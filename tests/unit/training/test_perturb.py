"""Perturbation families: RGB out, deterministic, and each does what its name says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.baselines import ColourHistogramEncoder
from training.perturb import FAMILIES, perturb


def _img() -> Image.Image:
    a = np.zeros((60, 80, 3), np.uint8)
    a[:, :40] = (200, 30, 30)
    a[20:40, 50:70] = (20, 40, 220)
    return Image.fromarray(a)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_deterministic_and_changes_the_image(family: str) -> None:
    a = perturb(_img(), family, seed=3)
    assert a.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(a), np.asarray(perturb(_img(), family, seed=3)))
    if a.size == _img().size:
        assert not np.array_equal(np.asarray(a), np.asarray(_img()))


def test_flip_mirrors_and_grayscale_drops_colour() -> None:
    flipped = np.asarray(perturb(_img(), "flip", 0))
    np.testing.assert_array_equal(flipped, np.asarray(_img())[:, ::-1])
    gray = np.asarray(perturb(_img(), "grayscale", 0)).astype(int)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()


def test_crop_keeps_60_to_80_percent_of_each_side() -> None:
    w, h = perturb(_img(), "crop", 1).size
    assert 0.6 * 80 - 1 <= w <= 0.8 * 80 + 1 and 0.6 * 60 - 1 <= h <= 0.8 * 60 + 1


def test_histogram_baseline_is_unit_norm_and_ignores_a_flip_in_its_colour_half() -> None:
    enc = ColourHistogramEncoder(16)
    a = np.asarray(_img().resize((16, 16)))
    v = enc.encode(np.stack([a, a[:, ::-1]]))
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(v[0, :72], v[1, :72], atol=1e-6)
