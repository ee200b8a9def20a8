"""Search by an uploaded image: decoded with the worker's safe decoder, embedded by its model.

With a region model (`gallery_core.model.painting`) the upload is a photo that may show a work
as a part (on a wall, in a frame, tilted; a detail; a catalogue page): its views
(`gallery_core.model.views.query_views`) are searched against every work's regions and the
best (view, region) pair ranks the work; each hit says which view and region matched.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, File, Request, UploadFile

from gallery_api.deps import StateDep
from gallery_api.errors import (
    PayloadTooLarge,
    TooManyRequests,
    UnprocessableImage,
    UnsupportedImage,
)
from gallery_api.routes.common import SimilarQueryDep, find_by_regions, find_similar
from gallery_api.schemas import SearchResponse
from gallery_core.errors import ImageDecodeError
from gallery_core.imaging import decode_image, to_model_input
from gallery_core.model.encoder import Encoder, RegionEncoder
from gallery_core.model.views import query_views
from gallery_core.reasons import Reason
from gallery_core.settings import LimitSettings

router = APIRouter(prefix="/api", tags=["search"])

#: Reasons that mean "this is not an image we accept" rather than "a broken image".
_UNSUPPORTED = {Reason.UNSUPPORTED_FORMAT, Reason.EMPTY}


@dataclass(frozen=True)
class EmbeddedUpload:
    """The upload's vector, and - for a model with regions - one content vector per view."""

    vector: npt.NDArray[np.float32]
    views: list[str]
    view_vectors: npt.NDArray[np.float32] | None


def embed_upload(data: bytes, encoder: Encoder, limits: LimitSettings) -> EmbeddedUpload:
    """Same decoder, limits and model as the worker; runs in the API's thread pool.

    With a region model the photo is also looked at as `query_views` (pictures found in
    it, straightened, and its centre), all embedded in one batch.
    """
    decoded = decode_image(
        data, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels
    )
    if not (isinstance(encoder, RegionEncoder) and encoder.region_dims):
        pixels = to_model_input(decoded, encoder.input_size)
        return EmbeddedUpload(encoder.encode(pixels[None, ...])[0], ["photo"], None)
    views = query_views(decoded.rgb)
    pixels = np.stack([to_model_input(v.image, encoder.input_size) for v in views])
    vectors, regions = encoder.encode_with_regions(pixels)
    return EmbeddedUpload(vectors[0], [v.name for v in views], regions[:, 0])


@router.post("/search", response_model=SearchResponse)
async def search_by_image(
    request: Request,
    state: StateDep,
    image: Annotated[UploadFile, File(description="A JPEG, PNG, GIF, WebP, TIFF or BMP image.")],
    query: SimilarQueryDep,
) -> SearchResponse:
    started = time.perf_counter()
    client = request.client.host if request.client else "unknown"
    wait_s = state.upload_rate.retry_after(client)
    if wait_s is not None:
        state.metrics.uploads_rejected.labels("rate_limited").inc()
        raise TooManyRequests(
            f"more than {state.upload_rate.limit} uploads from {client}; retry in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    if state.uploads.locked():
        state.metrics.uploads_rejected.labels("busy").inc()
        raise TooManyRequests("too many images are being searched right now; retry shortly")
    async with state.uploads:
        data = await image.read()  # bounded: the body limit already capped the request
        try:
            upload = await asyncio.get_running_loop().run_in_executor(
                state.executor,
                embed_upload,
                data,
                state.encoder,
                state.settings.limits,
            )
        except ImageDecodeError as exc:
            state.metrics.uploads_rejected.labels(exc.reason.value).inc()
            if exc.reason in _UNSUPPORTED:
                raise UnsupportedImage(str(exc)) from None
            if exc.reason is Reason.TOO_LARGE:
                raise PayloadTooLarge(str(exc)) from None
            raise UnprocessableImage(str(exc)) from None
    if upload.view_vectors is not None and state.index.spec.region_dims == len(
        upload.view_vectors[0]
    ):
        hits = await find_by_regions(
            state,
            upload.view_vectors.tolist(),
            upload.views,
            query,
            model_version=state.encoder.version,
        )
    else:
        hits = await find_similar(
            state,
            upload.vector.tolist(),
            query,
            model_version=state.encoder.version,
            source="upload",
        )
    return SearchResponse(hits=hits, took_ms=round((time.perf_counter() - started) * 1000, 2))
