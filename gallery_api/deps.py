"""FastAPI dependencies as `Annotated` aliases, so routes read as data."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from gallery_api.errors import Unauthorized
from gallery_api.search import ImageIndex
from gallery_api.state import ApiState

__all__ = ["AdminDep", "IndexDep", "StateDep"]


def get_state(request: Request) -> ApiState:
    return request.app.state.api  # type: ignore[no-any-return]


def get_index(request: Request) -> ImageIndex:
    return get_state(request).index


def require_admin(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    import hmac

    key = get_state(request).settings.api.admin_api_key
    if key is None:
        raise Unauthorized("admin endpoints are disabled (set GALLERY_API__ADMIN_API_KEY)")
    if x_api_key is None or not hmac.compare_digest(x_api_key, key.get_secret_value()):
        raise Unauthorized("a valid X-API-Key header is required")


StateDep = Annotated[ApiState, Depends(get_state)]
IndexDep = Annotated[ImageIndex, Depends(get_index)]
AdminDep = Annotated[None, Depends(require_admin)]
