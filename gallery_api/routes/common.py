"""Shared by the routers: id checking, query parameters, document -> Artwork."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query

from gallery_api.deps import StateDep
from gallery_api.errors import BadRequest
from gallery_api.queries import Metric, num_candidates_for, term_filters
from gallery_api.schemas import Artwork, Hit, RegionMatch
from gallery_api.search import Mode, Neighbours, RegionHit
from gallery_api.state import ApiState

__all__ = [
    "ArtworkId",
    "SimilarQuery",
    "SimilarQueryDep",
    "check_k",
    "find_by_regions",
    "find_similar",
    "fuse_views",
    "to_artwork",
    "to_hit",
]

_ID = re.compile(r"^[0-9a-f]{64}$")

ArtworkId = Annotated[
    str, Path(description="The artwork id: SHA-256 (hex) of its path in the collection.")
]


def check_id(artwork_id: str) -> str:
    if not _ID.fullmatch(artwork_id):
        raise BadRequest("an artwork id is 64 lower-case hexadecimal characters")
    return artwork_id


K = Annotated[int, Query(ge=1, description="Number of similar works to return (1..max_k).")]
MetricQ = Annotated[Metric, Query(description="cosine or l2; scores are higher-is-closer.")]
ModeQ = Annotated[Mode, Query(description="exact (script_score) or knn (approximate HNSW).")]
CollectionQ = Annotated[
    str | None, Query(max_length=200, description="Only works of this collection.")
]
StyleQ = Annotated[str | None, Query(max_length=200, description="Only works of this style.")]
ArtistQ = Annotated[str | None, Query(max_length=200, description="Only works by this artist.")]


def check_k(k: int, max_k: int) -> int:
    if k > max_k:
        raise BadRequest(f"k must be at most {max_k}")
    return k


@dataclass(frozen=True)
class SimilarQuery:
    """The query parameters shared by similar-by-id and search-by-upload."""

    k: int
    metric: Metric
    mode: Mode
    filters: list[dict[str, Any]]


def similar_query(
    state: StateDep,
    k: K = 10,
    metric: MetricQ = Metric.COSINE,
    mode: ModeQ = Mode.EXACT,
    collection: CollectionQ = None,
    style: StyleQ = None,
    artist: ArtistQ = None,
) -> SimilarQuery:
    return SimilarQuery(
        check_k(k, state.settings.api.max_k),
        metric,
        mode,
        term_filters(collection=collection, style=style, artist=artist),
    )


SimilarQueryDep = Annotated[SimilarQuery, Depends(similar_query)]


async def find_similar(
    state: ApiState,
    vector: Sequence[float],
    query: SimilarQuery,
    *,
    model_version: str | None,
    source: str,
    exclude_ids: Sequence[str] = (),
) -> list[Hit]:
    """The ``query.k`` works nearest to ``vector`` among those of ``model_version``; the search
    time is recorded in the ``searches`` histogram under ``source`` (id, upload)."""
    started = time.perf_counter()
    hits = await state.index.similar(
        vector, neighbours(state, query, model_version), exclude_ids=list(exclude_ids)
    )
    _observe(state, query, source, started)
    return [to_hit(d, s) for d, s in hits]


def neighbours(state: ApiState, query: SimilarQuery, model_version: str | None) -> Neighbours:
    """What every similarity search asks the index: k, metric, mode, candidates, filters, the
    model version."""
    return Neighbours(
        k=query.k,
        metric=query.metric,
        mode=query.mode,
        num_candidates=num_candidates_for(query.k, state.settings.api.max_num_candidates),
        model_version=model_version,
        filters=tuple(query.filters),
    )


def _observe(state: ApiState, query: SimilarQuery, source: str, started: float) -> None:
    state.metrics.searches.labels(query.mode.value, query.metric.value, source).observe(
        time.perf_counter() - started
    )


def to_artwork(doc: dict[str, Any], duplicates: list[str] | None = None) -> Artwork:
    artwork_id = doc["id"]
    return Artwork(
        **{k: v for k, v in doc.items() if k in Artwork.model_fields and k != "duplicates"},
        image_url=f"/api/artworks/{artwork_id}/image",
        thumbnail_url=f"/api/artworks/{artwork_id}/thumbnail",
        duplicates=duplicates or [],
    )


def to_hit(doc: dict[str, Any], score: float, match: RegionMatch | None = None) -> Hit:
    return Hit(**to_artwork(doc).model_dump(), score=round(score, 6), match=match)


def fuse_views(
    per_view: Sequence[Sequence[RegionHit]], views: Sequence[str], k: int
) -> list[tuple[RegionHit, str]]:
    """The ``k`` best works over all views: each work scores by its best (view, region)."""
    best: dict[str, tuple[RegionHit, str]] = {}
    for view, hits in zip(views, per_view, strict=True):
        for hit in hits:
            current = best.get(hit.doc["id"])
            if current is None or hit.score > current[0].score:
                best[hit.doc["id"]] = (hit, view)
    return sorted(best.values(), key=lambda t: (-t[0].score, t[0].doc["id"]))[:k]


async def find_by_regions(
    state: ApiState,
    vectors: Sequence[Sequence[float]],
    views: Sequence[str],
    query: SimilarQuery,
    *,
    model_version: str | None,
) -> list[Hit]:
    """Search by photo: each view's vector against every work's regions, fused by `fuse_views`."""
    started = time.perf_counter()
    per_view = await state.index.similar_regions(vectors, neighbours(state, query, model_version))
    _observe(state, query, "upload", started)
    return [
        to_hit(hit.doc, hit.score, RegionMatch(view=view, region=hit.box))
        for hit, view in fuse_views(per_view, views, query.k)
    ]
