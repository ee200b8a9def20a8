"""The artwork document: what the index stores about a work, declared once.

`ArtworkMetadata` is what a sidecar (``metadata.csv``) or the folder layout says about a work;
`ArtworkDocument` adds what the pipeline knows (its path, collection, model, content hash,
size). The worker writes these fields into the vector record, the sink into
``mappings/paintings.json``, and the API reads them back (`SOURCE_FIELDS`) into its ``Artwork``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

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

    title: Annotated[str | None, Field(description="The work's title.")] = None
    artist: Annotated[str | None, Field(description="Who made it, as the source says.")] = None
    style: Annotated[str | None, Field(description="Movement or style.")] = None
    genre: Annotated[str | None, Field(description="Genre or category.")] = None
    date: Annotated[str | None, Field(description='As the source wrote it: "c. 1665".')] = None
    year: Annotated[int | None, Field(description="The first four-digit year of date.")] = None


class ArtworkDocument(ArtworkMetadata):
    """A work's document in the index, vectors aside."""

    id: str
    path: str | None = None
    collection: str | None = None
    model: str | None = None
    model_version: str | None = None
    #: Sidecar columns beyond the fields above.
    metadata: dict[str, Any] = Field(default_factory=dict)
    content_sha256: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None


class RegionDocument(BaseModel):
    """A region of a work's picture: its box ("x0,y0,x1,y1", shares of width and height) and
    its content vector (nested ``regions`` in the index)."""

    model_config = ConfigDict(frozen=True)

    box: str
    vector: list[float]


METADATA_FIELDS: Final[tuple[str, ...]] = tuple(ArtworkMetadata.model_fields)
#: The stored fields the API reads back (``thumbnail``: the media file's relative path).
SOURCE_FIELDS: Final[tuple[str, ...]] = (*ArtworkDocument.model_fields, "thumbnail")
