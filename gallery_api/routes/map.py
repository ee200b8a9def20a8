"""``GET /api/map?collection=&limit=``: ``{points: [{id, x, y, title, ...}], count, ...}``
with x and y in the unit square (logic in `gallery_api.maps`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from gallery_api.deps import StateDep
from gallery_api.maps import DEFAULT_LIMIT, MAX_LIMIT, MapCache, MapResponse, map_of
from gallery_api.routes.common import CollectionQ

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["map"])


def get_map_cache(request: Request, state: StateDep) -> MapCache:
    cache: MapCache | None = getattr(request.app.state, "map_cache", None)
    if cache is None:
        cache = MapCache(state.settings.paths.run_dir / "maps")
        request.app.state.map_cache = cache
    return cache


MapCacheDep = Annotated[MapCache, Depends(get_map_cache)]


@router.get("/map", response_model=MapResponse)
async def collection_map(
    state: StateDep,
    cache: MapCacheDep,
    collection: CollectionQ = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Most points; larger collections are sampled.")
    ] = DEFAULT_LIMIT,
) -> MapResponse:
    """A 2-D map (t-SNE) of a collection's works, or of all works without `collection`."""
    model_version = getattr(state.encoder, "version", None)
    return await map_of(state.index, cache, collection, limit, model_version)
