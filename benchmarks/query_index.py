"""The query benchmark's Elasticsearch side: the throw-away index and the queries sent to it.

`bench_spec` names an index ``bench-vectors-<N>`` with the product's settings and mappings;
`load_vectors` fills it with the synthetic vectors by bulk (refresh off during the load,
restored after), `force_merge` settles it to one segment, and `DirectQueries` sends the
bodies the API's similar route builds straight to Elasticsearch, timing each call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk
from rich.console import Console
from rich.progress import Progress

from benchmarks.query_vectors import Vectors, as_json_floats
from gallery_api.queries import (
    Metric,
    ScriptEngine,
    knn_query,
    knn_query_unfiltered,
    model_filter,
    same_model_first,
    script_score_query,
    term_filters,
)
from gallery_api.search import SOURCE_FIELDS
from gallery_core.contracts import IndexSpec, load_index

__all__ = [
    "INDEX_PREFIX",
    "MODEL_VERSION",
    "DirectQueries",
    "bench_spec",
    "collection_of",
    "force_merge",
    "load_vectors",
    "segment_count",
]

INDEX_PREFIX = "bench-vectors-"
#: The synthetic documents' model version (the route only compares vectors of one version).
MODEL_VERSION = "0"


def bench_spec(n: int, index_type: str | None = None, shards: int | None = None) -> IndexSpec:
    """The index for ``n`` vectors: the product's settings and mappings under its own name;
    with ``index_type`` (``int8_hnsw``, ``bbq_hnsw``...), the embedding indexed that way; with
    ``shards``, that many primary shards (named ``...-<shards>-shards``)."""
    product = load_index()
    mappings, settings = product.mappings, product.settings
    name = f"{INDEX_PREFIX}{n}"
    if index_type is not None:
        field = product.vector_field
        embedding = dict(mappings["properties"][field])
        embedding["index_options"] = {**embedding.get("index_options", {}), "type": index_type}
        mappings = {**mappings, "properties": {**mappings["properties"], field: embedding}}
        name = f"{name}-{index_type.replace('_', '-')}"
    if shards is not None and shards != settings.get("number_of_shards", 1):
        settings = {**settings, "number_of_shards": shards}
        name = f"{name}-{shards}-shards"
    spec = IndexSpec(name=name, settings=settings, mappings=mappings)
    if spec.name == product.name:
        raise ValueError("the benchmark never writes to the product's index")
    return spec


def load_vectors(
    es: Elasticsearch,
    spec: IndexSpec,
    ids: list[str],
    vectors: Vectors,
    console: Console,
    collections: int = 1,
) -> dict[str, Any]:
    """(Re)create ``spec``'s index holding ``vectors`` under ``ids``: ``{"load_s", "docs"}``.

    Document ``i`` is in collection `collection_of` ``(i, collections)``."""
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
                    field: as_json_floats(vector),
                    "path": f"bench/{i:06d}.jpg",
                    "collection": collection_of(i, collections),
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


def collection_of(i: int, collections: int) -> str:
    """The collection of the ``i``-th synthetic document: ``collections`` of equal size."""
    return "bench" if collections <= 1 else f"bench-{i % collections}"


def _streaming(es: Elasticsearch, actions: Iterator[dict[str, Any]]) -> Iterator[tuple[bool, Any]]:
    # Two threads: one serialises the next chunk while Elasticsearch indexes the other.
    client = es.options(request_timeout=600)
    yield from parallel_bulk(client, actions, thread_count=2, chunk_size=500, queue_size=2)


def segment_count(es: Elasticsearch, name: str) -> int:
    rows = es.cat.segments(index=name, format="json")
    return len(rows.body)


def force_merge(es: Elasticsearch, name: str) -> float:
    """Merge ``name`` down to one segment and refresh it: the seconds it took."""
    started = time.perf_counter()
    es.options(request_timeout=3600).indices.forcemerge(
        index=name, max_num_segments=1, wait_for_completion=True
    )
    es.indices.refresh(index=name)
    return round(time.perf_counter() - started, 1)


class DirectQueries:
    """The bodies the API's similar route sends (its same-model filter included), sent directly.

    ``exact``, ``knn`` and ``knn_filtered`` return ``(wall seconds, ES took ms, ids)``; ``get``
    the seconds of the route's first call, the GET of the work's vector. ``oversample``, when
    given, overrides the mapping's rescoring of a quantised index in the kNN bodies.
    """

    def __init__(
        self,
        es: Elasticsearch,
        spec: IndexSpec,
        engine: ScriptEngine,
        num_candidates: int,
        k: int,
        oversample: float | None = None,
    ) -> None:
        self.es, self.spec, self.engine = es, spec, engine
        self.num_candidates, self.k, self.oversample = num_candidates, k, oversample

    def exact(
        self, vector: list[float], exclude: str, collection: str | None = None
    ) -> tuple[float, float, list[str]]:
        metric, field, engine = Metric.COSINE, self.spec.vector_field, self.engine
        where = self._where(exclude, collection)
        return self._search(
            query=script_score_query(vector, metric=metric, field=field, engine=engine, **where)
        )

    def knn(self, vector: list[float], exclude: str) -> tuple[float, float, list[str]]:
        """As the route asks: unfiltered, one more neighbour, the query work dropped; filtered
        only if a work of another model version came first (`ImageIndex.similar`)."""
        field, k, candidates = self.spec.vector_field, self.k, self.num_candidates
        started = time.perf_counter()
        first = knn_query_unfiltered(
            vector,
            field=field,
            k=k,
            num_candidates=candidates,
            exclude_ids=[exclude],
            oversample=self.oversample,
        )
        found = self.es.search(
            index=self.spec.name, size=first["k"], source_includes=SOURCE_FIELDS, knn=first
        )
        hits = same_model_first(
            found["hits"]["hits"], k=k, model_version=MODEL_VERSION, exclude_ids=[exclude]
        )
        if hits is None:
            return self.knn_filtered(vector, exclude)
        return time.perf_counter() - started, float(found["took"]), [h["_id"] for h in hits]

    def knn_filtered(self, vector: list[float], exclude: str) -> tuple[float, float, list[str]]:
        """The model filter and the exclusion inside the graph search (the route's body until
        2026-12: each query passes over every document the filter matches)."""
        field, k, candidates = self.spec.vector_field, self.k, self.num_candidates
        where = self._where(exclude)
        return self._search(
            knn=knn_query(
                vector,
                field=field,
                k=k,
                num_candidates=candidates,
                oversample=self.oversample,
                **where,
            )
        )

    @staticmethod
    def _where(exclude: str, collection: str | None = None) -> dict[str, Any]:
        """As the API asks: within the model's vectors (and ``collection``), never the query
        work itself."""
        filters = [*term_filters(collection=collection), model_filter(MODEL_VERSION)]
        return {"filters": filters, "exclude_ids": [exclude]}

    def _search(self, **body: Any) -> tuple[float, float, list[str]]:
        """The search timed from here (seconds, Elasticsearch's took, hit ids)."""
        started = time.perf_counter()
        found = self.es.search(
            index=self.spec.name, size=self.k, source_includes=SOURCE_FIELDS, **body
        )
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
