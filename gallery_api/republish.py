"""Admin changes go through the stream, never straight to Elasticsearch.

Delete publishes a tombstone for the id on the images topic; the worker removes the media and
forwards the tombstone, and the sink deletes the document. Re-index publishes the source file
again from the watched folder, read and checked exactly as the watcher reads it
(`gallery_core.sources`). Both wait for Kafka's acknowledgement.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath

from confluent_kafka import KafkaError, Message

from gallery_core.image_records import ImageHeaders
from gallery_core.publisher import ImagePublisher
from gallery_core.settings import Settings
from gallery_core.sources.files import Accepted, inspect_file
from gallery_core.sources.sidecar import SidecarIndex

__all__ = ["Action", "NotPublishable", "PublishFailed", "publish_change"]


class Action(StrEnum):
    DELETE = "delete"
    REINDEX = "reindex"


class NotPublishable(Exception):
    """The source file of a re-index is gone or no longer an acceptable image."""


class PublishFailed(Exception):
    """Kafka did not acknowledge the record."""


def publish_change(
    publisher: ImagePublisher,
    settings: Settings,
    action: Action,
    artwork_id: str,
    path: str | None,
    timeout_s: float = 30.0,
) -> None:
    """Publish the delete or re-index of ``artwork_id`` and wait for Kafka to take it
    (blocking: run it off the event loop)."""
    failures: list[str] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(str(err))

    if action is Action.DELETE:
        publisher.publish_removal(artwork_id, ImageHeaders(path=path), delivered)
    else:
        root = settings.paths.watch_dir
        result = inspect_file(
            root, root / PurePosixPath(path or ""), SidecarIndex(root), settings.limits
        )
        if not isinstance(result, Accepted) or result.artwork_id != artwork_id:
            raise NotPublishable(f"{path} is not a publishable file in the watched folder")
        publisher.publish_image(artwork_id, result.data, result.headers, delivered)
    left = publisher.flush(timeout_s)
    if failures or left:
        raise PublishFailed(
            f"Kafka did not accept the record: {failures[0] if failures else 'timed out'}"
        )
