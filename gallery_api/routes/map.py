"""The gallery's map: a 2-D projection of a collection's vectors, computed once and cached.

``GET /api/map?collection=&limit=`` answers ``{points: [{id, x, y, title, ...}], count, ...}``
with x and y in the unit square (`gallery_api.projection`). A projection is cached per
(collection, limit) in memory and as a JSON file under ``<run_dir>/maps/``, so an API restart
does not pay for it again. It is recomputed when the collection's document count has moved by
more than `RECOMPUTE_CHANGE` since, or when the API's model version differs from the one the
map was made with. Collections larger than `limit` are sampled (a fixed random sample, so the
same map comes back). One projection runs at a time, in a worker thread; a request that gives
up does not cancel it, and the next request finds the result cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError

from gallery_api.deps import StateDep
from gallery_api.projection import Method, project
from gallery_api.routes.common import CollectionQ
from gallery_api.search import ImageIndex

__all__ = ["MapCache", "MapPoint", "MapResponse", "cache_key", "is_stale", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["map"])

DEFAULT_LIMIT = 2000
MAX_LIMIT = 5000
#: Relative change of a collection's document count that makes its cached map stale.
RECOMPUTE_CHANGE = 0.10
#: Seed of the sample of large collections and of t-SNE: the same input gives the same map.
SEED = 0


class MapPoint(BaseModel):
    id: str
    x: float
    y: float
    title: str | None = None
    artist: str | None = None
    style: str | None = None
    year: int | None = None
    thumbnail_url: str


class MapResponse(BaseModel):
    collection: str | None
    points: list[MapPoint]
    #: Points on the map.
    count: int
    #: Documents the collection had when the map was computed (more than `count` if sampled).
    doc_count: int
    sampled: bool
    method: str
    model_version: str | None
    computed_at: str
    #: Seconds the projection took when it was computed.
    compute_seconds: float
    #: True when this answer came from the cache.
    cached: bool = False


def cache_key(collection: str | None, limit: int) -> str:
    """A file-name-safe key; the collection name itself never reaches the file system."""
    return hashlib.sha256(f"{collection or ''}\0{limit}".encode()).hexdigest()[:32]


def is_stale(cached: MapResponse, doc_count: int, model_version: str | None) -> bool:
    """Recompute when the model changed or the document count moved by more than 10 %."""
    if model_version is not None and cached.model_version != model_version:
        return True
    base = max(cached.doc_count, 1)
    return abs(doc_count - cached.doc_count) / base > RECOMPUTE_CHANGE


@dataclass
class MapCache:
    """Projections by `cache_key`: in memory, backed by one JSON file each in `folder`."""

    folder: Path
    memory: dict[str, MapResponse] = field(default_factory=dict)
    running: dict[str, asyncio.Task[MapResponse]] = field(default_factory=dict)
    #: t-SNE is CPU-bound: one at a time, so the API keeps a core for searches.
    compute_slot: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> MapResponse | None:
        if key in self.memory:
            return self.memory[key]
        try:
            found = MapResponse.model_validate_json(self.path(key).read_bytes())
        except (OSError, ValidationError, ValueError):
            return None
        self.memory[key] = found
        return found

    def put(self, key: str, value: MapResponse) -> None:
        self.memory[key] = value
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path(key).with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(value.model_dump_json(), encoding="utf-8")
            tmp.replace(self.path(key))
        except OSError as exc:  # the memory copy still serves; the file is only a cache
            logger.warning("could not write the map cache %s: %s", self.path(key), exc)

    def drop(self, key: str) -> None:
        self.memory.pop(key, None)
        self.path(key).unlink(missing_ok=True)


def get_map_cache(request: Request, state: StateDep) -> MapCache:
    cache: MapCache | None = getattr(request.app.state, "map_cache", None)
    if cache is None:
        cache = MapCache(state.settings.paths.run_dir / "maps")
        request.app.state.map_cache = cache
    return cache


MapCacheDep = Annotated[MapCache, Depends(get_map_cache)]


def _collection_query(index: ImageIndex, collection: str | None) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"exists": {"field": index.spec.vector_field}}]
    if collection:
        filters.append({"term": {"collection": collection}})
    return {"bool": {"filter": filters}}


async def _doc_count(index: ImageIndex, collection: str | None) -> int:
    found = await index.es.count(index=index.name, query=_collection_query(index, collection))
    return int(found["count"])


async def _fetch(
    index: ImageIndex, collection: str | None, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """The collection's documents with their vectors: all, or a fixed sample of `limit`."""
    field_name = index.spec.vector_field
    query = _collection_query(index, collection)
    sample = {
        "function_score": {
            "query": query,
            "random_score": {"seed": SEED, "field": "_seq_no"},
            "boost_mode": "replace",
        }
    }
    found = await index.es.search(
        index=index.name,
        query=sample,
        size=limit,
        source_includes=["title", "artist", "style", "year", field_name],
        track_total_hits=True,
    )
    hits = found["hits"]
    docs = [dict(h["_source"], id=h["_id"]) for h in hits["hits"] if h["_source"].get(field_name)]
    docs.sort(key=lambda d: str(d["id"]))  # the sample's order must not move the map
    return int(hits["total"]["value"]), docs


