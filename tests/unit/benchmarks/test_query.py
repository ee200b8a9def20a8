from __future__ import annotations

import re

import numpy as np
import pytest

from benchmarks.query_baselines import top_k_excluding
from benchmarks.query_figures import (
    TARGETS,
    Target,
    check_targets,
    flatten,
    latency_summary,
    recall_at_k,
)
from benchmarks.query_index import bench_spec
from benchmarks.query_vectors import synthetic_ids, synthetic_vectors
from gallery_core.contracts import load_index


def test_synthetic_vectors_are_float32_near_unit_rows_of_short_decimals() -> None:
    from benchmarks.query_vectors import DECIMALS, as_json_floats

    vectors = synthetic_vectors(500, 64, centres=10, seed=3)
    assert vectors.shape == (500, 64) and vectors.dtype == np.float32
    # Unit length before rounding to DECIMALS places: off by at most the rounding.
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=64 * 10**-DECIMALS)
    sent = as_json_floats(vectors[0])
    assert all(len(repr(x)) <= DECIMALS + 4 for x in sent)  # "-0.01234"
    assert np.array_equal(np.asarray(sent, dtype=np.float32), vectors[0])


def test_synthetic_vectors_are_reproducible_by_seed() -> None:
    assert np.array_equal(synthetic_vectors(50, 16, seed=1), synthetic_vectors(50, 16, seed=1))
    assert not np.array_equal(synthetic_vectors(50, 16, seed=1), synthetic_vectors(50, 16, seed=2))


def test_synthetic_vectors_have_meaningful_neighbours_not_uniform_noise() -> None:
    vectors = synthetic_vectors(2000, 256, centres=20, seed=0)
    sims = vectors[:100] @ vectors.T
    sims[np.arange(100), np.arange(100)] = -np.inf
    tenth_neighbour = np.sort(sims, axis=1)[:, -10].mean()
    random_pair = (vectors[:100] @ vectors[1000:1100].T).mean()
    assert tenth_neighbour > 0.5 and abs(random_pair) < 0.1


def test_synthetic_ids_look_like_artwork_ids_and_are_unique() -> None:
    ids = synthetic_ids(1000)
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
    assert synthetic_ids(3, prefix="a") != synthetic_ids(3, prefix="b")


def test_top_k_excluding_ranks_best_first_and_leaves_the_query_out() -> None:
    matrix = synthetic_vectors(300, 32, centres=5, seed=4)
    top = top_k_excluding(matrix, 7, 10)
    scores = matrix @ matrix[7]
    expected = [i for i in np.argsort(-scores) if i != 7][:10]
    assert list(top) == expected
    assert 7 not in top


def test_latency_summary_gives_p50_and_p95_in_milliseconds() -> None:
    seconds = [i / 1000 for i in range(1, 101)]  # 1 .. 100 ms
    assert latency_summary(seconds) == {"p50": 50.5, "p95": 95.05}
    with pytest.raises(ValueError):
        latency_summary([])


def test_recall_counts_the_overlap_of_the_first_k_whatever_the_order() -> None:
    truth = [["a", "b", "c"], ["d", "e", "f"]]
    assert recall_at_k([["c", "b", "a"], ["f", "e", "d"]], truth, 3) == 1.0
    assert recall_at_k([["a", "x", "y"], ["d", "e", "z"]], truth, 3) == 0.5
    assert recall_at_k([["x", "y", "z", "a"]], [["a", "b", "c"]], 3) == 0.0  # only the first k
    with pytest.raises(ValueError):
        recall_at_k([["a"]], [["a"], ["b"]], 1)


def test_targets_check_upper_and_lower_bounds() -> None:
    result = {"latency_ms": {"es_knn": {"p95": 60.0}}, "recall_at_10": {"es_knn": 0.97}}
    checks = check_targets(
        result,
        [Target("latency_ms.es_knn.p95", 50.0), Target("recall_at_10.es_knn", 0.95, True)],
    )
    assert checks["latency_ms.es_knn.p95"] == {"value": 60.0, "limit": "<= 50", "pass": False}
    assert checks["recall_at_10.es_knn"]["pass"] is True


