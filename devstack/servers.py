"""How each local server is configured and launched: config files, argv and environment.

Functions of Settings + Layout + Installation + the node (`devstack.topology`), so `up` and
the tests agree on them; they write only the node's own config files.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from devstack.layout import Layout, running_as_root
from devstack.provision import Installation, chown_tree
from devstack.topology import ConnectWorker, ElasticsearchNode, KafkaNode, Topology
from gallery_core.settings import Settings

__all__ = [
    "LaunchSpec",
    "connect_launch",
    "elasticsearch_launch",
    "kafka_cluster_id",
    "kafka_format_argv",
    "kafka_launch",
]

KAFKA_LOG4J2 = """\
Configuration:
  name: {name}
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.clients
        level: WARN
      - name: org.reflections
        level: ERROR
"""


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    user: str | None = None


def _java(inst: Installation) -> str:
    return str(inst.java_home / "bin" / "java")


def _write_properties(path: Path, values: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))


def _base_env(inst: Installation) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "TZ"}}
    return {**keep, "JAVA_HOME": str(inst.java_home)}


# --- Kafka (KRaft: each broker is also a controller) ---------------------------------------------


def kafka_launch(
    settings: Settings, layout: Layout, inst: Installation, topology: Topology, node: KafkaNode
) -> LaunchSpec:
    folder = layout.kafka_dir(node.node_id)
    data = folder / "data"
    max_bytes = settings.limits.max_record_bytes
    replication = topology.replication
    min_isr = max(1, min(2, replication - 1))
    props = folder / "server.properties"
    _write_properties(
        props,
        {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": topology.quorum_voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": data,
            "num.partitions": 1,
            "auto.create.topics.enable": "false",
            "default.replication.factor": replication,
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": min_isr,
            "min.insync.replicas": min_isr,
            "unclean.leader.election.enable": "false",
            "message.max.bytes": max_bytes,
            "replica.fetch.max.bytes": max_bytes,
            "group.initial.rebalance.delay.ms": 0,
            "log.retention.check.interval.ms": 60000,
        },
    )
    log4j = folder / "log4j2.yaml"
    log4j.write_text(KAFKA_LOG4J2.format(name=node.process))
    java_opts = [
        f"-Xms{settings.kafka.heap}",
        f"-Xmx{settings.kafka.heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
    ]
    classpath = f"{inst.kafka_lib}/*"
    return LaunchSpec(
        argv=[_java(inst), *java_opts, "-cp", classpath, "kafka.Kafka", str(props)],
        env=_base_env(inst),
        cwd=folder,
    )


def kafka_cluster_id(layout: Layout) -> str:
    """The KRaft cluster id every broker of this run folder is formatted with (made once).

    A cluster id is a UUID in URL-safe base64 without padding (22 characters)."""
    path = layout.run / "kafka-cluster-id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
    return path.read_text().strip()


def kafka_format_argv(
    layout: Layout, inst: Installation, node: KafkaNode, cluster_id: str
) -> list[str] | None:
    """The one-time `kafka-storage format` command, or None if the log dir is formatted."""
    folder = layout.kafka_dir(node.node_id)
    if (folder / "data" / "meta.properties").exists():
        return None
    return [
        _java(inst),
        "-cp",
        f"{inst.kafka_lib}/*",
        f"-Dlog4j2.configurationFile={folder / 'log4j2.yaml'}",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(folder / "server.properties"),
    ]


# --- Kafka Connect (distributed mode, REST on loopback) ------------------------------------------


def connect_launch(
    settings: Settings,
    layout: Layout,
    inst: Installation,
    topology: Topology,
    worker: ConnectWorker,
) -> LaunchSpec:
    """One worker of the Connect group (every worker shares the group id and topics)."""
    rest_port = worker.port
    max_bytes = settings.limits.max_record_bytes
    group = settings.connect.group_id
    folder = layout.connect_dir(worker.number)
    props = folder / "connect-distributed.properties"
    _write_properties(
        props,
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": group,
            "listeners": f"http://127.0.0.1:{rest_port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": rest_port,
            "plugin.path": inst.connect_plugin_path,
            "plugin.discovery": "hybrid_warn",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "config.storage.topic": f"{group}.configs",
            "offset.storage.topic": f"{group}.offsets",
            "status.storage.topic": f"{group}.status",
            "config.storage.replication.factor": topology.replication,
            "offset.storage.replication.factor": topology.replication,
            "status.storage.replication.factor": topology.replication,
            "offset.flush.interval.ms": 5000,
            "config.providers": "env",
            "config.providers.env.class": (
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
            ),
            "connector.client.config.override.policy": "All",
            "producer.max.request.size": max_bytes,
            "consumer.max.partition.fetch.bytes": max_bytes,
            "consumer.fetch.max.bytes": max_bytes,
            "scheduled.rebalance.max.delay.ms": 10000,
        },
    )
    log4j = folder / "log4j2.yaml"
    log4j.write_text(KAFKA_LOG4J2.format(name=worker.process))
    es = settings.elasticsearch
    env = {
        **_base_env(inst),
        # Read by the connector file through Connect's env config provider, so that
        # connectors/*.json holds no address and no secret (docker-compose sets the same).
        "GALLERY_SINK_ES_URL": es.url,
        "GALLERY_SINK_ES_USERNAME": es.username or "",
        "GALLERY_SINK_ES_PASSWORD": es.password.get_secret_value() if es.password else "",
    }
    java_opts = [
        f"-Xms{settings.connect.heap}",
        f"-Xmx{settings.connect.heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
    ]
    return LaunchSpec(
        argv=[
            _java(inst),
            *java_opts,
            "-cp",
            f"{inst.kafka_lib}/*",
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(props),
        ],
        env=env,
        cwd=folder,
    )


# --- Elasticsearch (loopback, as an unprivileged user) -------------------------------------------


def elasticsearch_launch(
    settings: Settings,
    layout: Layout,
    inst: Installation,
    topology: Topology,
    node: ElasticsearchNode,
) -> LaunchSpec:
    es = settings.elasticsearch
    paths = layout.es_node(node.number)
    config = paths.config
    if not (config / "jvm.options").exists():
        shutil.copytree(inst.es_home / "config", config, dirs_exist_ok=True)
    for folder in (paths.data, paths.logs, paths.tmp, config / "jvm.options.d"):
        folder.mkdir(parents=True, exist_ok=True)
    if len(topology.elasticsearch) == 1:
        discovery = ["discovery.type: single-node"]
    else:
        peers = ", ".join(f"127.0.0.1:{n.transport_port}" for n in topology.elasticsearch)
        names = ", ".join(n.name for n in topology.elasticsearch)
        discovery = [
            f"discovery.seed_hosts: [{peers}]",
            # Read only when the cluster first forms (and ignored once it has a state).
            f"cluster.initial_master_nodes: [{names}]",
        ]
    (config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "# Written by `gallery up` for the local stack; not for production.",
                "cluster.name: gallery-local",
                f"node.name: {node.name}",
                "network.host: 127.0.0.1",
                f"http.port: {node.http_port}",
                f"transport.port: {node.transport_port}",
                *discovery,
                f"path.data: {paths.data}",
                f"path.logs: {paths.logs}",
                # Security is on in docker-compose.yml; the local nodes listen on loopback only.
                "xpack.security.enabled: false",
                # Disks here can be fairly full; a local node must not go read-only.
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: true",
                "",
            ]
        )
    )
    (config / "jvm.options.d" / "heap.options").write_text(f"-Xms{es.heap}\n-Xmx{es.heap}\n")
    user = None
    if running_as_root():
        user = es.os_user
        entry = pwd.getpwnam(user)
        for folder in (paths.state.parent, paths.state):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        chown_tree(config, entry.pw_uid, entry.pw_gid)
        for folder in (paths.data, paths.logs, paths.tmp):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    env = {
        **_base_env(inst),
        "ES_JAVA_HOME": str(inst.java_home),
        "ES_PATH_CONF": str(config),
        "ES_TMPDIR": str(paths.tmp),
        "HOME": str(paths.state),
    }
    return LaunchSpec(
        argv=[str(inst.es_home / "bin" / "elasticsearch")],
        env=env,
        cwd=paths.state,
        user=user,
    )
