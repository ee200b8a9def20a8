"""API errors, all rendered as problem JSON (never a stack trace).

ApiError                 -> its own status
├── NotFound             404 unknown artwork
├── BadRequest           400 malformed id, bad parameter
├── PayloadTooLarge      413 upload over the limit
├── UnsupportedImage     415 not an image we accept (by magic bytes)
├── UnprocessableImage   422 an image that cannot be decoded (truncated, bomb, ...)
├── TooManyRequests      429 too many uploads being processed, or from one client
└── Unauthorized         401 admin endpoint without the right key
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "ApiError",
    "BadRequest",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableImage",
    "UnsupportedImage",
    "install_error_handlers",
    "problem",
]

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://artwork-similarity.invalid/problems/"


class ApiError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers

    def __init_subclass__(cls, *, status: int = 500, title: str = "Internal error") -> None:
        super().__init_subclass__()
        cls.status, cls.title = status, title


class NotFound(ApiError, status=404, title="Not found"): ...


class BadRequest(ApiError, status=400, title="Bad request"): ...


class PayloadTooLarge(ApiError, status=413, title="Payload too large"): ...


class UnsupportedImage(ApiError, status=415, title="Unsupported image"): ...


class UnprocessableImage(ApiError, status=422, title="Image cannot be decoded"): ...


class TooManyRequests(ApiError, status=429, title="Too many requests"): ...


class Unauthorized(ApiError, status=401, title="Unauthorized"): ...


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    return JSONResponse(
        {"type": PROBLEM_TYPE + slug, "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body"))
            parts.append(f"{where}: {err.get('msg')}")
        return problem(400, "Bad request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            dict(exc.headers) if exc.headers else None,  # e.g. the Allow of a 405
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "the server could not answer; see its log")
