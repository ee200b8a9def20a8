"""docker-compose.yml (production) says the same things as the local stack, from the same files.

There is no Docker engine on the development machines, so this parses the file and checks it
against devstack/versions.py, kafka/topics.json, connectors/ and mappings/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.versions import ELASTICSEARCH_VERSION, KAFKA_VERSION
from gallery_core.contracts import load_connectors, load_topics
from gallery_core.settings import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def brokers(compose: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in compose["services"].items() if k.startswith("kafka-")}


def test_images_use_the_pinned_versions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for broker in brokers(compose).values():
        assert broker["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["elasticsearch"]["image"].endswith(f":{ELASTICSEARCH_VERSION}")
    assert services["connect"]["build"]["args"]["KAFKA_VERSION"] == KAFKA_VERSION
    dockerfile = (REPO_ROOT / services["connect"]["build"]["dockerfile"]).read_text()
    assert f"ARG KAFKA_VERSION={KAFKA_VERSION}" in dockerfile


def test_kafka_runs_kraft_with_three_voters_and_the_production_durability(
    compose: dict[str, Any],
) -> None:
    nodes = brokers(compose)
    assert len(nodes) == 3
    max_bytes = str(Settings(_env_file=None).limits.max_record_bytes)
    for broker in nodes.values():
        env = broker["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert env["KAFKA_MESSAGE_MAX_BYTES"] == max_bytes
        assert "ZOOKEEPER" not in " ".join(env)


def test_topic_replication_fits_the_compose_cluster(compose: dict[str, Any]) -> None:
    for topic in load_topics().all():
        assert topic.replication_factor <= len(brokers(compose))


def test_elasticsearch_has_security_on_with_credentials_from_env(compose: dict[str, Any]) -> None:
    es = compose["services"]["elasticsearch"]
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert "ports" not in es, "Elasticsearch must not be published outside the compose network"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":
            continue
        assert "healthcheck" in service, name


def test_dependencies_wait_for_health_or_for_init_to_finish(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dep, cond in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully"
                if services[dep].get("restart") == "no"
                else "service_healthy"
            )
            assert cond == {"condition": wanted}, f"{name} -> {dep}"


def test_the_products_own_services_run_the_same_commands_as_the_local_stack(
    compose: dict[str, Any],
) -> None:
    from devstack.stack import app_argv

    settings = Settings(_env_file=None)
    services = compose["services"]
    assert services["worker"]["command"][1:] == app_argv(settings, "worker")
    assert services["watcher"]["command"][1:] == app_argv(settings, "producer")
    assert services["api"]["command"][:2] == ["uvicorn", "gallery_api.main:app"]
    assert services["worker"]["deploy"]["replicas"] <= load_topics().images.partitions
    # Only the API is published; Kafka, Connect and Elasticsearch stay on the compose network.
    published = [name for name, svc in services.items() if "ports" in svc]
    assert published == ["api"]


def test_init_applies_the_same_contract_files(compose: dict[str, Any]) -> None:
    init = compose["services"]["init"]
    assert init["command"] == ["gallery", "init"]
    mounts = {m.split(":")[0] for m in init["volumes"]}
    assert {"./kafka", "./mappings", "./connectors"} <= mounts
    for mount in mounts:
        assert (REPO_ROOT / mount).is_dir()


def test_connect_gives_the_connector_file_its_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["connect"]["environment"]
    (sink,) = load_connectors()
    referenced = {v[len("${env:") : -1] for v in sink.config.values() if v.startswith("${env:")}
    assert referenced <= set(env)
    worker = (REPO_ROOT / "docker" / "connect-distributed.properties").read_text()
    assert "config.providers.env.class=" in worker


def test_connect_worker_size_limits_match_the_image_limit() -> None:
    max_bytes = Settings(_env_file=None).limits.max_record_bytes
    worker = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "docker" / "connect-distributed.properties")
        .read_text()
        .splitlines()
        if line and not line.startswith("#")
    )
    for key in ("producer.max.request.size", "consumer.max.partition.fetch.bytes"):
        assert int(worker[key]) == max_bytes


def test_env_example_names_every_required_variable() -> None:
    import re

    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = Path(REPO_ROOT / ".env.example").read_text()
    for name in required:
        assert f"{name}=" in example


def test_the_service_image_contains_every_package_but_training_and_the_web_gallery() -> None:
    import tomllib

    dockerfile = (REPO_ROOT / "docker" / "gallery.Dockerfile").read_text()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    # training/ (model training, the style generator) is not shipped: no service imports it
    # (tests/unit/test_architecture.py), so the services' image leaves it out.
    assert "training" in packages and "COPY training/" not in dockerfile
    for name in packages:
        if name != "training":
            assert f"COPY {name}/ {name}/" in dockerfile, name
    assert "COPY web/ web/" in dockerfile


def test_two_connect_workers_share_one_group_and_every_client_names_both(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    workers = [s for name, s in services.items() if name.startswith("connect")]
    assert len(workers) == 2
    assert {w["hostname"] for w in workers} == {"connect", "connect-2"}
    assert all(w["build"] == workers[0]["build"] for w in workers)  # one image, one group
    urls = services["init"]["environment"]["GALLERY_CONNECT__URL"].split(",")
    assert urls == ["http://connect:8083", "http://connect-2:8083"]


def test_python_healthchecks_import_only_what_exists(compose: dict[str, Any]) -> None:
    """A healthcheck that imports a removed name fails forever, and silently."""
    import ast
    import importlib

    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        if test[:3] != ["CMD", "python", "-c"]:
            continue
        for node in ast.walk(ast.parse(test[3])):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{name}: {node.module}.{alias.name}"
