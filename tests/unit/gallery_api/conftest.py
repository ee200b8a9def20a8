"""Route tests of the API: the real app (`create_app`, its lifespan, error handlers and
middleware) over in-memory fakes of its backends. No Kafka, no Elasticsearch, no real model.

`FakeIndex` stands in for `ImageIndex` (documents with unit vectors, ranked by dot product),
`RecordingPublisher` for the image publisher, `FakeDeadLetters` for the dead-letter reader and
`FakeProbes` for the status probes; `make_client` builds the app with settings read from the
environment (paths under ``tmp_path``) and yields a `TestClient` whose lifespan has run.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gallery_api.main import create_app
from gallery_api.queries import Metric, ScriptEngine, model_filter
from gallery_api.search import Neighbours
from gallery_api.state import Backends
from gallery_core.contracts import IndexSpec, load_index
from gallery_core.dead_letters import FoundLetter
from gallery_core.image_records import ImageHeaders
from gallery_core.probes import Health
from gallery_core.settings import Settings, get_settings
from gallery_core.sources.paths import artwork_id
from tests.fakes import FakeEncoder, FakePublisher

SPEC = load_index()
VECTOR_FIELD = SPEC.vector_field
#: The encoder's version: similarity searches compare within this model version only.
MODEL_VERSION = FakeEncoder.version
#: A 16+ character admin key (the settings refuse shorter ones).
ADMIN_KEY = "admin-key-for-route-tests"
#: Any well-formed id that no fake document has.
UNKNOWN_ID = "f" * 64
PROBLEM_KEYS = {"type", "title", "status", "detail"}


# --- images and vectors ----------------------------------------------------------------------


def png_bytes(rgb: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, format="PNG")
    return buf.getvalue()


def noise_png(side: int, seed: int = 0) -> bytes:
    """An incompressible PNG: its size grows with ``side`` (about 3 bytes per pixel)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(rgb: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, format="JPEG")
    return buf.getvalue()


def colour_vector(rgb: tuple[int, int, int]) -> list[float]:
    """What the test encoder makes of a picture of one solid colour (a unit vector)."""
    encoder = FakeEncoder(dims=SPEC.dims)
    pixels = np.full((1, encoder.input_size, encoder.input_size, 3), rgb, dtype=np.uint8)
    return [float(x) for x in encoder.encode(pixels)[0]]


def work_id(path: str) -> str:
    """The artwork id the pipeline gives the file at ``path`` (relative to the watched folder)."""
    return artwork_id(PurePosixPath(path))


def work(
    path: str,
    rgb: tuple[int, int, int] | None = None,
    *,
    vector: Sequence[float] | None = None,
    model_version: str | None = MODEL_VERSION,
    **fields: Any,
) -> dict[str, Any]:
    """An index document for the file at ``path`` (its collection is the top folder)."""
    doc: dict[str, Any] = {
        "id": work_id(path),
        "path": path,
        "collection": path.split("/")[0],
        "title": Path(path).stem,
        "model": "fake",
        "model_version": model_version,
        **fields,
    }
    if vector is not None:
        doc[VECTOR_FIELD] = list(vector)
    elif rgb is not None:
        doc[VECTOR_FIELD] = colour_vector(rgb)
    return doc


# --- the fakes -------------------------------------------------------------------------------


def _matches(doc: dict[str, Any], filters: Sequence[dict[str, Any]]) -> bool:
    """Elasticsearch's ``term`` filters on keyword fields (the only kind the API sends)."""
    for clause in filters:
        ((kind, body),) = clause.items()
        if kind != "term":
            raise AssertionError(f"FakeIndex understands term filters only, not {clause}")
        ((name, value),) = body.items()
        if doc.get(name) != value:
            return False
    return True


