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
