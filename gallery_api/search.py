"""`ImageIndex`: the API's only door to Elasticsearch (reads; writes go through Kafka).

Query bodies come from `gallery_api.queries` (pure); this class runs them and shapes hits.
kNN runs on the index's cosine HNSW graph. Every stored and query vector is L2-normalised
(the worker refuses others), so for unit vectors L2 distance follows from cosine,
``l2 = sqrt(2 - 2 cos)``, and one graph answers both metrics with the same scores as exact
mode: cosine -> cos + 1, l2 -> 1 / (1 + l2).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from gallery_api.queries import (
    Metric,
    ScriptEngine,
    browse_page,
    collection_terms,
    count_vectors_query,
    duplicates_query,
    knn_query,
    knn_query_unfiltered,
    model_filter,
    random_sample,
    region_knn_query,
    region_script_score_query,
    same_model_first,
    script_score_query,
    term_filters,
)
from gallery_core.contracts import IndexSpec
from gallery_core.documents import SOURCE_FIELDS as DOCUMENT_SOURCE_FIELDS

__all__ = ["ImageIndex", "Mode", "Neighbours", "RegionHit", "detect_engine"]

SOURCE_FIELDS = list(DOCUMENT_SOURCE_FIELDS)


class Mode(StrEnum):
    EXACT = "exact"
    KNN = "knn"


@dataclass(frozen=True)
class Neighbours:
    """What a similarity search asks for: how many works, by which measure, exactly or by
    kNN (with how many candidates), among the works of one model version passing ``filters``."""

    k: int
    metric: Metric
    mode: Mode
    num_candidates: int
    model_version: str | None
    filters: tuple[dict[str, Any], ...] = ()


async def detect_engine(es: AsyncElasticsearch, wanted: str) -> ScriptEngine:
    """painless where the cluster has it, else the project's gallery_vector plugin."""
    if wanted != "auto":
        return ScriptEngine(wanted)
    languages = await es.perform_request(
        "GET", "/_script_language", headers={"accept": "application/json"}
    )
    names = {entry["language"] for entry in languages.body.get("language_contexts", [])}
    if "painless" in names:
        return ScriptEngine.PAINLESS
    if "gallery_vector" in names:
        return ScriptEngine.GALLERY_VECTOR
    raise RuntimeError(
        "Elasticsearch has neither painless nor the gallery_vector script engine: exact search "
        "cannot run (install elasticsearch-plugin/ or use a distribution with painless)"
    )


def knn_score(es_score: float, metric: Metric) -> float:
    """Elasticsearch's cosine kNN score ((1 + cos) / 2) on the exact mode's scale."""
    cos = max(-1.0, min(1.0, 2.0 * es_score - 1.0))
    if metric is Metric.COSINE:
        return cos + 1.0
    return 1.0 / (1.0 + math.sqrt(max(0.0, 2.0 - 2.0 * cos)))


@dataclass(frozen=True, slots=True)
class RegionHit:
    """A work found by one of its regions: the document, the score and the region's box."""

    doc: dict[str, Any]
    score: float
    box: list[float] | None


def _best_box(hit: dict[str, Any]) -> list[float] | None:
    """The box (shares of the picture) of the region that matched, from the inner hits."""
    try:
        inner = hit["inner_hits"]["regions"]["hits"]["hits"][0]["fields"]["regions"][0]["box"][0]
        return [float(c) for c in str(inner).split(",")]
    except (KeyError, IndexError, ValueError):
        return None


