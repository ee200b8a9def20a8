"""The query benchmark's index-option comparison: one index per ``index_options.type``.

For the same N vectors (`benchmarks.query_vectors`, in ``collections`` equal collections), each
type (``hnsw``: float vectors; ``int8_hnsw`` / ``int4_hnsw``: scalar-quantised; ``bbq_hnsw``:
binary-quantised, as Elasticsearch builds them) gets its own throw-away index and:

- ``load_s`` (bulk, refresh off) and ``forcemerge_s`` (to one segment per shard; the index
  has ``Comparison.shards`` primary shards, the product mapping's unless asked);
- ``memory``: the vector files on disk (``_disk_usage``), the off-heap memory HNSW wants
  (Elastic's sizing rule: the vectors it searches, quantised or not, plus the graph's
  ``4 * m`` bytes per vector), and the node's heap; ``total_gib`` = heap max + off-heap;
- ``knn``: p50/p95 of the similar route's kNN body and recall@10 against the exact answer
  (numpy over the same float32 matrix: the truth every type is held to), and the p50/p95 of
  a second pass of the same queries (the first pays for a cold page cache);
- ``knn_filtered_in_graph``: the same queries with the model filter and the query work's
  exclusion inside the graph search (the route's body before it asked unfiltered first), and
  its p50 over the route's second pass;
- ``knn_by_num_candidates``: the same queries with each ``candidate_sweep`` value;
- ``knn_by_oversample`` (quantised types): the same queries for each ``oversample_sweep`` value
  at the route's and each swept ``num_candidates``, keyed ``"<candidates>x<oversample>"``
  (the mapping's ``rescore_vector.oversample`` updates in place, so this curve is what an
  operator tunes it from);
- ``exact_all``: ``script_score`` over every document (fewer queries: it reads all vectors);
- ``exact_in_collection``: the same restricted to the query work's collection (the pre-filter a
  user gets with ``collection=``), with its recall against numpy over that collection.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from elasticsearch.exceptions import GeneralAvailabilityWarning
from rich.console import Console

from benchmarks.query_figures import latency_summary, recall_at_k
from benchmarks.query_index import (
    DirectQueries,
    bench_spec,
    collection_of,
    force_merge,
    load_vectors,
)
from benchmarks.query_vectors import Vectors
from gallery_api.queries import ScriptEngine
from gallery_core.contracts import IndexSpec

__all__ = [
    "INDEX_TYPES",
    "Comparison",
    "Workload",
    "measure_variant",
    "offheap_bytes",
    "top_k_in_collection",
]

#: The ``index_options`` types compared (all are HNSW graphs; they differ in what is searched).
INDEX_TYPES = ("hnsw", "int8_hnsw", "int4_hnsw", "bbq_hnsw")
GIB = 1024**3


def offheap_bytes(index_type: str, n: int, dims: int, m: int) -> int:
    """What an HNSW index of ``n`` vectors wants in the page cache (Elastic's sizing rule):
    the vectors the graph search reads, and ``4 * m`` bytes of graph per vector."""
    per_vector = {
        "hnsw": dims * 4,
        "int8_hnsw": dims + 4,
        "int4_hnsw": dims // 2 + 4,
        "bbq_hnsw": dims // 8 + 14,
    }[index_type]
    return n * (per_vector + 4 * m)


def top_k_in_collection(
    matrix: Vectors, row: int, members: np.ndarray[Any, Any], k: int
) -> list[int]:
    """The ``k`` nearest rows to ``row`` among ``members`` (row left out), best first."""
    others = members[members != row]
    scores = matrix[others] @ matrix[row]
    part = np.argpartition(-scores, min(k, len(others) - 1))[:k]
    return [int(j) for j in others[part[np.argsort(-scores[part], kind="stable")]]]


def _memory(es: Elasticsearch, name: str, field: str, offheap: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        # The disk-usage API is a technical preview in 8.19; the figure is what we need of it.
        warnings.simplefilter("ignore", GeneralAvailabilityWarning)
        usage = es.options(request_timeout=600).indices.disk_usage(
            index=name, run_expensive_tasks=True
        )
    fields = usage[name]["fields"]
    knn_on_disk = int(fields.get(field, {}).get("knn_vectors_in_bytes", 0))
    jvm = next(iter(es.nodes.stats(metric="jvm")["nodes"].values()))["jvm"]["mem"]
    heap_max = int(jvm["heap_max_in_bytes"])
    return {
        "vector_files_on_disk_mib": round(knn_on_disk / 2**20, 1),
        "store_mib": round(int(usage[name]["store_size_in_bytes"]) / 2**20, 1),
        "offheap_needed_mib": round(offheap / 2**20, 1),
        "heap_used_mib": round(int(jvm["heap_used_in_bytes"]) / 2**20, 1),
        "heap_max_mib": round(heap_max / 2**20, 1),
        "total_gib": round((heap_max + offheap) / GIB, 2),
    }


@dataclass(frozen=True)
class Comparison:
    """What ``gallery bench query --index-types`` asks for."""

    index_types: tuple[str, ...]
    #: Collections of equal size the documents are spread over (exact within one).
    collections: int = 100
    #: Exact queries over the whole index (each reads every vector).
    exact_queries: int = 20
    #: More ``num_candidates`` values for the same kNN queries on the same loaded index
    #: (recall against latency), besides the route's own value.
    candidate_sweep: tuple[int, ...] = ()
    #: ``rescore_vector.oversample`` values to try with each of those (quantised types only).
    oversample_sweep: tuple[float, ...] = ()
    #: Primary shards of each bench index; None: the product mapping's. On one node, each
    #: shard's graph is searched by its own thread, so a second shard uses a second core.
    shards: int | None = None


@dataclass(frozen=True)
class Workload:
    """What every index type is measured on: the same vectors, queries and exact answers."""

    matrix: Vectors
    ids: list[str]
    queries: Sequence[int]
    warmup: Sequence[int]
    truth: Sequence[Sequence[str]]
    num_candidates: int
    k: int


def measure_variant(
    es: Elasticsearch,
    engine: ScriptEngine,
    index_type: str,
    work: Workload,
    comparison: Comparison,
    *,
    keep: bool,
    console: Console,
) -> dict[str, Any]:
    """Every figure of one index type at N = ``len(work.ids)`` (see the module docstring)."""
    matrix, ids, queries, warmup, k = work.matrix, work.ids, work.queries, work.warmup, work.k
    truth, collections = work.truth, comparison.collections
    n, dims = matrix.shape
    spec = bench_spec(n, index_type, comparison.shards)
    field = spec.vector_field
    m = int(spec.mappings["properties"][field]["index_options"].get("m", 16))
    shards = int(spec.settings.get("number_of_shards", 1))
    result: dict[str, Any] = {"index": spec.name, "shards": shards}
    try:
        result.update(load_vectors(es, spec, ids, matrix, console, collections=collections))
        with console.status(f"{spec.name}: force-merge to 1 segment per shard"):
            result["forcemerge_s"] = force_merge(es, spec.name)
        console.log(
            f"{spec.name}: loaded in {result['load_s']}s, merged in {result['forcemerge_s']}s"
        )
        result["memory"] = _memory(es, spec.name, field, offheap_bytes(index_type, n, dims, m))
        raw = DirectQueries(es, spec, engine, work.num_candidates, k)
        for q in warmup:
            raw.knn(matrix[q].tolist(), ids[q])
        knn = [raw.knn(matrix[q].tolist(), ids[q]) for q in queries]
        result["knn"] = {
            "latency_ms": latency_summary([s for s, _, _ in knn]),
            "recall_at_10": recall_at_k([a for _, _, a in knn], truth, k),
        }
        # The same queries again: what the first pass paid for a cold page cache.
        again = [raw.knn(matrix[q].tolist(), ids[q]) for q in queries]
        result["knn"]["second_pass_latency_ms"] = latency_summary([s for s, _, _ in again])
        # The baseline: the model filter and the query work's exclusion inside the graph search.
        filtered = [raw.knn_filtered(matrix[q].tolist(), ids[q]) for q in queries]
        result["knn_filtered_in_graph"] = {
            "latency_ms": latency_summary([s for s, _, _ in filtered]),
            "recall_at_10": recall_at_k([a for _, _, a in filtered], truth, k),
        }
        result["knn_filtered_in_graph"]["p50_vs_route_second_pass"] = round(
            result["knn_filtered_in_graph"]["latency_ms"]["p50"]
            / max(result["knn"]["second_pass_latency_ms"]["p50"], 1e-9),
            2,
        )
        result["knn_by_num_candidates"] = {}
        for candidates in comparison.candidate_sweep:
            swept = DirectQueries(es, spec, engine, candidates, k)
            answers = [swept.knn(matrix[q].tolist(), ids[q]) for q in queries]
            result["knn_by_num_candidates"][str(candidates)] = {
                "latency_ms": latency_summary([s for s, _, _ in answers]),
                "recall_at_10": recall_at_k([a for _, _, a in answers], truth, k),
            }
        if index_type != "hnsw":  # float vectors have nothing to rescore
            result["knn_by_oversample"] = _oversample_sweep(es, spec, engine, work, comparison)
        some = list(queries)[: comparison.exact_queries]
        with console.status(f"{spec.name}: exact over all {n} documents ({len(some)} queries)"):
            exact = [raw.exact(matrix[q].tolist(), ids[q]) for q in some]
        result["exact_all"] = {
            "queries": len(some),
            "latency_ms": latency_summary([s for s, _, _ in exact]),
            "recall_at_10": recall_at_k([a for _, _, a in exact], truth[: len(some)], k),
        }
        result["exact_in_collection"] = _exact_in_collection(
            raw, matrix, ids, queries, warmup, collections, k
        )
    finally:
        if not keep:
            es.indices.delete(index=spec.name, ignore_unavailable=True)
    return result


def _oversample_sweep(
    es: Elasticsearch,
    spec: IndexSpec,
    engine: ScriptEngine,
    work: Workload,
    comparison: Comparison,
) -> dict[str, Any]:
    matrix, ids, k = work.matrix, work.ids, work.k
    out: dict[str, Any] = {}
    for candidates in (work.num_candidates, *comparison.candidate_sweep):
        for oversample in comparison.oversample_sweep:
            swept = DirectQueries(es, spec, engine, candidates, k, oversample)
            answers = [swept.knn(matrix[q].tolist(), ids[q]) for q in work.queries]
            out[f"{candidates}x{oversample:g}"] = {
                "num_candidates": candidates,
                "oversample": oversample,
                "latency_ms": latency_summary([s for s, _, _ in answers]),
                "recall_at_10": recall_at_k([a for _, _, a in answers], work.truth, k),
            }
    return out


def _exact_in_collection(
    raw: DirectQueries,
    matrix: Vectors,
    ids: list[str],
    queries: Sequence[int],
    warmup: Sequence[int],
    collections: int,
    k: int,
) -> dict[str, Any]:
    labels = np.arange(len(ids)) % max(collections, 1)
    for q in warmup:
        raw.exact(matrix[q].tolist(), ids[q], collection_of(q, collections))
    found, truth = [], []
    for q in queries:
        found.append(raw.exact(matrix[q].tolist(), ids[q], collection_of(q, collections)))
        members = np.flatnonzero(labels == labels[q])
        truth.append([ids[j] for j in top_k_in_collection(matrix, q, members, k)])
    return {
        "collection_size": int(len(ids) // max(collections, 1)),
        "latency_ms": latency_summary([s for s, _, _ in found]),
        "recall_at_10": recall_at_k([a for _, _, a in found], truth, k),
    }
