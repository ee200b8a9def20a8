"""Health checks of the three servers, each bounded by a short timeout.

Used by `gallery up` (wait until healthy), `gallery status` and the API's `/api/status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient

from devstack.versions import KAFKA_VERSION
from gallery_core.settings import Settings

_quiet = logging.getLogger("devstack.health.librdkafka")
_quiet.setLevel(logging.CRITICAL)  # a broker that is down is reported by the check itself

__all__ = [
    "Health",
    "api_health",
    "connect_health",
    "connector_status",
    "elasticsearch_health",
    "es_auth",
    "kafka_health",
    "wait_until_healthy",
]


@dataclass
class Health:
    healthy: bool
    detail: str
    version: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client_config(settings: Settings) -> dict[str, Any]:
    # librdkafka takes a Python logger for its own log lines (the stubs type only scalars).
    return {"bootstrap.servers": settings.kafka.bootstrap_servers, "logger": _quiet}


def es_auth(settings: Settings) -> tuple[str, str] | None:
    es = settings.elasticsearch
    if es.username and es.password:
        return (es.username, es.password.get_secret_value())
    return None


def elasticsearch_health(settings: Settings, timeout: float = 3.0) -> Health:
    url = settings.elasticsearch.url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout, auth=es_auth(settings)) as client:
            health = client.get(f"{url}/_cluster/health").raise_for_status().json()
            nodes = client.get(f"{url}/_nodes/_local", params={"filter_path": "nodes.*.version"})
            versions = [n["version"] for n in nodes.raise_for_status().json()["nodes"].values()]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return Health(False, f"unreachable at {url}: {exc}")
    status = health.get("status")
    return Health(
        healthy=status in ("green", "yellow"),
        detail=f"cluster {health.get('cluster_name')} is {status}",
        version=versions[0] if versions else None,
        info={"status": status, "nodes": health.get("number_of_nodes")},
    )


def kafka_health(settings: Settings, timeout: float = 3.0) -> Health:
    admin = AdminClient(_client_config(settings))
    try:
        meta = admin.list_topics(timeout=timeout)
    except Exception as exc:  # KafkaException, or a timeout reported as one
        return Health(False, f"unreachable at {settings.kafka.bootstrap_servers}: {exc}")
    return Health(
        healthy=bool(meta.brokers),
        detail=f"{len(meta.brokers)} broker(s), {len(meta.topics)} topics",
        version=KAFKA_VERSION,
        info={"brokers": len(meta.brokers)},
    )


def connect_health(settings: Settings, timeout: float = 3.0) -> Health:
    url = settings.connect.url.rstrip("/")
    try:
        info = httpx.get(f"{url}/", timeout=timeout).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        return Health(False, f"unreachable at {url}: {exc}")
    return Health(True, "REST API up", version=info.get("version"), info=info)


def api_health(settings: Settings, timeout: float = 2.0) -> Health:
    url = settings.api.url
    try:
        httpx.get(f"{url}/healthz", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        return Health(False, f"not serving at {url}: {exc}")
    return Health(True, f"serving {url}")


def connector_status(settings: Settings, name: str, timeout: float = 3.0) -> dict[str, Any]:
    """{'name', 'state', 'tasks': [{'id', 'state', 'trace'?}]} or state 'MISSING'/'UNKNOWN'."""
    url = f"{settings.connect.url.rstrip('/')}/connectors/{name}/status"
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return {"name": name, "state": "UNKNOWN", "tasks": [], "detail": str(exc)}
    if response.status_code == 404:
        return {"name": name, "state": "MISSING", "tasks": []}
    body = response.json()
    return {
        "name": name,
        "state": body["connector"]["state"],
        "tasks": [
            {k: t[k] for k in ("id", "state", "trace") if k in t} for t in body.get("tasks", [])
        ],
    }


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


def consumer_group(settings: Settings, group: str, topic: str, timeout: float = 3.0) -> Health:
    """Members of a consumer group and its lag on `topic` (end offsets minus committed)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    admin = AdminClient(_client_config(settings))
    try:
        described = admin.describe_consumer_groups([group], request_timeout=timeout)[group].result()
        members = len(described.members)
        offsets_future = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )[group]
        committed = {
            tp.partition: tp.offset
            for tp in offsets_future.result().topic_partitions
            if tp.topic == topic
        }
        from confluent_kafka import Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": f"{group}-probe",
                "logger": _quiet,
            }
        )
        try:
            partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
            lag = 0
            for p in partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=timeout
                )
                done = committed.get(p, -1)
                lag += high - (done if done >= 0 else low)
            progress = sum(o for o in committed.values() if o >= 0)
        finally:
            consumer.close()
    except Exception as exc:
        return Health(False, f"group {group}: {exc}")
    return Health(
        healthy=members > 0,
        detail=f"{members} member(s) in {group}, lag {lag} on {topic}",
        info={"members": members, "lag": lag, "committed": progress, "state": str(described.state)},
    )
