"""Health probes of the servers and services, over the network, each bounded by a timeout.

`Probes` opens its connections once (an HTTP client, a Kafka admin client, a consumer for
watermarks, an Elasticsearch client) and answers one probe at a time; the API holds one for
its lifetime, `gallery status` one per call. The module-level functions are one-shot forms
for callers that probe once (the local stack waiting for a server to come up).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import httpx
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, TopicMetadata
from elasticsearch import Elasticsearch

from gallery_core.clients import admin_client, consumer, es_auth, es_client
from gallery_core.settings import Settings

T = TypeVar("T")

#: librdkafka's own lines about a broker that is down: the probe itself reports it.
_quiet = logging.getLogger("gallery_core.probes.librdkafka")
_quiet.setLevel(logging.CRITICAL)

__all__ = [
    "Health",
    "Probes",
    "api_health",
    "connect_health",
    "connector_status",
    "elasticsearch_health",
    "kafka_health",
    "once",
    "replication_state",
]


@dataclass
class Health:
    healthy: bool
    detail: str
    version: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Probes:
    """Connections for health probes, opened once; thread-safe (one probe at a time)."""

    def __init__(
        self, settings: Settings, timeout_s: float = 3.0, http: httpx.Client | None = None
    ) -> None:
        self.settings, self.timeout_s = settings, timeout_s
        self._http = http or httpx.Client(timeout=timeout_s)
        self._lock = threading.RLock()

    # Each client is made on first use: a probe of one server opens no connection to another.
    @cached_property
    def _admin(self) -> AdminClient:
        return admin_client(self.settings, logger=_quiet)

    @cached_property
    def _watermarks(self) -> Consumer:
        return consumer(self.settings, "gallery-status", logger=_quiet)

    @cached_property
    def _es(self) -> Elasticsearch:
        return es_client(self.settings, request_timeout=self.timeout_s)

    def close(self) -> None:
        self._http.close()
        if "_watermarks" in self.__dict__:
            self._watermarks.close()
        if "_es" in self.__dict__:
            self._es.close()

    def __enter__(self) -> Probes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_any(self, urls: list[str], path: str, **kwargs: Any) -> tuple[str, httpx.Response]:
        """GET ``path`` from the first of ``urls`` that answers (the nodes of one cluster)."""
        error: Exception = httpx.ConnectError("no URL configured")
        for url in urls:
            try:
                with self._lock:
                    return url, self._http.get(f"{url}{path}", **kwargs).raise_for_status()
            except httpx.HTTPError as exc:
                error = exc
        raise error

    def elasticsearch(self) -> Health:
        """The cluster's health through any node: status, nodes, unassigned shards."""
        urls = self.settings.elasticsearch.urls
        auth = es_auth(self.settings)
        try:
            # master_timeout: a node that has lost its master says so at once, not after 30 s.
            url, response = self._get_any(
                urls, "/_cluster/health", params={"master_timeout": "1s"}, auth=auth
            )
            body = response.json()
            _, nodes = self._get_any(
                [url], "/_nodes/_local", params={"filter_path": "nodes.*.version"}, auth=auth
            )
            versions = [n["version"] for n in nodes.json()["nodes"].values()]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return self._elasticsearch_without_health(urls, auth, exc)
        status, count = body.get("status"), body.get("number_of_nodes")
        unassigned = body.get("unassigned_shards", 0)
        detail = f"cluster {body.get('cluster_name')} is {status}"
        if len(urls) > 1 or (count or 0) > 1:
            detail += f", {count} node(s), {unassigned} unassigned shard(s)"
        return Health(
            healthy=status in ("green", "yellow"),
            detail=detail,
            version=versions[0] if versions else None,
            info={"status": status, "nodes": count, "unassigned_shards": unassigned},
        )

    def _elasticsearch_without_health(self, urls: list[str], auth: Any, error: Exception) -> Health:
        """No node gave the cluster's health: tell nodes that are down from a cluster that has
        lost its elected master (its nodes answer ``GET /``, searches on the shards they hold
        may still answer, writes wait for a master)."""
        answering = []
        for url in urls:
            try:
                self._get_any([url], "/", auth=auth)
            except httpx.HTTPStatusError:
                pass  # it answered, if only to say it cannot serve (a 503 without a master)
            except httpx.HTTPError:
                continue
            answering.append(url)
        if not answering:
            return Health(False, f"unreachable at {', '.join(urls)}: {error}")
        nodes = f"{len(answering)} of {len(urls)} node(s) answer ({', '.join(answering)})"
        # 503 (master_not_discovered) or no answer within master_timeout: no elected master.
        lost_master = isinstance(error, httpx.TimeoutException) or (
            isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 503
        )
        if not lost_master:
            return Health(
                False,
                f"{nodes} but the cluster's health failed: {error}",
                info={"status": "unknown", "nodes": len(answering), "unassigned_shards": None},
            )
        return Health(
            False,
            f"no elected master: {nodes} but not with the cluster's health ({error}); "
            "searches may still answer, writes wait for a master",
            info={"status": "no_master", "nodes": len(answering), "unassigned_shards": None},
        )

    def kafka(self) -> Health:
        """Brokers, and partitions with fewer in-sync replicas than replicas (or no leader)."""
        try:
            with self._lock:
                meta = self._admin.list_topics(timeout=self.timeout_s)
        except Exception as exc:  # KafkaException, or a timeout reported as one
            return Health(False, f"unreachable at {self.settings.kafka.bootstrap_servers}: {exc}")
        under, offline = replication_state(meta.topics.values())
        detail = f"{len(meta.brokers)} broker(s), {len(meta.topics)} topics"
        if under or offline:
            detail += f", {under} under-replicated and {offline} offline partition(s)"
        return Health(
            healthy=bool(meta.brokers) and not offline,
            detail=detail,
            info={
                "nodes": len(meta.brokers),
                "brokers": len(meta.brokers),
                "under_replicated_partitions": under,
                "offline_partitions": offline,
            },
        )

    def connect(self) -> Health:
        """Each configured worker of the Connect group asked on its own."""
        urls = self.settings.connect.urls
        answering: list[dict[str, Any]] = []
        errors: list[str] = []
        for url in urls:
            try:
                _, response = self._get_any([url], "/")
                answering.append(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
        if not answering:
            return Health(False, f"unreachable at {'; '.join(errors)}")
        detail = "REST API up"
        if len(urls) > 1:
            detail = f"{len(answering)} of {len(urls)} workers answer"
            if errors:
                detail += f" (down: {'; '.join(errors)})"
        return Health(
            True,
            detail,
            version=answering[0].get("version"),
            info={**answering[0], "nodes": len(answering), "workers": len(urls)},
        )

    def api(self) -> Health:
        url = self.settings.api.url
        try:
            with self._lock:
                self._http.get(f"{url}/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            return Health(False, f"not serving at {url}: {exc}")
        return Health(True, f"serving {url}")

    def connector(self, name: str) -> dict[str, Any]:
        """{'name', 'state', 'tasks': [{'id', 'state', 'trace'?}]} or state MISSING/UNKNOWN."""
        try:
            _, response = self._get_any(self.settings.connect.urls, f"/connectors/{name}/status")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return {"name": name, "state": "MISSING", "tasks": []}
            return {"name": name, "state": "UNKNOWN", "tasks": [], "detail": str(exc)}
        except httpx.HTTPError as exc:
            return {"name": name, "state": "UNKNOWN", "tasks": [], "detail": str(exc)}
        body = response.json()
        return {
            "name": name,
            "state": body["connector"]["state"],
            "tasks": [
                {k: t[k] for k in ("id", "state", "trace") if k in t} for t in body.get("tasks", [])
            ],
        }

    def topic_ranges(self, topic: str) -> dict[int, tuple[int, int]] | None:
        """(low, high) watermarks per partition of ``topic``; None if it does not exist."""
        with self._lock:
            meta = self._watermarks.list_topics(topic, timeout=self.timeout_s)
            found = meta.topics.get(topic)
            if found is None or found.error is not None:
                return None
            return {
                p: self._watermarks.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=self.timeout_s
                )
                for p in found.partitions
            }

    def topic_size(self, topic: str) -> int | None:
        """Records in ``topic``: the sum of its partitions' offset ranges; None if unknown."""
        try:
            ranges = self.topic_ranges(topic)
        except Exception:  # unreachable: status reports, never raises
            return None
        return None if ranges is None else sum(high - low for low, high in ranges.values())

    def consumer_group(self, group: str, topic: str) -> Health:
        """Members of a consumer group and its lag on ``topic`` (end offsets minus committed)."""
        try:
            with self._lock:
                described = self._admin.describe_consumer_groups(
                    [group], request_timeout=self.timeout_s
                )[group].result()
                offsets = self._admin.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout_s
                )[group].result()
            committed = {
                tp.partition: tp.offset for tp in offsets.topic_partitions if tp.topic == topic
            }
            ranges = self.topic_ranges(topic) or {}
        except Exception as exc:
            return Health(False, f"group {group}: {exc}")
        lag = 0
        for p, (low, high) in ranges.items():
            done = committed.get(p, -1)
            lag += high - (done if done >= 0 else low)
        members = len(described.members)
        return Health(
            healthy=members > 0,
            detail=f"{members} member(s) in {group}, lag {lag} on {topic}",
            info={
                "members": members,
                "lag": lag,
                "committed": sum(o for o in committed.values() if o >= 0),
                "state": str(described.state),
            },
        )

    def doc_count(self, index: str) -> int | None:
        try:
            with self._lock:
                return int(self._es.count(index=index)["count"])
        except Exception:  # unreachable or missing index: status reports, never raises
            return None


def replication_state(topics: Iterable[TopicMetadata]) -> tuple[int, int]:
    """(under-replicated, offline) partitions: fewer in-sync replicas than replicas, no leader."""
    partitions = [p for t in topics for p in t.partitions.values()]
    under = sum(1 for p in partitions if len(p.isrs) < len(p.replicas))
    offline = sum(1 for p in partitions if p.leader < 0)
    return under, offline


def once(check: Callable[[Probes], T]) -> Callable[[Settings], T]:
    """The one-shot form of a probe: open the connections, probe once, close them."""

    def probe(settings: Settings) -> T:
        with Probes(settings) as probes:
            return check(probes)

    return probe


elasticsearch_health = once(Probes.elasticsearch)
kafka_health = once(Probes.kafka)
connect_health = once(Probes.connect)
api_health = once(Probes.api)


def connector_status(settings: Settings, name: str) -> dict[str, Any]:
    with Probes(settings) as probes:
        return probes.connector(name)
