"""devstack.topology: the address lists are the topology; the cluster's dotenv."""

from __future__ import annotations

from pathlib import Path

from devstack.stack import stop_order
from devstack.topology import CLUSTER_SHAPE, Topology, cluster_env
from gallery_core.settings import Settings


def test_one_address_per_engine_is_the_single_node_stack() -> None:
    topology = Topology.from_settings(Settings(_env_file=None))
    assert not topology.is_cluster
    assert topology.processes == ["elasticsearch", "kafka", "connect"]
    assert topology.quorum_voters == "1@127.0.0.1:9093"


def test_the_cluster_env_names_every_node_and_a_run_folder_of_its_own(tmp_path: Path) -> None:
    dotenv = tmp_path / "stack.env"
    dotenv.write_text(cluster_env(Settings(_env_file=None), tmp_path / "cluster"))
    settings = Settings(_env_file=dotenv)
    assert settings.kafka.brokers == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    assert settings.connect.urls == ["http://127.0.0.1:8083", "http://127.0.0.1:8084"]
    assert settings.elasticsearch.urls == ["http://127.0.0.1:9200", "http://127.0.0.1:9201"]
    assert settings.paths.media_dir == (tmp_path / "cluster" / "media").resolve()
    topology = Topology.from_settings(settings)
    assert len(topology.kafka) == CLUSTER_SHAPE.brokers
    assert len(topology.connect) == CLUSTER_SHAPE.connect_workers
    assert len(topology.elasticsearch) == CLUSTER_SHAPE.elasticsearch_nodes
    assert [n.transport_port for n in topology.elasticsearch] == [9300, 9301]
    assert topology.processes == [
        "elasticsearch",
        "elasticsearch-2",
        "kafka",
        "kafka-2",
        "kafka-3",
        "connect",
        "connect-2",
    ]


def test_replication_is_capped_at_the_production_three() -> None:
    settings = Settings(_env_file=None)
    settings.kafka.bootstrap_servers = ",".join(f"127.0.0.1:{9092 + 2 * i}" for i in range(5))
    assert Topology.from_settings(settings).replication == 3


def test_down_stops_clients_before_the_servers_they_use() -> None:
    names = ["kafka-2", "elasticsearch", "worker-2", "connect-2", "api", "kafka", "connect"]
    assert stop_order([*names, "worker", "producer", "stack"]) == [
        "api",
        "producer",
        "worker",
        "worker-2",
        "connect",
        "connect-2",
        "kafka",
        "kafka-2",
        "elasticsearch",
    ]
