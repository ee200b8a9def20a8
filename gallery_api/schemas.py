"""The HTTP shapes (see ../shared/CONTRACT.md): Artwork, Hit and the responses around them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gallery_core.documents import ArtworkDocument

__all__ = ["Artwork", "ArtworkList", "Hit", "Problem", "SearchResponse", "SimilarResponse"]


class Artwork(ArtworkDocument):
    """A work as the API shows it: its document, and where its images are served."""

    model_config = ConfigDict(frozen=False)

    image_url: str
    thumbnail_url: str
    #: Other works with the same content hash (identical images under other paths).
    duplicates: list[str] = Field(default_factory=list)


class RegionMatch(BaseModel):
    """For a search by photo: which view of the photo matched which region of the work."""

    view: str = Field(
        description="photo (the upload as it is), picture-N (a picture found in it, "
        "straightened) or centre (its central part)."
    )
    region: list[float] | None = Field(
        default=None,
        description="The work's matching region as [x0, y0, x1, y1], shares of its width "
        "and height.",
    )


class Hit(Artwork):
    score: float = Field(description="Higher is more similar, for every metric.")
    match: RegionMatch | None = None


class ArtworkList(BaseModel):
    total: int
    items: list[Artwork]


class SimilarResponse(BaseModel):
    query: Artwork
    hits: list[Hit]
    took_ms: float


class SearchResponse(BaseModel):
    hits: list[Hit]
    took_ms: float


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
