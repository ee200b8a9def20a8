"""Clients of Kafka and Elasticsearch, configured in one place from `Settings`.

Every service opens its connections through these factories, so authentication, timeouts and
the producer's delivery guarantees are declared once: an idempotent ``acks=all`` producer
(no duplicate and no lost record on a broker failover), consumers that never auto-commit
unless asked, and Elasticsearch clients with the configured credentials.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from elasticsearch import AsyncElasticsearch, Elasticsearch

from gallery_core.settings import Settings

__all__ = [
    "admin_client",
    "async_es_client",
    "consumer",
    "es_auth",
    "es_client",
    "kafka_config",
    "producer",
    "producer_config",
]

#: librdkafka's own log lines: a broker that is down is reported by whoever asked.
_librdkafka = logging.getLogger("gallery_core.librdkafka")


def es_auth(settings: Settings) -> tuple[str, str] | None:
    """Basic-auth credentials for Elasticsearch, when the settings give both parts."""
    es = settings.elasticsearch
    if es.username and es.password:
        return (es.username, es.password.get_secret_value())
    return None


def es_client(settings: Settings, **options: Any) -> Elasticsearch:
    """A client of every configured node: a request goes to a live one (failed nodes are
    retried later), so the loss of one node of a cluster is not the client's loss."""
    return Elasticsearch(
        settings.elasticsearch.urls,
        basic_auth=es_auth(settings),
        **{"request_timeout": 30, **options},
    )


def async_es_client(settings: Settings, **options: Any) -> AsyncElasticsearch:
    return AsyncElasticsearch(
        settings.elasticsearch.urls,
        basic_auth=es_auth(settings),
        **{"request_timeout": 30, **options},
    )


def kafka_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """What every Kafka client shares: the brokers, and librdkafka logging through ours."""
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "logger": _librdkafka,
        **overrides,
    }


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The one producer configuration: idempotent, ``acks=all``, lz4, records up to the limit.

    Idempotence keeps a retried send from writing a record twice; ``acks=all`` with the
    topics' ``min.insync.replicas`` keeps an acknowledged record through a broker's loss.
    """
    return kafka_config(
        settings,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            "message.max.bytes": settings.limits.max_record_bytes,
            "delivery.timeout.ms": 300_000,
            **overrides,
        },
    )


def producer(settings: Settings, **overrides: Any) -> Producer:
    return Producer(producer_config(settings, **overrides))


def consumer(settings: Settings, group_id: str, **overrides: Any) -> Consumer:
    """A consumer in ``group_id`` that commits nothing unless ``overrides`` say so."""
    return Consumer(
        kafka_config(settings, **{"group.id": group_id, "enable.auto.commit": False, **overrides})
    )


def admin_client(settings: Settings, **overrides: Any) -> AdminClient:
    return AdminClient(kafka_config(settings, **overrides))
