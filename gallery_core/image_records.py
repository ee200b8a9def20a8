"""The record on the images topic, written by the producer and read by the worker.

Key: the artwork id (UTF-8 hex). Value: the image file's bytes, or null (a tombstone) when the
file was removed. Headers carry everything else, so the value stays the untouched file:

- ``gallery.path``: path relative to the watched folder (or the ingested folder)
- ``gallery.collection``: its top-level subfolder
- ``gallery.sha256``: SHA-256 of the bytes (links identical images under different paths)
- ``gallery.metadata``: JSON object of sidecar/layout metadata (title, artist, style, ...)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImageHeaders", "encode_headers", "parse_headers"]

PATH = "gallery.path"
COLLECTION = "gallery.collection"
SHA256 = "gallery.sha256"
METADATA = "gallery.metadata"


@dataclass(frozen=True)
class ImageHeaders:
    path: str | None = None
    collection: str | None = None
    content_sha256: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def encode_headers(h: ImageHeaders) -> list[tuple[str, str | bytes | None]]:
    out: list[tuple[str, str | bytes | None]] = [
        (METADATA, json.dumps(h.metadata, separators=(",", ":")).encode())
    ]
    for name, value in ((PATH, h.path), (COLLECTION, h.collection), (SHA256, h.content_sha256)):
        if value is not None:
            out.append((name, value.encode()))
    return out


def parse_headers(
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None,
) -> ImageHeaders:
    items = headers.items() if isinstance(headers, Mapping) else (headers or [])
    raw = {k: v for k, v in items if v is not None}

    def text(name: str) -> str | None:
        value = raw.get(name)
        return value.decode("utf-8", errors="replace") if value is not None else None

    try:
        metadata = json.loads(raw.get(METADATA) or b"{}")
    except ValueError:
        metadata = {}
    return ImageHeaders(
        path=text(PATH),
        collection=text(COLLECTION),
        content_sha256=text(SHA256),
        metadata=metadata if isinstance(metadata, dict) else {},
    )
