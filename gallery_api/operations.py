"""What the gallery's status and browse pages need beyond the status object: the limits a
client should know, the collections with their sizes, and the newest dead letters."""

from __future__ import annotations

from pydantic import BaseModel

from gallery_api.search import ImageIndex
from gallery_core.dead_letters import DeadLetter, DeadLetterTopic
from gallery_core.imaging import ImageFormat

__all__ = [
    "CollectionCount",
    "CollectionList",
    "DeadLetterItem",
    "DeadLetterList",
    "FORMATS",
    "featured_first",
    "list_collections",
    "newest_dead_letters",
]

#: The accepted formats, as users name them.
FORMATS = [f.name if f is not ImageFormat.WEBP else "WebP" for f in ImageFormat]


class CollectionCount(BaseModel):
    name: str
    count: int
    #: Listed in ``GALLERY_API__FEATURED_COLLECTIONS``: the gallery shows it first.
    featured: bool = False


class CollectionList(BaseModel):
    total: int
    collections: list[CollectionCount]


class DeadLetterItem(DeadLetter):
    """A dead letter and where it sits in the topic."""

    partition: int
    offset: int


class DeadLetterList(BaseModel):
    #: Records in the dead-letter topic (all partitions), not only those listed.
    total: int
    items: list[DeadLetterItem]


def featured_first(counts: list[CollectionCount], featured: list[str]) -> list[CollectionCount]:
    """``counts`` with the ``featured`` collections marked and moved to the front, in order."""
    rank = {name: i for i, name in enumerate(featured)}
    marked = [c.model_copy(update={"featured": c.name in rank}) for c in counts]
    return sorted(marked, key=lambda c: rank.get(c.name, len(rank)))


async def list_collections(index: ImageIndex, featured: list[str]) -> CollectionList:
    """Every collection with its number of works: featured ones first, then largest first."""
    total, counts = await index.collection_counts()
    return CollectionList(
        total=total,
        collections=featured_first(
            [CollectionCount(name=name, count=count) for name, count in counts], featured
        ),
    )


def newest_dead_letters(topic: DeadLetterTopic, limit: int) -> DeadLetterList:
    """The newest ``limit`` dead letters, newest first (blocking: run it off the loop)."""
    total, found = topic.newest(limit)
    return DeadLetterList(
        total=total,
        items=[
            DeadLetterItem(**f.letter.model_dump(), partition=f.partition, offset=f.offset)
            for f in found
        ],
    )
