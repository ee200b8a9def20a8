"""Search by an uploaded image: decoded with the worker's safe decoder, embedded by its model."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Request, UploadFile

from gallery_api.deps import StateDep
from gallery_api.errors import (
    PayloadTooLarge,
    TooManyRequests,
    UnprocessableImage,
    UnsupportedImage,
)
from gallery_api.queries import Metric, num_candidates_for
from gallery_api.routes.common import (
    ArtistQ,
    CollectionQ,
    K,
    MetricQ,
    ModeQ,
    StyleQ,
    check_k,
    filters,
    to_hit,
)
from gallery_api.schemas import SearchResponse
from gallery_api.search import Mode
from gallery_core.settings import LimitSettings
from vectorizer.errors import DecodeReason, ImageDecodeError
from vectorizer.model.encoder import Encoder
from vectorizer.model.preprocess import decode_image, to_model_input

router = APIRouter(prefix="/api", tags=["search"])

#: Reasons that mean "this is not an image we accept" rather than "a broken image".
_UNSUPPORTED = {DecodeReason.UNSUPPORTED_FORMAT, DecodeReason.EMPTY}


def embed_upload(data: bytes, encoder: Encoder, limits: LimitSettings) -> np.ndarray:
    """Same decoder, limits and model as the worker; runs in the API's thread pool."""
    decoded = decode_image(
        data, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels
    )
    pixels = to_model_input(decoded, encoder.input_size)
    vector: np.ndarray = encoder.encode(pixels[None, ...])[0]
    return vector


@router.post("/search", response_model=SearchResponse)
async def search_by_image(
    request: Request,
    state: StateDep,
    image: Annotated[UploadFile, File(description="A JPEG, PNG, GIF, WebP, TIFF or BMP image.")],
    k: K = 10,
    metric: MetricQ = Metric.COSINE,
    mode: ModeQ = Mode.EXACT,
    collection: CollectionQ = None,
    style: StyleQ = None,
    artist: ArtistQ = None,
) -> SearchResponse:
    started = time.perf_counter()
    api = state.settings.api
    k = check_k(k, api.max_k)
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
            vector = await asyncio.get_running_loop().run_in_executor(
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
            if exc.reason is DecodeReason.TOO_LARGE:
                raise PayloadTooLarge(str(exc)) from None
            raise UnprocessableImage(str(exc)) from None
    searched = time.perf_counter()
    hits = await state.index.similar(
        vector.tolist(),
        k=k,
        metric=metric,
        mode=mode,
        num_candidates=num_candidates_for(k, api.max_num_candidates),
        filters=[
            *filters(collection, style, artist),
            {"term": {"model_version": state.encoder.version}},
        ],
    )
    state.metrics.searches.labels(mode.value, metric.value, "upload").observe(
        time.perf_counter() - searched
    )
    return SearchResponse(
        hits=[to_hit(d, s) for d, s in hits],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
