"""Create what the pipeline needs on running servers, from the contract files.

Idempotent: topics are created if missing (and their configs and partition counts brought up
to the file), the index is created from ``mappings/`` if missing (new fields are added to an
existing one; a changed vector size is refused), and each connector in ``connectors/`` is
created or updated with ``PUT /connectors/<name>/config``. The same functions run from
docker-compose's ``init`` service (``gallery init``) against the production cluster.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)
from elasticsearch import BadRequestError, Elasticsearch

from devstack.errors import ComponentError
from gallery_core.clients import admin_client
from gallery_core.contracts import ConnectorSpec, IndexSpec, TopicSpec
from gallery_core.probes import connector_status
from gallery_core.settings import Settings

__all__ = [
    "REVECTORIZE_META",
    "ensure_connector",
    "ensure_index",
    "ensure_topics",
    "needs_republish",
    "republished",
]

#: Mapping `_meta` key of an index re-created empty for a model with another vector size.
REVECTORIZE_META = "revectorize_watched_folder"

logger = logging.getLogger(__name__)


# --- Kafka topics -------------------------------------------------------------------------------


def ensure_topics(settings: Settings, topics: list[TopicSpec]) -> list[str]:
    """Create missing topics; align configs and grow partitions of existing ones."""
    admin = admin_client(settings, logger=logging.getLogger("devstack.bootstrap.librdkafka"))
    existing = admin.list_topics(timeout=10).topics
    created: list[str] = []
    missing = [t for t in topics if t.name not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(t.name, t.partitions, t.replication_factor, config=t.config)
                for t in missing
            ],
            operation_timeout=30,
        )
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise ComponentError("kafka", f"could not create topic {name}: {exc}") from exc
    for spec in topics:
        if spec.name not in existing:
            continue
        have = len(existing[spec.name].partitions)
        if have < spec.partitions:
            admin.create_partitions([NewPartitions(spec.name, spec.partitions)])[spec.name].result()
        resource = ConfigResource(
            ConfigResource.Type.TOPIC,
            spec.name,
            incremental_configs=[
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in spec.config.items()
            ],
        )
        for future in admin.incremental_alter_configs([resource]).values():
            future.result()
    return created


# --- Elasticsearch index ------------------------------------------------------------------------


def ensure_index(es: Elasticsearch, spec: IndexSpec, *, recreate: bool = False) -> bool:
    """Create the index if missing (True); otherwise bring it up to ``spec``.

    New fields and what Elasticsearch changes in place (a rescoring ``oversample``, say) are
    applied to the existing index. What it cannot change in place needs a new index:
    vectors of another size (a new model), an ``index_options`` type it refuses to convert
    (``bbq_hnsw`` to ``int8_hnsw``), another number of primary shards. With ``recreate``
    (the local stack) the old index is deleted and created anew, marked `REVECTORIZE_META`
    so that the watched folder is published again (`needs_republish`). Otherwise a vector
    change is an error, and a shard count only a warning: the index keeps answering as it
    is, and the operator re-creates (or ``_split``s) it when it suits them. The index is a
    derived view, rebuilt by vectorizing the images again.
    """
    if not es.indices.exists(index=spec.name):
        es.indices.create(index=spec.name, settings=spec.settings, mappings=spec.mappings)
        logger.info("created index %s", spec.name)
        return True
    current = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"]
    have = current.get("properties", {}).get(spec.vector_field, {})
    change = _vector_change(have, spec.mappings["properties"][spec.vector_field])
    if change is None or int(have.get("dims", spec.dims)) == spec.dims:
        try:  # new fields, a new oversample; some types convert in place (int8 to bbq)
            es.indices.put_mapping(index=spec.name, properties=spec.mappings["properties"])
            change = None
        except BadRequestError as exc:
            if change is None:
                raise
            logger.info("index %s: %s not converted in place (%s)", spec.name, change, exc)
    shards = _shard_change(es, spec)
    if change is None and shards is None:
        return False
    if not recreate:
        if change is None:
            logger.warning(
                "index %s has %s; it keeps answering as it is: re-create it (or split it "
                "with Elasticsearch's _split API) and re-ingest to adopt the new count",
                spec.name,
                shards,
            )
            return False
        raise ComponentError(
            "elasticsearch",
            f"index {spec.name} has {change} in mappings/: re-create the index and "
            "re-ingest the images",
        )
    logger.warning(
        "index %s: %s; re-creating it empty, the watched folder is published again",
        spec.name,
        change or shards,
    )
    es.indices.delete(index=spec.name)
    mappings = {**spec.mappings, "_meta": {REVECTORIZE_META: True}}
    es.indices.create(index=spec.name, settings=spec.settings, mappings=mappings)
    return True


def _vector_change(have: dict[str, Any], want: dict[str, Any]) -> str | None:
    """What differs in how the index holds its vectors, or None: ``have`` is the existing
    field's mapping, ``want`` the field in mappings/."""
    if "dims" in have and int(have["dims"]) != int(want["dims"]):
        return f"{have['dims']}-dim vectors where the model makes {want['dims']}"
    old = (have.get("index_options") or {}).get("type")
    new = (want.get("index_options") or {}).get("type")
    if old and new and old != new:
        return f"vectors indexed as {old} where the mapping asks for {new}"
    return None


