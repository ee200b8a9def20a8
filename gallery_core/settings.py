"""The one settings object: every port, path and limit the product uses.

Values come from the environment with the prefix ``GALLERY_`` and ``__`` between a group and a
field, e.g. ``GALLERY_KAFKA__BOOTSTRAP_SERVERS=broker:9092`` or ``GALLERY_PATHS__CACHE_DIR=/data``;
a ``.env`` file in the working directory is read too, and before it `STACK_ENV`, which
`gallery up --cluster` writes (the local cluster's addresses and run folder) and `gallery down`
removes, so every process of the checkout sees the stack that runs. Nothing else in the code
calls ``os.getenv``.

A comma-separated address list names several nodes of one cluster (brokers, Connect workers,
Elasticsearch nodes); clients use any node that answers.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ApiSettings",
    "ConnectSettings",
    "ElasticsearchSettings",
    "KafkaSettings",
    "LimitSettings",
    "PathSettings",
    "ProducerSettings",
    "REPO_ROOT",
    "STACK_ENV",
    "Settings",
    "WorkerSettings",
    "get_settings",
]

#: The checkout this code runs from (the folder holding `connectors/`, `mappings/`, ...).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: The local stack's shape, written by `gallery up --cluster` and removed by `gallery down`:
#: a dotenv file read before ``.env`` (and below real environment variables).
STACK_ENV = REPO_ROOT / ".run" / "stack.env"

MiB = 1024 * 1024


def _split(addresses: str) -> list[str]:
    return [a.strip().rstrip("/") for a in addresses.split(",") if a.strip()]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "artwork-similarity"


class PathSettings(BaseModel):
    #: Downloads and builds (Kafka jars, the Elasticsearch distribution, plugins): outside the repo.
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    #: Pids, logs, configs and data of the local stack's processes.
    run_dir: Path = REPO_ROOT / ".run"
    #: The folder users drop images into; its top-level subfolders are collections.
    watch_dir: Path = REPO_ROOT / "watch"
    #: Thumbnails and served copies of images, written by the worker, read by the API.
    media_dir: Path = REPO_ROOT / ".run" / "media"

    @field_validator("cache_dir", "run_dir", "watch_dir", "media_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class KafkaSettings(BaseModel):
    #: A broker, or a comma-separated list of the cluster's brokers.
    bootstrap_servers: str = "127.0.0.1:9092"
    #: KRaft controller listener of the local stack's first combined broker/controller (each
    #: further broker's controller port is this plus its distance from the first broker port).
    controller_port: int = 9093
    heap: str = "768m"

    @property
    def brokers(self) -> list[str]:
        """``host:port`` of each bootstrap broker."""
        return _split(self.bootstrap_servers)


class ConnectSettings(BaseModel):
    #: The REST URL of a Connect worker, or a comma-separated list of the group's workers.
    url: str = "http://127.0.0.1:8083"
    heap: str = "768m"
    #: Kafka Connect's own internal topics (configs, offsets, status).
    group_id: str = "gallery-connect"

    @property
    def urls(self) -> list[str]:
        return _split(self.url)


class ElasticsearchSettings(BaseModel):
    #: A node's URL, or a comma-separated list of the cluster's nodes.
    url: str = "http://127.0.0.1:9200"
    #: Transport port of the local stack's first node (the next nodes take the next ports).
    transport_port: int = 9300
    username: str | None = None
    password: SecretStr | None = None
    heap: str = "2g"
    #: Elasticsearch refuses to run as root: as root, the stack runs it as this system user.
    os_user: str = "gallery-es"
    #: Where that user's Elasticsearch home, config and data live when the stack runs as root
    #: (root's own cache is not reachable by another user).
    system_home: Path = Path("/var/lib/gallery-es")

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in {"changeme", "password", ""}:
            raise ValueError("set a real Elasticsearch password, not a placeholder")
        return value

    @property
    def urls(self) -> list[str]:
        return _split(self.url)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    #: Origins allowed by CORS (exact origins; "*" is refused). Empty: same-origin only.
    cors_origins: list[str] = []
    #: Key for the admin endpoints (delete, re-index), sent as X-API-Key. None: admin is off.
    admin_api_key: SecretStr | None = None
    #: Largest k a client may ask for, and the kNN candidate cap.
    max_k: int = 100
    max_num_candidates: int = 2000
    #: Uploads decoded and embedded at once; more get 429 instead of queueing without bound.
    max_concurrent_uploads: int = 4
    #: Uploads one client (address) may send, as a moving window ("60/minute"); over it: 429
    #: with Retry-After. Counters in ``upload_rate_storage``: memory:// is per API process;
    #: redis://host:6379 shares them between replicas.
    upload_rate_limit: str = "60/minute"
    upload_rate_storage: str = "memory://"
    #: Script engine for exact search: auto (painless if the cluster has it), painless, or
    #: gallery_vector (the project's plugin, on the local node).
    script_engine: str = "auto"
    #: Collections the gallery shows first (home page, collection lists), in this order.
    featured_collections: list[str] = ["museum"]

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("CORS origin '*' is not allowed: list the exact origins")
        return value

    @field_validator("admin_api_key")
    @classmethod
    def _real_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the admin API key must be at least 16 characters")
        return value

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class WorkerSettings(BaseModel):
    """The vectorizer worker (Faust): batching, decode processes, model file."""

    #: Consumer group of the workers; more worker processes share the partitions.
    group_id: str = "gallery-vectorizer"
    #: Worker processes `gallery up` runs. Two use a 2-core machine better than one (decode,
    #: inference and Kafka round trips of one overlap with the other's); measured by
    #: `gallery bench ingest`. At most the image topic's partition count is useful.
    processes: int = 2
    batch_size: int = 32
    batch_within_s: float = 0.5
    decode_processes: int = 2
    #: How old the worker's view of partition leaders may grow: after a broker's loss it
    #: fetches from the new leaders at most this much later (vectorizer/app.py says why).
    metadata_max_age_s: float = 10.0
    #: A `.keras` file with its model card beside it; None: the shipped default model.
    model_path: Path | None = None


class ProducerSettings(BaseModel):
    """The watcher and `gallery ingest`."""

    #: A file is published once its size and mtime held still this long (or it was closed).
    settle_s: float = 1.0
    #: How often the watcher looks at files it has seen events for.
    poll_interval_s: float = 0.25


class LimitSettings(BaseModel):
    #: The largest image file the product accepts; every size limit on the way is derived from it.
    max_image_bytes: int = 32 * MiB
    #: The most pixels (width x height of the first frame) decoded; larger images are refused
    #: as `too_many_pixels` before any pixel is decoded (decompression bombs, W1).
    max_image_pixels: int = 64_000_000
    #: Room for the record's metadata and headers on top of the image bytes.
    record_overhead_bytes: int = 1 * MiB

    @property
    def max_record_bytes(self) -> int:
        """Broker `message.max.bytes`, topic `max.message.bytes`, producer and fetch sizes."""
        return self.max_image_bytes + self.record_overhead_bytes


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GALLERY_",
        env_nested_delimiter="__",
        env_file=(STACK_ENV, ".env"),
        extra="ignore",
    )

    paths: PathSettings = PathSettings()
    kafka: KafkaSettings = KafkaSettings()
    connect: ConnectSettings = ConnectSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    api: ApiSettings = ApiSettings()
    worker: WorkerSettings = WorkerSettings()
    producer: ProducerSettings = ProducerSettings()
    limits: LimitSettings = LimitSettings()

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> Settings:
        es = self.elasticsearch
        if (es.username is None) != (es.password is None):
            raise ValueError("set both GALLERY_ELASTICSEARCH__USERNAME and __PASSWORD, or neither")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
