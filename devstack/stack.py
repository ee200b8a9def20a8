"""`up`, `down` and `status` of the local stack.

`up` is a reconciler: it provisions what is missing, starts each server that is not running
(so after a crash or a `kill -9` it restarts just that one), waits for health, then creates
topics, the index and the connector from the contract files. Running it twice is cheap.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from rich.console import Console

from devstack import bootstrap, health
from devstack.errors import ComponentError
from devstack.layout import Layout
from devstack.processes import ManagedProcess
from devstack.provision import Installation, provision, tail
from devstack.servers import (
    LaunchSpec,
    connect_launch,
    elasticsearch_launch,
    kafka_format_argv,
    kafka_launch,
)
from devstack.versions import KAFKA_VERSION
from gallery_core import probes as net
from gallery_core.clients import es_client
from gallery_core.contracts import load_connectors, load_index, load_topics
from gallery_core.probes import Health, Probes
from gallery_core.settings import REPO_ROOT, Settings
from gallery_core.status import StackStatus, probe_status

__all__ = ["SERVERS", "Server", "down", "process", "status", "up"]

logger = logging.getLogger(__name__)

LOCAL_REPLICATION = 1


@dataclass(frozen=True)
class Server:
    name: str
    launch: Callable[[Settings, Layout, Installation], LaunchSpec]
    check: Callable[[Settings], Health]
    start_timeout: float


SERVERS = {
    "elasticsearch": Server("elasticsearch", elasticsearch_launch, net.elasticsearch_health, 120),
    "kafka": Server("kafka", kafka_launch, health.kafka_health, 60),
    "connect": Server("connect", connect_launch, net.connect_health, 90),
}


def app_processes(settings: Settings) -> list[str]:
    """Our own long-running processes: N vectorizer workers (they share the image topic's
    partitions in one consumer group), the watcher and the API."""
    workers = ["worker"] + [f"worker-{i}" for i in range(2, settings.worker.processes + 1)]
    return [*workers, "producer", "api"]


def app_argv(settings: Settings, name: str) -> list[str]:
    """How to run one of `app_processes` (argv after the Python interpreter)."""
    if name.startswith("worker-"):
        name = "worker"
    return {
        # --without-web: Faust would otherwise serve its web UI on 0.0.0.0:6066, and a
        # second worker on the same machine could not start.
        "worker": ["-m", "vectorizer", "worker", "-l", "info", "--without-web"],
        "producer": ["-m", "producer", "watch"],
        "api": [
            "-m",
            "uvicorn",
            "gallery_api.main:app",
            "--host",
            settings.api.host,
            "--port",
            str(settings.api.port),
            "--no-access-log",
        ],
    }[name]


def process(layout: Layout, name: str) -> ManagedProcess:
    return ManagedProcess(name, layout.pid_file(name), layout.log_file(name))


def _log_tail(layout: Layout, name: str) -> str:
    text = tail(layout.log_file(name), 25)
    if name == "elasticsearch":  # the node's own log has the reason; stdout often does not
        text += "\n" + tail(layout.es_logs / "gallery-local.log", 15)
    return text


def _start(settings: Settings, layout: Layout, inst: Installation, server: Server) -> None:
    proc = process(layout, server.name)
    if proc.alive():
        if server.name not in inst.stale:
            return
        logger.warning("restarting %s to load its rebuilt plugin", server.name)
        proc.stop(timeout=60)
    spec = server.launch(settings, layout, inst)
    if server.name == "kafka":
        fmt = kafka_format_argv(layout, inst)
        if fmt is not None:
            result = subprocess.run(fmt, capture_output=True, text=True, env=spec.env)
            if result.returncode != 0:
                raise ComponentError(
                    "kafka", "storage format failed", result.stdout + result.stderr
                )
    proc.start(spec.argv, env=spec.env, cwd=spec.cwd, user=spec.user)


def _await(settings: Settings, layout: Layout, server: Server, console: Console) -> Health:
    proc = process(layout, server.name)
    with console.status(f"waiting for {server.name}"):
        result = health.wait_until_healthy(
            lambda: server.check(settings),
            timeout=server.start_timeout,
            still_running=proc.alive,
        )
    if not result.healthy:
        raise ComponentError(
            server.name,
            f"not healthy after {server.start_timeout:.0f}s: {result.detail}",
            _log_tail(layout, server.name),
        )
    console.print(f"[green]✓[/] {server.name} {result.version or ''} healthy: {result.detail}")
    return result


@contextmanager
def _exclusive(layout: Layout, console: Console) -> Iterator[None]:
    """One `up` or `down` at a time per checkout: two at once would start everything twice."""
    layout.run.mkdir(parents=True, exist_ok=True)
    with (layout.run / "stack.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print("another `gallery up`/`down` is running here; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def up(settings: Settings, console: Console) -> StackStatus:
    layout = Layout.from_settings(settings)
    with _exclusive(layout, console):
        return _up(settings, layout, console)


def _up(settings: Settings, layout: Layout, console: Console) -> StackStatus:
    started = time.monotonic()
    inst = provision(settings, console)
    # Elasticsearch and Kafka start side by side; Connect needs Kafka.
    for name in ("elasticsearch", "kafka"):
        _start(settings, layout, inst, SERVERS[name])
    _await(settings, layout, SERVERS["kafka"], console)
    _start(settings, layout, inst, SERVERS["connect"])
    _await(settings, layout, SERVERS["elasticsearch"], console)

    topics = [t.for_replication(LOCAL_REPLICATION) for t in load_topics().all()]
    created = bootstrap.ensure_topics(settings, topics)
    console.print(
        f"[green]✓[/] topics {', '.join(t.name for t in topics)}"
        + (f" (created {', '.join(created)})" if created else "")
    )
    index = load_index()
    with es_client(settings) as es:
        bootstrap.ensure_index(es, index, recreate_on_new_dims=True)
        refill = bootstrap.needs_republish(es, index)
    console.print(
        f"[green]✓[/] index {index.name} ({index.vector_field}: {index.dims} dims)"
        + (
            " [yellow]re-created for a new model: the watched folder is published again[/]"
            if refill
            else ""
        )
    )

    _await(settings, layout, SERVERS["connect"], console)
    for spec in load_connectors():
        _restart_failed_tasks(settings, spec.name)
        state = bootstrap.ensure_connector(settings, spec)
        console.print(
            f"[green]✓[/] connector {spec.name} {state['state']} ({len(state['tasks'])} task(s))"
        )
    for name in app_processes(settings):
        start_app_process(settings, layout, name)
        console.print(f"[green]✓[/] {name} running (log: {layout.log_file(name)})")
    _await_api(settings, layout, console)
    console.print(f"[bold]gallery: {settings.api.url}/[/]")
    console.print(f"stack up in {time.monotonic() - started:.1f}s")
    return status(settings)


def _await_api(settings: Settings, layout: Layout, console: Console) -> Health:
    with console.status("waiting for the API (it loads the model)"):
        result = health.wait_until_healthy(
            lambda: net.api_health(settings),
            timeout=120,
            still_running=process(layout, "api").alive,
        )
    if not result.healthy:
        raise ComponentError("api", f"not serving: {result.detail}", _log_tail(layout, "api"))
    return result


def start_app_process(settings: Settings, layout: Layout, name: str) -> None:
    """Start one of our own processes (worker, producer) unless it is running."""
    proc = process(layout, name)
    if proc.alive():
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONUNBUFFERED"] = "1"
    argv = [
        sys.executable,
        "-m",
        "devstack.respawn",
        "--",
        sys.executable,
        *app_argv(settings, name),
    ]
    proc.start(argv, env=env, cwd=REPO_ROOT)


def _restart_failed_tasks(settings: Settings, name: str) -> None:
    """After an outage a task may be FAILED; `up` restarts it (and only the failed ones)."""
    state = net.connector_status(settings, name)
    if state["state"] == "FAILED" or any(t["state"] == "FAILED" for t in state["tasks"]):
        httpx.post(
            f"{settings.connect.url.rstrip('/')}/connectors/{name}/restart",
            params={"includeTasks": "true", "onlyFailed": "true"},
            timeout=30,
        )


def down(settings: Settings, console: Console) -> list[str]:
    """Stop everything this checkout started, newest first. Returns what was running."""
    layout = Layout.from_settings(settings)
    stopped = []
    with _exclusive(layout, console):
        # Every worker that ever ran here (the setting may have been lowered since).
        workers = sorted(p.stem for p in layout.pids.glob("worker-*.pid"))
        for name in ("api", "producer", *workers, "worker", "connect", "kafka", "elasticsearch"):
            proc = process(layout, name)
            if proc.stop(timeout=45):
                stopped.append(name)
                console.print(f"stopped {name}")
    return stopped


def status(settings: Settings) -> StackStatus:
    """The object `gallery status --json` prints (see CONTRACT.md): the network probes of
    `gallery_core.status`, plus the process ids and Kafka version only the local stack knows."""
    layout = Layout.from_settings(settings)
    with Probes(settings) as probes:
        found = probe_status(settings, probes)
    components = found.components
    for name in SERVERS:
        components[name].pid = process(layout, name).pid()
    components["kafka"].version = KAFKA_VERSION
    pids = [process(layout, n).pid() for n in app_processes(settings) if n.startswith("worker")]
    components["worker"].pid, components["worker"].pids = pids[0], pids
    components["api"].pid = process(layout, "api").pid()
    producer = components["producer"]
    producer.pid = process(layout, "producer").pid()
    if producer.pid is None:  # a heartbeat file left by a watcher that has stopped
        producer.healthy, producer.detail = False, "not running"
    return found