def _shard_change(es: Elasticsearch, spec: IndexSpec) -> str | None:
    """The existing index's primary shard count where mappings/ asks for another, or None."""
    want = int(spec.settings.get("number_of_shards", 1))
    live = es.indices.get_settings(index=spec.name, name="index.number_of_shards")
    have = int(live[spec.name]["settings"]["index"]["number_of_shards"])
    return None if have == want else f"{have} primary shard(s) where the mapping asks for {want}"


def needs_republish(es: Elasticsearch, spec: IndexSpec) -> bool:
    """Was the index re-created empty (vectors or shards it could not change in place) and
    not yet refilled?"""
    meta = es.indices.get_mapping(index=spec.name)[spec.name]["mappings"].get("_meta") or {}
    return bool(meta.get(REVECTORIZE_META))


def republished(es: Elasticsearch, spec: IndexSpec) -> None:
    """Clear the `needs_republish` mark once the images were published again."""
    es.indices.put_mapping(index=spec.name, meta={})


# --- Kafka Connect ------------------------------------------------------------------------------


def ensure_connector(
    settings: Settings, spec: ConnectorSpec, timeout: float = 60.0
) -> dict[str, Any]:
    """Create or update the connector, then wait until it and its tasks are RUNNING."""
    urls = settings.connect.urls
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        base = urls[attempt % len(urls)]  # any worker of the group takes it
        try:
            response = httpx.put(
                f"{base}/connectors/{spec.name}/config", json=spec.config, timeout=30
            )
        except httpx.HTTPError as exc:
            response = None
            error = str(exc)
        if response is not None and response.status_code in (200, 201):
            break
        if response is not None and response.status_code not in (409, 500, 503):
            raise ComponentError(
                "connect", f"connector {spec.name} was refused: {response.text[:2000]}"
            )
        if time.monotonic() > deadline:
            reason = response.text[:500] if response is not None else error
            raise ComponentError("connect", f"could not register {spec.name}: {reason}")
        time.sleep(1)  # 409: a rebalance is in progress
    while True:
        status = connector_status(settings, spec.name)
        tasks = status["tasks"]
        if status["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks):
            return status
        failed = [t for t in tasks if t["state"] == "FAILED"]
        if status["state"] == "FAILED" or failed:
            trace = (failed[0].get("trace") if failed else "") or ""
            raise ComponentError(
                "connect", f"connector {spec.name} FAILED: {trace.splitlines()[0] if trace else ''}"
            )
        if time.monotonic() > deadline:
            raise ComponentError("connect", f"connector {spec.name} is not RUNNING: {status}")
        time.sleep(0.5)
