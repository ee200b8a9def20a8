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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.helpers import streaming_bulk
from rich.console import Console
from rich.progress import Progress

from gallery_core.clients import es_client
from gallery_core.clients import es_auth
from gallery_api.queries import (
    Metric,
    ScriptEngine,
    knn_query,
    num_candidates_for,
    script_score_query,
)
from gallery_api.routes.common import model_filter
from gallery_api.search import SOURCE_FIELDS, detect_engine
from gallery_core.contracts import IndexSpec, load_index
from gallery_core.settings import Settings

__all__ = [
    "TARGETS",
    "Target",
    "check_targets",
    "flatten",
    "latency_summary",
    "recall_at_k",
    "run_query_benchmark",
    "synthetic_ids",
    "synthetic_vectors",
    "top_k_excluding",
]

Vectors = npt.NDArray[np.float32]

K = 10
INDEX_PREFIX = "bench-vectors-"
ANNOY_TREES = 25  # the prior art's setting
WARMUP = 20
#: The synthetic documents' model version (the route only compares vectors of one version).
MODEL_VERSION = "0"


@dataclass(frozen=True)
class Target:
    """A figure of one size's result (dotted path) and its bound."""

    figure: str
    limit: float
    at_least: bool = False  # True: figure >= limit; False: figure <= limit

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


#: Issue 5's targets, for this machine at N = 100,000 (checked at every N).
TARGETS = (
    Target("latency_ms.es_knn.p95", 50.0),
    Target("latency_ms.api_knn.p95", 50.0),
    Target("recall_at_10.es_knn", 0.95, at_least=True),
    Target("latency_ms.es_exact.p95", 500.0),
    Target("latency_ms.api_exact.p95", 500.0),
    Target("api_overhead_p50_ms.exact", 5.0),
    Target("api_overhead_p50_ms.knn", 5.0),
)


# --- pure helpers -------------------------------------------------------------------------------


def synthetic_vectors(
    n: int,
    dims: int,
    *,
    centres: int = 200,
    latent_dims: int = 16,
    spread: float = 0.25,
    noise: float = 0.2,
    seed: int = 0,
) -> Vectors:
    """``(n, dims)`` float32 unit rows from a mixture of ``centres`` low-rank Gaussians.

    Each cluster is a random unit centre plus ``spread`` times a random ``latent_dims``-dim
    subspace, plus a little isotropic ``noise``. Real image embeddings have a low intrinsic
    dimension; an isotropic Gaussian in 256 dims would make all cluster-mates nearly
    equidistant (no meaningful neighbours, the worst case of every ANN index).
    """
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((centres, dims))
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    labels = rng.integers(0, centres, size=n)
    out = np.empty((n, dims), dtype=np.float64)
    for c in range(centres):
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            continue
        basis = rng.standard_normal((latent_dims, dims)) / np.sqrt(dims)
        z = rng.standard_normal((len(rows), latent_dims))
        iso = rng.standard_normal((len(rows), dims)) / np.sqrt(dims)
        out[rows] = centre[c] + spread * (z @ basis) + noise * iso
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def synthetic_ids(n: int, prefix: str = "bench") -> list[str]:
    """Artwork-like ids: SHA-256 hex of ``<prefix>/<i>.jpg`` (as the product hashes paths)."""
    return [hashlib.sha256(f"{prefix}/{i:06d}.jpg".encode()).hexdigest() for i in range(n)]


def top_k_excluding(matrix: Vectors, row: int, k: int) -> npt.NDArray[np.intp]:
    """Rows of the ``k`` largest dot products with ``matrix[row]``, best first, ``row`` left out."""
    scores = matrix @ matrix[row]
    scores[row] = -np.inf
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 (linear interpolation) of wall times, in milliseconds."""
    if not len(seconds):
        raise ValueError("no samples")
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
    }


def recall_at_k(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int) -> float:
    """Mean over queries of |found[:k] & truth[:k]| / k."""
    if len(found) != len(truth) or not truth:
        raise ValueError("need one answer per query, and at least one query")
    hits = [len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)) / k, 4)


def _lookup(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        value = value[part]
    return value


def check_targets(result: dict[str, Any], targets: Sequence[Target] = TARGETS) -> dict[str, Any]:
    """``{figure: {"value", "limit", "pass"}}`` for one size's result."""
    checks: dict[str, Any] = {}
    for target in targets:
        value = float(_lookup(result, target.figure))
        checks[target.figure] = {
            "value": value,
            "limit": (">= " if target.at_least else "<= ") + f"{target.limit:g}",
            "pass": target.met(value),
        }
    return checks


