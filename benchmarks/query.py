"""Similar-by-id latency and recall at scale: Elasticsearch, the API, numpy and Annoy.

For each N (default 10,000 and 100,000):

1. Setup. A throw-away index ``bench-vectors-<N>`` with the product's settings and mappings
   (``mappings/paintings.json``) is filled with N synthetic, L2-normalised float32 vectors of
   the model's dims, under ids that look like artwork ids (SHA-256 hex of a path). The
   benchmark writes them with ``elasticsearch.helpers.bulk`` *directly*, because they are
   synthetic benchmark data: the product's ingestion path (Kafka -> worker -> Connect) is
   measured by ``gallery bench ingest`` / ``bench sink``, not here. Refresh is switched off
   during the load and restored to the product's value before anything is measured.
2. Unmerged figure: kNN latency and recall right after the load (as many segments as the
   load left, each with its own HNSW graph).
3. Force-merge to one segment, which is what a settled index looks like, then measure:

   - ``es_exact`` / ``es_knn``: the ``script_score`` and ``knn`` bodies that
     ``gallery_api.queries`` builds, as the similar route asks for them (engine from
     ``detect_engine``, its ``num_candidates``, its same-model filter), sent with the
     synchronous client; wall time around the call (``perf_counter``) and ES's own ``took``;
   - ``api_exact`` / ``api_knn``: ``GET /api/artworks/{id}/similar?k=10&mode=...`` on the real
     API (``create_app(settings, index=<bench spec>)`` under uvicorn in a child process, as
     ``gallery up`` runs it) through one keep-alive httpx client. The route first fetches the
     work's vector (a GET), then searches: ``es_get`` times that GET on its own;
   - ``numpy``: brute force over the same matrix, one query at a time, in this process;
   - ``annoy``: the prior art's index (angular, 25 trees, default ``search_k``), same queries.

   For each query the four HTTP calls are made one after the other (es_exact, api_exact,
   es_knn, api_knn, es_get), so each API figure is taken under the same background load as
   the Elasticsearch figure it is compared with. Every method is warmed up on other ids first.
   ``api_overhead_parts`` splits the API's overhead: the vector GET, a request the API answers
   without Elasticsearch (HTTP and framework), and API minus (GET + search) per query.
   The query itself is excluded from every answer, as the API excludes it.

Recall@10: ES kNN and Annoy against ES exact (numpy must agree with ES exact, reported too).
The bench indices are deleted at the end unless ``keep``.

This module runs the benchmark; its parts live beside it: the synthetic data in
`benchmarks.query_vectors`, the index and the direct Elasticsearch queries in
`benchmarks.query_index`, the API child process and its calls in `benchmarks.query_api`,
numpy and Annoy in `benchmarks.query_baselines`, and the figures and targets in
`benchmarks.query_figures`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.progress import Progress

from benchmarks.query_api import api_server, api_similar, api_without_es
from benchmarks.query_baselines import ANNOY_TREES, annoy_top_k, numpy_top_k
from benchmarks.query_figures import check_targets, latency_summary, recall_at_k
from benchmarks.query_index import (
    DirectQueries,
    bench_spec,
    force_merge,
    load_vectors,
    segment_count,
)
from benchmarks.query_variants import Comparison, Workload, measure_variant
from benchmarks.query_vectors import Vectors, synthetic_ids, synthetic_vectors
from gallery_api.queries import Metric, ScriptEngine, num_candidates_for
from gallery_api.search import detect_engine
from gallery_core.clients import async_es_client, es_client
from gallery_core.contracts import load_index
from gallery_core.settings import Settings

__all__ = ["run_query_benchmark"]

K = 10
WARMUP = 20


# --- measurement --------------------------------------------------------------------------------


@dataclass
class _Samples:
    seconds: list[float]
    took_ms: list[float]
    answers: list[list[str]]

    @classmethod
    def empty(cls) -> _Samples:
        return cls([], [], [])


def _record(samples: _Samples, measured: tuple[float, float, list[str]]) -> None:
    seconds, took, answer = measured
    samples.seconds.append(seconds)
    samples.took_ms.append(took)
    samples.answers.append(answer)


def _knn_only(
    raw: DirectQueries, queries: list[int], warmup: list[int], ids: list[str], vectors: Vectors
) -> _Samples:
    for q in warmup:
        raw.knn(vectors[q].tolist(), ids[q])
    samples = _Samples.empty()
    for q in queries:
        _record(samples, raw.knn(vectors[q].tolist(), ids[q]))
    return samples


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _measure_size(
    settings: Settings,
    es: Elasticsearch,
    engine: ScriptEngine,
    n: int,
    queries: int,
    keep: bool,
    console: Console,
) -> dict[str, Any]:
    spec = bench_spec(n)
    num_candidates = num_candidates_for(K, settings.api.max_num_candidates)  # as the route does
    with console.status(f"{spec.name}: generating {n} vectors"):
        matrix = synthetic_vectors(n, spec.dims, seed=n)
        ids = synthetic_ids(n, prefix=f"bench-{n}")
    rng = np.random.default_rng(n + 1)
    picked = [int(i) for i in rng.choice(n, size=queries + WARMUP, replace=False)]
    warmup, chosen = picked[:WARMUP], picked[WARMUP:]
    result: dict[str, Any] = {"n": n, "index": spec.name}
    try:
        result.update(load_vectors(es, spec, ids, matrix, console))
        raw = DirectQueries(es, spec, engine, num_candidates, K)
        # ---- unmerged: as the load left it
        result["unmerged_segments"] = segment_count(es, spec.name)
        with console.status(f"{spec.name}: kNN before force-merge"):
            unmerged = _knn_only(raw, chosen, warmup, ids, matrix)
        # ---- settled: one segment
        with console.status(f"{spec.name}: force-merge to 1 segment"):
            result["forcemerge_s"] = force_merge(es, spec.name)
        result["segments"] = segment_count(es, spec.name)
        console.log(
            f"{spec.name}: loaded in {result['load_s']}s, merged in {result['forcemerge_s']}s"
        )
        samples = {m: _Samples.empty() for m in ("es_exact", "api_exact", "es_knn", "api_knn")}
        get_seconds: list[float] = []
        floor_seconds: list[float] = []
        result["load_average_before"] = _load_average()
        with api_server(settings, spec) as url, httpx.Client(base_url=url, timeout=60) as client:
            for q in warmup:
                vector, artwork_id = matrix[q].tolist(), ids[q]
                raw.exact(vector, artwork_id)
                api_similar(client, artwork_id, "exact", K)
                raw.knn(vector, artwork_id)
                api_similar(client, artwork_id, "knn", K)
                raw.get(artwork_id)
                api_without_es(client, K)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"{spec.name}: ES and API queries", total=len(chosen))
                for q in chosen:
                    vector, artwork_id = matrix[q].tolist(), ids[q]
                    _record(samples["es_exact"], raw.exact(vector, artwork_id))
                    _record(samples["api_exact"], api_similar(client, artwork_id, "exact", K))
                    _record(samples["es_knn"], raw.knn(vector, artwork_id))
                    _record(samples["api_knn"], api_similar(client, artwork_id, "knn", K))
                    get_seconds.append(raw.get(artwork_id))
                    floor_seconds.append(api_without_es(client, K))
                    progress.advance(task)
        result["load_average_after"] = _load_average()
        with console.status(f"{spec.name}: numpy brute force"):
            numpy_seconds, numpy_rows = numpy_top_k(matrix, chosen, warmup, K)
        with console.status(f"{spec.name}: Annoy ({ANNOY_TREES} trees)"):
            annoy_build_s, annoy_seconds, annoy_rows = annoy_top_k(matrix, chosen, warmup, K)
    finally:
        if not keep:
            es.indices.delete(index=spec.name, ignore_unavailable=True)

    truth = samples["es_exact"].answers
    numpy_ids = [[ids[j] for j in row] for row in numpy_rows]
    annoy_ids = [[ids[j] for j in row] for row in annoy_rows]
    latency = {m: latency_summary(s.seconds) for m, s in samples.items()}
    latency["numpy"] = latency_summary(numpy_seconds)
    latency["annoy"] = latency_summary(annoy_seconds)
    get_and_search = {
        mode: latency_summary(
            [g + e for g, e in zip(get_seconds, samples[f"es_{mode}"].seconds, strict=True)]
        )
        for mode in ("exact", "knn")
    }
    result.update(
        {
            "num_candidates": num_candidates,
            "latency_ms": {
                m: latency[m]
                for m in ("es_exact", "es_knn", "api_exact", "api_knn", "numpy", "annoy")
            },
            "es_took_ms": {
                "exact": latency_summary([t / 1000 for t in samples["es_exact"].took_ms]),
                "knn": latency_summary([t / 1000 for t in samples["es_knn"].took_ms]),
            },
            "api_route_took_ms": {
                "exact": latency_summary([t / 1000 for t in samples["api_exact"].took_ms]),
                "knn": latency_summary([t / 1000 for t in samples["api_knn"].took_ms]),
            },
            "api_overhead_p50_ms": {
                mode: round(latency[f"api_{mode}"]["p50"] - latency[f"es_{mode}"]["p50"], 2)
                for mode in ("exact", "knn")
            },
            "api_overhead_parts": {
                # the route's first call: the work's vector (raw ES has it already)
                "es_get_with_vector_ms": latency_summary(get_seconds),
                # a request the API answers without Elasticsearch (400, malformed id):
                # HTTP, uvicorn, middleware, FastAPI, problem JSON, the httpx client
                "api_without_es_ms": latency_summary(floor_seconds),
                # median over queries of (API - raw ES) for the same query, taken back to back:
                # less exposed than the difference of two medians to the load of the moment
                "paired_p50_ms": {
                    mode: latency_summary(
                        [
                            a - e
                            for a, e in zip(
                                samples[f"api_{mode}"].seconds,
                                samples[f"es_{mode}"].seconds,
                                strict=True,
                            )
                        ]
                    )["p50"]
                    for mode in ("exact", "knn")
                },
                "api_minus_es_get_and_search_p50_ms": {
                    mode: round(latency[f"api_{mode}"]["p50"] - get_and_search[mode]["p50"], 2)
                    for mode in ("exact", "knn")
                },
            },
            "recall_at_10": {
                "es_knn": recall_at_k(samples["es_knn"].answers, truth, K),
                "annoy": recall_at_k(annoy_ids, truth, K),
                "numpy": recall_at_k(numpy_ids, truth, K),
                "api_knn_vs_es_knn": recall_at_k(
                    samples["api_knn"].answers, samples["es_knn"].answers, K
                ),
                "api_exact_vs_es_exact": recall_at_k(samples["api_exact"].answers, truth, K),
            },
            "unmerged": {
                "es_knn_ms": latency_summary(unmerged.seconds),
                "es_knn_recall_at_10": recall_at_k(unmerged.answers, truth, K),
            },
            "annoy": {
                "trees": ANNOY_TREES,
                "search_k": "default (trees * 11)",
                "build_s": round(annoy_build_s, 2),
            },
        }
    )
    result["checks"] = check_targets(result)
    return result


def _measure_index_types(
    settings: Settings,
    es: Elasticsearch,
    engine: ScriptEngine,
    n: int,
    comparison: Comparison,
    *,
    queries: int,
    keep: bool,
    console: Console,
) -> dict[str, Any]:
    """Issue 14's comparison at one N: numpy and Annoy once, then each index type
    (`benchmarks.query_variants`), all held to numpy's exact answers."""
    dims = load_index().dims
    with console.status(f"generating {n} vectors of {dims} dims"):
        matrix = synthetic_vectors(n, dims, seed=n)
        ids = synthetic_ids(n, prefix=f"bench-{n}")
    rng = np.random.default_rng(n + 1)
    picked = [int(i) for i in rng.choice(n, size=queries + WARMUP, replace=False)]
    warmup, chosen = picked[:WARMUP], picked[WARMUP:]
    with console.status(f"numpy brute force over {n}"):
        numpy_seconds, numpy_rows = numpy_top_k(matrix, chosen, warmup, K)
    truth = [[ids[j] for j in row] for row in numpy_rows]
    with console.status(f"Annoy ({ANNOY_TREES} trees) over {n}"):
        annoy_build_s, annoy_seconds, annoy_rows = annoy_top_k(matrix, chosen, warmup, K)
    candidates = num_candidates_for(K, settings.api.max_num_candidates)
    work = Workload(matrix, ids, chosen, warmup, truth, candidates, K)
    return {
        "n": n,
        "collections": comparison.collections,
        "num_candidates": candidates,
        "numpy": {"latency_ms": latency_summary(numpy_seconds)},
        "annoy": {
            "trees": ANNOY_TREES,
            "build_s": round(annoy_build_s, 1),
            "latency_ms": latency_summary(annoy_seconds),
            "recall_at_10": recall_at_k([[ids[j] for j in r] for r in annoy_rows], truth, K),
        },
        "index_types": {
            index_type: measure_variant(
                es, engine, index_type, work, comparison, keep=keep, console=console
            )
            for index_type in comparison.index_types
        },
    }


