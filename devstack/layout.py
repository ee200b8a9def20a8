"""Where the local stack keeps things: derived from Settings, in one place."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from devstack.topology import node_process
from devstack.versions import ELASTICSEARCH_VERSION, KAFKA_VERSION
from gallery_core.settings import REPO_ROOT, Settings

__all__ = ["EsNodePaths", "Layout", "running_as_root"]


def running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class EsNodePaths:
    """One Elasticsearch node's own folders (owned by its OS user when we are root)."""

    state: Path

    @property
    def config(self) -> Path:
        return self.state / "config"

    @property
    def data(self) -> Path:
        return self.state / "data"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def tmp(self) -> Path:
        return self.state / "tmp"


@dataclass(frozen=True)
class Layout:
    cache: Path
    run: Path
    #: The Elasticsearch distribution (shared by every checkout, like the cache).
    es_root: Path
    #: This checkout's node: config, data, logs (beside Kafka's data, so both start empty
    #: together and the index never outlives the topics it is derived from).
    es_state: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        run = settings.paths.run_dir
        if running_as_root():
            # Elasticsearch must run as an unprivileged user, who cannot reach root's home.
            es_root = settings.elasticsearch.system_home
            instance = hashlib.sha256(str(run).encode()).hexdigest()[:12]
            es_state = es_root / "nodes" / instance
        else:
            es_root = settings.paths.cache_dir / "elasticsearch"
            es_state = run / "elasticsearch"
        return cls(cache=settings.paths.cache_dir, run=run, es_root=es_root, es_state=es_state)

    # --- cache: downloads and builds, shared by every checkout -------------------------------
    @property
    def downloads(self) -> Path:
        return self.cache / "downloads"

    @property
    def kafka_lib(self) -> Path:
        return self.cache / f"kafka-{KAFKA_VERSION}" / "lib"

    @property
    def connect_plugins(self) -> Path:
        return self.cache / "connect-plugins"

    @property
    def es_plugin_zips(self) -> Path:
        return self.cache / "es-plugins"

    @property
    def maven_home(self) -> Path:
        return self.cache / "maven"

    @property
    def build_logs(self) -> Path:
        return self.cache / "build-logs"

    # --- Elasticsearch's own tree (owned by its OS user when we are root) ---------------------
    @property
    def es_home(self) -> Path:
        return self.es_root / f"elasticsearch-{ELASTICSEARCH_VERSION}"

    def es_node(self, number: int = 1) -> EsNodePaths:
        """Config, data, logs and tmp of the ``number``-th node (the first keeps `es_state`)."""
        state = (
            self.es_state
            if number == 1
            else self.es_state.with_name(f"{self.es_state.name}-{number}")
        )
        return EsNodePaths(state)

    # --- run folder: this checkout's processes ------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def pids(self) -> Path:
        return self.run / "pids"

    def kafka_dir(self, node_id: int = 1) -> Path:
        return self.run / node_process("kafka", node_id)

    def connect_dir(self, number: int = 1) -> Path:
        return self.run / node_process("connect", number)

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.pids / f"{component}.pid"

    # --- sources of the project's own Java code -----------------------------------------------
    @property
    def es_plugin_src(self) -> Path:
        return REPO_ROOT / "elasticsearch-plugin"

    @property
    def sink_connector_src(self) -> Path:
        return REPO_ROOT / "connectors" / "elasticsearch-sink"
