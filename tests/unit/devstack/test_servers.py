"""The local servers' generated configs agree with the settings and the contract files."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.layout import Layout
from devstack.provision import Installation
from devstack.servers import connect_launch, kafka_format_argv, kafka_launch
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
    spec = kafka_launch(settings, layout, inst)
    props = read_properties(Path(spec.argv[-1]))
    assert int(props["message.max.bytes"]) == settings.limits.max_record_bytes
    assert int(props["replica.fetch.max.bytes"]) == settings.limits.max_record_bytes
    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false"
    assert props["listeners"].count("127.0.0.1") == 2


def test_connect_fetches_and_produces_records_as_large_as_the_broker_accepts(env) -> None:  # type: ignore[no-untyped-def]
    settings, layout, inst = env
    spec = connect_launch(settings, layout, inst)
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
    kafka_launch(settings, layout, inst)
    argv = kafka_format_argv(layout, inst)
    assert argv is not None and "format" in argv
    cluster_id = argv[argv.index("-t") + 1]
    assert len(cluster_id) == 22
    (layout.kafka_dir / "data").mkdir(parents=True)
    (layout.kafka_dir / "data" / "meta.properties").write_text("formatted")
    assert kafka_format_argv(layout, inst) is None
