"""The declarative files the local stack and docker-compose.yml share, loaded once each.

- ``kafka/topics.json``: topic names, partitions and configs (production replication).
- ``mappings/<index>.json``: the Elasticsearch index's settings and mappings.
- ``connectors/<name>.json``: Kafka Connect connector configs; file name equals ``name``.

Keys starting with ``$`` (``$comment``) are documentation and are dropped on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gallery_core.settings import REPO_ROOT

__all__ = [
    "ConnectorSpec",
    "IndexSpec",
    "TopicSpec",
    "Topics",
    "load_connectors",
    "load_index",
    "load_topics",
]

TOPICS_FILE = REPO_ROOT / "kafka" / "topics.json"
MAPPINGS_DIR = REPO_ROOT / "mappings"
CONNECTORS_DIR = REPO_ROOT / "connectors"


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return {k: v for k, v in data.items() if not k.startswith("$")}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    role: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)

    def for_replication(self, replication_factor: int) -> TopicSpec:
        """The same topic for a cluster of another size (the local stack has one broker)."""
        config = dict(self.config)
        if "min.insync.replicas" in config:
            wanted = int(config["min.insync.replicas"])
            config["min.insync.replicas"] = str(min(wanted, max(1, replication_factor - 1)))
        return TopicSpec(self.name, self.role, self.partitions, replication_factor, config)


@dataclass(frozen=True)
class Topics:
    images: TopicSpec
    vectors: TopicSpec
    dlq: TopicSpec

    def all(self) -> list[TopicSpec]:
        return [self.images, self.vectors, self.dlq]


@dataclass(frozen=True)
class IndexSpec:
    name: str
    settings: dict[str, Any]
    mappings: dict[str, Any]

    @property
    def vector_field(self) -> str:
        return next(
            str(name)
            for name, spec in self.mappings["properties"].items()
            if spec.get("type") == "dense_vector"
        )

    @property
    def dims(self) -> int:
        return int(self.mappings["properties"][self.vector_field]["dims"])

    #: The nested field of region vectors (the whole picture and its regions).
    region_path: str = "regions"

    @property
    def region_vector_field(self) -> str:
        return f"{self.region_path}.vector"

    @property
    def region_dims(self) -> int:
        nested = self.mappings["properties"][self.region_path]["properties"]
        return int(nested["vector"]["dims"])


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    config: dict[str, str]
    path: Path


@lru_cache(maxsize=1)
def load_topics(path: Path = TOPICS_FILE) -> Topics:
    raw = _read_json(path)["topics"]
    by_role = {
        t["role"]: TopicSpec(
            name=t["name"],
            role=t["role"],
            partitions=int(t["partitions"]),
            replication_factor=int(t["replication_factor"]),
            config={k: str(v) for k, v in t.get("config", {}).items()},
        )
        for t in raw
    }
    return Topics(images=by_role["images"], vectors=by_role["vectors"], dlq=by_role["dlq"])


@lru_cache(maxsize=4)
def load_index(name: str = "paintings", directory: Path = MAPPINGS_DIR) -> IndexSpec:
    raw = _read_json(directory / f"{name}.json")
    if raw.get("index", name) != name:
        raise ValueError(f"mappings/{name}.json names index {raw['index']!r}")
    return IndexSpec(name=name, settings=raw["settings"], mappings=raw["mappings"])


def load_connectors(directory: Path = CONNECTORS_DIR) -> list[ConnectorSpec]:
    specs = []
    for path in sorted(directory.glob("*.json")):
        raw = _read_json(path)
        specs.append(
            ConnectorSpec(
                name=raw["name"],
                config={k: str(v) for k, v in raw["config"].items() if not k.startswith("$")},
                path=path,
            )
        )
    return specs
