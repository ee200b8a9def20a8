"""gallery_core.probes against swapped transports: several nodes per engine, one of them down."""

from __future__ import annotations

import httpx
from confluent_kafka.admin import PartitionMetadata, TopicMetadata

from gallery_core.probes import Probes, replication_state
from gallery_core.settings import Settings


def cluster_settings() -> Settings:
    settings = Settings(_env_file=None)
    settings.elasticsearch.url = "http://es-1:9200,http://es-2:9201"
    settings.connect.url = "http://connect-1:8083,http://connect-2:8084"
    return settings


def transport(down: set[str], routes: dict[str, httpx.Response]) -> httpx.Client:
    """A client whose hosts in ``down`` refuse connections and whose paths answer ``routes``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host in down:
            raise httpx.ConnectError("connection refused", request=request)
        for path, response in routes.items():
            if request.url.path == path:
                return httpx.Response(response.status_code, json=response.json())
        return httpx.Response(404, json={"error": "not found"})

    return httpx.Client(transport=httpx.MockTransport(handle))


ES_ROUTES = {
    "/_cluster/health": httpx.Response(
        200,
        json={
            "cluster_name": "gallery-local",
            "status": "yellow",
            "number_of_nodes": 1,
            "unassigned_shards": 3,
        },
    ),
    "/_nodes/_local": httpx.Response(200, json={"nodes": {"x": {"version": "8.19.21"}}}),
}


def test_elasticsearch_is_probed_through_any_node_that_answers() -> None:
    probes = Probes(cluster_settings(), http=transport({"es-1"}, ES_ROUTES))
    found = probes.elasticsearch()
    assert found.healthy and found.version == "8.19.21"
    assert found.info == {"status": "yellow", "nodes": 1, "unassigned_shards": 3}
    assert "1 node(s), 3 unassigned shard(s)" in found.detail


def test_elasticsearch_with_no_node_answering_is_unhealthy_and_names_them() -> None:
    probes = Probes(cluster_settings(), http=transport({"es-1", "es-2"}, ES_ROUTES))
    found = probes.elasticsearch()
    assert not found.healthy
    assert "http://es-1:9200" in found.detail and "http://es-2:9201" in found.detail


def test_elasticsearch_that_lost_its_master_is_told_from_nodes_that_are_down() -> None:
    no_master = httpx.Response(
        503, json={"error": {"type": "master_not_discovered_exception"}, "status": 503}
    )
    root = httpx.Response(200, json={"name": "es-2", "version": {"number": "8.19.21"}})
    routes = {"/_cluster/health": no_master, "/": root}
    probes = Probes(cluster_settings(), http=transport({"es-1"}, routes))
    found = probes.elasticsearch()
    assert not found.healthy
    assert found.detail.startswith("no elected master: 1 of 2 node(s) answer (http://es-2:9201)")
    assert found.info == {"status": "no_master", "nodes": 1, "unassigned_shards": None}


def test_a_node_that_answers_503_everywhere_without_a_master_still_counts_as_up() -> None:
    """Any HTTP answer means the node is up. (On the local cluster with one of two nodes
    killed, the status said "unreachable" while the other answered its health with a 503.)"""
    no_master = httpx.Response(
        503, json={"error": {"type": "master_not_discovered_exception"}, "status": 503}
    )
    routes = {"/_cluster/health": no_master, "/": no_master}
    found = Probes(cluster_settings(), http=transport({"es-1"}, routes)).elasticsearch()
    assert found.detail.startswith("no elected master: 1 of 2 node(s) answer (http://es-2:9201)")
    assert found.info == {"status": "no_master", "nodes": 1, "unassigned_shards": None}


def test_elasticsearch_health_failing_otherwise_is_not_called_a_lost_master() -> None:
    refused = httpx.Response(401, json={"error": {"type": "security_exception"}, "status": 401})
    root = httpx.Response(200, json={"name": "es-2"})
    probes = Probes(
        cluster_settings(), http=transport({"es-1"}, {"/_cluster/health": refused, "/": root})
    )
    found = probes.elasticsearch()
    assert not found.healthy and "no elected master" not in found.detail
    assert "1 of 2 node(s) answer" in found.detail and "health failed" in found.detail
    assert found.info["status"] == "unknown"


def test_connect_counts_the_workers_that_answer() -> None:
    routes = {"/": httpx.Response(200, json={"version": "4.3.1"})}
    found = Probes(cluster_settings(), http=transport({"connect-1"}, routes)).connect()
    assert found.healthy and found.info["nodes"] == 1 and found.info["workers"] == 2
    assert found.detail.startswith("1 of 2 workers answer (down: http://connect-1:8083")
    both = Probes(cluster_settings(), http=transport(set(), routes)).connect()
    assert both.info["nodes"] == 2 and both.detail == "2 of 2 workers answer"
    none = Probes(cluster_settings(), http=transport({"connect-1", "connect-2"}, routes)).connect()
    assert not none.healthy


def test_the_connector_state_comes_from_any_worker_and_a_404_is_missing() -> None:
    status = httpx.Response(
        200,
        json={
            "connector": {"state": "RUNNING"},
            "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "x"}],
        },
    )
    routes = {"/connectors/sink/status": status}
    found = Probes(cluster_settings(), http=transport({"connect-1"}, routes)).connector("sink")
    assert found == {"name": "sink", "state": "RUNNING", "tasks": [{"id": 0, "state": "RUNNING"}]}
    missing = Probes(cluster_settings(), http=transport(set(), {})).connector("sink")
    assert missing["state"] == "MISSING"
    unknown = Probes(cluster_settings(), http=transport({"connect-1", "connect-2"}, {})).connector(
        "sink"
    )
    assert unknown["state"] == "UNKNOWN"


def partition(pid: int, leader: int, replicas: list[int], isrs: list[int]) -> PartitionMetadata:
    p = PartitionMetadata()
    p.id, p.leader, p.replicas, p.isrs = pid, leader, replicas, isrs
    return p


def test_under_replicated_and_offline_partitions_are_counted() -> None:
    topic = TopicMetadata()
    topic.partitions = {
        0: partition(0, 1, [1, 2, 3], [1, 2, 3]),
        1: partition(1, 2, [1, 2, 3], [2, 3]),  # broker 1 is down: under-replicated
        2: partition(2, -1, [1], []),  # its only replica is down: offline
    }
    assert replication_state([topic]) == (2, 1)
    assert replication_state([]) == (0, 0)
