"""The local stack's shape: which nodes of each engine run, on which ports, under which names.

The address lists in `Settings` are the topology: one Kafka broker (a combined KRaft
broker + controller) per bootstrap address, one Connect worker per Connect URL, one
Elasticsearch node per Elasticsearch URL. The single-node stack is the one-address case; the
local cluster (`gallery up --cluster`) is the production shape of docker-compose.yml on one
machine: 3 brokers (replication 3, min ISR 2), 2 Connect workers in one group, 2 Elasticsearch
nodes (1 replica). `cluster_env` writes its addresses into `gallery_core.settings.STACK_ENV`.

Pure: no process is started and no file is touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gallery_core.settings import Settings

__all__ = [
    "CLUSTER_SHAPE",
    "ClusterShape",
    "ConnectWorker",
    "ElasticsearchNode",
    "KafkaNode",
    "Topology",
    "cluster_env",
    "node_process",
]

#: Replication never exceeds the production value (kafka/topics.json says 3).
MAX_REPLICATION = 3


def _port(address: str) -> int:
    if "://" in address:
        port = urlsplit(address).port
        if port is None:
            raise ValueError(f"{address} names no port")
        return port
    return int(address.rsplit(":", 1)[1])


def node_process(component: str, number: int) -> str:
    """The process name of the ``number``-th node (1-based): ``kafka``, ``kafka-2``, ...

    The first node keeps the bare name, so a single-node stack's pid files, logs and data
    folders are those it always had."""
    return component if number == 1 else f"{component}-{number}"


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    port: int
    controller_port: int

    @property
    def process(self) -> str:
        return node_process("kafka", self.node_id)


@dataclass(frozen=True)
class ConnectWorker:
    number: int
    url: str

    @property
    def port(self) -> int:
        return _port(self.url)

    @property
    def process(self) -> str:
        return node_process("connect", self.number)


@dataclass(frozen=True)
class ElasticsearchNode:
    number: int
    http_port: int
    transport_port: int

    @property
    def name(self) -> str:
        return f"gallery-local-{self.number}"

    @property
    def process(self) -> str:
        return node_process("elasticsearch", self.number)


@dataclass(frozen=True)
class Topology:
    kafka: tuple[KafkaNode, ...]
    connect: tuple[ConnectWorker, ...]
    elasticsearch: tuple[ElasticsearchNode, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Topology:
        brokers = [_port(b) for b in settings.kafka.brokers]
        first_controller = settings.kafka.controller_port
        es_ports = [_port(u) for u in settings.elasticsearch.urls]
        return cls(
            kafka=tuple(
                KafkaNode(i, port, first_controller + (port - brokers[0]))
                for i, port in enumerate(brokers, start=1)
            ),
            connect=tuple(
                ConnectWorker(i, url) for i, url in enumerate(settings.connect.urls, start=1)
            ),
            elasticsearch=tuple(
                ElasticsearchNode(i, port, settings.elasticsearch.transport_port + i - 1)
                for i, port in enumerate(es_ports, start=1)
            ),
        )

    @property
    def is_cluster(self) -> bool:
        return max(len(self.kafka), len(self.connect), len(self.elasticsearch)) > 1

    @property
    def replication(self) -> int:
        """Replication factor of every topic (the product's and Connect's internal ones)."""
        return min(MAX_REPLICATION, len(self.kafka))

    @property
    def quorum_voters(self) -> str:
        """KRaft ``controller.quorum.voters``: every broker is also a controller."""
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.kafka)

    @property
    def processes(self) -> list[str]:
        """The servers' process names, in the order `gallery up` starts them."""
        return [
            *(n.process for n in self.elasticsearch),
            *(n.process for n in self.kafka),
            *(w.process for w in self.connect),
        ]


@dataclass(frozen=True)
class ClusterShape:
    brokers: int = 3
    connect_workers: int = 2
    elasticsearch_nodes: int = 2


#: The production topology of docker-compose.yml, which `gallery up --cluster` runs locally.
CLUSTER_SHAPE = ClusterShape()


def cluster_env(settings: Settings, run_dir: Path, shape: ClusterShape = CLUSTER_SHAPE) -> str:
    """The dotenv text that makes every process of the checkout use the local cluster.

    Ports continue from the single-node ones (brokers 9092, 9094, 9096 with controllers one
    above each; Connect 8083, 8084; Elasticsearch 9200, 9201); the cluster keeps its data,
    logs and pids in ``run_dir`` (a single-node stack's data cannot join a cluster)."""
    broker = _port(settings.kafka.brokers[0])
    connect = urlsplit(settings.connect.urls[0])
    es = urlsplit(settings.elasticsearch.urls[0])
    brokers = ",".join(f"127.0.0.1:{broker + 2 * i}" for i in range(shape.brokers))
    workers = ",".join(
        f"{connect.scheme}://{connect.hostname}:{(connect.port or 8083) + i}"
        for i in range(shape.connect_workers)
    )
    nodes = ",".join(
        f"{es.scheme}://{es.hostname}:{(es.port or 9200) + i}"
        for i in range(shape.elasticsearch_nodes)
    )
    return "".join(
        f"{key}={value}\n"
        for key, value in (
            ("GALLERY_PATHS__RUN_DIR", run_dir),
            ("GALLERY_PATHS__MEDIA_DIR", run_dir / "media"),
            ("GALLERY_KAFKA__BOOTSTRAP_SERVERS", brokers),
            ("GALLERY_CONNECT__URL", workers),
            ("GALLERY_ELASTICSEARCH__URL", nodes),
        )
    )
