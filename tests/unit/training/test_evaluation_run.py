"""`run_evaluation` on a small synthetic held-out set, with the shipped model and both baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gallery_core.imaging import decode_image, to_model_input
from gallery_core.model.encoder import load_encoder
from training.datasets import ArrayDataset
from training.evaluate import METHODS, SMALL_SOURCE_SIDE, run_evaluation


def _blobs(rng: np.random.Generator, side: int) -> Image.Image:
    """A few coloured discs on white: clip-art-like, different for every seed."""
    a = np.full((side, side, 3), 255, np.uint8)
    yy, xx = np.mgrid[:side, :side]
    for _ in range(4):
        cy, cx, r = rng.uniform(0, side, 2).tolist() + [rng.uniform(0.1, 0.3) * side]
        a[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = rng.integers(0, 255, 3)
    return Image.fromarray(a)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[ArrayDataset, ArrayDataset]:
    folder = tmp_path_factory.mktemp("heldout")
    rng = np.random.default_rng(3)
    encoder_size = load_encoder().input_size
    paths, images = [], []
    for i in range(30):
        side = 96 if i % 2 else 400  # half below SMALL_SOURCE_SIDE
        path = folder / f"{i:02d}.png"
        _blobs(rng, side).save(path)
        paths.append(str(path))
        images.append(to_model_input(decode_image(path.read_bytes()), encoder_size))
    clip = ArrayDataset(
        np.stack(images),
        {"genre": np.arange(30, dtype=np.int32) % 3},
        {"genre": ["a", "b", "c"]},
        paths,
    )
    styles = ArrayDataset(
        np.stack(images[:20]),
        {"style": np.arange(20, dtype=np.int32) % 2},
        {"style": ["x", "y"]},
        [f"style-{i}" for i in range(20)],
    )
    return styles, clip


def test_recall_by_source_size_splits_the_indexed_queries(
    held_out: tuple[ArrayDataset, ArrayDataset], tmp_path: Path
) -> None:
    styles, clip = held_out
    report = run_evaluation(load_encoder(), styles, clip, plot_path=tmp_path / "eval.png")

    counts = report.source_size_counts
    assert set(counts) == {"small", "large"} and sum(counts.values()) == report.n_indexed
    assert counts["small"] > 0 and counts["large"] > 0
    for fam, row in report.perturbation.items():
        for m in METHODS:
            # The overall recall@1 is the count-weighted mean of the two groups.
            parts = sum(report.by_source_size[g][fam][m] * n for g, n in counts.items())
            assert parts / report.n_indexed == pytest.approx(row[m]["recall_at_1"])
    assert (tmp_path / "eval.png").stat().st_size > 0
    assert f"< {SMALL_SOURCE_SIDE} px" in report.tables()[2].title
    flip = report.perturbation["flip"]["cnn"]["recall_at_1"]
    assert flip > 0.5  # a mirrored copy of a distinct image is found by the trained model
