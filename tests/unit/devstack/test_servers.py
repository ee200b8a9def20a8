"""The local servers' generated configs agree with the settings and the contract files."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.layout import Layout
from devstack.provision import Installation
from devstack.servers import (
    connect_launch,
    elasticsearch_launch,
    kafka_cluster_id,
    kafka_format_argv,
    kafka_launch,
)
from devstack.topology import Topology, cluster_env
from gallery_core.settings import Settings


@pytest.fixture
def env(tmp_path: Path) -> tuple[Settings, Layout, Installation]:
    settings = Settings(_env_file=None)
    layout = Layout(
        cache=tmp_path / "cache",
        run=tmp_path / "run",
        es_root=tmp_path / "es",
        es_state=tmp_path / "run" / "es",
    )
    inst = Installation(
        java_home=Path("/usr/lib/jvm/java"),
        kafka_lib=tmp_path / "cache" / "kafka" / "lib",
        es_home=tmp_path / "es" / "home",
        connect_plugin_path=tmp_path / "cache" / "connect-plugins",
    )
    return settings, layout, inst


def read_properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_broker_accepts_records_as_large_as_the_largest_image(env) -> None:  # type: ignore[no-untyped-def]
    settings, layout, inst = env
    topology = Topology.from_settings(settings)
    spec = kafka_launch(settings, layout, inst, topology, topology.kafka[0])
    props = read_properties(Path(spec.argv[-1]))
    assert int(props["message.max.bytes"]) == settings.limits.max_record_bytes
    assert int(props["replica.fetch.max.bytes"]) == settings.limits.max_record_bytes
    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false"
    assert props["listeners"].count("127.0.0.1") == 2


def test_connect_fetches_and_produces_records_as_large_as_the_broker_accepts(env) -> None:  # type: ignore[no-untyped-def]
    settings, layout, inst = env
    topology = Topology.from_settings(settings)
    spec = connect_launch(settings, layout, inst, topology, topology.connect[0])
    props = read_properties(Path(spec.argv[-1]))
    for key in ("producer.max.request.size", "consumer.max.partition.fetch.bytes"):
        assert int(props[key]) == settings.limits.max_record_bytes
    assert props["plugin.path"] == str(inst.connect_plugin_path)
    assert props["listeners"] == "http://127.0.0.1:8083"
    # The connector file's ${env:...} values resolve from the worker's environment.
    assert spec.env["GALLERY_SINK_ES_URL"] == settings.elasticsearch.url
    assert props["config.providers.env.class"].endswith("EnvVarConfigProvider")


def test_storage_is_formatted_once(env) -> None:  # type: ignore[no-untyped-def]
    settings, layout, inst = env
    topology = Topology.from_settings(settings)
    node = topology.kafka[0]
    kafka_launch(settings, layout, inst, topology, node)
    argv = kafka_format_argv(layout, inst, node, kafka_cluster_id(layout))
    assert argv is not None and "format" in argv
    cluster_id = argv[argv.index("-t") + 1]
    assert len(cluster_id) == 22
    (layout.kafka_dir() / "data").mkdir(parents=True)
    (layout.kafka_dir() / "data" / "meta.properties").write_text("formatted")
    assert kafka_format_argv(layout, inst, node, cluster_id) is None


def cluster_settings(tmp_path: Path) -> Settings:
    dotenv = tmp_path / "stack.env"
    dotenv.write_text(cluster_env(Settings(_env_file=None), tmp_path / "cluster"))
    return Settings(_env_file=dotenv)


def test_the_single_node_stack_keeps_its_folders_and_replication_one(env) -> None:  # type: ignore[no-untyped-def]
    settings, layout, inst = env
    topology = Topology.from_settings(settings)
    assert not topology.is_cluster and topology.replication == 1
    assert [n.process for n in topology.kafka] == ["kafka"]
    spec = kafka_launch(settings, layout, inst, topology, topology.kafka[0])
    props = read_properties(Path(spec.argv[-1]))
    assert spec.cwd == layout.run / "kafka"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"


def test_the_cluster_runs_three_brokers_that_vote_and_replicate_three_times(
    env,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    _, layout, inst = env
    settings = cluster_settings(tmp_path)
    assert settings.paths.run_dir == (tmp_path / "cluster").resolve()
    topology = Topology.from_settings(settings)
    assert topology.is_cluster and topology.replication == 3
    assert [(n.node_id, n.port, n.controller_port) for n in topology.kafka] == [
        (1, 9092, 9093),
        (2, 9094, 9095),
        (3, 9096, 9097),
    ]
    cluster_id = kafka_cluster_id(layout)
    seen = set()
    for node in topology.kafka:
        spec = kafka_launch(settings, layout, inst, topology, node)
        props = read_properties(Path(spec.argv[-1]))
        assert (
            props["controller.quorum.voters"]
            == "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
        )
        assert props["node.id"] == str(node.node_id)
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.min.isr"] == "2"
        assert props["min.insync.replicas"] == "2"
        seen.add(spec.cwd)
        argv = kafka_format_argv(layout, inst, node, cluster_id)
        assert argv is not None and argv[argv.index("-t") + 1] == cluster_id
    assert len(seen) == 3  # each broker its own log dir


def test_the_cluster_runs_two_connect_workers_in_one_group(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, layout, inst = env
    settings = cluster_settings(tmp_path)
    topology = Topology.from_settings(settings)
    props = [
        read_properties(Path(connect_launch(settings, layout, inst, topology, w).argv[-1]))
        for w in topology.connect
    ]
    assert [p["listeners"] for p in props] == ["http://127.0.0.1:8083", "http://127.0.0.1:8084"]
    assert {p["group.id"] for p in props} == {settings.connect.group_id}
    assert {p["config.storage.topic"] for p in props} == {f"{settings.connect.group_id}.configs"}
    assert all(p["status.storage.replication.factor"] == "3" for p in props)
    assert all(p["bootstrap.servers"] == settings.kafka.bootstrap_servers for p in props)


def test_the_cluster_runs_two_elasticsearch_nodes_that_find_each_other(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, layout, inst = env
    (inst.es_home / "config").mkdir(parents=True)
    (inst.es_home / "config" / "jvm.options").write_text("")
    settings = cluster_settings(tmp_path).model_copy(deep=True)
    settings.elasticsearch.os_user = "root"  # the test may run as root: chown to ourselves
    topology = Topology.from_settings(settings)
    folders = [
        Path(elasticsearch_launch(settings, layout, inst, topology, n).env["ES_PATH_CONF"])
        for n in topology.elasticsearch
    ]
    assert folders[0] == layout.es_state / "config" and folders[1] != folders[0]
    configs = [(folder / "elasticsearch.yml").read_text() for folder in folders]
    for number, text in enumerate(configs, start=1):
        assert f"node.name: gallery-local-{number}" in text
        assert f"http.port: {9199 + number}" in text
        assert f"transport.port: {9299 + number}" in text
        assert "discovery.seed_hosts: [127.0.0.1:9300, 127.0.0.1:9301]" in text
        assert "single-node" not in text
        assert "cluster.routing.allocation.disk.threshold_enabled: false" in text
