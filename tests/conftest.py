"""Shared fixtures. Integration tests use the real local stack, started once per run.

If the stack is already up (a developer ran `gallery up`), the tests use it and leave it
running; if this run started it, this run stops it at the end so CI leaves no process behind.
Set GALLERY_TEST_KEEP_STACK=1 to keep a stack this run started.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from rich.console import Console

from gallery_core.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Settings]:
    from devstack.stack import down, up
    from gallery_core import probes

    already_up = all(
        check(settings).healthy
        for check in (probes.kafka_health, probes.connect_health, probes.elasticsearch_health)
    )
    console = Console(stderr=True)
    up(settings, console)  # cheap when running; reconciles topics, index and connector
    yield settings
    if not already_up and os.environ.get("GALLERY_TEST_KEEP_STACK") != "1":
        down(settings, console)
