"""KerasEncoder: loading with its card, batching, L2 norm, clear errors; the random baseline."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gallery_core.model.build import make_embedding_model
from gallery_core.model.card import ModelCard, card_path_for
from gallery_core.model.encoder import (
    DEFAULT_MODEL_PATH,
    Encoder,
    KerasEncoder,
    ModelNotFound,
    RandomInitEncoder,
    load_encoder,
)
from gallery_core.model.spec import EMBEDDING_DIM

SIZE = 32


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25).save(path)
    ModelCard(
        name="tiny", version="t1", backbone="compact", input_size=SIZE, embedding_dims=8
    ).save(card_path_for(path))
    return path


def test_keras_encoder_loads_a_model_and_its_card(saved_model: Path) -> None:
    enc = KerasEncoder.load(saved_model)
    assert isinstance(enc, Encoder)
    assert (enc.name, enc.version, enc.input_size, enc.dims) == ("tiny", "t1", SIZE, 8)


def test_encode_returns_unit_float32_rows_in_any_batch_count(saved_model: Path) -> None:
    enc = KerasEncoder.load(saved_model)
    enc.max_batch = 4
    x = np.random.default_rng(0).integers(0, 256, (10, SIZE, SIZE, 3), dtype=np.uint8)
    out = enc.encode(x)
    assert out.shape == (10, 8) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    # Batching does not change the vectors (inference mode: no batch statistics).
    np.testing.assert_allclose(out[5], enc.encode(x[5:6])[0], rtol=1e-4, atol=1e-5)
    assert enc.encode(x[:0]).shape == (0, 8)


def test_encode_rejects_wrong_shapes_and_dtypes(saved_model: Path) -> None:
    enc = KerasEncoder.load(saved_model)
    with pytest.raises(ValueError, match="uint8"):
        enc.encode(np.zeros((1, SIZE, SIZE, 3), np.float32))
    with pytest.raises(ValueError, match="expected"):
        enc.encode(np.zeros((1, SIZE + 1, SIZE, 3), np.uint8))


def test_missing_model_or_card_is_a_clear_error(tmp_path: Path, saved_model: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model file"):
        load_encoder(tmp_path / "nope.keras")
    lonely = tmp_path / "lonely.keras"
    lonely.write_bytes(saved_model.read_bytes())
    with pytest.raises(ModelNotFound, match="model card"):
        KerasEncoder.load(lonely)


def test_load_encoder_caches_one_instance_per_path(saved_model: Path) -> None:
    assert load_encoder(saved_model) is load_encoder(saved_model)


def test_shipped_default_model_loads_and_matches_the_spec() -> None:
    assert DEFAULT_MODEL_PATH.is_file()
    enc = load_encoder()
    assert enc.dims == EMBEDDING_DIM
    x = np.zeros((2, enc.input_size, enc.input_size, 3), np.uint8)
    np.testing.assert_allclose(np.linalg.norm(enc.encode(x), axis=1), 1.0, rtol=1e-5)


def test_shipped_default_model_is_the_one_the_recipe_trains() -> None:
    """`gallery train --default` settings and the shipped weights must not drift apart."""
    from dataclasses import asdict

    from gallery_core.model.spec import REGION_DIMS, STYLE_DIMS
    from training.painting_recipe import PAINTING_VERSION, PaintingRecipe

    card = load_encoder().card
    recipe = PaintingRecipe()
    assert card.version == PAINTING_VERSION and card.trained
    assert card.backbone == "efficientnet_lite0_imagenet"
    assert card.input_size == recipe.input_size
    training = card.training
    assert training["recipe"] == "painting" and training["seed"] == recipe.seed
    assert (training["region_dims"], training["style_dims"]) == (REGION_DIMS, STYLE_DIMS)
    assert training["stylize"] == asdict(recipe.stylize)
    assert recipe.whiten_from_copies and training["whiten"].startswith("learned from copies")
    assert (training["whiten_images"], training["whiten_copies"]) == (
        recipe.whiten_images,
        recipe.whiten_copies,
    )
    assert (training["style_steps"], training["style_batch"]) == (
        recipe.style_steps,
        recipe.style_batch,
    )


def test_shipped_default_model_gives_region_vectors_the_index_can_hold() -> None:
    from gallery_core.contracts import load_index

    enc = load_encoder()
    x = np.random.default_rng(3).integers(0, 256, (2, enc.input_size, enc.input_size, 3), np.uint8)
    vectors, regions = enc.encode_with_regions(x)
    assert vectors.shape == (2, load_index().dims)
    assert regions.shape == (2, 10, load_index().region_dims)
    np.testing.assert_allclose(np.linalg.norm(regions, axis=2), 1.0, rtol=1e-5)
    # encode() is encode_with_regions() without the regions.
    np.testing.assert_allclose(enc.encode(x), vectors, atol=1e-6)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_ten_thousand_sequential_encodes_keep_memory_flat() -> None:
    # RELIABILITY W11 (TF #44711): a worker encodes forever, one batch after another.
    enc = load_encoder()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, enc.input_size, enc.input_size, 3), dtype=np.uint8)
    sizes = [1, 2, 3, 5, 8, 13, 16]  # varying batch sizes must not retrace the graph
    for i in range(300):
        enc.encode(images[: sizes[i % len(sizes)]])
    before = _rss_bytes()
    for i in range(10_000):
        enc.encode(images[i % 8 : i % 8 + 1 + i % 2])
    grown = _rss_bytes() - before
    assert grown < 24 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 10,000 encodes"


def test_random_init_baseline_is_seeded_and_differs_from_the_trained_weights(
    saved_model: Path,
) -> None:
    enc = KerasEncoder.load(saved_model)
    x = np.random.default_rng(1).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    a = RandomInitEncoder.like(enc, seed=5).encode(x)
    b = RandomInitEncoder.like(enc, seed=5).encode(x)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    fresh = RandomInitEncoder(input_size=SIZE, dims=8, seed=0)
    assert fresh.card.trained is False and fresh.encode(x).shape == (3, 8)
