"""Dataset readers on temp trees and CSVs, decoding to model inputs, splits, balancing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.datasets import (
    ArrayDataset,
    LabeledImage,
    generated_styles,
    load_arrays,
    read_csv,
    read_folder_tree,
    read_openclipart,
    split_holdout,
)
from training.train import balanced_sampler


def _png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.fixture()
def wikiart_tree(tmp_path: Path) -> Path:
    root = tmp_path / "wikiart"
    _png(root / "Impressionism" / "monet_1.png", (200, 10, 10))
    _png(root / "Impressionism" / "sub" / "monet_2.jpg", (10, 200, 10))
    _png(root / "Cubism" / "picasso_1.png", (10, 10, 200))
    (root / "Cubism" / "notes.txt").write_text("not an image")
    return root


def test_folder_tree_labels_images_by_their_class_folder(wikiart_tree: Path) -> None:
    items = read_folder_tree(wikiart_tree)
    got = sorted((it.path.name, it.style) for it in items)
    assert got == [
        ("monet_1.png", "Impressionism"),
        ("monet_2.jpg", "Impressionism"),
        ("picasso_1.png", "Cubism"),
    ]
    assert all(it.genre is None for it in items)


def test_folder_tree_without_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="no images"):
        read_folder_tree(tmp_path)


def test_csv_reader_takes_painter_by_numbers_columns(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "1.jpg", (1, 2, 3))
    _png(tmp_path / "train" / "2.jpg", (4, 5, 6))
    csv_path = tmp_path / "train_info.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "artist", "title", "style", "genre", "date"])
        w.writerow(["1.jpg", "a", "t", "Cubism", "portrait", "1910"])
        w.writerow(["2.jpg", "b", "u", "", "landscape", ""])
        w.writerow(["missing.jpg", "c", "v", "Cubism", "portrait", ""])
    items = read_csv(csv_path, tmp_path / "train")
    assert [(it.path.name, it.style, it.genre) for it in items] == [
        ("1.jpg", "Cubism", "portrait"),
        ("2.jpg", None, "landscape"),
    ]
    with pytest.raises(ValueError, match="no column"):
        read_csv(csv_path, tmp_path / "train", style_column="movement")


def test_openclipart_reader_explains_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install -y openclipart-png"):
        read_openclipart(tmp_path / "absent")


def test_load_arrays_decodes_to_model_inputs_and_drops_duplicates(
    wikiart_tree: Path, tmp_path: Path
) -> None:
    items = read_folder_tree(wikiart_tree)
    dup = _png(tmp_path / "copy.png", (10, 10, 200))  # same pixels as picasso_1.png
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ds = load_arrays(
        [*items, LabeledImage(dup, style="Cubism"), LabeledImage(broken, style="Cubism")],
        16,
        workers=1,
    )
    assert ds.images.shape == (3, 16, 16, 3) and ds.images.dtype == np.uint8
    assert ds.classes == {"style": ["Cubism", "Impressionism"]}
    assert sorted(ds.labels["style"].tolist()) == [0, 1, 1]


def test_min_class_count_unlabels_rare_classes(wikiart_tree: Path) -> None:
    ds = load_arrays(read_folder_tree(wikiart_tree), 8, workers=1, min_class_count=2)
    assert ds.classes == {"style": ["Impressionism"]}
    assert sorted(ds.labels["style"].tolist()) == [-1, 0, 0]


def test_holdout_split_depends_on_names_not_order() -> None:
    items = [LabeledImage(Path(f"/x/c{i % 3}/img{i}.png")) for i in range(200)]
    kept, held = split_holdout(items, 0.2)
    kept2, held2 = split_holdout(list(reversed(items)), 0.2)
    assert {i.path for i in held} == {i.path for i in held2}
    assert 20 <= len(held) <= 60 and len(kept) + len(held) == 200


def test_concat_marks_missing_heads_with_minus_one() -> None:
    a = ArrayDataset(
        np.zeros((2, 4, 4, 3), np.uint8),
        {"style": np.array([0, 1], np.int32)},
        {"style": ["x", "y"]},
        ["a0", "a1"],
    )
    b = ArrayDataset(
        np.zeros((1, 4, 4, 3), np.uint8),
        {"genre": np.array([0], np.int32)},
        {"genre": ["g"]},
        ["b0"],
    )
    c = ArrayDataset.concat([a, b])
    assert c.labels["style"].tolist() == [0, 1, -1]
    assert c.labels["genre"].tolist() == [-1, -1, 0]


def test_balanced_sampler_gives_each_class_an_equal_share_at_balance_one() -> None:
    labels = {
        "style": np.array([0, 0, 0, 1, -1], np.int32),
        "genre": np.array([-1, -1, -1, -1, 0], np.int32),
    }
    p = balanced_sampler(labels, balance=1.0)
    assert p.sum() == pytest.approx(1.0)
    assert p[:3].sum() == pytest.approx(p[3])  # class 0 (3 images) == class 1 (1 image)
    assert p[4] == pytest.approx(0.5)  # each head gets half


def test_generated_styles_are_labelled_in_style_order() -> None:
    ds = generated_styles(1, seed=0, size=24, render_size=48, workers=1)
    assert ds.images.shape == (13, 24, 24, 3)
    assert ds.labels["style"].tolist() == list(range(13))
