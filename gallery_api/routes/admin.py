"""Admin: delete or re-index an artwork through the stream (`gallery_api.republish`).

Both need the X-API-Key of the settings and answer 202: the change takes effect once the
worker and the sink have processed it, in seconds.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from gallery_api.deps import AdminDep, StateDep
from gallery_api.errors import ApiError, NotFound
from gallery_api.republish import Action, NotPublishable, PublishFailed, publish_change
from gallery_api.routes.common import ArtworkId, check_id

router = APIRouter(prefix="/api/artworks", tags=["admin"])


class SourceMissing(ApiError, status=409, title="Source file missing"): ...


async def _through_stream(state: StateDep, action: Action, artwork_id: str) -> None:
    doc = await state.index.get(check_id(artwork_id))
    if doc is None:
        raise NotFound(f"no artwork {artwork_id}")
    try:
        await asyncio.get_running_loop().run_in_executor(
            state.executor,
            publish_change,
            state.backends.publisher,
            state.settings,
            action,
            artwork_id,
            doc.get("path"),
        )
    except NotPublishable as exc:
        raise SourceMissing(str(exc)) from None
    except PublishFailed as exc:
        raise ApiError(str(exc)) from None


@router.delete("/{artwork_id}", status_code=202)
async def delete_artwork(artwork_id: ArtworkId, state: StateDep, _: AdminDep) -> dict[str, str]:
    await _through_stream(state, Action.DELETE, artwork_id)
    return {"status": "accepted", "detail": "a delete was published; it takes effect in seconds"}


@router.post("/{artwork_id}/reindex", status_code=202)
async def reindex_artwork(artwork_id: ArtworkId, state: StateDep, _: AdminDep) -> dict[str, str]:
    await _through_stream(state, Action.REINDEX, artwork_id)
    return {"status": "accepted", "detail": "the source file was published again"}
