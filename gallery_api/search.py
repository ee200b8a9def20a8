"""`ImageIndex`: the API's only door to Elasticsearch (reads; writes go through Kafka).

Query bodies come from `gallery_api.queries` (pure); this class runs them and shapes hits.
kNN runs on the index's cosine HNSW graph. Every stored and query vector is L2-normalised
(the worker refuses others), so for unit vectors L2 distance follows from cosine,
``l2 = sqrt(2 - 2 cos)``, and one graph answers both metrics with the same scores as exact
mode: cosine -> cos + 1, l2 -> 1 / (1 + l2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from gallery_api.queries import (
    Metric,
    ScriptEngine,
    knn_query,
    region_knn_query,
    region_script_score_query,
    script_score_query,
)
from gallery_core.contracts import IndexSpec

__all__ = ["ImageIndex", "Mode", "RegionHit", "detect_engine"]

SOURCE_FIELDS = [
    "id",
    "path",
    "collection",
    "title",
    "artist",
    "style",
    "genre",
    "date",
    "year",
    "model",
    "model_version",
    "content_sha256",
    "width",
    "height",
    "format",
    "metadata",
    "thumbnail",
]


class Mode(StrEnum):
    EXACT = "exact"
    KNN = "knn"


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

    async def browse(
        self, *, limit: int, offset: int, collection: str | None, seed: int | None
    ) -> tuple[int, list[dict[str, Any]]]:
        filters = [{"term": {"collection": collection}}] if collection else []
        query: dict[str, Any] = {"bool": {"filter": filters}}
        sort: list[Any] | None = [
            {"ingested_at": {"order": "desc", "unmapped_type": "date"}},
            {"id": "asc"},
        ]
        if seed is not None:
            query = {
                "function_score": {
                    "query": query,
                    "random_score": {"seed": seed, "field": "_seq_no"},
                    "boost_mode": "replace",
                }
            }
            sort = None
        found = await self.es.search(
            index=self.name,
            query=query,
            from_=offset,
            size=limit,
            sort=sort,
            source_includes=SOURCE_FIELDS,
            track_total_hits=True,
        )
        hits = found["hits"]
        return int(hits["total"]["value"]), [dict(h["_source"], id=h["_id"]) for h in hits["hits"]]

    async def similar(
        self,
        vector: Sequence[float],
        *,
        k: int,
        metric: Metric,
        mode: Mode,
        num_candidates: int,
        filters: Sequence[dict[str, Any]] = (),
        exclude_ids: Sequence[str] = (),
    ) -> list[tuple[dict[str, Any], float]]:
        field = self.spec.vector_field
        if mode is Mode.EXACT:
            query = script_score_query(
                vector,
                metric=metric,
                field=field,
                engine=self.engine,
                filters=filters,
                exclude_ids=exclude_ids,
            )
            found = await self.es.search(
                index=self.name, query=query, size=k, source_includes=SOURCE_FIELDS
            )
            return [
                (dict(h["_source"], id=h["_id"]), float(h["_score"])) for h in found["hits"]["hits"]
            ]
        knn = knn_query(
            vector,
            field=field,
            k=k,
            num_candidates=num_candidates,
            filters=filters,
            exclude_ids=exclude_ids,
        )
        found = await self.es.search(
            index=self.name, knn=knn, size=k, source_includes=SOURCE_FIELDS
        )
        return [
            (dict(h["_source"], id=h["_id"]), knn_score(float(h["_score"]), metric))
            for h in found["hits"]["hits"]
        ]

    async def similar_regions(
        self,
        vectors: Sequence[Sequence[float]],
        *,
        k: int,
        metric: Metric,
        mode: Mode,
        num_candidates: int,
        filters: Sequence[dict[str, Any]] = (),
    ) -> list[list[RegionHit]]:
        """For each query vector, the ``k`` works whose best region is nearest (one _msearch)."""
        path, field = self.spec.region_path, self.spec.region_vector_field
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
            query={
                "bool": {
                    "filter": [{"term": {"content_sha256": content_sha256}}],
                    "must_not": [{"ids": {"values": [exclude_id]}}],
                }
            },
        )
        return [h["_id"] for h in found["hits"]["hits"]]

    async def count(self) -> int:
        return int((await self.es.count(index=self.name))["count"])
