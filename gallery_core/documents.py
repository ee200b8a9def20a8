"""The artwork document: what the index stores about a work, declared once.

`ArtworkMetadata` is what a sidecar (``metadata.csv``) or the folder layout says about a work;
`ArtworkDocument` adds what the pipeline knows (its path, collection, model, content hash,
size). The worker writes these fields into the vector record, the sink into
``mappings/paintings.json``, and the API reads them back (`SOURCE_FIELDS`) into its ``Artwork``.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "METADATA_FIELDS",
    "SOURCE_FIELDS",
    "ArtworkDocument",
    "ArtworkMetadata",
    "RegionDocument",
]


class ArtworkMetadata(BaseModel):
    """What is known about a work besides its pixels (all optional)."""

    model_config = ConfigDict(frozen=True)

    title: str | None = None
    artist: str | None = None
    style: str | None = None
    genre: str | None = None
    #: As the source wrote it ("c. 1665", "1889-06").
    date: str | None = None
    #: The first four-digit year in ``date``, for ranges and the map.
    year: int | None = None


class ArtworkDocument(ArtworkMetadata):
    """A work's document in the index, vectors aside."""

    id: str
    path: str | None = None
    collection: str | None = None
    model: str | None = None
    model_version: str | None = None
    content_sha256: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    #: Sidecar columns beyond the fields above.
    metadata: dict[str, Any] = Field(default_factory=dict)


class RegionDocument(BaseModel):
    """A region of a work's picture: its box ("x0,y0,x1,y1", shares of width and height) and
    its content vector (nested ``regions`` in the index)."""

    model_config = ConfigDict(frozen=True)

    box: str
    vector: list[float]


METADATA_FIELDS: Final[tuple[str, ...]] = tuple(ArtworkMetadata.model_fields)
#: The stored fields the API reads back (``thumbnail``: the media file's relative path).
SOURCE_FIELDS: Final[tuple[str, ...]] = (*ArtworkDocument.model_fields, "thumbnail")
