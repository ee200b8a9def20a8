"""Liveness, Prometheus metrics and the operator's status object."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gallery_api.deps import StateDep
from gallery_core.status import StackStatus, probe_status

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(state: StateDep) -> dict[str, str]:
    """200 when the API can serve: its model is loaded and Elasticsearch answers."""
    await state.index.ping()
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: StateDep) -> PlainTextResponse:
    return PlainTextResponse(
        generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get("/api/status", response_model=StackStatus)
async def status(state: StateDep) -> StackStatus:
    """The same object as `gallery status --json` (see CONTRACT.md), probed over the network;
    process ids are known to the local stack only and are null here."""
    result = await asyncio.get_running_loop().run_in_executor(
        state.executor, probe_status, state.settings, state.backends.probes
    )
    if result.index_docs is not None:
        state.metrics.indexed.set(result.index_docs)
    if result.dlq_count is not None:
        state.metrics.dead_lettered.set(result.dlq_count)
    return result
