"""Real-painting evaluation parts that need no model: same-artist hits and the families."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.painting_eval import same_artist_hits
from training.perturb import PAINTING_FAMILIES, perturb


def test_same_artist_hits_count_only_artists_with_two_works_and_skip_unattributed() -> None:
    # A, A, B, B, C and an unattributed work: 4 queries. A's works are each other's nearest;
    # B's two works are far apart, with 10 other works nearer to each.
    rng = np.random.default_rng(0)
    v = rng.normal(size=(16, 8)).astype(np.float32)
    v[1] = v[0] + 0.01
    artists = ["A", "A", "B", "B", "C", ""] + [f"x{i}" for i in range(10)]
    v[3] = -v[2]
    for i in range(6, 16):  # ten works between B's two
        v[i] = v[2] + 0.1 * rng.normal(size=8)
    hit, queries = same_artist_hits(v, artists)
    assert queries == 4
    assert hit == pytest.approx(0.5)


@pytest.mark.parametrize("family", list(PAINTING_FAMILIES))
def test_painting_families_are_seeded_and_change_the_picture(family: str) -> None:
    rng = np.random.default_rng(1)
    src = Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    a, b = perturb(src, family, 5), perturb(src, family, 5)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.mode == "RGB"
    assert a.size != src.size or not np.array_equal(np.asarray(a), np.asarray(src))


def test_the_families_do_what_their_names_say() -> None:
    src = Image.new("RGB", (200, 150), (120, 80, 40))
    assert perturb(src, "detail_crop", 0).size == (120, 90)
    assert perturb(src, "fifth_resolution", 0).size == (40, 30)
    framed = perturb(src, "framed_photo", 0)
    assert framed.width > 200 / 0.75 * 0.99 and framed.height > 150
    caption = perturb(src, "caption_strip", 0)
    assert caption.width == 200 and 150 * 1.15 <= caption.height <= 150 * 1.25 + 1
    dim = np.asarray(perturb(src, "dim_noise", 0), np.float32).mean()
    assert dim < 0.6 * np.asarray(src, np.float32).mean()
