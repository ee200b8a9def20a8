"""The declarative files agree with each other and with the code that uses them."""

from __future__ import annotations

import json

from gallery_core.contracts import CONNECTORS_DIR, load_connectors, load_index, load_topics
from gallery_core.model.spec import EMBEDDING_DIM, REGION_DIMS
from gallery_core.settings import Settings


def test_every_connector_file_is_named_after_its_connector() -> None:
    specs = load_connectors()
    assert specs, "connectors/ holds no connector"
    for spec in specs:
        assert spec.path.stem == spec.name


def test_connector_files_are_plain_json_objects_with_string_values() -> None:
    for path in CONNECTORS_DIR.glob("*.json"):
        raw = json.loads(path.read_text())
        assert all(isinstance(v, str) for v in raw["config"].values()), path


def test_mapping_vector_dims_equal_the_model_embedding_size() -> None:
    assert load_index().dims == EMBEDDING_DIM
    assert load_index().region_dims == REGION_DIMS


def test_sink_reads_the_vectors_topic_into_the_mapped_index() -> None:
    (sink,) = load_connectors()
    topics = load_topics()
    assert sink.config["topics"] == topics.vectors.name
    assert sink.config["index"] == load_index().name
    assert sink.config["errors.deadletterqueue.topic.name"] == topics.dlq.name
    assert sink.config["errors.tolerance"] == "all"
    assert sink.config["behavior.on.null.values"] == "delete"


def test_sink_config_holds_no_address_or_secret() -> None:
    (sink,) = load_connectors()
    for key in ("connection.url", "connection.username", "connection.password"):
        assert sink.config[key].startswith("${env:"), key


def test_image_topic_accepts_the_largest_accepted_image() -> None:
    images = load_topics().images
    assert (
        int(images.config["max.message.bytes"]) == Settings(_env_file=None).limits.max_record_bytes
    )


def test_vectors_topic_is_compacted_so_a_replay_rebuilds_the_index() -> None:
    assert load_topics().vectors.config["cleanup.policy"] == "compact"


def test_sink_parallelism_fits_the_vectors_topic() -> None:
    (sink,) = load_connectors()
    assert int(sink.config["tasks.max"]) <= load_topics().vectors.partitions


def test_production_topics_survive_one_broker_loss() -> None:
    for topic in load_topics().all():
        assert topic.replication_factor == 3
        assert topic.config["min.insync.replicas"] == "2"
        assert topic.config["unclean.leader.election.enable"] == "false"


def test_single_broker_replication_keeps_topics_writable() -> None:
    local = load_topics().images.for_replication(1)
    assert local.replication_factor == 1
    assert local.config["min.insync.replicas"] == "1"


def test_every_worker_process_can_own_a_partition() -> None:
    assert Settings(_env_file=None).worker.processes <= load_topics().images.partitions


def test_quantised_vector_fields_rescore_their_candidates_with_the_float_vectors() -> None:
    """int8 region vectors alone let a detail crop find the wrong painting in kNN mode
    (`tests/integration/test_photo_search.py`); rescoring with the float vectors fixed it."""
    properties = load_index().mappings["properties"]
    fields = {
        "embedding": properties["embedding"],
        "regions.vector": properties["regions"]["properties"]["vector"],
    }
    for name, field in fields.items():
        options = field["index_options"]
        assert options["type"].startswith(("int8_", "int4_", "bbq_")), name
        assert options["rescore_vector"]["oversample"] >= 2, name
