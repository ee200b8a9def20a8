"""Metadata from sidecar tables and from the folder layout: pure parsing, no Kafka.

A sidecar is a CSV or JSON table in a folder that describes the images in and below that
folder. Recognised file names: ``metadata.csv``, ``metadata.json``, and the public painting
datasets' own ``all_data_info.csv`` and ``train_info.csv`` (Painter by Numbers: filename or
new_filename, artist, title, style, genre, date). Rows are matched by the image's path
relative to the sidecar's folder, or by its file name.

Without a sidecar, a WikiArt folder-per-style collection (its name contains "wikiart") still
gives style, artist and title: ``<collection>/<Style>/<artist-name_title-words>.jpg``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from gallery_core.documents import METADATA_FIELDS, ArtworkMetadata

__all__ = ["SIDECAR_NAMES", "Metadata", "SidecarIndex", "layout_metadata", "normalise_row"]

logger = logging.getLogger(__name__)

SIDECAR_NAMES = ("metadata.csv", "metadata.json", "all_data_info.csv", "train_info.csv")

_KEY_COLUMNS = ("filename", "new_filename", "file", "file_name", "path", "image")
_ALIASES = {
    "artist": ("artist", "artist_name", "author", "creator"),
    "title": ("title", "name", "artwork_title"),
    "style": ("style", "movement"),
    "genre": ("genre", "category", "type"),
    "date": ("date", "year", "created", "creation_date"),
}
_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")


class Metadata(ArtworkMetadata):
    """A work's metadata as a sidecar or the folder layout gives it, with the extra columns."""

    extra: dict[str, str] = Field(default_factory=dict)

    def merged_over(self, base: Metadata) -> Metadata:
        """These values, falling back to `base` where these are empty."""
        mine = self.model_dump(include=set(METADATA_FIELDS))
        theirs = base.model_dump(include=set(METADATA_FIELDS))
        merged = {k: mine[k] if mine[k] not in (None, "") else theirs[k] for k in METADATA_FIELDS}
        return Metadata(**merged, extra={**base.extra, **self.extra})

    def as_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            k: v
            for k, v in self.model_dump(include=set(METADATA_FIELDS)).items()
            if v not in (None, "")
        }
        if self.extra:
            fields["metadata"] = dict(self.extra)
        return fields


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalise_row(row: dict[str, Any]) -> Metadata:
    """One sidecar row (any of the accepted column names) as Metadata."""
    lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    values: dict[str, str | None] = {}
    used: set[str] = set(_KEY_COLUMNS)
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if _clean(lowered.get(alias)):
                values[name] = _clean(lowered[alias])
                used.add(alias)
                break
    date = values.get("date")
    match = _YEAR.search(date) if date else None
    extra = {
        k: text
        for k, v in lowered.items()
        if k not in used and (text := _clean(v)) is not None and len(text) <= 1024
    }
    return Metadata(
        title=values.get("title"),
        artist=values.get("artist"),
        style=values.get("style"),
        genre=values.get("genre"),
        date=date,
        year=int(match.group(1)) if match else None,
        extra=extra,
    )


def _row_key(row: dict[str, Any]) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    for column in _KEY_COLUMNS:
        if key := _clean(lowered.get(column)):
            return key.replace("\\", "/").lstrip("./")
    return None


def read_sidecar(path: Path) -> dict[str, Metadata]:
    """Rows of one sidecar file by their file key; unreadable files are logged and skipped."""
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows: Iterable[dict[str, Any]]
            if isinstance(data, dict):  # {"file.jpg": {...}, ...}
                rows = [{"filename": k, **v} for k, v in data.items() if isinstance(v, dict)]
            else:
                rows = [r for r in data if isinstance(r, dict)]
        else:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, ValueError, csv.Error) as exc:
        logger.warning("skipping unreadable sidecar %s: %s", path, exc)
        return {}
    table: dict[str, Metadata] = {}
    for row in rows:
        key = _row_key(row)
        if key:
            table[key] = normalise_row(row)
    return table


class SidecarIndex:
    """The sidecars under one root, read lazily and cached per folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tables: dict[PurePosixPath, list[dict[str, Metadata]]] = {}

    def invalidate(self, folder: PurePosixPath) -> None:
        self._tables.pop(folder, None)

    def _tables_of(self, folder: PurePosixPath) -> list[dict[str, Metadata]]:
        if folder not in self._tables:
            directory = self.root / folder
            self._tables[folder] = [
                read_sidecar(directory / name)
                for name in SIDECAR_NAMES
                if (directory / name).is_file()
            ]
        return self._tables[folder]

    def lookup(self, rel: PurePosixPath) -> Metadata:
        """The row for `rel` in the nearest sidecar (its folder first, then upwards)."""
        folder = rel.parent
        while True:
            inner = (
                rel.relative_to(folder).as_posix()
                if folder != PurePosixPath(".")
                else rel.as_posix()
            )
            for table in self._tables_of(folder):
                found = table.get(inner) or table.get(rel.name)
                if found is not None:
                    return found
            if folder == PurePosixPath(".") or folder == folder.parent:
                return Metadata()
            folder = folder.parent


def _humanise(words: str) -> str:
    return re.sub(r"[-_]+", " ", words).strip()


def layout_metadata(rel: PurePosixPath) -> Metadata:
    """What the path says: a title from the file name, and in a WikiArt-style collection
    (its name contains "wikiart": ``<collection>/<Style>/<artist-name_title-words>.jpg``) the
    style from the folder and the artist and title from the file name. Elsewhere folders are
    not guessed at (``photos/2019/...`` is not a style); sidecars give the rest."""
    stem = PurePosixPath(rel.name).stem
    if "wikiart" not in rel.parts[0].lower():
        return Metadata(title=_humanise(stem) or None)
    style = rel.parts[1].replace("_", " ") if len(rel.parts) >= 3 else None
    if "_" not in stem:
        return Metadata(title=_humanise(stem) or None, style=style)
    artist, _, title = stem.partition("_")
    match = _YEAR.search(title)
    return Metadata(
        title=_humanise(title),
        artist=_humanise(artist).title(),
        style=style,
        year=int(match.group(1)) if match else None,
    )
