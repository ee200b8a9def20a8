"""Waiting for a server of the local stack to become healthy.

The probes themselves are the product's (`gallery_core.probes`, over the network); the local
stack only adds what it knows about the servers it installed (the Kafka version).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from devstack.versions import KAFKA_VERSION
from gallery_core import probes
from gallery_core.probes import Health
from gallery_core.settings import Settings

__all__ = ["Health", "kafka_health", "wait_until_healthy"]


def kafka_health(settings: Settings) -> Health:
    """`gallery_core.probes.kafka_health`, with the version of the Kafka the stack runs."""
    return replace(probes.kafka_health(settings), version=KAFKA_VERSION)


def wait_until_healthy(
    check: Callable[[], Health],
    *,
    timeout: float,
    interval: float = 0.5,
    still_running: Callable[[], bool] | None = None,
) -> Health:
    """Poll `check` until healthy or timeout; stop early if the process died."""
    deadline = time.monotonic() + timeout
    health = check()
    while not health.healthy and time.monotonic() < deadline:
        if still_running is not None and not still_running():
            return Health(False, f"process exited ({health.detail})")
        time.sleep(interval)
        health = check()
    return health
