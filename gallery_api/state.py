"""What the API holds for its lifetime: built in `lifespan`, closed in its `finally`."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch

from gallery_api.metrics import Metrics
from gallery_api.ratelimit import UploadRateLimit
from gallery_api.search import ImageIndex
from gallery_core.media import MediaStore
from gallery_core.model.encoder import Encoder
from gallery_core.settings import Settings

__all__ = ["ApiState"]


@dataclass
class ApiState:
    settings: Settings
    es: AsyncElasticsearch
    index: ImageIndex
    encoder: Encoder
    media: MediaStore
    #: Decoding and embedding of uploads run here, off the event loop.
    executor: ThreadPoolExecutor
    #: Bounds the uploads being processed at once (A7): more get 429.
    uploads: asyncio.Semaphore
    #: Uploads per client (A7): over the limit get 429 with Retry-After.
    upload_rate: UploadRateLimit
    metrics: Metrics
