"""Browse artworks, fetch one, its images, and the works most similar to it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from gallery_api.deps import IndexDep, StateDep
from gallery_api.errors import ApiError, NotFound
from gallery_api.routes.common import (
    ArtworkId,
    CollectionQ,
    SimilarQueryDep,
    check_id,
    find_similar,
    to_artwork,
)
from gallery_api.schemas import Artwork, ArtworkList, SimilarResponse

router = APIRouter(prefix="/api/artworks", tags=["artworks"])


class NoVector(ApiError, status=409, title="No vector"): ...


CACHE = "public, max-age=3600"


@router.get("", response_model=ArtworkList)
async def list_artworks(
    index: IndexDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 48,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    collection: CollectionQ = None,
    random: Annotated[
        int | None, Query(ge=0, description="Seed of a random sample (same seed, same sample).")
    ] = None,
) -> ArtworkList:
    total, docs = await index.browse(limit=limit, offset=offset, collection=collection, seed=random)
    return ArtworkList(total=total, items=[to_artwork(d) for d in docs])


@router.get("/{artwork_id}", response_model=Artwork)
async def get_artwork(artwork_id: ArtworkId, index: IndexDep) -> Artwork:
    doc = await index.get(check_id(artwork_id))
    if doc is None:
        raise NotFound(f"no artwork {artwork_id}")
    dupes = (
        await index.duplicates(doc["content_sha256"], artwork_id)
        if doc.get("content_sha256")
        else []
    )
    return to_artwork(doc, dupes)


@router.get("/{artwork_id}/similar", response_model=SimilarResponse)
async def similar_artworks(
    artwork_id: ArtworkId, state: StateDep, query: SimilarQueryDep
) -> SimilarResponse:
    started = time.perf_counter()
    doc = await state.index.get(check_id(artwork_id), with_vector=True)
    if doc is None:
        raise NotFound(f"no artwork {artwork_id}")
    vector = doc.pop(state.index.spec.vector_field, None)
    if vector is None:
        raise NoVector(f"artwork {artwork_id} has no vector yet; it is being vectorized")
    hits = await find_similar(
        state,
        vector,
        query,
        model_version=doc.get("model_version"),
        source="id",
        exclude_ids=[artwork_id],
    )
    return SimilarResponse(
        query=to_artwork(doc),
        hits=hits,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _media_file(path: Path, what: str, artwork_id: str) -> FileResponse:
    if not path.is_file():
        raise NotFound(f"no {what} for artwork {artwork_id}")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": CACHE})


@router.get("/{artwork_id}/image", response_class=FileResponse)
async def artwork_image(artwork_id: ArtworkId, state: StateDep) -> FileResponse:
    return _media_file(state.media.display_path(check_id(artwork_id)), "image", artwork_id)


@router.get("/{artwork_id}/thumbnail", response_class=FileResponse)
async def artwork_thumbnail(artwork_id: ArtworkId, state: StateDep) -> FileResponse:
    return _media_file(state.media.thumbnail_path(check_id(artwork_id)), "thumbnail", artwork_id)
