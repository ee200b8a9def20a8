"""What the API holds for its lifetime: opened in `lifespan`, closed in its `finally`.

`Backends` are the API's connections (Elasticsearch behind `ImageIndex`, the image publisher,
the dead-letter reader, the status probes), opened once by `open_backends`; tests pass a
factory of their own that yields fakes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from gallery_api.metrics import Metrics
from gallery_api.ratelimit import UploadRateLimit
from gallery_api.search import ImageIndex, detect_engine
from gallery_core.clients import async_es_client
from gallery_core.contracts import IndexSpec, load_topics
from gallery_core.dead_letters import DeadLetterTopic
from gallery_core.media import MediaStore
from gallery_core.model.encoder import Encoder
from gallery_core.probes import Probes
from gallery_core.publisher import ImagePublisher
from gallery_core.settings import Settings

__all__ = ["ApiState", "Backends", "OpenBackends", "open_backends"]

logger = logging.getLogger(__name__)


@dataclass
class Backends:
    index: ImageIndex
    #: Admin delete and re-index publish to the images topic, like the watcher.
    publisher: ImagePublisher
    dead_letters: DeadLetterTopic
    probes: Probes


OpenBackends = Callable[[Settings, IndexSpec], AbstractAsyncContextManager[Backends]]


@asynccontextmanager
async def open_backends(settings: Settings, spec: IndexSpec) -> AsyncIterator[Backends]:
    """The API's connections, opened once; closed when the API stops."""
    es = async_es_client(settings)
    topics = load_topics()
    publisher = ImagePublisher(settings, topics.images.name, topics.dlq.name)
    dead_letters = DeadLetterTopic(settings, "gallery-api-dead-letters")
    probes = Probes(settings)
    try:
        engine = await detect_engine(es, settings.api.script_engine)
        yield Backends(ImageIndex(es, spec, engine), publisher, dead_letters, probes)
    finally:
        left = publisher.flush(5)
        if left:
            logger.error("%d admin records were not delivered before the API stopped", left)
        dead_letters.close()
        probes.close()
        await es.close()


@dataclass
class ApiState:
    settings: Settings
    backends: Backends
    encoder: Encoder
    media: MediaStore
    #: Decoding and embedding of uploads (and other blocking calls) run here, off the loop.
    executor: ThreadPoolExecutor
    #: Bounds the uploads being processed at once (A7): more get 429.
    uploads: asyncio.Semaphore
    #: Uploads per client (A7): over the limit get 429 with Retry-After.
    upload_rate: UploadRateLimit
    metrics: Metrics

    @property
    def index(self) -> ImageIndex:
        return self.backends.index