def run_query_benchmark(
    settings: Settings,
    *,
    sizes: Sequence[int] = (10_000, 100_000),
    queries: int = 200,
    keep: bool = False,
    comparison: Comparison | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Every figure of issue 5's query benchmark, per size; with a ``comparison``, issue 14's
    comparison of index types instead (see the module docstrings)."""
    console = console or Console(stderr=True)
    es = es_client(settings)
    # A thread of its own: the caller may already run an event loop (a notebook, the browser
    # tests' Playwright), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        engine = pool.submit(lambda: asyncio.run(_engine(settings))).result()
    result: dict[str, Any] = {
        "k": K,
        "queries": queries,
        "warmup": WARMUP,
        "dims": load_index().dims,
        "metric": Metric.COSINE.value,
        "script_engine": engine.value,
        "mapping_index_options": load_index()
        .mappings["properties"][load_index().vector_field]
        .get("index_options"),
        "cpus": os.cpu_count(),
        "load_average_start": _load_average(),
        "sizes": {},
    }
    try:
        for n in sizes:
            if comparison is not None:
                result["sizes"][str(n)] = _measure_index_types(
                    settings, es, engine, n, comparison, queries=queries, keep=keep, console=console
                )
            else:
                result["sizes"][str(n)] = _measure_size(
                    settings, es, engine, n, queries, keep, console
                )
    finally:
        es.close()
    result["load_average_end"] = _load_average()
    result["pass"] = all(
        check["pass"]
        for size in result["sizes"].values()
        for check in size.get("checks", {}).values()
    )
    return result


async def _engine(settings: Settings) -> ScriptEngine:
    es = async_es_client(settings)
    try:
        return await detect_engine(es, settings.api.script_engine)
    finally:
        await es.close()
