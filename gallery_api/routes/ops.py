"""Operations endpoints (logic in `gallery_api.operations`).

- ``GET /api/limits``: what a client should know before it asks (upload size, largest k).
- ``GET /api/collections``: the collections and their document counts.
- ``GET /api/dead-letters?limit=20``: the newest records of the dead-letter topic, decoded into
  one shape whether the worker, the producer or Kafka Connect wrote them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gallery_api.deps import StateDep
from gallery_api.operations import (
    FORMATS,
    CollectionList,
    DeadLetterList,
    list_collections,
    newest_dead_letters,
)

__all__ = ["Limits", "router"]

router = APIRouter(prefix="/api", tags=["operations"])


class Limits(BaseModel):
    max_image_bytes: int
    max_k: int
    formats: list[str]


@router.get("/limits", response_model=Limits)
async def limits(state: StateDep) -> Limits:
    """Upload size limit and largest k, so a client can refuse early with a clear message."""
    return Limits(
        max_image_bytes=state.settings.limits.max_image_bytes,
        max_k=state.settings.api.max_k,
        formats=FORMATS,
    )


@router.get("/collections", response_model=CollectionList)
async def collections(state: StateDep) -> CollectionList:
    """Every collection with its number of works: featured ones first, then largest first."""
    return await list_collections(state.index, state.settings.api.featured_collections)


@router.get("/dead-letters", response_model=DeadLetterList)
async def dead_letters(
    state: StateDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> DeadLetterList:
    """The newest dead letters with their reasons (stage, reason code, detail, path)."""
    return await asyncio.get_running_loop().run_in_executor(
        state.executor, newest_dead_letters, state.backends.dead_letters, limit
    )
