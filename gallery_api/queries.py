"""Elasticsearch query bodies: pure functions, no I/O; the only place the API writes them.

Exact search is a ``script_score`` query. On a production cluster the script is painless
(``cosineSimilarity`` / ``l2norm``); the local single node has no painless module, so it runs
the project's own script engine (``elasticsearch-plugin/``, language ``gallery_vector``), which
computes the same functions with the server's own vector code. Either way the query vector is
a script *parameter*: no user input is ever written into script source.

Scores are "higher is more similar" for every metric:
cosine -> cosineSimilarity + 1 (in [0, 2]); l2 -> 1 / (1 + l2norm) (in (0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

__all__ = [
    "Metric",
    "ScriptEngine",
    "browse_page",
    "collection_terms",
    "count_vectors_query",
    "duplicates_query",
    "knn_query",
    "knn_query_unfiltered",
    "model_filter",
    "num_candidates_for",
    "random_sample",
    "region_knn_query",
    "region_script_score_query",
    "same_model_first",
    "script_score_query",
    "term_filters",
]


class Metric(StrEnum):
    COSINE = "cosine"
    L2 = "l2"


class ScriptEngine(StrEnum):
    PAINLESS = "painless"
    GALLERY_VECTOR = "gallery_vector"


PAINLESS_SOURCE = {
    Metric.COSINE: "cosineSimilarity(params.query_vector, params.field) + 1.0",
    Metric.L2: "1 / (1 + l2norm(params.query_vector, params.field))",
}


def script_score_query(
    vector: Sequence[float],
    *,
    metric: Metric,
    field: str,
    engine: ScriptEngine,
    filters: Sequence[dict[str, Any]] = (),
    exclude_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """An exact (brute-force) similarity query over documents that have a vector."""
    source = PAINLESS_SOURCE[metric] if engine is ScriptEngine.PAINLESS else metric.value
    inner: dict[str, Any] = {
        "bool": {
            "filter": [{"exists": {"field": field}}, *filters],
            "must_not": [{"ids": {"values": list(exclude_ids)}}] if exclude_ids else [],
        }
    }
    return {
        "script_score": {
            "query": inner,
            "script": {
                "lang": engine.value,
                "source": source,
                "params": {"field": field, "query_vector": [float(x) for x in vector]},
            },
        }
    }


def num_candidates_for(k: int, cap: int) -> int:
    """HNSW candidates per shard for k results: 10 per result, at least 100, at most `cap`."""
    return min(max(10 * k, 100), cap)


def knn_query(
    vector: Sequence[float],
    *,
    field: str,
    k: int,
    num_candidates: int | None = None,
    filters: Sequence[dict[str, Any]] = (),
    exclude_ids: Sequence[str] = (),
    oversample: float | None = None,
) -> dict[str, Any]:
    """An approximate kNN search clause (HNSW); filters apply inside the graph search.

    ``oversample`` overrides the mapping's ``rescore_vector.oversample`` for this query (a
    quantised index gathers ``oversample * k`` candidates and rescores them with the float
    vectors; Elasticsearch takes 1 to 10)."""
    candidates = num_candidates if num_candidates is not None else max(100, 10 * k)
    filter_clauses: list[dict[str, Any]] = list(filters)
    if exclude_ids:
        filter_clauses.append({"bool": {"must_not": [{"ids": {"values": list(exclude_ids)}}]}})
    body: dict[str, Any] = {
        "field": field,
        "query_vector": [float(x) for x in vector],
        "k": k,
        "num_candidates": min(max(candidates, k), 10_000),
    }
    if filter_clauses:
        body["filter"] = filter_clauses
    if oversample is not None:
        body["rescore_vector"] = {"oversample": float(oversample)}
    return body


def knn_query_unfiltered(
    vector: Sequence[float],
    *,
    field: str,
    k: int,
    num_candidates: int,
    filters: Sequence[dict[str, Any]] = (),
    exclude_ids: Sequence[str] = (),
    oversample: float | None = None,
) -> dict[str, Any]:
    """The similar route's first kNN clause: the caller's own ``filters`` only, and as many
    more neighbours as there are ``exclude_ids``, which `same_model_first` then drops.

    Filtering the graph search by model version and by the query work's id costs a pass over
    every document the filter matches, on every query, so it grows with the index: at a
    million works, p50 / p95 18.4 / 23.0 ms with them, 8.1 / 12.9 ms without (same recall).
    Dropping the query work and checking the model version of the answer costs nothing;
    ``gallery bench query --index-types`` measures both (README)."""
    wanted = k + len(exclude_ids)
    return knn_query(
        vector,
        field=field,
        k=wanted,
        num_candidates=max(num_candidates, wanted),
        filters=filters,
        oversample=oversample,
    )


def same_model_first(
    hits: Sequence[dict[str, Any]],
    *,
    k: int,
    model_version: str | None,
    exclude_ids: Sequence[str] = (),
) -> list[dict[str, Any]] | None:
    """The first ``k`` of ``hits`` (Elasticsearch hits, best first, ``_source`` holding
    ``model_version``) leaving out ``exclude_ids``, if no work of another model version comes
    before them; ``None`` when one does (a collection half re-vectorized after a model change):
    then only a search filtered by `model_filter` gives the answer.

    ``model_version`` None stands for ``""``, as in `model_filter`."""
    wanted, excluded = model_version or "", set(exclude_ids)
    kept: list[dict[str, Any]] = []
    for hit in hits:
        if hit["_id"] in excluded:
            continue
        if hit.get("_source", {}).get("model_version") != wanted:
            return None
        kept.append(hit)
        if len(kept) == k:
            break
    return kept


#: Inner hits of a region search: the best region of each work, its box only.
REGION_INNER_HITS: dict[str, Any] = {"size": 1, "_source": False, "fields": ["regions.box"]}


def region_knn_query(
    vector: Sequence[float],
    *,
    field: str,
    k: int,
    num_candidates: int,
    filters: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Approximate kNN over nested region vectors: each work scores by its best region."""
    return {
        **knn_query(vector, field=field, k=k, num_candidates=num_candidates, filters=filters),
        "inner_hits": REGION_INNER_HITS,
    }


