"""The model factories: uint8 in, unit vectors out, preprocessing inside, heads, weights."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest

from gallery_core.model.build import (
    EMBEDDING_LAYER,
    MAX_EMBEDDING_DIM,
    Backbone,
    PretrainedWeightsUnavailable,
    embedding_of,
    make_embedding_model,
    make_training_model,
)

SIZE = 32


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def test_embedding_model_maps_uint8_images_to_unit_vectors() -> None:
    model = make_embedding_model(input_size=SIZE, embedding_dim=16, width=0.25)
    assert model.inputs[0].dtype == "uint8"
    out = np.asarray(model(_images(3), training=False))
    assert out.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_scaling_is_inside_the_model() -> None:
    model = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25)
    names = [layer.name for layer in model.layers]
    assert names.index("to_float") < names.index("rescale") < names.index("stem_conv")
    rescale = model.get_layer("rescale")
    assert rescale.scale == pytest.approx(1 / 127.5) and rescale.offset == pytest.approx(-1.0)
    # Raw 0..255 pixels go in: a white and a black image give different vectors.
    white = np.full((1, SIZE, SIZE, 3), 255, np.uint8)
    black = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    assert not np.allclose(model(white, training=False), model(black, training=False))


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25, seed=3)
    b = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25, seed=3)
    c = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25, seed=4)
    x = _images(2)
    np.testing.assert_allclose(a(x, training=False), b(x, training=False), rtol=1e-5)
    assert not np.allclose(a(x, training=False), c(x, training=False))


def test_embedding_dims_are_bounded() -> None:
    with pytest.raises(ValueError, match="embedding_dim"):
        make_embedding_model(input_size=SIZE, embedding_dim=MAX_EMBEDDING_DIM + 1)


def test_training_model_has_one_cosine_head_per_label_set() -> None:
    emb = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25)
    model = make_training_model(emb, {"style": 5, "genre": 3})
    out = model(_images(4), training=False)
    assert out["style"].shape == (4, 5) and out["genre"].shape == (4, 3)
    # Cosine logits: |logit| <= scale.
    assert float(np.abs(out["style"]).max()) <= 16.0 + 1e-4
    served = embedding_of(model)
    assert served.outputs[0].shape[-1] == 8
    assert served.layers[-1].name == EMBEDDING_LAYER


def test_training_model_survives_a_keras_round_trip(tmp_path: Path) -> None:
    emb = make_embedding_model(input_size=SIZE, embedding_dim=8, width=0.25)
    model = make_training_model(emb, {"style": 3})
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = _images(2)
    np.testing.assert_allclose(
        loaded(x, training=False)["style"], model(x, training=False)["style"], rtol=1e-5
    )


def test_applications_backbone_builds_without_weights() -> None:
    model = make_embedding_model(
        Backbone.MOBILENET_V3_SMALL, input_size=SIZE, embedding_dim=8, weights=None
    )
    out = np.asarray(model(_images(1), training=False))
    assert out.shape == (1, 8)


def test_imagenet_weights_offline_raise_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as file_utils

    def offline(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable (simulated)")

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    with pytest.raises(PretrainedWeightsUnavailable, match="keras/models"):
        make_embedding_model(Backbone.MOBILENET_V3_SMALL, input_size=SIZE, weights="imagenet")


def test_compact_backbone_has_no_pretrained_weights() -> None:
    with pytest.raises(ValueError, match="no pretrained"):
        make_embedding_model(Backbone.COMPACT, input_size=SIZE, weights="imagenet")


def test_descriptor_is_joined_inside_the_model_and_heads_see_the_learned_part() -> None:
    from gallery_core.model.build import DESCRIPTOR_DIMS, LEARNED_LAYER

    model = make_embedding_model(
        input_size=SIZE, embedding_dim=DESCRIPTOR_DIMS + 16, width=0.25, descriptor=True
    )
    x = _images(3)
    out = np.asarray(model(x, training=False))
    assert out.shape == (3, DESCRIPTOR_DIMS + 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    # Brightness x1.2 (no clipping) leaves the descriptor part unchanged.
    dark = (x // 2).astype(np.uint8)
    brighter = np.round(dark * 1.2).astype(np.uint8)
    desc = keras.Model(model.inputs[0], model.get_layer("layout_descriptor").output)
    np.testing.assert_allclose(desc(dark), desc(brighter), atol=0.02)
    train = make_training_model(model, {"style": 3})
    assert train(x)[EMBEDDING_LAYER].shape == (3, 16)
    assert model.get_layer(LEARNED_LAYER).output.shape[-1] == 16
    with pytest.raises(ValueError, match="descriptor"):
        make_embedding_model(input_size=SIZE, embedding_dim=DESCRIPTOR_DIMS, descriptor=True)


def test_descriptor_model_round_trips_through_a_keras_file(tmp_path: Path) -> None:
    model = make_embedding_model(input_size=SIZE, embedding_dim=128, width=0.25, descriptor=True)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = _images(2)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


def test_low_pass_is_a_gaussian_blur_with_mirrored_edges() -> None:
    import scipy.ndimage as ndi

    from gallery_core.model.build import GaussianLowPass

    x = np.random.default_rng(1).uniform(0, 255, (2, 24, 24, 3)).astype(np.float32)
    out = np.asarray(GaussianLowPass(1.2)(x))
    expected = ndi.gaussian_filter(x, (0, 1.2, 1.2, 0), mode="reflect", truncate=3.0)
    np.testing.assert_allclose(out, expected, atol=1e-3)
    assert out.std() < 0.5 * x.std()  # white noise loses most of its variance
    with pytest.raises(ValueError, match="sigma"):
        GaussianLowPass(0.0)


def test_input_blur_sits_in_front_of_the_backbone_and_round_trips(tmp_path: Path) -> None:
    model = make_embedding_model(
        input_size=SIZE, embedding_dim=128, width=0.25, descriptor=True, input_blur=1.0
    )
    assert model.get_layer("low_pass").sigma == 1.0
    path = tmp_path / "b.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = _images(2)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)
    # Same weights without the blur give another vector: the layer is really in the path.
    plain = make_embedding_model(input_size=SIZE, embedding_dim=128, width=0.25, descriptor=True)
    plain.set_weights(model.get_weights())
    assert not np.allclose(plain(x, training=False), model(x, training=False), atol=1e-3)
