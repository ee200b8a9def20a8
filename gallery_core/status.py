"""The operator's status object: one typed model for ``gallery status --json`` and
``GET /api/status`` (see CONTRACT.md), probed over the network by `probe_status`.

Components: the three servers (``kafka``, ``connect``, ``elasticsearch``), the vectorizer
workers (their consumer group: members and lag), the watcher (``producer``: its heartbeat
file) and the ``api``. The connector's health is more than its REST state: a connector can
say RUNNING while it writes nothing, so the sink group's progress is remembered between calls
and a lag that has not moved for `SINK_STALL_AFTER_S` makes it unhealthy. The local stack adds
what only it knows (process ids, the Kafka version it installed); elsewhere those stay null.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel, Field

from gallery_core.contracts import load_connectors, load_index, load_topics
from gallery_core.probes import Health, Probes
from gallery_core.settings import Settings

__all__ = [
    "COMPONENTS",
    "SINK_STALL_AFTER_S",
    "ComponentStatus",
    "ConnectorStatus",
    "StackStatus",
    "TaskStatus",
    "judge_sink",
    "probe_status",
]

COMPONENTS = ("kafka", "connect", "elasticsearch", "worker", "producer", "api")
#: A sink that has not committed anything for this long while records wait is stalled.
SINK_STALL_AFTER_S = 120.0
#: A watcher whose heartbeat is older than this is not watching.
HEARTBEAT_FRESH_S = 30.0


class ComponentStatus(BaseModel):
    healthy: bool
    detail: str
    version: str | None = None
    info: dict[str, Any] = Field(default_factory=dict)
    #: Process id(s), when the local stack runs the component; null elsewhere.
    pid: int | None = None
    pids: list[int | None] | None = None

    @classmethod
    def of(cls, health: Health) -> ComponentStatus:
        return cls(**health.as_dict())


class TaskStatus(BaseModel):
    id: int
    state: str
    trace: str | None = None


class ConnectorStatus(BaseModel):
    name: str | None = None
    state: str
    tasks: list[TaskStatus] = Field(default_factory=list)
    healthy: bool = False
    detail: str = ""
    lag: int | None = None
    seconds_since_progress: float | None = None


class StackStatus(BaseModel):
    components: dict[str, ComponentStatus]
    watch_dir: str
    index: str
    index_docs: int | None
    elasticsearch_url: str
    api_url: str
    connector: ConnectorStatus
    dlq_count: int | None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def probe_status(settings: Settings, probes: Probes) -> StackStatus:
    """Every component's health, the connector, the index size and the dead letters."""
    topics, index = load_topics(), load_index()
    components = {
        "kafka": ComponentStatus.of(probes.kafka()),
        "connect": ComponentStatus.of(probes.connect()),
        "elasticsearch": ComponentStatus.of(probes.elasticsearch()),
        "worker": ComponentStatus.of(
            probes.consumer_group(settings.worker.group_id, topics.images.name)
        ),
        "producer": producer_status(settings),
        "api": ComponentStatus.of(probes.api()),
    }
    connectors = load_connectors()
    return StackStatus(
        components=components,
        watch_dir=str(settings.paths.watch_dir),
        index=index.name,
        index_docs=probes.doc_count(index.name),
        elasticsearch_url=settings.elasticsearch.url,
        api_url=settings.api.url,
        connector=(
            connector_status(settings, probes, connectors[0].name)
            if connectors
            else ConnectorStatus(state="NONE")
        ),
        dlq_count=probes.topic_size(topics.dlq.name),
    )


def producer_status(settings: Settings) -> ComponentStatus:
    """The watcher writes the time into ``<run_dir>/producer/heartbeat`` every few seconds."""
    beat = settings.paths.run_dir / "producer" / "heartbeat"
    try:
        age: float | None = time.time() - float(beat.read_text())
    except (OSError, ValueError):
        age = None
    if age is None:
        return ComponentStatus(healthy=False, detail="no heartbeat yet")
    return ComponentStatus(
        healthy=age < HEARTBEAT_FRESH_S,
        detail=f"watching {settings.paths.watch_dir}, heartbeat {age:.0f}s ago",
    )


def connector_status(settings: Settings, probes: Probes, name: str) -> ConnectorStatus:
    """Connector and task states, the sink's lag, and whether it is stuck.

    Progress is the sum of the sink group's committed offsets; it is remembered in the run
    folder between calls, so a lag that stops moving is seen as a stall.
    """
    state = probes.connector(name)
    group = probes.consumer_group(f"connect-{name}", load_topics().vectors.name)
    lag, committed = group.info.get("lag"), group.info.get("committed")
    memo = settings.paths.run_dir / "status" / f"{name}.progress.json"
    now = time.time()
    try:
        last = json.loads(memo.read_text())
    except (OSError, ValueError):
        last = {}
    if committed is not None and committed != last.get("committed"):
        last = {"committed": committed, "at": now}
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps(last))
    idle = now - float(last.get("at", now))
    healthy, detail = judge_sink(state, lag, idle)
    return ConnectorStatus(
        name=state.get("name"),
        state=state["state"],
        tasks=[TaskStatus(**t) for t in state.get("tasks", [])],
        healthy=healthy,
        detail=detail,
        lag=lag,
        seconds_since_progress=round(idle, 1),
    )


def judge_sink(
    state: dict[str, Any], lag: int | None, idle_s: float, stall_after_s: float = SINK_STALL_AFTER_S
) -> tuple[bool, str]:
    """Healthy only if the connector and every task run and records do not wait in vain."""
    tasks = state.get("tasks", [])
    if state.get("state") != "RUNNING" or not tasks or any(t["state"] != "RUNNING" for t in tasks):
        listed = ", ".join(f"{t['id']}:{t['state']}" for t in tasks) or "none"
        return False, f"connector {state.get('state')}, tasks {listed}"
    if lag and idle_s >= stall_after_s:
        return False, f"stalled: {lag} records waiting, nothing written for {idle_s:.0f}s"
    if lag:
        return True, f"writing, {lag} records to go"
    return True, "up to date" if lag == 0 else "running (lag unknown)"
