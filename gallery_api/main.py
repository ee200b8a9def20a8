"""Build the FastAPI app: ``uvicorn gallery_api.main:app`` (``gallery up`` starts it).

Nothing connects at import: the Elasticsearch client, the model and the thread pool are
created in `lifespan` and closed in its `finally`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gallery_api.errors import install_error_handlers, problem
from gallery_api.metrics import Metrics
from gallery_api.ratelimit import UploadRateLimit
from gallery_api.routes import admin, artworks, health, map, ops, search
from gallery_api.state import ApiState, OpenBackends, open_backends
from gallery_core.contracts import IndexSpec, load_index
from gallery_core.media import MediaStore
from gallery_core.model.encoder import Encoder, load_encoder
from gallery_core.settings import REPO_ROOT, Settings, get_settings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

WEB_DIR = REPO_ROOT / "web"
#: Multipart framing on top of the largest accepted image.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class _ProblemFor413:
    """Starlette's body limit answers an over-large upload itself, in plain text, outside
    FastAPI's exception handlers; this outermost layer rewrites that one answer as problem
    JSON so that every error of the API has the same shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_problem(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"application/problem"):
                    replaced = True
                    response = problem(
                        413, "Payload too large", "the request body is larger than the upload limit"
                    )
                    await response(scope, receive, send)
                    return
            if replaced:
                return  # drop the plain-text body of the replaced answer
            await send(message)

        await self.app(scope, receive, send_problem)


class GalleryApi(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        return _ProblemFor413(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    index: IndexSpec | None = None,
    backends: OpenBackends = open_backends,
) -> FastAPI:
    """The API; `encoder` and `index` default to the shipped model and mappings/paintings.json,
    `backends` to the real connections (tests give fakes)."""
    settings = settings or get_settings()
    index_spec = index or load_index()
    # Built here, not in lifespan: a malformed limit refuses to create the app at all.
    upload_rate = UploadRateLimit(settings.api.upload_rate_limit, settings.api.upload_rate_storage)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="upload")
        try:
            async with backends(settings, index_spec) as opened:
                model: Encoder
                if encoder is not None:
                    model = encoder
                else:
                    model = await asyncio.get_running_loop().run_in_executor(
                        executor, load_encoder, settings.worker.model_path
                    )
                app.state.api = ApiState(
                    settings=settings,
                    backends=opened,
                    encoder=model,
                    media=MediaStore(settings.paths.media_dir),
                    executor=executor,
                    uploads=asyncio.Semaphore(settings.api.max_concurrent_uploads),
                    upload_rate=upload_rate,
                    metrics=metrics,
                )
                logger.info(
                    "API ready: index %s, exact search by %s, model %s %s",
                    index_spec.name,
                    opened.index.engine.value,
                    model.name,
                    model.version,
                )
                yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    app = GalleryApi(
        title="Artwork similarity",
        version="0.1.0",
        summary="Find works that look like a given work or an uploaded image.",
        lifespan=lifespan,
        docs_url="/docs",
        # Starlette's body limit: a larger Content-Length, or a chunked body that grows past
        # it, is answered 413 before it is buffered (A1).
        max_body_size=settings.limits.max_image_bytes + UPLOAD_OVERHEAD_BYTES,
    )
    metrics = Metrics()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(artworks.router)
    app.include_router(search.router)
    app.include_router(admin.router)
    app.include_router(map.router)
    app.include_router(ops.router)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST"],
            allow_credentials=False,
        )

    @app.middleware("http")
    async def _timing(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        status = 500  # an exception escaping the route is answered 500 by the error handler
        try:
            response: Response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            metrics.requests.labels(
                request.method, getattr(route, "path", "other"), str(status)
            ).observe(time.perf_counter() - started)

    if Path(WEB_DIR).is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn gallery_api.main:app` builds the app on first access, never at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
