"""`gallery up` meeting an index made from older mappings (devstack.bootstrap.ensure_index)."""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from devstack.bootstrap import ensure_index, needs_republish
from devstack.errors import ComponentError
from gallery_core.clients import es_client
from gallery_core.contracts import IndexSpec, load_index
from gallery_core.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def es(stack: Settings) -> Iterator[Elasticsearch]:
    with es_client(stack) as client:
        yield client


@pytest.fixture
def spec(es: Elasticsearch) -> Iterator[IndexSpec]:
    """The product's mappings under a throw-away name."""
    product = load_index()
    made = replace(product, name=f"test-bootstrap-{uuid.uuid4().hex[:8]}")
    yield made
    es.indices.delete(index=made.name, ignore_unavailable=True)


def _with_embedding(spec: IndexSpec, **changes: Any) -> IndexSpec:
    mappings = copy.deepcopy(spec.mappings)
    embedding = mappings["properties"][spec.vector_field]
    for key, value in changes.items():
        embedding[key] = value
    return replace(spec, mappings=mappings)


def _one_doc(es: Elasticsearch, spec: IndexSpec, dims: int) -> None:
    vector = [1.0] + [0.0] * (dims - 1)
    es.index(index=spec.name, id="w1", document={"id": "w1", spec.vector_field: vector})
    es.indices.refresh(index=spec.name)


def test_a_new_rescoring_oversample_is_applied_in_place_and_keeps_the_documents(
    es: Elasticsearch, spec: IndexSpec
) -> None:
    options = spec.mappings["properties"][spec.vector_field]["index_options"]
    older = _with_embedding(spec, index_options={**options, "rescore_vector": {"oversample": 2.0}})
    assert ensure_index(es, older) is True
    _one_doc(es, older, spec.dims)
    assert ensure_index(es, spec) is False
    mapping = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    assert (
        mapping["properties"][spec.vector_field]["index_options"]["rescore_vector"]
        == (options["rescore_vector"])
    )
    assert es.count(index=spec.name)["count"] == 1
    assert not needs_republish(es, spec)


def test_another_vector_size_recreates_the_index_empty_and_asks_for_a_republish(
    es: Elasticsearch, spec: IndexSpec
) -> None:
    older = _with_embedding(spec, dims=spec.dims // 2)
    ensure_index(es, older)
    _one_doc(es, older, spec.dims // 2)
    assert ensure_index(es, spec, recreate=True) is True
    assert es.count(index=spec.name)["count"] == 0
    assert needs_republish(es, spec)
    mapping = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    assert mapping["properties"][spec.vector_field]["dims"] == spec.dims


def test_an_index_type_elasticsearch_cannot_convert_recreates_the_index(
    es: Elasticsearch, spec: IndexSpec
) -> None:
    options = spec.mappings["properties"][spec.vector_field]["index_options"]
    older = _with_embedding(spec, index_options={**options, "type": "bbq_hnsw"})
    newer = _with_embedding(spec, index_options={**options, "type": "int8_hnsw"})
    ensure_index(es, older)
    _one_doc(es, older, spec.dims)
    with pytest.raises(ComponentError, match="bbq_hnsw where the mapping asks for int8_hnsw"):
        ensure_index(es, newer)
    assert es.count(index=spec.name)["count"] == 1  # untouched without the local stack's leave
    assert ensure_index(es, newer, recreate=True) is True
    assert needs_republish(es, spec) and es.count(index=spec.name)["count"] == 0
    mapping = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    assert mapping["properties"][spec.vector_field]["index_options"]["type"] == "int8_hnsw"


def test_an_index_type_elasticsearch_converts_in_place_keeps_the_documents(
    es: Elasticsearch, spec: IndexSpec
) -> None:
    options = spec.mappings["properties"][spec.vector_field]["index_options"]
    older = _with_embedding(spec, index_options={**options, "type": "int8_hnsw"})
    newer = _with_embedding(spec, index_options={**options, "type": "bbq_hnsw"})
    ensure_index(es, older)
    _one_doc(es, older, spec.dims)
    assert ensure_index(es, newer) is False
    assert es.count(index=spec.name)["count"] == 1 and not needs_republish(es, spec)
    mapping = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    assert mapping["properties"][spec.vector_field]["index_options"]["type"] == "bbq_hnsw"


def region_options_of(spec: IndexSpec) -> dict[str, Any]:
    region = spec.mappings["properties"][spec.region_path]["properties"]["vector"]
    options: dict[str, Any] = region["index_options"]
    return options


def test_float_region_vectors_are_quantised_in_place_and_keep_the_documents(
    es: Elasticsearch, spec: IndexSpec
) -> None:
    """Indexes made before the region vectors were int8_hnsw convert on `gallery up`."""
    older_mappings = copy.deepcopy(spec.mappings)
    region = older_mappings["properties"][spec.region_path]["properties"]["vector"]
    # A float index had no rescoring (Elasticsearch takes rescore_vector on quantised types only).
    options = {k: v for k, v in region["index_options"].items() if k != "rescore_vector"}
    region["index_options"] = {**options, "type": "hnsw"}
    older = replace(spec, mappings=older_mappings)
    ensure_index(es, older)
    _one_doc(es, older, spec.dims)
    assert ensure_index(es, spec) is False
    assert es.count(index=spec.name)["count"] == 1 and not needs_republish(es, spec)
    mapping = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    vector = mapping["properties"][spec.region_path]["properties"]["vector"]
    assert vector["index_options"]["type"] == "int8_hnsw"
    assert (
        vector["index_options"].get("rescore_vector") == region_options_of(spec)["rescore_vector"]
    )


def test_another_shard_count_keeps_the_index_in_production_and_rebuilds_it_locally(
    es: Elasticsearch, spec: IndexSpec, caplog: pytest.LogCaptureFixture
) -> None:
    """Elasticsearch cannot change an index's primary shards in place (mappings/ may)."""
    older = replace(spec, settings={**spec.settings, "number_of_shards": 3})
    ensure_index(es, older)
    _one_doc(es, older, spec.dims)
    with caplog.at_level(logging.WARNING, logger="devstack.bootstrap"):
        assert ensure_index(es, spec) is False  # `gallery init`: the index keeps answering
    assert "3 primary shard(s) where the mapping asks for" in caplog.text
    assert es.count(index=spec.name)["count"] == 1 and not needs_republish(es, spec)
    assert ensure_index(es, spec, recreate=True) is True  # the local stack: rebuilt
    assert needs_republish(es, spec) and es.count(index=spec.name)["count"] == 0
    live = es.indices.get_settings(index=spec.name)[spec.name]["settings"]["index"]
    assert int(live["number_of_shards"]) == int(spec.settings["number_of_shards"])
    assert ensure_index(es, spec, recreate=True) is False  # and then left alone
