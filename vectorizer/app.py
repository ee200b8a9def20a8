"""The Faust app of the vectorizer worker, and nothing else.

Run: ``python -m vectorizer worker -l info --without-web`` (``gallery up`` starts it).
"""

from __future__ import annotations

import faust

from gallery_core.contracts import load_topics
from gallery_core.settings import get_settings

settings = get_settings()
topics = load_topics()

app = faust.App(
    settings.worker.group_id,
    broker=";".join(f"kafka://{h}" for h in settings.kafka.brokers),
    autodiscover=["vectorizer"],
    origin="vectorizer",
    key_serializer="raw",
    value_serializer="raw",
    web_enabled=False,
    datadir=str(settings.paths.run_dir / "worker"),
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
    broker_max_poll_records=settings.worker.batch_size * 2,
    consumer_max_fetch_size=settings.limits.max_record_bytes,
    producer_max_request_size=settings.limits.max_record_bytes,
    producer_acks=-1,
    broker_commit_every=settings.worker.batch_size,
    broker_commit_interval=1.0,
    # Inference of a batch can take seconds on a CPU; the event loop stays free (it runs in an
    # executor), but be generous before the group decides the worker is gone (W12).
    broker_session_timeout=60.0,
    broker_heartbeat_interval=3.0,
    stream_processing_timeout=300.0,
    # aiokafka's fetcher does not ask for new metadata when a partition's leader dies: it
    # retries the dead broker until the metadata grows old (default 5 minutes). Measured on
    # the local cluster (make test-cluster): a broker killed mid-stream stopped both workers
    # for 6.9 minutes. A refresh this often finds the new leader within seconds.
    consumer_metadata_max_age_ms=int(settings.worker.metadata_max_age_s * 1000),
)

images_topic = app.topic(topics.images.name, internal=False)
vectors_topic = app.topic(topics.vectors.name, internal=False)
dlq_topic = app.topic(topics.dlq.name, internal=False)