async def _compute(
    cache: MapCache,
    key: str,
    index: ImageIndex,
    collection: str | None,
    limit: int,
    model_version: str | None,
) -> MapResponse:
    async with cache.compute_slot:
        doc_count, docs = await _fetch(index, collection, limit)
        vectors = np.asarray([d[index.spec.vector_field] for d in docs], dtype=np.float32)
        if not docs:
            vectors = np.zeros((0, 1), dtype=np.float32)
        started = time.perf_counter()
        coords, method = await asyncio.get_running_loop().run_in_executor(
            None, lambda: project(vectors, seed=SEED)
        )
        seconds = time.perf_counter() - started
    logger.info(
        "map of %s: %d points by %s in %.1f s",
        collection or "all works",
        len(docs),
        method,
        seconds,
    )
    result = MapResponse(
        collection=collection,
        points=[
            MapPoint(
                id=d["id"],
                x=round(float(x), 5),
                y=round(float(y), 5),
                title=d.get("title"),
                artist=d.get("artist"),
                style=d.get("style"),
                year=d.get("year"),
                thumbnail_url=f"/api/artworks/{d['id']}/thumbnail",
            )
            for d, (x, y) in zip(docs, coords.tolist(), strict=True)
        ],
        count=len(docs),
        doc_count=doc_count,
        sampled=doc_count > len(docs),
        method=Method(method).value,
        model_version=model_version,
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        compute_seconds=round(seconds, 3),
    )
    await asyncio.get_running_loop().run_in_executor(None, cache.put, key, result)
    return result


def _forget(cache: MapCache, key: str, task: asyncio.Task[MapResponse]) -> None:
    cache.running.pop(key, None)
    if not task.cancelled() and task.exception() is not None:
        logger.error("the map computation failed", exc_info=task.exception())


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
    key = cache_key(collection, limit)
    doc_count = await _doc_count(state.index, collection)
    model_version = getattr(state.encoder, "version", None)
    cached = cache.get(key)
    if cached is not None and not is_stale(cached, doc_count, model_version):
        return cached.model_copy(update={"cached": True})
    if doc_count == 0:
        cache.drop(key)
        return MapResponse(
            collection=collection,
            points=[],
            count=0,
            doc_count=0,
            sampled=False,
            method=Method.TSNE.value,
            model_version=model_version,
            computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            compute_seconds=0.0,
        )
    task = cache.running.get(key)
    if task is None:
        task = asyncio.create_task(
            _compute(cache, key, state.index, collection, limit, model_version)
        )
        cache.running[key] = task
        task.add_done_callback(lambda t: _forget(cache, key, t))
    # shield: a client that leaves does not cancel the projection; the next one gets it.
    return await asyncio.shield(task)
