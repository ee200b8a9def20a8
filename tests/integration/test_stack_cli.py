"""`gallery status --json` and `gallery up` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack.layout import Layout
from devstack.stack import process
from devstack.topology import Topology
from gallery_core.contracts import load_connectors, load_index
from gallery_core.settings import Settings

pytestmark = pytest.mark.integration

GALLERY = [sys.executable, "-m", "gallery_cli.main"]


def test_status_json_reports_each_server_healthy_with_its_version(stack: Settings) -> None:
    out = subprocess.run([*GALLERY, "status", "--json"], capture_output=True, text=True, check=True)
    state = json.loads(out.stdout)
    assert set(state["components"]) >= {
        "kafka",
        "connect",
        "elasticsearch",
        "worker",
        "producer",
        "api",
    }
    for name in ("kafka", "connect", "elasticsearch"):
        comp = state["components"][name]
        assert comp["healthy"] is True, comp
        assert comp["version"], comp
        assert comp["detail"]
        assert comp["info"]["nodes"] == 1, comp  # the single-node stack
    assert state["components"]["kafka"]["info"]["under_replicated_partitions"] == 0
    assert state["components"]["elasticsearch"]["info"]["unassigned_shards"] == 0
    assert state["index"] == load_index().name
    assert state["connector"]["name"] == load_connectors()[0].name
    assert state["connector"]["state"] == "RUNNING"
    assert state["watch_dir"].startswith("/")
    assert isinstance(state["dlq_count"], int)


def test_second_up_reuses_the_running_servers(stack: Settings) -> None:
    layout = Layout.from_settings(stack)
    names = Topology.from_settings(stack).processes
    before = {name: process(layout, name).pid() for name in names}
    subprocess.run([*GALLERY, "up"], capture_output=True, text=True, check=True)
    after = {name: process(layout, name).pid() for name in names}
    assert before == after and all(before.values())
