"""Regions of indexed works and views of query photos: pure geometry on real images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gallery_core.model.views import (
    REGION_GRID,
    REGION_SIDE,
    find_picture_quads,
    index_regions,
    picture_regions,
    query_views,
    rectify,
)
from training.perturb import perturb
from training.styles import render


def picture() -> Image.Image:
    return Image.fromarray(render("impressionist", 3, 1, size=480)).crop((0, 0, 480, 360))


def test_regions_are_squares_of_six_tenths_of_the_short_side_covering_the_picture() -> None:
    boxes = index_regions(400, 300)
    assert len(boxes) == REGION_GRID**2
    for b in boxes:
        assert (b.x1 - b.x0) * 400 == pytest.approx(REGION_SIDE * 300)
        assert (b.y1 - b.y0) * 300 == pytest.approx(REGION_SIDE * 300)
    assert (boxes[0].x0, boxes[0].y0) == (0.0, 0.0)
    assert (boxes[-1].x1, boxes[-1].y1) == pytest.approx((1.0, 1.0))


def test_every_sixty_percent_detail_overlaps_some_region_by_two_thirds() -> None:
    rng = np.random.default_rng(0)
    boxes = index_regions(1, 1)
    for _ in range(200):
        x, y = rng.uniform(0, 0.4, 2)
        best = max(
            max(0.0, min(x + 0.6, b.x1) - max(x, b.x0))
            * max(0.0, min(y + 0.6, b.y1) - max(y, b.y0))
            for b in boxes
        )
        assert best / 0.36 >= 2 / 3


def test_picture_regions_are_the_centre_square_and_its_regions_in_picture_shares() -> None:
    boxes = picture_regions(200, 100)
    assert len(boxes) == 1 + REGION_GRID**2
    assert boxes[0].as_list() == [0.25, 0.0, 0.75, 1.0]
    assert boxes[1].as_list() == [0.25, 0.0, 0.55, 0.6]


def test_the_framed_picture_in_a_wall_photo_is_found_and_straightened() -> None:
    # A picture with a clear layout (a light left half and a dark disc on the right).
    yy, xx = np.mgrid[0:360, 0:480]
    grey = np.where(xx < 240, 220, 60) - 80 * ((xx - 360) ** 2 + (yy - 180) ** 2 < 80**2)
    src = Image.fromarray(np.stack([grey, grey, grey * 0.8], axis=-1).clip(0, 255).astype(np.uint8))
    for seed in range(3):
        photo = perturb(src, "framed_photo", seed)
        quads = find_picture_quads(photo)
        assert quads, f"no picture found in framed photo {seed}"
        flat = rectify(photo, quads[0])
        # The straightened picture has the painting's shape (frame included, a few % off).
        assert flat.width / flat.height == pytest.approx(480 / 360, rel=0.12)

        # ... and looks like it: closer to the painting than the whole photo is.
        def grey(im: Image.Image) -> np.ndarray:
            return np.asarray(im.convert("L").resize((16, 12)), np.float32).ravel()

        ref = grey(src) - grey(src).mean()
        near = np.corrcoef(ref, grey(flat))[0, 1]
        far = np.corrcoef(ref, grey(photo))[0, 1]
        assert near > max(far, 0.5)


def test_a_photo_that_is_only_the_picture_has_no_picture_inside_it() -> None:
    assert find_picture_quads(picture()) == []


def test_query_views_are_the_photo_first_then_pictures_then_the_centre() -> None:
    views = query_views(perturb(picture(), "framed_photo", 0))
    names = [v.name for v in views]
    assert names[0] == "photo" and names[-1] == "centre"
    assert any(n.startswith("picture-") for n in names)
    plain = query_views(picture())
    assert [v.name for v in plain] == ["photo", "centre"]
