"""Admin: delete or re-index an artwork, through the stream (never by writing to Elasticsearch).

Delete publishes a tombstone for the id on the images topic; the worker removes the media and
forwards the tombstone, and the sink deletes the document. Re-index publishes the source file
again from the watched folder. Both need the X-API-Key of the settings.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

from fastapi import APIRouter

from gallery_api.deps import AdminDep, StateDep
from gallery_api.errors import ApiError, NotFound
from gallery_api.routes.common import ArtworkId, check_id
from gallery_core.contracts import load_topics
from gallery_core.image_records import ImageHeaders
from gallery_core.publisher import ImagePublisher
from gallery_core.sources.files import Accepted, inspect_file
from gallery_core.sources.sidecar import SidecarIndex

router = APIRouter(prefix="/api/artworks", tags=["admin"])


class SourceMissing(ApiError):
    status, title = 409, "Source file missing"


def _publish(state: StateDep, action: str, artwork_id: str, path: str | None) -> None:
    topics = load_topics()
    failures: list[str] = []

    def delivered(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    with ImagePublisher(state.settings, topics.images.name, topics.dlq.name) as publisher:
        if action == "delete":
            publisher.publish_removal(artwork_id, ImageHeaders(path=path), delivered)
        else:
            root = state.settings.paths.watch_dir
            result = inspect_file(
                root, root / PurePosixPath(path or ""), SidecarIndex(root), state.settings.limits
            )
            if not isinstance(result, Accepted) or result.artwork_id != artwork_id:
                raise SourceMissing(f"{path} is not a publishable file in the watched folder")
            publisher.publish_image(artwork_id, result.data, result.headers, delivered)
    if failures:
        raise ApiError(f"Kafka did not accept the record: {failures[0]}")


async def _through_stream(state: StateDep, action: str, artwork_id: str) -> None:
    doc = await state.index.get(check_id(artwork_id))
    if doc is None:
        raise NotFound(f"no artwork {artwork_id}")
    await asyncio.get_running_loop().run_in_executor(
        state.executor, _publish, state, action, artwork_id, doc.get("path")
    )


@router.delete("/{artwork_id}", status_code=202)
async def delete_artwork(artwork_id: ArtworkId, state: StateDep, _: AdminDep) -> dict[str, str]:
    await _through_stream(state, "delete", artwork_id)
    return {"status": "accepted", "detail": "a delete was published; it takes effect in seconds"}


@router.post("/{artwork_id}/reindex", status_code=202)
async def reindex_artwork(artwork_id: ArtworkId, state: StateDep, _: AdminDep) -> dict[str, str]:
    await _through_stream(state, "reindex", artwork_id)
    return {"status": "accepted", "detail": "the source file was published again"}