def test_the_issue_targets_are_all_checked() -> None:
    figures = {t.figure for t in TARGETS}
    assert {"recall_at_10.es_knn", "api_overhead_p50_ms.exact", "latency_ms.api_knn.p95"} <= figures


def test_flatten_joins_nested_keys_with_dots() -> None:
    assert flatten({"a": 1, "b": {"c": {"d": 2}, "e": []}, "f": {}}) == {
        "a": 1,
        "b.c.d": 2,
        "b.e": [],
        "f": {},
    }


def test_the_bench_index_has_the_product_mapping_under_its_own_name() -> None:
    product = load_index()
    spec = bench_spec(10_000)
    assert spec.name == "bench-vectors-10000" != product.name
    assert spec.mappings == product.mappings and spec.dims == product.dims


def test_an_index_type_variant_changes_only_the_embeddings_index_options_and_the_name() -> None:
    from benchmarks.query_index import bench_spec
    from gallery_core.contracts import load_index

    product, spec = load_index(), bench_spec(1000, "int8_hnsw")
    field = product.vector_field
    options = spec.mappings["properties"][field]["index_options"]
    assert spec.name == "bench-vectors-1000-int8-hnsw"
    assert options == {
        **product.mappings["properties"][field]["index_options"],
        "type": "int8_hnsw",
    }
    rest = {k: v for k, v in spec.mappings["properties"].items() if k != field}
    assert rest == {k: v for k, v in product.mappings["properties"].items() if k != field}
    assert bench_spec(1000).mappings == product.mappings


def test_a_shard_count_variant_changes_only_the_shards_and_the_name() -> None:
    from benchmarks.query_index import bench_spec
    from gallery_core.contracts import load_index

    product, spec = load_index(), bench_spec(1000, "bbq_hnsw", shards=3)
    assert spec.name == "bench-vectors-1000-bbq-hnsw-3-shards"
    assert spec.settings == {**product.settings, "number_of_shards": 3}
    assert spec.mappings == bench_spec(1000, "bbq_hnsw").mappings
    # The product's own shard count names no variant.
    own = int(product.settings["number_of_shards"])
    assert bench_spec(1000, "bbq_hnsw", shards=own).name == "bench-vectors-1000-bbq-hnsw"


def test_offheap_sizing_follows_what_each_index_type_searches() -> None:
    from benchmarks.query_variants import offheap_bytes

    n, dims, m = 1_000_000, 1344, 16
    graph = n * 4 * m
    assert offheap_bytes("hnsw", n, dims, m) == n * dims * 4 + graph
    assert offheap_bytes("int8_hnsw", n, dims, m) == n * (dims + 4) + graph
    assert offheap_bytes("int4_hnsw", n, dims, m) == n * (dims // 2 + 4) + graph
    assert offheap_bytes("bbq_hnsw", n, dims, m) == n * (dims // 8 + 14) + graph


def test_the_exact_answer_within_a_collection_looks_only_at_its_members() -> None:
    from benchmarks.query_index import collection_of
    from benchmarks.query_variants import top_k_in_collection

    matrix = synthetic_vectors(400, 32, seed=5)
    labels = np.arange(400) % 4
    members = np.flatnonzero(labels == labels[10])
    found = top_k_in_collection(matrix, 10, members, 5)
    assert len(found) == 5 and 10 not in found and all(labels[j] == labels[10] for j in found)
    scores = matrix[members] @ matrix[10]
    best = [int(members[i]) for i in np.argsort(-scores) if members[i] != 10][:5]
    assert found == best
    assert collection_of(10, 4) == collection_of(14, 4) != collection_of(11, 4)
    assert collection_of(7, 1) == "bench"
