"""The query benchmark's API side: the product's API in a child process, and its calls.

`api_server` runs ``create_app(settings, index=<bench spec>)`` under uvicorn in a spawned
process, as ``gallery up`` runs it, and yields its URL once ``/healthz`` answers.
`api_similar` times ``GET /api/artworks/{id}/similar``; `api_without_es` times a request
the API answers without Elasticsearch (a malformed id), the floor of its overhead.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import time
from collections.abc import Iterator

import httpx
import numpy as np
import numpy.typing as npt

from benchmarks.query_vectors import Vectors
from gallery_core.contracts import IndexSpec
from gallery_core.settings import Settings

__all__ = ["api_server", "api_similar", "api_without_es"]


class _SimilarByIdOnly:
    """The API's encoder for this benchmark: similar-by-id never encodes, so no model loads."""

    name = "none"
    version = "0"
    input_size = 224  # never used: nothing is decoded

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def encode(self, images: npt.NDArray[np.uint8]) -> Vectors:
        raise RuntimeError("the query benchmark's API serves similar-by-id only")


def _serve_api(settings: Settings, spec: IndexSpec, port: int) -> None:
    """Child process: the product's API over ``spec``, under uvicorn as ``gallery up`` runs it."""
    import uvicorn

    from gallery_api.main import create_app

    app = create_app(settings, encoder=_SimilarByIdOnly(spec.dims), index=spec)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_server(settings: Settings, spec: IndexSpec, timeout_s: float = 90.0) -> Iterator[str]:
    """The API over ``spec`` in a child process, for the ``with`` block: its base URL."""
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_serve_api, args=(settings, spec, port), name=f"bench-api-{spec.name}", daemon=True
    )
    proc.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if not proc.is_alive():
                raise RuntimeError(f"the benchmark API exited with code {proc.exitcode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the benchmark API did not become healthy in {timeout_s}s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.join(15)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def api_similar(
    client: httpx.Client, artwork_id: str, mode: str, k: int
) -> tuple[float, float, list[str]]:
    """``(wall seconds, the route's took_ms, ids)`` of one similar-by-id request."""
    started = time.perf_counter()
    response = client.get(f"/api/artworks/{artwork_id}/similar", params={"k": k, "mode": mode})
    seconds = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    return seconds, float(body["took_ms"]), [h["id"] for h in body["hits"]]


def api_without_es(client: httpx.Client, k: int) -> float:
    """Wall seconds of a similar request the API rejects (400) before calling Elasticsearch."""
    started = time.perf_counter()
    response = client.get("/api/artworks/not-an-id/similar", params={"k": k})
    seconds = time.perf_counter() - started
    if response.status_code != 400:
        raise RuntimeError(f"expected 400 for a malformed id, got {response.status_code}")
    return seconds
