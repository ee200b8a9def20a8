"""`gallery export-neighbours DIR --k 30`: one JSON file per artwork with its nearest works.

The shape archives publish for static sites (precomputed neighbours per work), made with the
same `ImageIndex.similar` the API answers with, so the files equal what the API would say.
Documents are read in pages with a point in time, and searched a few at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from gallery_api.queries import Metric, num_candidates_for, term_filters
from gallery_api.search import ImageIndex, Mode, Neighbours, detect_engine
from gallery_core.clients import async_es_client
from gallery_core.contracts import load_index
from gallery_core.documents import METADATA_FIELDS
from gallery_core.settings import Settings

__all__ = ["export_neighbours"]


def _work(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "path", "collection", *METADATA_FIELDS)
    return {k: doc[k] for k in keep if doc.get(k) is not None}


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1))
    os.replace(tmp, path)


async def _export(
    settings: Settings,
    out: Path,
    *,
    k: int,
    metric: Metric,
    mode: Mode,
    collection: str | None,
    console: Console,
) -> int:
    spec = load_index()
    es = async_es_client(settings, request_timeout=60)
    written = 0
    try:
        index = ImageIndex(es, spec, await detect_engine(es, settings.api.script_engine))
        filters = term_filters(collection=collection)
        total = await index.count(collection)
        gate = asyncio.Semaphore(4)

        async def one(doc: dict[str, Any]) -> None:
            nonlocal written
            async with gate:
                vector = doc.pop(spec.vector_field)
                hits = await index.similar(
                    vector,
                    Neighbours(
                        k=k,
                        metric=metric,
                        mode=mode,
                        num_candidates=num_candidates_for(k, settings.api.max_num_candidates),
                        model_version=doc.get("model_version"),
                        filters=tuple(filters),
                    ),
                    exclude_ids=[doc["id"]],
                )
            _write_json(
                out / f"{doc['id']}.json",
                {
                    **_work(doc),
                    "metric": metric.value,
                    "mode": mode.value,
                    "neighbours": [{**_work(d), "score": round(s, 6)} for d, s in hits],
                },
            )
            written += 1
            progress.advance(task)

        with Progress(console=console) as progress:
            task = progress.add_task("neighbours", total=total)
            async for page in index.scan(collection):
                await asyncio.gather(*(one(doc) for doc in page))
    finally:
        await es.close()
    return written


def export_neighbours(
    settings: Settings,
    out: Path,
    *,
    k: int = 30,
    metric: Metric = Metric.COSINE,
    mode: Mode = Mode.KNN,
    collection: str | None = None,
    console: Console,
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    job = _export(
        settings, out, k=k, metric=metric, mode=mode, collection=collection, console=console
    )
    # A thread of its own, so that a caller with an event loop running (a notebook, a test
    # session driving a browser) can call this too.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()