@dataclass
class FakeIndex:
    """`ImageIndex` in memory: documents by id, each with a unit vector or none.

    ``similar`` ranks unit vectors on the API's score scale (cosine: their dot product + 1;
    l2: 1 / (1 + |a - b|)), honouring k, exclude_ids and term filters.
    ``error`` makes every call raise it (a cluster that fails in an unexpected way).
    """

    spec: IndexSpec = SPEC
    engine: ScriptEngine = ScriptEngine.PAINLESS
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: Exception | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def add(self, *docs: dict[str, Any]) -> None:
        for doc in docs:
            self.docs[doc["id"]] = doc

    def _call(self, method: str, **args: Any) -> None:
        self.calls.append((method, args))
        if self.error is not None:
            raise self.error

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def _public(self, doc: dict[str, Any], with_vector: bool = False) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if with_vector or k != VECTOR_FIELD}

    def _of(self, collection: str | None) -> list[dict[str, Any]]:
        return [
            d for d in self.docs.values() if collection is None or d["collection"] == collection
        ]

    async def get(self, artwork_id: str, *, with_vector: bool = False) -> dict[str, Any] | None:
        self._call("get", artwork_id=artwork_id, with_vector=with_vector)
        doc = self.docs.get(artwork_id)
        return None if doc is None else self._public(doc, with_vector)

    async def ping(self) -> None:
        self._call("ping")

    async def browse(
        self, *, limit: int, offset: int, collection: str | None, seed: int | None
    ) -> tuple[int, list[dict[str, Any]]]:
        self._call("browse", limit=limit, offset=offset, collection=collection, seed=seed)
        found = sorted(self._of(collection), key=lambda d: d["id"])
        if seed is not None:
            random.Random(seed).shuffle(found)
        return len(found), [self._public(d) for d in found[offset : offset + limit]]

    async def collection_counts(self) -> tuple[int, list[tuple[str, int]]]:
        self._call("collection_counts")
        counts: dict[str, int] = {}
        for doc in self.docs.values():
            counts[doc["collection"]] = counts.get(doc["collection"], 0) + 1
        return len(self.docs), sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    async def count_vectors(self, collection: str | None) -> int:
        self._call("count_vectors", collection=collection)
        return sum(1 for d in self._of(collection) if d.get(VECTOR_FIELD))

    async def sample_vectors(
        self, collection: str | None, limit: int, seed: int, fields: Sequence[str]
    ) -> tuple[int, list[dict[str, Any]]]:
        self._call("sample_vectors", collection=collection, limit=limit, seed=seed)
        with_vectors = [d for d in self._of(collection) if d.get(VECTOR_FIELD)]
        sample = sorted(with_vectors, key=lambda d: d["id"])[:limit]
        keep = {*fields, VECTOR_FIELD, "id"}
        return len(with_vectors), [{k: v for k, v in d.items() if k in keep} for d in sample]

    async def count(self, collection: str | None = None) -> int:
        self._call("count", collection=collection)
        return len(self._of(collection))

    async def similar(
        self, vector: Sequence[float], asked: Neighbours, *, exclude_ids: Sequence[str] = ()
    ) -> list[tuple[dict[str, Any], float]]:
        """`ImageIndex.similar` over the documents in memory: only works of the asked model
        version that pass its filters, ranked on the API's score scale."""
        filters, exclude_ids = list(asked.filters), list(exclude_ids)
        self._call("similar", **{**vars(asked), "filters": filters, "exclude_ids": exclude_ids})
        metric, k = asked.metric, asked.k
        filters = [*filters, model_filter(asked.model_version)]
        query = np.asarray(vector, dtype=np.float64)
        scored = []
        for doc in self.docs.values():
            stored = doc.get(VECTOR_FIELD)
            if not stored or doc["id"] in exclude_ids or not _matches(doc, filters):
                continue
            other = np.asarray(stored, dtype=np.float64)
            if metric is Metric.COSINE:
                score = float(np.dot(query, other)) + 1.0
            else:
                score = 1.0 / (1.0 + float(np.linalg.norm(query - other)))
            scored.append((self._public(doc), score))
        scored.sort(key=lambda t: (-t[1], t[0]["id"]))
        return scored[:k]

    async def similar_regions(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise AssertionError("the test encoder has no regions: search by regions is not used")

    async def duplicates(self, content_sha256: str, exclude_id: str) -> list[str]:
        self._call("duplicates", content_sha256=content_sha256, exclude_id=exclude_id)
        return sorted(
            d["id"]
            for d in self.docs.values()
            if d.get("content_sha256") == content_sha256 and d["id"] != exclude_id
        )


class RecordingPublisher(FakePublisher):
    """`tests.fakes.FakePublisher` that also keeps the headers of each tombstone, can report
    a given delivery error, and can leave records undelivered when flushed (a timeout)."""

    def __init__(self, error: str | None = None, undelivered: int = 0) -> None:
        super().__init__(fail=error is not None)
        self.error = error
        self.undelivered = undelivered
        self.removal_headers: list[ImageHeaders] = []
        self.flushes: list[float] = []

    def _deliver(self, callback: Callable[[Any, Any], None]) -> None:
        if self.undelivered:
            return  # no delivery report before the flush gives up
        callback(self.error, None)

    def publish_removal(self, key: str, headers: ImageHeaders, on_delivery: Any) -> None:
        self.removal_headers.append(headers)
        super().publish_removal(key, headers, on_delivery)

    def flush(self, timeout: float = 60.0) -> int:
        self.flushes.append(timeout)
        return self.undelivered


@dataclass
class FakeDeadLetters:
    """`DeadLetterTopic.newest` over a fixed list (newest first) and a fixed topic size."""

    letters: list[FoundLetter] = field(default_factory=list)
    total: int = 0
    limits: list[int] = field(default_factory=list)

    def newest(self, limit: int) -> tuple[int, list[FoundLetter]]:
        self.limits.append(limit)
        return self.total, self.letters[:limit]

    def close(self) -> None:
        pass


@dataclass
class FakeProbes:
    """What `gallery_core.status.probe_status` asks the probes, answered from fields."""

    healthy: bool = True
    doc_count_value: int | None = 42
    dlq_size: int | None = 3
    lag: int = 0
    committed: int = 100
    connector_state: str = "RUNNING"
    asked: list[str] = field(default_factory=list)

    def _health(self, name: str) -> Health:
        self.asked.append(name)
        return Health(self.healthy, f"{name} {'up' if self.healthy else 'down'}")

    def kafka(self) -> Health:
        return self._health("kafka")

    def connect(self) -> Health:
        return self._health("connect")

    def elasticsearch(self) -> Health:
        return self._health("elasticsearch")

    def api(self) -> Health:
        return self._health("api")

    def consumer_group(self, group: str, topic: str) -> Health:
        health = self._health(f"group {group}")
        health.info = {"lag": self.lag, "committed": self.committed}
        return health

    def connector(self, name: str) -> dict[str, Any]:
        self.asked.append(f"connector {name}")
        return {
            "name": name,
            "state": self.connector_state,
            "tasks": [{"id": 0, "state": self.connector_state}],
        }

    def doc_count(self, index: str) -> int | None:
        self.asked.append(f"doc_count {index}")
        return self.doc_count_value

    def topic_size(self, topic: str) -> int | None:
        self.asked.append(f"topic_size {topic}")
        return self.dlq_size

    def close(self) -> None:
        pass


@dataclass
class Fakes:
    """The backends one app is given, and what its lifespan did with them."""

    index: FakeIndex = field(default_factory=FakeIndex)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    dead_letters: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    probes: FakeProbes = field(default_factory=FakeProbes)
    opened: list[str] = field(default_factory=list)
    closed: int = 0

    @asynccontextmanager
    async def backends(self, settings: Settings, spec: IndexSpec) -> AsyncIterator[Backends]:
        self.opened.append(spec.name)
        try:
            yield Backends(self.index, self.publisher, self.dead_letters, self.probes)  # type: ignore[arg-type]
        finally:
            self.closed += 1


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class Folders:
    run_dir: Path
    media_dir: Path
    watch_dir: Path


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    found = Folders(tmp_path / "run", tmp_path / "media", tmp_path / "watch")
    for folder in (found.run_dir, found.media_dir, found.watch_dir):
        folder.mkdir()
    return found


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(
    monkeypatch: pytest.MonkeyPatch, folders: Folders, fakes: Fakes
) -> Iterator[MakeClient]:
    """``make_client(GALLERY_API__MAX_K="5", ...)``: the app over `fakes`, its settings read
    from the environment (only the given variables and the tmp_path folders), lifespan run."""
    for name in list(os.environ):
        if name.upper().startswith("GALLERY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GALLERY_PATHS__RUN_DIR", str(folders.run_dir))
    monkeypatch.setenv("GALLERY_PATHS__MEDIA_DIR", str(folders.media_dir))
    monkeypatch.setenv("GALLERY_PATHS__WATCH_DIR", str(folders.watch_dir))
    get_settings.cache_clear()
    clients = ExitStack()

    def make(
        *,
        raise_server_exceptions: bool = True,
        encoder: FakeEncoder | None = None,
        **env: str,
    ) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        app = create_app(
            settings=settings,
            encoder=encoder or FakeEncoder(dims=SPEC.dims),
            index=load_index(),
            backends=fakes.backends,
        )
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        return clients.enter_context(client)

    yield make
    clients.close()
    get_settings.cache_clear()


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture
def admin(make_client: MakeClient) -> TestClient:
    """A client of an app with admin enabled, sending the right key."""
    test_client = make_client(GALLERY_API__ADMIN_API_KEY=ADMIN_KEY)
    test_client.headers["X-API-Key"] = ADMIN_KEY
    return test_client


def assert_problem(response: Any, status: int, title: str) -> dict[str, Any]:
    """``response`` is problem JSON with this status and title, and no stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    assert body["title"] == title
    assert body["type"] == "https://artwork-similarity.invalid/problems/" + title.lower().replace(
        " ", "-"
    )
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Corpus:
    """Works with solid-colour vectors. ``red`` and ``red_copy`` are one image under two paths
    (same vector, same content hash); ``legacy_red`` looks the same but was embedded by
    another model version, so it is never comparable with the others."""

    red: dict[str, Any]
    red_copy: dict[str, Any]
    crimson: dict[str, Any]
    orange: dict[str, Any]
    blue: dict[str, Any]
    legacy_red: dict[str, Any]

    def all(self) -> list[dict[str, Any]]:
        return [self.red, self.red_copy, self.crimson, self.orange, self.blue, self.legacy_red]


RED_SHA = "a" * 64


@pytest.fixture
def corpus(fakes: Fakes) -> Corpus:
    found = Corpus(
        red=work(
            "museum/red.png",
            (255, 0, 0),
            content_sha256=RED_SHA,
            artist="Rothko",
            style="colour-field",
            year=1958,
        ),
        red_copy=work("clipart/red-copy.png", (255, 0, 0), content_sha256=RED_SHA),
        crimson=work("museum/crimson.png", (220, 20, 60), style="colour-field"),
        orange=work("clipart/orange.png", (255, 128, 0)),
        blue=work("museum/blue.png", (0, 0, 255)),
        legacy_red=work("museum/legacy-red.png", (255, 0, 0), model_version="old"),
    )
    fakes.index.add(*found.all())
    return found
