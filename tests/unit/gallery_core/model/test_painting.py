"""The painting model's own layers and output contract (random weights; no ImageNet file)."""

from __future__ import annotations

import numpy as np
import pytest

from gallery_core.model.painting import (
    REGION_DEPTHS,
    REGION_FEATURE_DIMS,
    REGION_FEATURES_LAYER,
    ChannelStats,
    RegionPooling,
    make_painting_model,
    region_weights,
)
from gallery_core.model.spec import EMBEDDING_DIM, REGION_DIMS
from gallery_core.model.views import REGION_GRID, picture_regions


def test_region_weights_average_exactly_over_each_box() -> None:
    w = region_weights(7)
    assert w.shape == (1 + REGION_GRID**2, 7, 7)
    assert np.allclose(w.sum(axis=(1, 2)), 1.0)
    assert np.allclose(w[0], 1 / 49)
    # The first region (top-left, 0.6 of each side = 4.2 cells) weighs cell (4, 4) by 0.2 * 0.2.
    assert w[1, 4, 4] / w[1, 0, 0] == pytest.approx(0.04)
    assert np.all(w[1, 5:, :] == 0) and np.all(w[1, :, 5:] == 0)


def test_region_pooling_is_the_box_average_of_the_map() -> None:
    rng = np.random.default_rng(0)
    fmap = rng.normal(size=(2, 10, 10, 3)).astype(np.float32)
    out = np.asarray(RegionPooling(10)(fmap))
    assert out.shape == (2, 1 + REGION_GRID**2, 3)
    assert np.allclose(out[:, 0], fmap.mean(axis=(1, 2)), atol=1e-5)
    # Region 1 spans 6 whole cells of 10 in each direction: a plain mean.
    assert np.allclose(out[:, 1], fmap[:, :6, :6].mean(axis=(1, 2)), atol=1e-5)
    # The regions are those `picture_regions` reports for a square picture.
    assert picture_regions(10, 10)[1].as_list() == [0.0, 0.0, 0.6, 0.6]


def test_channel_stats_are_unit_length_means_and_standard_deviations() -> None:
    rng = np.random.default_rng(1)
    fmap = rng.normal(2.0, 3.0, size=(1, 8, 8, 4)).astype(np.float32)
    out = np.asarray(ChannelStats()(fmap))[0]
    raw = np.concatenate([fmap.mean(axis=(1, 2))[0], fmap.std(axis=(1, 2))[0]])
    assert np.allclose(out, raw / np.linalg.norm(raw), atol=1e-4)


def test_the_model_gives_a_unit_embedding_and_unit_region_vectors() -> None:
    model = make_painting_model(64)
    out = model.predict(
        np.random.default_rng(2).integers(0, 256, (2, 64, 64, 3), np.uint8), verbose=0
    )
    assert out["embedding"].shape == (2, EMBEDDING_DIM)
    assert out["regions"].shape == (2, 1 + REGION_GRID**2, REGION_DIMS)
    assert np.allclose(np.linalg.norm(out["embedding"], axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(out["regions"], axis=2), 1.0, atol=1e-5)


def test_region_features_pool_the_same_boxes_at_every_depth() -> None:
    import keras

    model = make_painting_model(64)
    maps = {d: model.get_layer(f"region_pool_{d}").input for d in REGION_DEPTHS[1:]}
    probe = keras.Model(
        model.inputs, [model.get_layer(REGION_FEATURES_LAYER).output, *maps.values()]
    )
    images = np.random.default_rng(3).integers(0, 256, (2, 64, 64, 3), np.uint8)
    features, *deeper = (np.asarray(x) for x in probe([images]))
    assert features.shape == (2, 1 + REGION_GRID**2, REGION_FEATURE_DIMS)
    assert model.get_layer("whiten").kernel.shape[0] == REGION_FEATURE_DIMS
    # The deepest part ends the vector: each region is its box average of that map.
    fmap = deeper[-1]
    width = fmap.shape[-1]
    weights = region_weights(fmap.shape[1])
    expected = np.einsum("nhwc,rhw->nrc", fmap, weights)
    assert np.allclose(features[..., -width:], expected, atol=1e-4)


def test_the_input_side_must_fit_the_backbone_stride() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        make_painting_model(100)