def flatten(result: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Nested dicts as one level of dotted keys (for the CLI's table)."""
    flat: dict[str, object] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


# --- the API in a child process -----------------------------------------------------------------


class _SimilarByIdOnly:
    """The API's encoder for this benchmark: similar-by-id never encodes, so no model loads."""

    name = "none"
    version = "0"
    input_size = 224  # never used: nothing is decoded

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def encode(self, images: npt.NDArray[np.uint8]) -> Vectors:
        raise RuntimeError("the query benchmark's API serves similar-by-id only")


def _serve_api(settings: Settings, spec: IndexSpec, port: int) -> None:
    """Child process: the product's API over ``spec``, under uvicorn as ``gallery up`` runs it."""
    import uvicorn

    from gallery_api.main import create_app

    app = create_app(settings, encoder=_SimilarByIdOnly(spec.dims), index=spec)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _api_server(settings: Settings, spec: IndexSpec, timeout_s: float = 90.0) -> Iterator[str]:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_serve_api, args=(settings, spec, port), name=f"bench-api-{spec.name}", daemon=True
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if not proc.is_alive():
                raise RuntimeError(f"the benchmark API exited with code {proc.exitcode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the benchmark API did not become healthy in {timeout_s}s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.join(15)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


# --- setup --------------------------------------------------------------------------------------


def _bench_spec(n: int) -> IndexSpec:
    product = load_index()
    spec = IndexSpec(
        name=f"{INDEX_PREFIX}{n}", settings=product.settings, mappings=product.mappings
    )
    if spec.name == product.name:
        raise ValueError("the benchmark never writes to the product's index")
    return spec


def _load(
    es: Elasticsearch,
    spec: IndexSpec,
    ids: list[str],
    vectors: Vectors,
    console: Console,
) -> dict[str, Any]:
    if es.indices.exists(index=spec.name):
        es.indices.delete(index=spec.name)
    es.indices.create(
        index=spec.name,
        settings={**spec.settings, "refresh_interval": "-1"},
        mappings=spec.mappings,
    )
    field = spec.vector_field

    def actions() -> Iterator[dict[str, Any]]:
        for i, (artwork_id, vector) in enumerate(zip(ids, vectors, strict=True)):
            yield {
                "_index": spec.name,
                "_id": artwork_id,
                "_source": {
                    "id": artwork_id,
                    field: vector.tolist(),  # float32 values exactly, as numpy sees them
                    "path": f"bench/{i:06d}.jpg",
                    "collection": "bench",
                    "model": "synthetic",
                    "model_version": MODEL_VERSION,
                },
            }

    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{spec.name}: bulk load", total=len(ids))
        for _ in _streaming(es, actions()):  # raises on the first failed document
            progress.advance(task)
    loaded = time.perf_counter() - started
    es.indices.put_settings(
        index=spec.name, settings={"refresh_interval": spec.settings.get("refresh_interval")}
    )
    es.indices.refresh(index=spec.name)
    count = int(es.count(index=spec.name)["count"])
    if count != len(ids):
        raise RuntimeError(f"{spec.name}: {count} documents after loading {len(ids)}")
    return {"load_s": round(loaded, 1), "docs": count}


def _streaming(es: Elasticsearch, actions: Iterator[dict[str, Any]]) -> Iterator[tuple[bool, Any]]:
    client = es.options(request_timeout=600)
    yield from streaming_bulk(client, actions, chunk_size=500, max_retries=3)


def _segments(es: Elasticsearch, name: str) -> int:
    rows = es.cat.segments(index=name, format="json")
    return len(rows.body)


def _force_merge(es: Elasticsearch, name: str) -> float:
    started = time.perf_counter()
    es.options(request_timeout=3600).indices.forcemerge(
        index=name, max_num_segments=1, wait_for_completion=True
    )
    es.indices.refresh(index=name)
    return round(time.perf_counter() - started, 1)


# --- measurement --------------------------------------------------------------------------------


@dataclass
class _Samples:
    seconds: list[float]
    took_ms: list[float]
    answers: list[list[str]]

    @classmethod
    def empty(cls) -> _Samples:
        return cls([], [], [])


class _Raw:
    """The bodies the API's similar route sends (its same-model filter included), sent directly."""

    def __init__(
        self, es: Elasticsearch, spec: IndexSpec, engine: ScriptEngine, num_candidates: int
    ) -> None:
        self.es, self.spec, self.engine, self.num_candidates = es, spec, engine, num_candidates

    def exact(self, vector: list[float], exclude: str) -> tuple[float, float, list[str]]:
        query = script_score_query(
            vector,
            metric=Metric.COSINE,
            field=self.spec.vector_field,
            engine=self.engine,
            filters=[model_filter(MODEL_VERSION)],
            exclude_ids=[exclude],
        )
        started = time.perf_counter()
        found = self.es.search(
            index=self.spec.name, query=query, size=K, source_includes=SOURCE_FIELDS
        )
        return _timed(started, found)

    def knn(self, vector: list[float], exclude: str) -> tuple[float, float, list[str]]:
        knn = knn_query(
            vector,
            field=self.spec.vector_field,
            k=K,
            num_candidates=self.num_candidates,
            filters=[model_filter(MODEL_VERSION)],
            exclude_ids=[exclude],
        )
        started = time.perf_counter()
        found = self.es.search(index=self.spec.name, knn=knn, size=K, source_includes=SOURCE_FIELDS)
        return _timed(started, found)

    def get(self, artwork_id: str) -> float:
        started = time.perf_counter()
        self.es.get(
            index=self.spec.name,
            id=artwork_id,
            source_includes=[*SOURCE_FIELDS, self.spec.vector_field],
        )
        return time.perf_counter() - started


def _timed(started: float, found: Any) -> tuple[float, float, list[str]]:
    seconds = time.perf_counter() - started
    return seconds, float(found["took"]), [h["_id"] for h in found["hits"]["hits"]]


def _api_similar(
    client: httpx.Client, artwork_id: str, mode: str
) -> tuple[float, float, list[str]]:
    started = time.perf_counter()
    response = client.get(f"/api/artworks/{artwork_id}/similar", params={"k": K, "mode": mode})
    seconds = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    return seconds, float(body["took_ms"]), [h["id"] for h in body["hits"]]


def _api_without_es(client: httpx.Client) -> float:
    started = time.perf_counter()
    response = client.get("/api/artworks/not-an-id/similar", params={"k": K})
    seconds = time.perf_counter() - started
    if response.status_code != 400:
        raise RuntimeError(f"expected 400 for a malformed id, got {response.status_code}")
    return seconds


def _record(samples: _Samples, measured: tuple[float, float, list[str]]) -> None:
    seconds, took, answer = measured
    samples.seconds.append(seconds)
    samples.took_ms.append(took)
    samples.answers.append(answer)


def _knn_only(
    raw: _Raw, queries: list[int], warmup: list[int], ids: list[str], vectors: Vectors
) -> _Samples:
    for q in warmup:
        raw.knn(vectors[q].tolist(), ids[q])
    samples = _Samples.empty()
    for q in queries:
        _record(samples, raw.knn(vectors[q].tolist(), ids[q]))
    return samples


def _numpy(matrix: Vectors, queries: list[int], warmup: list[int]) -> tuple[list[float], Any]:
    for q in warmup:
        top_k_excluding(matrix, q, K)
    seconds, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(top_k_excluding(matrix, q, K))
        seconds.append(time.perf_counter() - started)
    return seconds, answers


def _annoy(
    matrix: Vectors, queries: list[int], warmup: list[int]
) -> tuple[float, list[float], list[list[int]]]:
    from annoy import AnnoyIndex

    index = AnnoyIndex(matrix.shape[1], "angular")
    for i, row in enumerate(matrix):
        index.add_item(i, row)
    started = time.perf_counter()
    index.build(ANNOY_TREES, n_jobs=-1)
    build_s = time.perf_counter() - started

    def query(q: int) -> list[int]:
        # default search_k (n_trees * n); one extra because the query itself comes back
        return [j for j in index.get_nns_by_vector(matrix[q], K + 1) if j != q][:K]

    for q in warmup:
        query(q)
    seconds, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(query(q))
        seconds.append(time.perf_counter() - started)
    index.unload()
    return build_s, seconds, answers


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
    spec = _bench_spec(n)
    num_candidates = num_candidates_for(K, settings.api.max_num_candidates)  # as the route does
    with console.status(f"{spec.name}: generating {n} vectors"):
        matrix = synthetic_vectors(n, spec.dims, seed=n)
        ids = synthetic_ids(n, prefix=f"bench-{n}")
    rng = np.random.default_rng(n + 1)
    picked = [int(i) for i in rng.choice(n, size=queries + WARMUP, replace=False)]
    warmup, chosen = picked[:WARMUP], picked[WARMUP:]
    result: dict[str, Any] = {"n": n, "index": spec.name}
    try:
        result.update(_load(es, spec, ids, matrix, console))
        raw = _Raw(es, spec, engine, num_candidates)
        # ---- unmerged: as the load left it
        result["unmerged_segments"] = _segments(es, spec.name)
        with console.status(f"{spec.name}: kNN before force-merge"):
            unmerged = _knn_only(raw, chosen, warmup, ids, matrix)
        # ---- settled: one segment
        with console.status(f"{spec.name}: force-merge to 1 segment"):
            result["forcemerge_s"] = _force_merge(es, spec.name)
        result["segments"] = _segments(es, spec.name)
        console.log(
            f"{spec.name}: loaded in {result['load_s']}s, merged in {result['forcemerge_s']}s"
        )
        samples = {m: _Samples.empty() for m in ("es_exact", "api_exact", "es_knn", "api_knn")}
        get_seconds: list[float] = []
        floor_seconds: list[float] = []
        result["load_average_before"] = _load_average()
        with _api_server(settings, spec) as url, httpx.Client(base_url=url, timeout=60) as client:
            for q in warmup:
                vector, artwork_id = matrix[q].tolist(), ids[q]
                raw.exact(vector, artwork_id)
                _api_similar(client, artwork_id, "exact")
                raw.knn(vector, artwork_id)
                _api_similar(client, artwork_id, "knn")
                raw.get(artwork_id)
                _api_without_es(client)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"{spec.name}: ES and API queries", total=len(chosen))
                for q in chosen:
                    vector, artwork_id = matrix[q].tolist(), ids[q]
                    _record(samples["es_exact"], raw.exact(vector, artwork_id))
                    _record(samples["api_exact"], _api_similar(client, artwork_id, "exact"))
                    _record(samples["es_knn"], raw.knn(vector, artwork_id))
                    _record(samples["api_knn"], _api_similar(client, artwork_id, "knn"))
                    get_seconds.append(raw.get(artwork_id))
                    floor_seconds.append(_api_without_es(client))
                    progress.advance(task)
        result["load_average_after"] = _load_average()
        with console.status(f"{spec.name}: numpy brute force"):
            numpy_seconds, numpy_rows = _numpy(matrix, chosen, warmup)
        with console.status(f"{spec.name}: Annoy ({ANNOY_TREES} trees)"):
            annoy_build_s, annoy_seconds, annoy_rows = _annoy(matrix, chosen, warmup)
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


def run_query_benchmark(
    settings: Settings,
    *,
    sizes: Sequence[int] = (10_000, 100_000),
    queries: int = 200,
    keep: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Every figure of issue 5's query benchmark, per size; see the module docstring."""
    console = console or Console(stderr=True)
    es = es_client(settings)
    engine = asyncio.run(_engine(settings))
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
            result["sizes"][str(n)] = _measure_size(settings, es, engine, n, queries, keep, console)
    finally:
        es.close()
    result["load_average_end"] = _load_average()
    result["pass"] = all(
        check["pass"] for size in result["sizes"].values() for check in size["checks"].values()
    )
    return result


async def _engine(settings: Settings) -> ScriptEngine:
    es = AsyncElasticsearch(settings.elasticsearch.url, basic_auth=es_auth(settings))
    try:
        return await detect_engine(es, settings.api.script_engine)
    finally:
        await es.close()
