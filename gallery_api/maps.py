"""The gallery's map: a 2-D projection of a collection's vectors, computed once and cached.

A projection is cached per (collection, limit) in memory and as a JSON file under
``<run_dir>/maps/``, so an API restart does not pay for it again. It is recomputed when the
collection's document count has moved by more than `RECOMPUTE_CHANGE` since, or when the
API's model version differs from the one the map was made with. Collections larger than
`limit` are sampled (a fixed random sample, so the same map comes back). One projection runs
at a time, in a worker thread; a request that gives up does not cancel it, and the next
request finds the result cached (`map_of`).
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

import numpy as np
from pydantic import BaseModel, ValidationError

from gallery_api.projection import Method, project
from gallery_api.search import ImageIndex
from gallery_core.documents import ArtworkMetadata

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MapCache",
    "MapPoint",
    "MapResponse",
    "cache_key",
    "is_stale",
    "map_of",
]

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 2000
MAX_LIMIT = 5000
#: Relative change of a collection's document count that makes its cached map stale.
RECOMPUTE_CHANGE = 0.10
#: Seed of the sample of large collections and of t-SNE: the same input gives the same map.
SEED = 0


class MapPoint(ArtworkMetadata):
    id: str
    x: float
    y: float
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


#: What a point shows besides its position.
MAP_FIELDS = ("title", "artist", "style", "year")


async def compute_map(
    cache: MapCache,
    key: str,
    index: ImageIndex,
    collection: str | None,
    limit: int,
    model_version: str | None,
) -> MapResponse:
    async with cache.compute_slot:
        doc_count, docs = await index.sample_vectors(collection, limit, SEED, MAP_FIELDS)
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
                **{k: d.get(k) for k in MAP_FIELDS},
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


async def map_of(
    index: ImageIndex,
    cache: MapCache,
    collection: str | None,
    limit: int,
    model_version: str | None,
) -> MapResponse:
    """The map of ``collection`` (or of all works): cached if still fresh, else computed."""
    key = cache_key(collection, limit)
    doc_count = await index.count_vectors(collection)
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
        task = asyncio.create_task(compute_map(cache, key, index, collection, limit, model_version))
        cache.running[key] = task
        task.add_done_callback(lambda t: _forget(cache, key, t))
    # shield: a client that leaves does not cancel the projection; the next one gets it.
    return await asyncio.shield(task)
