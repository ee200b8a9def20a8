"""`gallery bench ingest` on the real stack: every figure it prints, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from benchmarks.ingest import run_ingest_benchmark
from gallery_core.clients import es_client
from gallery_core.settings import Settings
from tests.integration.imagesets import write_many
from tests.integration.sinkutil import wait_for_count

pytestmark = pytest.mark.integration


def test_ingest_benchmark_measures_each_run_and_removes_what_it_indexed(
    stack: Settings, tmp_path: Path
) -> None:
    files = write_many(tmp_path / "images", 40 + 3, seed=11)

    result = run_ingest_benchmark(
        stack, images=40, fresh_files=3, files=files, console=Console(stderr=True, quiet=True)
    )

    assert result["images"] == 40
    assert result["e2e_indexed"] == 40 and result["e2e_dead_lettered"] == 0
    for rate in ("bare_model_images_per_s", "no_stream_images_per_s", "e2e_images_per_s"):
        assert result[rate] > 0
    assert result["ratio_e2e_to_model"] == pytest.approx(
        result["e2e_images_per_s"] / result["bare_model_images_per_s"], abs=1e-3
    )
    assert result["ratio_e2e_to_no_stream"] == pytest.approx(
        result["e2e_images_per_s"] / result["no_stream_images_per_s"], abs=1e-3
    )
    # The CPU of the worker, Elasticsearch, Connect and Kafka was read from /proc.
    parts = ["worker", "elasticsearch", "connect", "kafka"]
    assert all(result[f"cpu_ms_per_image_{name}"] > 0 for name in parts)
    assert result["cpu_ms_per_image_all_components"] == pytest.approx(
        sum(result[f"cpu_ms_per_image_{name}"] for name in parts), abs=0.05
    )
    assert result["cpu_bound_ratio"] > 0
    assert result["freshness_searchable"] == 3
    assert 0 < result["freshness_p50_ms"] <= result["freshness_p95_ms"] < 30_000
    with es_client(stack) as es:  # removed again through the stream
        assert wait_for_count(es, result["collection"], 0, timeout=60) == 0
        assert wait_for_count(es, result["freshness_collection"], 0, timeout=60) == 0


def test_index_type_comparison_measures_each_type_against_numpy_and_cleans_up(
    stack: Settings,
) -> None:
    from benchmarks.query import run_query_benchmark
    from benchmarks.query_variants import Comparison

    result = run_query_benchmark(
        stack,
        sizes=[1500],
        queries=30,
        comparison=Comparison(
            ("bbq_hnsw", "int8_hnsw"),
            collections=5,
            exact_queries=5,
            candidate_sweep=(10, 200),
            oversample_sweep=(1.0, 10.0),
            shards=1,  # not the product's 2: the variant an operator compares it with
        ),
        console=Console(stderr=True, quiet=True),
    )
    size = result["sizes"]["1500"]
    assert set(size["index_types"]) == {"bbq_hnsw", "int8_hnsw"}
    assert size["annoy"]["recall_at_10"] > 0.5 and size["numpy"]["latency_ms"]["p50"] > 0
    for figures in size["index_types"].values():
        assert figures["docs"] == 1500
        assert figures["shards"] == 1 and figures["index"].endswith("-1-shards")
        # Exact search is exact: the same ten works numpy finds, over all and per collection.
        assert figures["exact_all"]["recall_at_10"] == 1.0
        assert figures["exact_in_collection"]["recall_at_10"] == 1.0
        assert figures["exact_in_collection"]["collection_size"] == 300
        assert figures["knn"]["recall_at_10"] >= 0.9
        assert figures["knn"]["second_pass_latency_ms"]["p50"] > 0
        # More candidates never find fewer of the true ten than the fewest possible (k).
        sweep = figures["knn_by_num_candidates"]
        assert set(sweep) == {"10", "200"}
        assert sweep["200"]["recall_at_10"] >= sweep["10"]["recall_at_10"]
        # Rescoring ten times k float vectors finds at least what rescoring k finds.
        rescored = figures["knn_by_oversample"]
        assert set(rescored) == {f"{c}x{o}" for c in (100, 10, 200) for o in (1, 10)}
        assert rescored["200x10"]["recall_at_10"] >= rescored["200x1"]["recall_at_10"]
        assert figures["memory"]["vector_files_on_disk_mib"] > 0
    bbq, int8 = (size["index_types"][t]["memory"] for t in ("bbq_hnsw", "int8_hnsw"))
    assert bbq["offheap_needed_mib"] < int8["offheap_needed_mib"]
    with es_client(stack) as es:
        assert es.indices.get(index="bench-vectors-1500-*", allow_no_indices=True) == {}
