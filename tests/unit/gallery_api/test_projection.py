"""gallery_api.projection: vectors -> unit-square map coordinates, and the map cache's rules."""

from __future__ import annotations

import numpy as np
import pytest

from gallery_api.maps import MapCache, MapPoint, MapResponse, cache_key, is_stale
from gallery_api.projection import MIN_TSNE_POINTS, Method, fit_unit_square, project


def clusters(n_per: int, dims: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, dims)) * 10
    labels = np.repeat(np.arange(3), n_per)
    return (centres[labels] + rng.standard_normal((3 * n_per, dims))).astype(np.float32), labels


def test_no_vectors_give_no_points() -> None:
    coords, _ = project(np.zeros((0, 8), dtype=np.float32))
    assert coords.shape == (0, 2)


def test_one_vector_sits_in_the_centre() -> None:
    coords, _ = project(np.ones((1, 8), dtype=np.float32))
    assert coords.tolist() == [[0.5, 0.5]]


def test_identical_vectors_all_sit_in_the_centre_without_warnings() -> None:
    coords, method = project(np.ones((20, 8), dtype=np.float32))
    assert method is Method.PCA
    assert np.allclose(coords, 0.5)


@pytest.mark.parametrize("n", [2, 3, MIN_TSNE_POINTS - 1])
def test_few_vectors_fall_back_to_pca_inside_the_unit_square(n: int) -> None:
    x = np.random.default_rng(1).standard_normal((n, 16)).astype(np.float32)
    coords, method = project(x)
    assert method is Method.PCA
    assert coords.shape == (n, 2)
    assert coords.min() >= 0 and coords.max() <= 1
    assert len({tuple(c) for c in coords.round(4).tolist()}) == n, (
        "distinct inputs, distinct points"
    )


def test_tsne_keeps_clusters_apart_and_fits_the_unit_square() -> None:
    x, labels = clusters(15)
    coords, method = project(x, seed=0)
    assert method is Method.TSNE
    assert coords.shape == (45, 2)
    assert coords.dtype == np.float32
    assert coords.min() >= 0 and coords.max() <= 1
    # every point's nearest neighbour on the map comes from its own cluster
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95


def test_same_seed_same_map() -> None:
    x, _ = clusters(10, seed=3)
    a, _ = project(x, seed=7)
    b, _ = project(x, seed=7)
    assert np.array_equal(a, b)


def test_pca_can_be_asked_for() -> None:
    x, _ = clusters(10)
    coords, method = project(x, method=Method.PCA)
    assert method is Method.PCA
    assert coords.shape == (30, 2)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        project(np.zeros(8, dtype=np.float32))
    with pytest.raises(ValueError):
        project(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_fit_unit_square_keeps_the_aspect_ratio_and_centres() -> None:
    pts = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 2.0]])
    out = fit_unit_square(pts, margin=0.0)
    assert out[:, 0].min() == pytest.approx(0.0) and out[:, 0].max() == pytest.approx(1.0)
    assert out[:, 1].max() - out[:, 1].min() == pytest.approx(0.2)
    assert (out[:, 1].max() + out[:, 1].min()) / 2 == pytest.approx(0.5)


def _map(doc_count: int, model_version: str | None = "v1") -> MapResponse:
    return MapResponse(
        collection="c",
        points=[MapPoint(id="a" * 64, x=0.5, y=0.5, thumbnail_url="/t")],
        count=1,
        doc_count=doc_count,
        sampled=False,
        method="tsne",
        model_version=model_version,
        computed_at="2026-01-01T00:00:00+00:00",
        compute_seconds=0.1,
    )


@pytest.mark.parametrize(
    ("now", "stale"), [(100, False), (109, False), (111, True), (89, True), (91, False)]
)
def test_a_map_is_stale_when_the_collection_moved_by_more_than_ten_percent(
    now: int, stale: bool
) -> None:
    assert is_stale(_map(100), now, "v1") is stale


def test_a_map_is_stale_under_a_new_model_version() -> None:
    assert is_stale(_map(100, "v1"), 100, "v2")


def test_cache_keys_are_file_safe_and_distinct() -> None:
    keys = {cache_key(c, n) for c in (None, "a", "../etc", "a/b") for n in (10, 2000)}
    assert len(keys) == 8
    assert all(k.isalnum() for k in keys)


def test_the_map_cache_survives_a_restart_through_its_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = MapCache(tmp_path / "maps")
    first.put("k", _map(5))
    second = MapCache(tmp_path / "maps")
    assert second.get("k") == _map(5)
    second.drop("k")
    assert MapCache(tmp_path / "maps").get("k") is None
