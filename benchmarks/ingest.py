"""End-to-end ingestion against the bare model, and watched-folder freshness.

1. Bare model: the same images, decoded and resized beforehand, through `encoder.encode` in
   batches of the worker's batch size, in this process (the worker is idle meanwhile).
   The ratio e2e / bare model is issue 3's figure.
2. No stream: the worker's own per-image work (decode, model input, thumbnail and display
   copy, in as many processes as the worker decodes with, then the batched model call) as a
   one-shot script would do it, without Kafka, Faust, Connect or Elasticsearch. The ratio
   e2e / no stream is what the streaming path itself costs.
3. End to end: `gallery ingest --wait` of the same images into a collection of their own:
   publish -> Kafka -> worker (decode + model) -> vectors -> Connect -> searchable.
   Images/s = images / (first publish .. last searchable).
4. Freshness: files copied one at a time into the watched folder; time from the copy to
   searchable (polling Elasticsearch every 50 ms without realtime get, i.e. after refresh).

All runs share the same CPU, one after the other. The CPU time of every component during
the end-to-end run is read from /proc, and `cpu_bound_ratio` is the best ratio those costs
allow: with every core busy all the time, e2e images/s can be at most
cores / (CPU seconds per image, all components).
Everything the benchmark indexed is removed again through the stream (tombstones).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from rich.console import Console

from devstack.processes import process_stats
from gallery_core.clients import es_client
from gallery_core.contracts import load_index, load_topics
from gallery_core.settings import Settings
from gallery_core.sources.paths import artwork_id
from gallery_core.vector_records import vector_producer
from producer.ingest import ingest
from producer.walk import walk_images

__all__ = ["run_ingest_benchmark", "sample_images"]

OPENCLIPART = Path("/usr/share/openclipart/png")


def _within_limits(path: Path, max_pixels: int) -> bool:
    from PIL import Image

    with Image.open(path) as img:
        return bool(img.size[0] * img.size[1] <= max_pixels)


def sample_images(count: int, seed: int = 0, max_pixels: int = 64_000_000) -> list[Path]:
    """`count` openclipart PNGs (Debian's openclipart-png), spread over its categories; only
    images within the pixel limit, so that both runs see the same, all decodable, images."""
    if not OPENCLIPART.is_dir():
        raise FileNotFoundError(
            f"{OPENCLIPART} not found: `apt-get install openclipart-png` gives the benchmark "
            "its real images"
        )
    files = sorted(p for p in walk_images(OPENCLIPART) if p.suffix.lower() == ".png")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    picked = []
    for i in order:
        if _within_limits(files[i], max_pixels):
            picked.append(files[i])
        if len(picked) == count:
            break
    return sorted(picked)


def _bare_model_rate(settings: Settings, images: list[Path], console: Console) -> dict[str, Any]:
    from gallery_core.imaging import decode_image, to_model_input
    from gallery_core.model.encoder import load_encoder

    encoder = load_encoder(settings.worker.model_path)
    with console.status("decoding for the bare-model run"):
        arrays = np.stack(
            [to_model_input(decode_image(p.read_bytes()), encoder.input_size) for p in images]
        )
    batch = settings.worker.batch_size
    encoder.encode(arrays[:batch])  # warm-up (graph tracing)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(0, len(arrays), batch):
        encoder.encode(arrays[i : i + batch])
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "model": f"{encoder.name} {encoder.version}",
        "batch_size": batch,
        "bare_model_images_per_s": round(len(arrays) / seconds, 1),
        "cpu_ms_per_image_bare_model": round(cpu / len(arrays) * 1000, 2),
    }


def _no_stream_rate(settings: Settings, images: list[Path], console: Console) -> dict[str, Any]:
    """The worker's per-image work and model calls as a plain script, with no stream around it."""
    from gallery_core.media import MediaStore
    from gallery_core.model.encoder import load_encoder
    from vectorizer.pipeline import DecodePool, PreparedImage

    encoder = load_encoder(settings.worker.model_path)
    batch = settings.worker.batch_size
    blobs = [p.read_bytes() for p in images]
    store = MediaStore(settings.paths.media_dir)
    encoder.encode(np.zeros((batch, encoder.input_size, encoder.input_size, 3), np.uint8))
    pool = DecodePool(workers=settings.worker.decode_processes)
    try:
        with console.status("no-stream run: decode, thumbnails and model in one script"):
            # Start the processes before the clock.
            pool.prepare_all(blobs[:1], encoder.input_size, 1 << 30, 1 << 30, store)
            started = time.perf_counter()
            for i in range(0, len(blobs), batch):
                prepared = pool.prepare_all(
                    blobs[i : i + batch],
                    encoder.input_size,
                    settings.limits.max_image_bytes,
                    settings.limits.max_image_pixels,
                    store,
                )
                pixels = [p.pixels for p in prepared if isinstance(p, PreparedImage)]
                encoder.encode(np.stack(pixels))
            seconds = time.perf_counter() - started
    finally:
        pool.close()
    return {"no_stream_images_per_s": round(len(blobs) / seconds, 1)}


def _cpu_seconds_by_group(pgids: dict[str, list[int]]) -> dict[str, float]:
    """CPU time (user + system, including reaped children) of every process in the groups."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(pgids, 0.0)
    names = {pgid: name for name, group in pgids.items() for pgid in group}
    for fields in process_stats():
        name = names.get(int(fields[2]))
        if name is not None:
            totals[name] += sum(int(x) for x in fields[11:15]) / tick
    return totals


def _component_groups(settings: Settings) -> dict[str, list[int]]:
    """Process groups per component (each process runs in its own session: pgid == pid)."""
    from devstack.layout import Layout
    from devstack.stack import app_processes, process

    layout = Layout.from_settings(settings)
    workers = [n for n in app_processes(settings) if n.startswith("worker")]
    groups: dict[str, list[int]] = {}
    for component, names in (
        ("worker", workers),
        ("elasticsearch", ["elasticsearch"]),
        ("connect", ["connect"]),
        ("kafka", ["kafka"]),
    ):
        pids = [pid for n in names if (pid := process(layout, n).pid()) is not None]
        if pids:
            groups[component] = pids
    return groups


def _remove(settings: Settings, ids: list[str]) -> None:
    producer = vector_producer(settings)
    for artwork in ids:
        producer.produce(load_topics().images.name, key=artwork.encode(), value=None)
    producer.flush(60)


def _freshness(settings: Settings, images: list[Path], console: Console) -> dict[str, Any]:
    collection = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    folder = settings.paths.watch_dir / collection
    folder.mkdir(parents=True)
    es = es_client(settings)
    index = load_index().name
    latencies = []
    try:
        with console.status(f"freshness: {len(images)} files, one at a time"):
            for n, source in enumerate(images):
                rel = f"{collection}/{n:04d}.png"
                target = settings.paths.watch_dir / rel
                started = time.monotonic()
                shutil.copyfile(source, target)
                key = artwork_id(PurePosixPath(rel))
                while time.monotonic() - started < 30:
                    doc = es.mget(index=index, ids=[key], source=False, realtime=False)["docs"][0]
                    if doc.get("found"):
                        latencies.append(time.monotonic() - started)
                        break
                    time.sleep(0.05)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the watcher turns this into tombstones
        es.close()
    ms = np.array(latencies) * 1000
    return {
        "freshness_collection": collection,
        "freshness_files": len(images),
        "freshness_searchable": len(latencies),
        "freshness_p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "freshness_p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
    }


def run_ingest_benchmark(
    settings: Settings,
    *,
    images: int = 1000,
    fresh_files: int = 50,
    files: list[Path] | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Every figure of the module docstring, as one flat dict.

    ``files`` (default: a spread of openclipart PNGs) are the images; the first
    ``images`` go through the throughput runs and the next ``fresh_files`` the freshness run.
    """
    console = console or Console(stderr=True)
    if files is None:
        files = sample_images(images + fresh_files, max_pixels=settings.limits.max_image_pixels)
    elif len(files) < images + fresh_files:
        raise ValueError(f"{len(files)} files given, {images + fresh_files} needed")
    bulk, fresh = files[:images], files[images:]
    collection = f"bench-{uuid.uuid4().hex[:8]}"
    result: dict[str, Any] = {"images": len(bulk), "collection": collection}
    result.update(_bare_model_rate(settings, bulk, console))
    result.update(_no_stream_rate(settings, bulk, console))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / collection).mkdir()
        for n, path in enumerate(bulk):
            shutil.copyfile(path, root / collection / f"{n:05d}.png")
        groups = _component_groups(settings)
        cpu_before = _cpu_seconds_by_group(groups)
        summary = ingest(settings, root, wait=True, force=True, console=console)
        cpu_after = _cpu_seconds_by_group(groups)
        ids = [artwork_id(PurePosixPath(f"{collection}/{n:05d}.png")) for n in range(len(bulk))]
    result.update(
        {
            "e2e_indexed": summary.indexed,
            "e2e_dead_lettered": summary.dead_lettered,
            "e2e_seconds": summary.seconds,
            "e2e_images_per_s": round(summary.indexed / summary.seconds, 1),
        }
    )
    result["ratio_e2e_to_model"] = round(
        result["e2e_images_per_s"] / result["bare_model_images_per_s"], 3
    )
    result["ratio_e2e_to_no_stream"] = round(
        result["e2e_images_per_s"] / result["no_stream_images_per_s"], 3
    )
    # Where the CPU went during the end-to-end run (the cores are shared by everything).
    total_ms = 0.0
    for name in groups:
        per_image = (cpu_after[name] - cpu_before[name]) / max(1, summary.indexed) * 1000
        result[f"cpu_ms_per_image_{name}"] = round(per_image, 2)
        total_ms += per_image
    cores = os.cpu_count() or 1
    result["cpu_cores"] = cores
    result["cpu_ms_per_image_all_components"] = round(total_ms, 2)
    if total_ms > 0:
        result["cpu_bound_images_per_s"] = round(cores * 1000 / total_ms, 1)
        result["cpu_bound_ratio"] = round(
            result["cpu_bound_images_per_s"] / result["bare_model_images_per_s"], 3
        )
    _remove(settings, ids)
    if fresh_files:
        result.update(_freshness(settings, fresh, console))
    return result
