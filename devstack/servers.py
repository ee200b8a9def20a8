"""How each local server is configured and launched: config files, argv and environment.

Pure functions of Settings + Layout + Installation, so `up` and the tests agree on them.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from devstack.layout import Layout, running_as_root
from devstack.provision import Installation, chown_tree
from gallery_core.settings import Settings

__all__ = ["LaunchSpec", "connect_launch", "elasticsearch_launch", "kafka_launch"]

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


def _port(url_or_hostport: str) -> int:
    if "://" in url_or_hostport:
        port = urlsplit(url_or_hostport).port
        if port is None:
            raise ValueError(f"{url_or_hostport} names no port")
        return port
    return int(url_or_hostport.rsplit(":", 1)[1])


def _java(inst: Installation) -> str:
    return str(inst.java_home / "bin" / "java")


def _write_properties(path: Path, values: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))


def _base_env(inst: Installation) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "TZ"}}
    return {**keep, "JAVA_HOME": str(inst.java_home)}


# --- Kafka (KRaft, one combined broker + controller) --------------------------------------------


def kafka_launch(settings: Settings, layout: Layout, inst: Installation) -> LaunchSpec:
    port = _port(settings.kafka.bootstrap_servers)
    cport = settings.kafka.controller_port
    data = layout.kafka_dir / "data"
    max_bytes = settings.limits.max_record_bytes
    props = layout.kafka_dir / "server.properties"
    _write_properties(
        props,
        {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@127.0.0.1:{cport}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": data,
            "num.partitions": 1,
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "min.insync.replicas": 1,
            "unclean.leader.election.enable": "false",
            "message.max.bytes": max_bytes,
            "replica.fetch.max.bytes": max_bytes,
            "group.initial.rebalance.delay.ms": 0,
            "log.retention.check.interval.ms": 60000,
        },
    )
    log4j = layout.kafka_dir / "log4j2.yaml"
    log4j.write_text(KAFKA_LOG4J2.format(name="kafka"))
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
        cwd=layout.kafka_dir,
    )


def kafka_format_argv(layout: Layout, inst: Installation) -> list[str] | None:
    """The one-time `kafka-storage format` command, or None if the log dir is formatted."""
    data = layout.kafka_dir / "data"
    if (data / "meta.properties").exists():
        return None
    # A KRaft cluster id is a UUID in URL-safe base64 without padding (22 characters).
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return [
        _java(inst),
        "-cp",
        f"{inst.kafka_lib}/*",
        f"-Dlog4j2.configurationFile={layout.kafka_dir / 'log4j2.yaml'}",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(layout.kafka_dir / "server.properties"),
    ]


# --- Kafka Connect (distributed mode, REST on loopback) ------------------------------------------


def connect_launch(settings: Settings, layout: Layout, inst: Installation) -> LaunchSpec:
    rest_port = _port(settings.connect.url)
    max_bytes = settings.limits.max_record_bytes
    group = settings.connect.group_id
    props = layout.connect_dir / "connect-distributed.properties"
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
            "config.storage.replication.factor": 1,
            "offset.storage.replication.factor": 1,
            "status.storage.replication.factor": 1,
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
    log4j = layout.connect_dir / "log4j2.yaml"
    log4j.write_text(KAFKA_LOG4J2.format(name="connect"))
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
        cwd=layout.connect_dir,
    )


# --- Elasticsearch (single node, loopback, as an unprivileged user) -----------------------------


def elasticsearch_launch(settings: Settings, layout: Layout, inst: Installation) -> LaunchSpec:
    es = settings.elasticsearch
    config = layout.es_config
    if not (config / "jvm.options").exists():
        shutil.copytree(inst.es_home / "config", config, dirs_exist_ok=True)
    for folder in (layout.es_data, layout.es_logs, layout.es_tmp, config / "jvm.options.d"):
        folder.mkdir(parents=True, exist_ok=True)
    (config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "# Written by `gallery up` for the local single-node stack; not for production.",
                "cluster.name: gallery-local",
                "node.name: gallery-local-1",
                "network.host: 127.0.0.1",
                f"http.port: {_port(es.url)}",
                f"transport.port: {es.transport_port}",
                "discovery.type: single-node",
                f"path.data: {layout.es_data}",
                f"path.logs: {layout.es_logs}",
                # Security is on in docker-compose.yml; the local node listens on loopback only.
                "xpack.security.enabled: false",
                # Disks here can be fairly full; a single local node must not go read-only.
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
        for folder in (layout.es_state.parent, layout.es_state):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        chown_tree(layout.es_config, entry.pw_uid, entry.pw_gid)
        for folder in (layout.es_data, layout.es_logs, layout.es_tmp):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    env = {
        **_base_env(inst),
        "ES_JAVA_HOME": str(inst.java_home),
        "ES_PATH_CONF": str(config),
        "ES_TMPDIR": str(layout.es_tmp),
        "HOME": str(layout.es_state),
    }
    return LaunchSpec(
        argv=[str(inst.es_home / "bin" / "elasticsearch")],
        env=env,
        cwd=layout.es_state,
        user=user,
    )
