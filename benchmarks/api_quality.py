"""`gallery eval --api URL`: quality measured the way a client sees it, over HTTP only.

For a collection of the running gallery whose works carry an ``artist`` (the demo's
``museum``, or any folder dropped with a sidecar):

* **same-artist hit@10**: ``GET /api/artworks/{id}/similar?k=10&collection=C`` for every
  work whose artist has another work in the collection; a hit when one of the 10 is by the
  same artist;
* **copy recovery recall@1 over the whole index**: every work's source file (read from the
  watched folder) is changed by each family of `PAINTING_FAMILIES` and sent to
  ``POST /api/search?k=1`` with no filter; a hit when the first answer is the work or a copy
  of its very file elsewhere in the index (its ``duplicates``).

Both ask with the ``mode`` given (``exact``, the API's default, or ``knn``: HNSW over the
embedding and the region vectors), so the two can be compared on one index.

Uploads over the API's per-client rate limit (429) are retried after ``Retry-After``; for a
large collection, start the API with a higher ``GALLERY_API__UPLOAD_RATE_LIMIT``.
"""

from __future__ import annotations

import io
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from rich.table import Table

from gallery_api.search import Mode
from training.painting_eval import artist_queries
from training.perturb import PAINTING_FAMILIES, perturb
from training.progress import Progress, no_progress

__all__ = ["ApiQualityReport", "evaluate_through_api"]

#: Similar works asked for per same-artist query (hit@K).
K = 10


@dataclass(slots=True)
class ApiQualityReport:
    """What ``gallery eval --api`` measured through the public HTTP API."""

    api: str
    collection: str
    works: int
    artist_queries: int
    same_artist_hit_at_10: float
    mode: str = Mode.EXACT.value
    #: family -> recall@1
    copy_recall_at_1: dict[str, float] = field(default_factory=dict)
    rate_limited_waits: int = 0

    @property
    def copy_mean(self) -> float:
        values = list(self.copy_recall_at_1.values())
        return sum(values) / len(values) if values else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "same_artist_hit_at_10": round(self.same_artist_hit_at_10, 4),
            "copy_recall_at_1": {k: round(v, 4) for k, v in self.copy_recall_at_1.items()},
            "copy_recall_at_1_mean": round(self.copy_mean, 4),
        }

    def tables(self) -> list[Table]:
        table = Table(
            title=f"Through {self.api}: collection {self.collection} ({self.works} works, "
            f"{self.artist_queries} same-artist queries), mode={self.mode}"
        )
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("same-artist hit@10 (similar-by-id)", f"{self.same_artist_hit_at_10:.3f}")
        for fam, value in self.copy_recall_at_1.items():
            table.add_row(f"copy R@1 (upload, whole index): {fam}", f"{value:.3f}")
        table.add_row("copy R@1: mean", f"{self.copy_mean:.3f}")
        return [table]


def _works(client: httpx.Client, collection: str) -> list[dict[str, Any]]:
    works: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/api/artworks", params={"collection": collection, "limit": 100, "offset": len(works)}
        )
        page.raise_for_status()
        body = page.json()
        works += body["items"]
        if not body["items"] or len(works) >= body["total"]:
            return works


def _same_content(client: httpx.Client, work: dict[str, Any]) -> set[str]:
    """The work's id and those of the works with the same file content (``duplicates``)."""
    response = client.get(f"/api/artworks/{work['id']}")
    response.raise_for_status()
    return {work["id"], *response.json().get("duplicates", [])}


def _upload(client: httpx.Client, data: bytes, report: ApiQualityReport) -> list[dict[str, Any]]:
    while True:
        response = client.post(
            "/api/search",
            params={"k": 1, "mode": report.mode},
            files={"image": ("photo.jpg", data, "image/jpeg")},
        )
        if response.status_code == 429:
            report.rate_limited_waits += 1
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        response.raise_for_status()
        hits: list[dict[str, Any]] = response.json()["hits"]
        return hits


def evaluate_through_api(
    client: httpx.Client,
    watch_dir: Path,
    collection: str,
    *,
    families: list[str] | None = None,
    mode: Mode = Mode.EXACT,
    progress: Progress = no_progress,
) -> ApiQualityReport:
    """Measure the gallery behind ``client`` (base URL set) on ``collection``."""
    works = _works(client, collection)
    if not works:
        raise ValueError(f"collection {collection!r} has no works")
    queries = [works[i] for i in artist_queries([w.get("artist") for w in works])]
    report = ApiQualityReport(
        api=str(client.base_url),
        collection=collection,
        works=len(works),
        artist_queries=len(queries),
        same_artist_hit_at_10=0.0,
        mode=mode.value,
    )
    tick = progress("similar-by-id (same artist)", len(queries))
    hits = 0
    for work in queries:
        response = client.get(
            f"/api/artworks/{work['id']}/similar",
            params={"k": K, "collection": collection, "mode": mode.value},
        )
        response.raise_for_status()
        hits += any(h.get("artist") == work["artist"] for h in response.json()["hits"])
        tick(1)
    report.same_artist_hit_at_10 = hits / len(queries) if queries else 0.0
    accepted = [_same_content(client, work) for work in works]
    for family in families or list(PAINTING_FAMILIES):
        tick = progress(f"uploads: {family}", len(works))
        found = 0
        for j, work in enumerate(works):
            with Image.open(watch_dir / work["path"]) as img:
                # Seeded by the work's path, not its place in the listing (which follows
                # ingestion time): each work gets the same photo in every run.
                seed = zlib.crc32(f"{family}/{work['path']}".encode())
                photo = perturb(img.convert("RGB"), family, seed)
            buf = io.BytesIO()
            photo.save(buf, format="JPEG", quality=92)
            top = _upload(client, buf.getvalue(), report)
            found += bool(top) and top[0]["id"] in accepted[j]
            tick(1)
        report.copy_recall_at_1[family] = found / len(works)
    return report
