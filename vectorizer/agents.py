"""The agent: images topic -> batches -> `BatchProcessor` (in a thread) -> vectors or DLQ.

Events are acknowledged only after every output of their batch was delivered (acks=all), so a
worker killed at any point loses nothing: the next one re-reads the unacknowledged batch and
re-writes the same keys, which overwrites rather than duplicates (W13, guarantee 3).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mode.supervisors import CrashingSupervisor

from gallery_core.contracts import load_index
from gallery_core.image_records import parse_headers
from gallery_core.media import MediaStore
from gallery_core.model.encoder import load_encoder
from vectorizer.app import app, dlq_topic, images_topic, settings, vectors_topic
from vectorizer.pipeline import BatchProcessor, DecodePool, ImageEvent

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {}


def load_processor() -> BatchProcessor:
    """Load the model and the decode pool once (called before the worker starts)."""
    if "processor" not in _state:
        encoder = load_encoder(settings.worker.model_path)
        _state["processor"] = BatchProcessor(
            encoder,
            DecodePool(workers=settings.worker.decode_processes),
            MediaStore(settings.paths.media_dir),
            dims=load_index().dims,
            region_dims=load_index().region_dims,
            max_bytes=settings.limits.max_image_bytes,
            max_pixels=settings.limits.max_image_pixels,
        )
        _state["executor"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vectorize")
    return _state["processor"]  # type: ignore[no-any-return]


# An agent that raises takes the whole worker down (non-zero exit) instead of leaving a
# process that is alive but idle (W16); whatever supervises it starts a fresh one.
@app.agent(images_topic, concurrency=1, supervisor_strategy=CrashingSupervisor)
async def vectorize(stream: Any) -> None:
    processor = load_processor()
    loop = asyncio.get_running_loop()
    async for batch in stream.take_events(
        settings.worker.batch_size, within=settings.worker.batch_within_s
    ):
        started = time.monotonic()
        events = [
            ImageEvent(
                key=(e.key or b"").decode("utf-8", errors="replace"),
                data=e.value,
                headers=parse_headers(e.message.headers),
                topic=e.message.topic,
                partition=e.message.partition,
                offset=e.message.offset,
            )
            for e in batch
        ]
        outputs = await loop.run_in_executor(_state["executor"], processor.process, events)
        pending = []
        for out in outputs:
            if out.dead_letter is not None:
                pending.append(
                    await dlq_topic.send(key=out.key.encode(), value=out.dead_letter.to_json())
                )
            else:
                pending.append(await vectors_topic.send(key=out.key.encode(), value=out.value))
        await asyncio.gather(*pending)  # delivered (acks=all) before the batch is acknowledged
        dead = sum(1 for o in outputs if o.dead_letter is not None)
        logger.info(
            "batch of %d: %d vectors, %d dead-lettered in %.2fs",
            len(outputs),
            len(outputs) - dead,
            dead,
            time.monotonic() - started,
        )
