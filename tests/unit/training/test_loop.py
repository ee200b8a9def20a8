"""A tiny end-to-end training run, the augmenter, and the speed bench."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gallery_core.model.card import ModelCard, card_path_for
from gallery_core.model.encoder import KerasEncoder
from training.augment import AugmentConfig, Augmenter
from training.bench import bench_encoder
from training.datasets import generated_styles
from training.train import TrainConfig, train

SIZE = 32


def _tiny_config(**overrides: object) -> TrainConfig:
    """A training run small enough for a unit test: 32 px, a quarter-width CNN."""
    base: dict[str, object] = {"input_size": SIZE, "width": 0.25, "val_fraction": 0.3}
    return TrainConfig(**{**base, **overrides})  # type: ignore[arg-type]


def test_augmenter_keeps_shape_and_dtype_and_is_seeded() -> None:
    x = np.random.default_rng(0).integers(0, 256, (4, SIZE, SIZE, 3), dtype=np.uint8)
    a = Augmenter(SIZE, seed=1)(x).numpy()
    b = Augmenter(SIZE, seed=1)(x).numpy()
    assert a.shape == x.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)


def test_pairs_are_original_and_copy_at_clean_share_one_and_two_copies_at_zero() -> None:
    x = np.random.default_rng(3).integers(0, 256, (6, SIZE, SIZE, 3), dtype=np.uint8)
    clean = Augmenter(SIZE, seed=4).pair(x, clean_share=1.0).numpy()
    both = Augmenter(SIZE, seed=4).pair(x, clean_share=0.0).numpy()
    assert clean.shape == both.shape == (12, SIZE, SIZE, 3)
    np.testing.assert_array_equal(clean[:6], x)
    assert not any(np.array_equal(clean[6 + i], x[i]) for i in range(6))
    assert not any(np.array_equal(both[i], x[i]) for i in range(6))


def test_small_source_damage_is_coarser_than_the_same_damage_at_full_size() -> None:
    # Flat grey images, noise only: at full size the noise is per pixel; done at a small
    # side and scaled back up, neighbouring pixels share it.
    x = np.full((8, 64, 64, 3), 128, dtype=np.uint8)
    only_noise = {
        "crop_scale": (1.0, 1.0),
        "p_rotate": 0.0,
        "p_rot90": 0.0,
        "p_hflip": 0.0,
        "p_vflip": 0.0,
        "p_colour": 0.0,
        "p_gray": 0.0,
        "p_blur": 0.0,
        "p_downscale": 0.0,
        "p_text": 0.0,
        "p_noise": 1.0,
        "p_jpeg": 0.0,
    }
    full = Augmenter(64, seed=2, config=AugmentConfig(**only_noise))(x).numpy()
    small = Augmenter(
        64, seed=2, config=AugmentConfig(**only_noise, p_small=1.0, small_side=(16, 17))
    )(x).numpy()
    assert full.shape == small.shape == x.shape and small.dtype == np.uint8

    def neighbour_difference(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a.astype(np.float32), axis=2)).mean())

    assert neighbour_difference(small) < 0.5 * neighbour_difference(full)


def test_a_tiny_training_run_saves_a_loadable_model_with_its_card(tmp_path: Path) -> None:
    data = generated_styles(3, seed=0, size=SIZE, render_size=64, workers=1)
    cfg = _tiny_config(
        embedding_dim=16,
        batch_size=8,
        epochs=2,
        steps_per_epoch=2,
        seed=0,
    )
    out = tmp_path / "m.keras"
    result = train(data, out, cfg, version="test", data_notes=["3 per style"])
    assert out.is_file() and (tmp_path / "checkpoints" / "best.keras").is_file()
    card = ModelCard.load(card_path_for(out))
    assert card == result.card
    assert card.classes["style"][0] == "pointillism"
    assert card.input_size == SIZE and card.embedding_dims == 16
    assert "val_style_accuracy" in card.metrics and card.training["epochs_run"] == 2
    enc = KerasEncoder.load(out)
    v = enc.encode(data.images[:3])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)


def test_experimental_options_train_too(tmp_path: Path) -> None:
    data = generated_styles(2, seed=1, size=SIZE, render_size=64, workers=1)
    cfg = _tiny_config(
        embedding_dim=8,
        batch_size=6,
        epochs=1,
        steps_per_epoch=3,
        multi_scale=True,
        queue_size=12,
        seed=1,
    )
    result = train(data, tmp_path / "x.keras", cfg)
    assert np.isfinite(result.history[0]["train_contrastive"])
    assert result.card.training["queue_size"] == 12


class _FakeEncoder:
    name = "fake"
    version = "0"
    input_size = 8
    dims = 4

    def encode(self, images: np.ndarray) -> np.ndarray:
        return np.ones((len(images), 4), np.float32) / 2


def test_bench_reports_images_per_second_per_batch_size() -> None:
    result = bench_encoder(_FakeEncoder(), [1, 4], seconds=0.01)
    assert [r["batch"] for r in result["rows"]] == [1, 4]
    assert all(r["images_per_s"] > 0 for r in result["rows"])


def test_descriptor_option_trains_the_learned_part_and_serves_the_joined_vector(
    tmp_path: Path,
) -> None:
    from gallery_core.model.build import DESCRIPTOR_DIMS

    data = generated_styles(2, seed=1, size=SIZE, render_size=64, workers=1)
    cfg = _tiny_config(
        embedding_dim=DESCRIPTOR_DIMS + 8,
        batch_size=6,
        epochs=1,
        steps_per_epoch=2,
        descriptor=True,
        queue_size=12,
        seed=1,
    )
    result = train(data, tmp_path / "d.keras", cfg)
    assert np.isfinite(result.history[0]["train_contrastive"])
    assert result.card.training["descriptor"] is True
    assert result.card.training["descriptor_weights"] is not None
    v = KerasEncoder.load(tmp_path / "d.keras").encode(data.images[:2])
    assert v.shape == (2, DESCRIPTOR_DIMS + 8)


def test_hard_negative_batches_and_clean_views_train(tmp_path: Path) -> None:
    data = generated_styles(3, seed=2, size=SIZE, render_size=64, workers=1)
    cfg = _tiny_config(
        embedding_dim=8,
        batch_size=8,
        epochs=2,
        steps_per_epoch=2,
        val_fraction=0.2,
        hard_negative_share=0.5,
        hard_negative_k=3,
        clean_view_share=0.5,
        seed=2,
    )
    result = train(data, tmp_path / "h.keras", cfg)
    assert len(result.history) == 2
    assert all(np.isfinite(r["train_contrastive"]) for r in result.history)
    assert result.card.training["hard_negative_share"] == 0.5
    assert result.card.training["clean_view_share"] == 0.5
