"""The local cluster (`gallery up --cluster`), started once for `make test-cluster`.

The single-node stack must be down (the cluster's first nodes take its ports); `make
test-cluster` stops it first. The cluster watches a folder of its own, not the checkout's. A cluster this run started is stopped (and forgotten) at the end
unless GALLERY_TEST_KEEP_STACK=1. Each fault test adds a line to the summary pytest prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from rich.console import Console

from devstack.topology import Topology
from gallery_core.settings import Settings

#: One line per fault test, printed in pytest's terminal summary.
RESULTS: list[str] = []


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from devstack.stack import down, forget_cluster, up, use_cluster

    # A watched folder of its own: the checkout's (the demo's 8,641 files) would queue ahead
    # of the tests' images, and its dead letters would count as theirs. The environment
    # beats stack.env, and the processes `up` starts inherit it.
    os.environ["GALLERY_PATHS__WATCH_DIR"] = str(tmp_path_factory.mktemp("cluster-watch"))
    console = Console(stderr=True)
    before = Settings()
    was_cluster = Topology.from_settings(before).is_cluster
    settings = use_cluster(before, console)
    up(settings, console)
    yield settings
    if not was_cluster and os.environ.get("GALLERY_TEST_KEEP_STACK") != "1":
        down(settings, console)
        forget_cluster()


@pytest.fixture
def report() -> Iterator[list[str]]:
    yield RESULTS


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if RESULTS:
        terminalreporter.section("node failures on the local cluster")
        for line in RESULTS:
            terminalreporter.write_line(line)
