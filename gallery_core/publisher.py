"""Publishing image records with delivery reports: the watcher, `gallery ingest` and the
API's admin routes all write to the images topic through `ImagePublisher`.

An idempotent producer with acks=all. A full local queue (BufferError) is waited out with
poll(), never dropped (P6); each record's outcome arrives in its delivery report, and callers
treat a file as published only then (P4). `flush()` before exit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message

from gallery_core.clients import producer
from gallery_core.dead_letters import DeadLetter
from gallery_core.image_records import ImageHeaders, encode_headers
from gallery_core.settings import Settings

__all__ = ["DeliveryCallback", "ImagePublisher"]

logger = logging.getLogger(__name__)

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class ImagePublisher:
    def __init__(self, settings: Settings, images_topic: str, dlq_topic: str) -> None:
        self.images_topic, self.dlq_topic = images_topic, dlq_topic
        # Image files are compressed already: lz4 would cost CPU for nothing.
        self._producer = producer(
            settings,
            **{"compression.type": "none", "queue.buffering.max.kbytes": 512 * 1024},
        )

    def publish_image(
        self, key: str, data: bytes, headers: ImageHeaders, on_delivery: DeliveryCallback
    ) -> None:
        self._produce(self.images_topic, key, data, encode_headers(headers), on_delivery)

    def publish_removal(
        self, key: str, headers: ImageHeaders, on_delivery: DeliveryCallback
    ) -> None:
        self._produce(self.images_topic, key, None, encode_headers(headers), on_delivery)

    def publish_dead_letter(self, letter: DeadLetter, on_delivery: DeliveryCallback) -> None:
        self._produce(self.dlq_topic, letter.key or "", letter.to_json(), [], on_delivery)

    def _produce(
        self,
        topic: str,
        key: str,
        value: bytes | None,
        headers: list[tuple[str, str | bytes | None]],
        on_delivery: DeliveryCallback,
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, key=key.encode(), value=value, headers=headers, on_delivery=on_delivery
                )
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(0.5)
        self._producer.poll(0)

    def poll(self, timeout: float = 0.0) -> int:
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float = 60.0) -> int:
        """Wait for every delivery report; returns how many records are still undelivered."""
        deadline = time.monotonic() + timeout
        remaining = len(self._producer)
        while remaining and time.monotonic() < deadline:
            remaining = self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
        return int(remaining)

    def __len__(self) -> int:
        return len(self._producer)

    def __enter__(self) -> ImagePublisher:
        return self

    def __exit__(self, *exc: Any) -> None:
        left = self.flush()
        if left:
            logger.error("%d records were not delivered before exit", left)