class ImageIndex:
    def __init__(self, es: AsyncElasticsearch, spec: IndexSpec, engine: ScriptEngine) -> None:
        self.es, self.spec, self.engine = es, spec, engine

    @property
    def name(self) -> str:
        return self.spec.name

    async def get(self, artwork_id: str, *, with_vector: bool = False) -> dict[str, Any] | None:
        fields = [*SOURCE_FIELDS, self.spec.vector_field] if with_vector else SOURCE_FIELDS
        try:
            doc = await self.es.get(index=self.name, id=artwork_id, source_includes=fields)
        except NotFoundError:
            return None
        return dict(doc["_source"], id=doc["_id"])

    async def ping(self) -> None:
        """Raises unless the cluster answers within two seconds."""
        await self.es.cluster.health(timeout="2s")

    async def browse(
        self, *, limit: int, offset: int, collection: str | None, seed: int | None
    ) -> tuple[int, list[dict[str, Any]]]:
        found = await self.es.search(
            index=self.name,
            **browse_page(collection, seed, offset, limit),
            source_includes=SOURCE_FIELDS,
            track_total_hits=True,
        )
        hits = found["hits"]
        return int(hits["total"]["value"]), [dict(h["_source"], id=h["_id"]) for h in hits["hits"]]

    async def collection_counts(self) -> tuple[int, list[tuple[str, int]]]:
        """All documents, and the documents of each collection, largest first."""
        found = await self.es.search(
            index=self.name, size=0, track_total_hits=True, aggs=collection_terms()
        )
        buckets = found["aggregations"]["by"]["buckets"]
        return int(found["hits"]["total"]["value"]), [(b["key"], b["doc_count"]) for b in buckets]

    async def count_vectors(self, collection: str | None) -> int:
        """Documents of ``collection`` (or all) that have a vector."""
        query = count_vectors_query(self.spec.vector_field, collection)
        return int((await self.es.count(index=self.name, query=query))["count"])

    async def sample_vectors(
        self, collection: str | None, limit: int, seed: int, fields: Sequence[str]
    ) -> tuple[int, list[dict[str, Any]]]:
        """How many documents of ``collection`` have a vector, and a fixed random sample of
        ``limit`` of them with ``fields`` and the vector (sorted by id)."""
        field = self.spec.vector_field
        found = await self.es.search(
            index=self.name,
            query=random_sample(count_vectors_query(field, collection), seed),
            size=limit,
            source_includes=[*fields, field],
            track_total_hits=True,
        )
        hits = found["hits"]
        docs = [dict(h["_source"], id=h["_id"]) for h in hits["hits"] if h["_source"].get(field)]
        docs.sort(key=lambda d: str(d["id"]))  # the sample's order must not move the map
        return int(hits["total"]["value"]), docs

    async def scan(
        self, collection: str | None, *, page: int = 200
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every document of ``collection`` (or all) with its vector, a page at a time, from
        a point in time (a consistent view while the index changes)."""
        query = {"bool": {"filter": term_filters(collection=collection)}}
        pit = (await self.es.open_point_in_time(index=self.name, keep_alive="5m"))["id"]
        try:
            after: list[Any] | None = None
            while True:
                found = await self.es.search(
                    pit={"id": pit, "keep_alive": "5m"},
                    size=page,
                    query=query,
                    sort=[{"_shard_doc": "asc"}],
                    search_after=after,
                    source_includes=[*SOURCE_FIELDS, self.spec.vector_field],
                )
                hits = found["hits"]["hits"]
                if not hits:
                    return
                yield [dict(h["_source"], id=h["_id"]) for h in hits]
                after = hits[-1]["sort"]
        finally:
            await self.es.close_point_in_time(id=pit)

    async def count(self, collection: str | None = None) -> int:
        query = {"bool": {"filter": term_filters(collection=collection)}}
        return int((await self.es.count(index=self.name, query=query))["count"])

    async def similar(
        self,
        vector: Sequence[float],
        asked: Neighbours,
        *,
        exclude_ids: Sequence[str] = (),
    ) -> list[tuple[dict[str, Any], float]]:
        """The ``k`` works nearest to ``vector`` among those of ``model_version`` that pass
        ``filters``, leaving out ``exclude_ids``.

        kNN asks first without the model filter and the exclusion (`knn_query_unfiltered`),
        and again with them only when a work of another model version comes first
        (`same_model_first`): filtering the graph search costs a pass over the index."""
        field, k, metric, filters = self.spec.vector_field, asked.k, asked.metric, asked.filters
        num_candidates, model_version = asked.num_candidates, asked.model_version
        same_model = [*filters, model_filter(model_version)]
        if asked.mode is Mode.EXACT:
            query = script_score_query(
                vector,
                metric=metric,
                field=field,
                engine=self.engine,
                filters=same_model,
                exclude_ids=exclude_ids,
            )
            found = await self.es.search(
                index=self.name, query=query, size=k, source_includes=SOURCE_FIELDS
            )
            return [
                (dict(h["_source"], id=h["_id"]), float(h["_score"])) for h in found["hits"]["hits"]
            ]
        first = knn_query_unfiltered(
            vector,
            field=field,
            k=k,
            num_candidates=num_candidates,
            filters=filters,
            exclude_ids=exclude_ids,
        )
        hits = same_model_first(
            await self._knn_hits(first), k=k, model_version=model_version, exclude_ids=exclude_ids
        )
        if hits is None:  # a work of another model came first: filter the graph search
            filtered = knn_query(
                vector,
                field=field,
                k=k,
                num_candidates=num_candidates,
                filters=same_model,
                exclude_ids=exclude_ids,
            )
            hits = await self._knn_hits(filtered)
        return [
            (dict(h["_source"], id=h["_id"]), knn_score(float(h["_score"]), metric)) for h in hits
        ]

    async def _knn_hits(self, knn: dict[str, Any]) -> list[dict[str, Any]]:
        found = await self.es.search(
            index=self.name, knn=knn, size=knn["k"], source_includes=SOURCE_FIELDS
        )
        return list(found["hits"]["hits"])

    async def similar_regions(
        self, vectors: Sequence[Sequence[float]], asked: Neighbours
    ) -> list[list[RegionHit]]:
        """For each query vector, the ``k`` works of ``model_version`` whose best region is
        nearest (one _msearch)."""
        path, field = self.spec.region_path, self.spec.region_vector_field
        k, metric, mode, num_candidates = asked.k, asked.metric, asked.mode, asked.num_candidates
        filters = [*asked.filters, model_filter(asked.model_version)]
        searches: list[dict[str, Any]] = []
        for vector in vectors:
            searches.append({"index": self.name})
            if mode is Mode.EXACT:
                query = region_script_score_query(
                    vector,
                    metric=metric,
                    path=path,
                    field=field,
                    engine=self.engine,
                    filters=filters,
                )
                searches.append({"query": query, "size": k, "_source": SOURCE_FIELDS})
            else:
                knn = region_knn_query(
                    vector, field=field, k=k, num_candidates=num_candidates, filters=filters
                )
                searches.append({"knn": knn, "size": k, "_source": SOURCE_FIELDS})
        found = await self.es.msearch(searches=searches)
        out: list[list[RegionHit]] = []
        for response in found["responses"]:
            if "error" in response:
                raise RuntimeError(f"region search failed: {response['error']}")
            hits = []
            for h in response["hits"]["hits"]:
                score = float(h["_score"])
                if mode is Mode.KNN:
                    score = knn_score(score, metric)
                hits.append(RegionHit(dict(h["_source"], id=h["_id"]), score, _best_box(h)))
            out.append(hits)
        return out

    async def duplicates(self, content_sha256: str, exclude_id: str) -> list[str]:
        found = await self.es.search(
            index=self.name,
            size=20,
            source=False,
            query=duplicates_query(content_sha256, exclude_id),
        )
        return [h["_id"] for h in found["hits"]["hits"]]