def region_script_score_query(
    vector: Sequence[float],
    *,
    metric: Metric,
    path: str,
    field: str,
    engine: ScriptEngine,
    filters: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Exact search over nested region vectors: each work scores by its best region."""
    nested = {
        "nested": {
            "path": path,
            "score_mode": "max",
            "inner_hits": REGION_INNER_HITS,
            "query": script_score_query(vector, metric=metric, field=field, engine=engine),
        }
    }
    return {"bool": {"must": [nested], "filter": list(filters)}}


# --- filters, browsing, sampling -----------------------------------------------------------


def term_filters(**values: str | None) -> list[dict[str, Any]]:
    """A term filter per given keyword field (collection, style, artist...), empty ones skipped."""
    return [{"term": {field: value}} for field, value in values.items() if value]


def model_filter(model_version: str | None) -> dict[str, Any]:
    """Vectors of different models are not comparable: compare within one model version only.

    While a collection is being re-vectorized after a model change, works not yet redone are
    left out of the answers instead of being ranked by meaningless scores.
    """
    return {"term": {"model_version": model_version or ""}}


def random_sample(query: dict[str, Any], seed: int) -> dict[str, Any]:
    """``query``'s documents in a random order fixed by ``seed`` (same seed, same order)."""
    return {
        "function_score": {
            "query": query,
            "random_score": {"seed": seed, "field": "_seq_no"},
            "boost_mode": "replace",
        }
    }


def browse_page(
    collection: str | None, seed: int | None, offset: int, limit: int
) -> dict[str, Any]:
    """A gallery page (query, sort, from, size): newest first, or a random sample by ``seed``."""
    query: dict[str, Any] = {"bool": {"filter": term_filters(collection=collection)}}
    if seed is not None:
        return {"query": random_sample(query, seed), "from_": offset, "size": limit}
    return {
        "query": query,
        "sort": [{"ingested_at": {"order": "desc", "unmapped_type": "date"}}, {"id": "asc"}],
        "from_": offset,
        "size": limit,
    }


def count_vectors_query(field: str, collection: str | None) -> dict[str, Any]:
    """The documents of ``collection`` (or all) that have a vector in ``field``."""
    return {
        "bool": {"filter": [{"exists": {"field": field}}, *term_filters(collection=collection)]}
    }


def duplicates_query(content_sha256: str, exclude_id: str) -> dict[str, Any]:
    """Other documents with the same content hash (one image under several paths)."""
    return {
        "bool": {
            "filter": [{"term": {"content_sha256": content_sha256}}],
            "must_not": [{"ids": {"values": [exclude_id]}}],
        }
    }


def collection_terms(size: int = 1000) -> dict[str, Any]:
    """An aggregation of the documents per collection (``by``)."""
    return {"by": {"terms": {"field": "collection", "size": size}}}
