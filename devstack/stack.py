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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

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
    kafka_cluster_id,
    kafka_format_argv,
    kafka_launch,
)
from devstack.topology import KafkaNode, Topology, cluster_env
from devstack.versions import KAFKA_VERSION
from gallery_core import probes as net
from gallery_core.clients import es_client
from gallery_core.contracts import load_connectors, load_index, load_topics
from gallery_core.probes import Health, Probes
from gallery_core.settings import REPO_ROOT, STACK_ENV, Settings
from gallery_core.status import StackStatus, probe_status

__all__ = [
    "Server",
    "down",
    "engine_of",
    "forget_cluster",
    "process",
    "servers",
    "status",
    "up",
    "use_cluster",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    """One node of one engine: how to launch it and how long it may take to come up."""

    name: str
    launch: Callable[[], LaunchSpec]
    start_timeout: float
    #: What must be done before it starts, with its launch spec (a broker formats its storage).
    prepare: Callable[[LaunchSpec], None] | None = None


def servers(settings: Settings, layout: Layout, inst: Installation) -> dict[str, Server]:
    """Every node `topology` names, by process name (``kafka``, ``kafka-2``, ...)."""
    topo = Topology.from_settings(settings)
    found: list[Server] = [
        *(
            Server(n.process, partial(elasticsearch_launch, settings, layout, inst, topo, n), 120)
            for n in topo.elasticsearch
        ),
        *(
            Server(
                n.process,
                partial(kafka_launch, settings, layout, inst, topo, n),
                60,
                prepare=partial(_format_kafka_storage, layout, inst, n),
            )
            for n in topo.kafka
        ),
        *(
            Server(w.process, partial(connect_launch, settings, layout, inst, topo, w), 90)
            for w in topo.connect
        ),
    ]
    return {server.name: server for server in found}


def engine_of(name: str) -> str:
    """``kafka-2`` -> ``kafka``."""
    return name.split("-", 1)[0]


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
    if engine_of(name) == "elasticsearch":  # the node's own log has the reason
        number = int(name.rsplit("-", 1)[1]) if "-" in name else 1
        text += "\n" + tail(layout.es_node(number).logs / "gallery-local.log", 15)
    return text


def _start(layout: Layout, inst: Installation, server: Server) -> None:
    proc = process(layout, server.name)
    if proc.alive():
        if engine_of(server.name) not in inst.stale:
            return
        logger.warning("restarting %s to load its rebuilt plugin", server.name)
        proc.stop(timeout=60)
    spec = server.launch()
    if server.prepare is not None:
        server.prepare(spec)
    proc.start(spec.argv, env=spec.env, cwd=spec.cwd, user=spec.user)


def _format_kafka_storage(
    layout: Layout, inst: Installation, node: KafkaNode, spec: LaunchSpec
) -> None:
    """A broker's storage is formatted once, with the cluster's id, before its first start."""
    argv = kafka_format_argv(layout, inst, node, kafka_cluster_id(layout))
    if argv is None:
        return
    result = subprocess.run(argv, capture_output=True, text=True, env=spec.env)
    if result.returncode != 0:
        raise ComponentError(node.process, "storage format failed", result.stdout + result.stderr)


#: Each engine's health over the network, and how many of its nodes must answer for it.
CHECKS: dict[str, Callable[[Settings], Health]] = {
    "elasticsearch": net.elasticsearch_health,
    "kafka": health.kafka_health,
    "connect": net.connect_health,
}


def _await(settings: Settings, layout: Layout, nodes: list[Server], console: Console) -> Health:
    """Wait until the engine of ``nodes`` is healthy with all of them in it."""
    engine = engine_of(nodes[0].name)
    timeout = max(n.start_timeout for n in nodes)

    def check() -> Health:
        found = CHECKS[engine](settings)
        have = found.info.get("nodes")
        if found.healthy and have is not None and have < len(nodes):
            return Health(False, f"{have} of {len(nodes)} nodes up: {found.detail}")
        return found

    with console.status(f"waiting for {engine}"):
        result = health.wait_until_healthy(
            check,
            timeout=timeout,
            still_running=lambda: all(process(layout, n.name).alive() for n in nodes),
        )
    if not result.healthy:
        dead = [n.name for n in nodes if not process(layout, n.name).alive()] or [nodes[0].name]
        raise ComponentError(
            dead[0],
            f"not healthy after {timeout:.0f}s: {result.detail}",
            _log_tail(layout, dead[0]),
        )
    console.print(f"[green]✓[/] {engine} {result.version or ''} healthy: {result.detail}")
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


def use_cluster(settings: Settings, console: Console) -> Settings:
    """Make the local cluster the checkout's stack: write `STACK_ENV` (its addresses and run
    folder) and return the settings every process now reads. Refused while a single-node
    stack runs (the cluster's first nodes take the same ports)."""
    if Topology.from_settings(settings).is_cluster:
        return settings
    layout = Layout.from_settings(settings)
    running = [n for n in ("kafka", "elasticsearch", "connect") if process(layout, n).alive()]
    if running:
        raise ComponentError(
            running[0], "the single-node stack is running: stop it first (gallery down)"
        )
    STACK_ENV.parent.mkdir(parents=True, exist_ok=True)
    STACK_ENV.write_text(
        "# Written by `gallery up --cluster`, removed by `gallery down`: every process of this\n"
        "# checkout reads it (gallery_core.settings.STACK_ENV).\n"
        + cluster_env(settings, settings.paths.run_dir / "cluster")
    )
    console.print(f"local cluster: {STACK_ENV}")
    return Settings()


def forget_cluster() -> bool:
    """After `down`: the next `gallery up` is the single-node stack again."""
    if STACK_ENV.exists():
        STACK_ENV.unlink()
        return True
    return False


def up(settings: Settings, console: Console) -> StackStatus:
    layout = Layout.from_settings(settings)
    with _exclusive(layout, console):
        return _up(settings, layout, console)


def _up(settings: Settings, layout: Layout, console: Console) -> StackStatus:
    started = time.monotonic()
    inst = provision(settings, console)
    topology = Topology.from_settings(settings)
    nodes = servers(settings, layout, inst)
    of = {e: [s for s in nodes.values() if engine_of(s.name) == e] for e in CHECKS}
    # Elasticsearch and Kafka start side by side; Connect needs Kafka.
    for server in [*of["elasticsearch"], *of["kafka"]]:
        _start(layout, inst, server)
    _await(settings, layout, of["kafka"], console)
    for server in of["connect"]:
        _start(layout, inst, server)
    _await(settings, layout, of["elasticsearch"], console)

    topics = [t.for_replication(topology.replication) for t in load_topics().all()]
    created = bootstrap.ensure_topics(settings, topics)
    console.print(
        f"[green]✓[/] topics {', '.join(t.name for t in topics)}"
        + (f" (created {', '.join(created)})" if created else "")
    )
    index = load_index()
    with es_client(settings) as es:
        bootstrap.ensure_index(es, index, recreate=True)
        refill = bootstrap.needs_republish(es, index)
    console.print(
        f"[green]✓[/] index {index.name} ({index.vector_field}: {index.dims} dims)"
        + (
            " [yellow]re-created empty (its vectors or shards changed in mappings/)[/]"
            if refill
            else ""
        )
    )

    _await(settings, layout, of["connect"], console)
    for spec in load_connectors():
        _restart_failed_tasks(settings, spec.name)
        state = bootstrap.ensure_connector(settings, spec)
        console.print(
            f"[green]✓[/] connector {spec.name} {state['state']} ({len(state['tasks'])} task(s))"
        )
    for name in app_processes(settings):
        done = start_app_process(settings, layout, name)
        why = " (its model changed)" if done == "restarted" else ""
        console.print(f"[green]✓[/] {name} {done}{why} (log: {layout.log_file(name)})")
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


#: Our processes that load the model (`Settings.worker.model_path`, or the shipped file).
MODEL_LOADERS: Final = ("worker", "api")


def app_stamp(settings: Settings, name: str) -> str:
    """What a running process of ours must have been started with for `up` to keep it: for
    the workers and the API, the model file they load (its version, path, size and time),
    so that a model changed under a running stack (a new checkout, another
    ``GALLERY_WORKER__MODEL_PATH``) is loaded by restarting them; "" for the others."""
    if engine_of(name) not in MODEL_LOADERS:
        return ""
    from gallery_core.model.card import ModelCard, card_path_for
    from gallery_core.model.encoder import DEFAULT_MODEL_PATH

    path = Path(settings.worker.model_path or DEFAULT_MODEL_PATH).resolve()
    stat = path.stat()
    version = ModelCard.load(card_path_for(path)).version
    return f"model {version} {path} {stat.st_size} {stat.st_mtime_ns}"


def start_app_process(settings: Settings, layout: Layout, name: str) -> str:
    """Start one of our own processes (worker, producer, API) unless it is running with
    what it would be started with now (`app_stamp`); one started with something else is
    restarted. Returns what was done: "running", "started" or "restarted"."""
    proc = process(layout, name)
    stamp = app_stamp(settings, name)
    done = "started"
    if proc.alive():
        if proc.stamp() == stamp:
            return "running"
        logger.info("restarting %s: started with %r, now %r", name, proc.stamp(), stamp)
        proc.stop()
        done = "restarted"
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
    proc.start(argv, env=env, cwd=REPO_ROOT, stamp=stamp)
    return done


def _restart_failed_tasks(settings: Settings, name: str) -> None:
    """After an outage a task may be FAILED; `up` restarts it (and only the failed ones)."""
    state = net.connector_status(settings, name)
    if state["state"] == "FAILED" or any(t["state"] == "FAILED" for t in state["tasks"]):
        for url in settings.connect.urls:  # any worker of the group forwards it
            try:
                httpx.post(
                    f"{url}/connectors/{name}/restart",
                    params={"includeTasks": "true", "onlyFailed": "true"},
                    timeout=30,
                ).raise_for_status()
                return
            except httpx.HTTPError as exc:
                logger.warning("could not restart %s through %s: %s", name, url, exc)


#: Clients go before the servers they use: our own processes, Connect, Kafka, Elasticsearch.
STOP_ORDER = ("api", "producer", "worker", "connect", "kafka", "elasticsearch")


def stop_order(names: Iterable[str]) -> list[str]:
    """The stack's process names among ``names``, in the order `down` stops them."""
    ours = {n for n in names if engine_of(n) in STOP_ORDER}
    return sorted(ours, key=lambda n: (STOP_ORDER.index(engine_of(n)), n))


def down(settings: Settings, console: Console) -> list[str]:
    """Stop everything this checkout started, newest first. Returns what was running."""
    layout = Layout.from_settings(settings)
    stopped = []
    with _exclusive(layout, console):
        # Every process that ever ran here (a setting may have been lowered since).
        for name in stop_order(p.stem for p in layout.pids.glob("*.pid")):
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
    topology = Topology.from_settings(settings)
    for engine, names in (
        ("kafka", [n.process for n in topology.kafka]),
        ("connect", [w.process for w in topology.connect]),
        ("elasticsearch", [n.process for n in topology.elasticsearch]),
    ):
        pids = [process(layout, name).pid() for name in names]
        components[engine].pid = pids[0]
        if len(pids) > 1:
            components[engine].pids = pids
    components["kafka"].version = KAFKA_VERSION
    pids = [process(layout, n).pid() for n in app_processes(settings) if n.startswith("worker")]
    components["worker"].pid, components["worker"].pids = pids[0], pids
    components["api"].pid = process(layout, "api").pid()
    producer = components["producer"]
    producer.pid = process(layout, "producer").pid()
    if producer.pid is None:  # a heartbeat file left by a watcher that has stopped
        producer.healthy, producer.detail = False, "not running"
    return found
