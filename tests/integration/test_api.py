"""The gallery API against the real Elasticsearch (and, for uploads, the real model)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from rich.console import Console

from gallery_api.main import create_app
from gallery_core.clients import es_client
from gallery_core.contracts import load_index, load_topics
from gallery_core.settings import Settings
from gallery_core.vector_records import encode_vector_record, vector_producer
from producer.ingest import ingest
from tests.integration.imagesets import bomb_png, noise_png, write_many
from tests.integration.sinkutil import (
    delete_collection,
    new_collection,
    produce_tombstones,
    wait_for_count,
)

pytestmark = pytest.mark.integration

N = 2000
STYLES = ["cubism", "pointillism", "ukiyo-e"]


def unit_vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, load_index().dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def corpus(stack: Settings) -> Iterator[tuple[str, list[str], np.ndarray]]:
    """N synthetic unit vectors with artwork-shaped ids, written through the real sink."""
    collection = new_collection()
    ids = [hashlib.sha256(f"{collection}/{i}".encode()).hexdigest() for i in range(N)]
    vectors = unit_vectors(N, seed=21)
    producer = vector_producer(stack)
    for i, (artwork_id, vector) in enumerate(zip(ids, vectors, strict=True)):
        producer.produce(
            load_topics().vectors.name,
            key=artwork_id.encode(),
            value=encode_vector_record(
                artwork_id,
                vector,
                model="test",
                model_version="0",
                collection=collection,
                path=f"{collection}/{i}.png",
                style=STYLES[i % 3],
                title=f"Work {i}",
            ),
        )
        producer.poll(0)
    assert producer.flush(60) == 0
    es = es_client(stack)
    assert wait_for_count(es, collection, N, timeout=180) == N
    yield collection, ids, vectors
    delete_collection(stack, es, collection)
    es.close()


@pytest.fixture(scope="module")
def client(stack: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(stack)) as test_client:
        yield test_client


def brute_force(vectors: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    v, q64 = vectors.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        return (v @ q64) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q64)) + 1.0
    return 1.0 / (1.0 + np.linalg.norm(v - q64, axis=1))


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_exact_similar_by_id_equals_numpy_and_never_returns_the_query(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray], metric: str
) -> None:
    collection, ids, vectors = corpus
    for qi in (0, 17, 1234):
        body = client.get(
            f"/api/artworks/{ids[qi]}/similar",
            params={"k": 10, "metric": metric, "mode": "exact", "collection": collection},
        ).json()
        scores = brute_force(vectors, vectors[qi], metric)
        scores[qi] = -np.inf  # the query work is never among its hits
        order = np.argsort(-scores)[:10]
        assert body["query"]["id"] == ids[qi]
        assert [h["id"] for h in body["hits"]] == [ids[j] for j in order]
        assert [h["score"] for h in body["hits"]] == pytest.approx(scores[order].tolist(), rel=1e-4)


def test_knn_recall_against_exact(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray]
) -> None:
    collection, ids, vectors = corpus
    recalls = []
    for qi in range(0, N, 100):
        params = {"k": 10, "collection": collection}
        exact = {
            h["id"]
            for h in client.get(
                f"/api/artworks/{ids[qi]}/similar", params={**params, "mode": "exact"}
            ).json()["hits"]
        }
        approx = client.get(
            f"/api/artworks/{ids[qi]}/similar", params={**params, "mode": "knn"}
        ).json()["hits"]
        assert len(approx) == 10 and ids[qi] not in {h["id"] for h in approx}
        recalls.append(len(exact & {h["id"] for h in approx}) / 10)
    print(
        f"kNN recall@10 against exact, {len(recalls)} queries over {N} vectors: {np.mean(recalls):.3f}"
    )
    assert np.mean(recalls) >= 0.9


@pytest.mark.parametrize("mode", ["knn", "exact"])
def test_works_of_another_model_version_are_never_compared_even_when_nearest(
    client: TestClient, stack: Settings, corpus: tuple[str, list[str], np.ndarray], mode: str
) -> None:
    """kNN asks without the model filter first; a work of another model version among the
    nearest (a collection half re-vectorized) makes it ask again with the filter."""
    collection, ids, vectors = corpus
    old_ids = [hashlib.sha256(f"{collection}/old/{i}".encode()).hexdigest() for i in range(3)]
    producer = vector_producer(stack)
    for i, old_id in enumerate(old_ids):  # copies of work 7 under the old model
        producer.produce(
            load_topics().vectors.name,
            key=old_id.encode(),
            value=encode_vector_record(
                old_id,
                vectors[7],
                model="test",
                model_version="old",
                collection=collection,
                path=f"{collection}/old/{i}.png",
            ),
        )
    assert producer.flush(60) == 0
    with es_client(stack) as es:
        assert wait_for_count(es, collection, N + len(old_ids), timeout=60) == N + len(old_ids)
    try:
        params = {"k": 10, "collection": collection, "mode": mode}
        hits = client.get(f"/api/artworks/{ids[7]}/similar", params=params).json()["hits"]
        assert len(hits) == 10 and {h["model_version"] for h in hits} == {"0"}
        assert not {h["id"] for h in hits} & {ids[7], *old_ids}
        exact = client.get(
            f"/api/artworks/{ids[7]}/similar", params={**params, "mode": "exact"}
        ).json()["hits"]
        assert len({h["id"] for h in hits} & {h["id"] for h in exact}) >= 9
        old = client.get(f"/api/artworks/{old_ids[0]}/similar", params=params).json()["hits"]
        assert {h["id"] for h in old} == set(old_ids[1:])  # only its own model's works
    finally:
        produce_tombstones(stack, old_ids)
        with es_client(stack) as es:
            assert wait_for_count(es, collection, N, timeout=60) == N


def test_knn_l2_scores_match_exact_l2_for_unit_vectors(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray]
) -> None:
    collection, ids, _ = corpus
    params = {"k": 5, "collection": collection, "metric": "l2"}
    exact = client.get(
        f"/api/artworks/{ids[3]}/similar", params={**params, "mode": "exact"}
    ).json()["hits"]
    approx = client.get(f"/api/artworks/{ids[3]}/similar", params={**params, "mode": "knn"}).json()[
        "hits"
    ]
    common = {h["id"]: h["score"] for h in exact}
    for hit in approx:
        if hit["id"] in common:
            assert hit["score"] == pytest.approx(common[hit["id"]], abs=1e-3)


@pytest.mark.parametrize("mode", ["exact", "knn"])
def test_filters_apply_inside_the_search_so_k_results_come_back(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray], mode: str
) -> None:
    collection, ids, _ = corpus
    body = client.get(
        f"/api/artworks/{ids[0]}/similar",
        params={"k": 25, "collection": collection, "style": "ukiyo-e", "mode": mode},
    ).json()
    assert len(body["hits"]) == 25
    assert {h["style"] for h in body["hits"]} == {"ukiyo-e"}


def test_browse_pages_and_a_seeded_random_sample_is_repeatable(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray]
) -> None:
    collection, ids, _ = corpus
    first = client.get("/api/artworks", params={"collection": collection, "limit": 50}).json()
    second = client.get(
        "/api/artworks", params={"collection": collection, "limit": 50, "offset": 50}
    ).json()
    assert first["total"] == N and len(first["items"]) == 50
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    a = client.get(
        "/api/artworks", params={"collection": collection, "random": 7, "limit": 12}
    ).json()
    b = client.get(
        "/api/artworks", params={"collection": collection, "random": 7, "limit": 12}
    ).json()
    c = client.get(
        "/api/artworks", params={"collection": collection, "random": 8, "limit": 12}
    ).json()
    assert [i["id"] for i in a["items"]] == [i["id"] for i in b["items"]]
    assert [i["id"] for i in a["items"]] != [i["id"] for i in c["items"]]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/artworks/" + "0" * 64, 404),
        ("/api/artworks/not-an-id", 400),
        ("/api/artworks/" + "0" * 64 + "/similar", 404),
        ("/api/artworks/../../etc/passwd", 404),
    ],
)
def test_unknown_and_malformed_ids_get_problem_json(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    if response.headers["content-type"].startswith("application/problem+json"):
        assert set(response.json()) == {"type", "title", "status", "detail"}


@pytest.mark.parametrize(("k", "status"), [(-1, 400), (0, 400), (10**6, 400), ("ten", 400)])
def test_out_of_range_k_is_refused(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray], k: object, status: int
) -> None:
    _, ids, _ = corpus
    response = client.get(f"/api/artworks/{ids[0]}/similar", params={"k": k})
    assert response.status_code == status
    assert response.json()["status"] == status and "Traceback" not in response.text


def test_unknown_metric_or_mode_is_refused(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray]
) -> None:
    _, ids, _ = corpus
    assert (
        client.get(f"/api/artworks/{ids[0]}/similar", params={"metric": "dot"}).status_code == 400
    )
    assert client.get(f"/api/artworks/{ids[0]}/similar", params={"mode": "fast"}).status_code == 400


@pytest.fixture(scope="module")
def real_works(
    stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A few real images through the whole pipeline (worker, model, media)."""
    collection = new_collection()
    root = tmp_path_factory.mktemp("api-drop")
    paths = write_many(root / collection, 6, seed=77)
    summary = ingest(stack, root, wait=True, timeout_s=300, console=Console(quiet=True))
    assert summary.indexed == 6
    yield collection, paths[0]
    with es_client(stack) as es:
        delete_collection(stack, es, collection)


def test_search_by_upload_finds_the_same_image_first(
    client: TestClient, real_works: tuple[str, Path]
) -> None:
    collection, path = real_works
    response = client.post(
        "/api/search",
        params={"k": 3, "collection": collection},
        files={"image": ("query.png", path.read_bytes(), "image/png")},
    )
    assert response.status_code == 200, response.text
    top = response.json()["hits"][0]
    assert top["path"] == f"{collection}/{path.name}"
    assert top["score"] == pytest.approx(2.0, abs=1e-3)  # cosine + 1 of an identical image
    thumb = client.get(top["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert "max-age" in thumb.headers["cache-control"] and thumb.headers.get("etag")
    assert client.get(top["image_url"]).status_code == 200


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"%PDF-1.7 not an image", 415),
        (b"", 415),
        (noise_png(3)[:200], 422),
        (bomb_png(), 422),
    ],
)
def test_bad_uploads_get_the_right_4xx(client: TestClient, payload: bytes, status: int) -> None:
    response = client.post("/api/search", files={"image": ("x.png", payload, "image/png")})
    assert response.status_code == status, response.text
    assert response.json()["status"] == status


def test_an_oversized_upload_is_refused_with_413(client: TestClient, stack: Settings) -> None:
    big = io.BytesIO(b"\x89PNG" + b"\0" * (stack.limits.max_image_bytes + 200_000))
    response = client.post("/api/search", files={"image": ("big.png", big, "image/png")})
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_status_metrics_health_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    status = client.get("/api/status").json()
    assert {
        "components",
        "watch_dir",
        "index",
        "elasticsearch_url",
        "api_url",
        "connector",
        "dlq_count",
    } <= set(status)
    assert set(status["components"]) >= {
        "kafka",
        "connect",
        "elasticsearch",
        "worker",
        "producer",
        "api",
    }
    metrics = client.get("/metrics").text
    assert "gallery_api_request_seconds" in metrics and "gallery_search_seconds" in metrics
    spec = client.get("/openapi.json").json()
    params = {
        p["name"] for p in spec["paths"]["/api/artworks/{artwork_id}/similar"]["get"]["parameters"]
    }
    assert {"k", "metric", "mode", "collection", "style", "artist"} <= params


def test_admin_endpoints_need_the_key(
    client: TestClient, corpus: tuple[str, list[str], np.ndarray]
) -> None:
    _, ids, _ = corpus
    assert client.delete(f"/api/artworks/{ids[5]}").status_code == 401
    assert (
        client.delete(f"/api/artworks/{ids[5]}", headers={"X-API-Key": "wrong" * 5}).status_code
        == 401
    )


def test_admin_delete_goes_through_the_stream(
    stack: Settings, real_works: tuple[str, Path]
) -> None:
    from pydantic import SecretStr

    collection, path = real_works
    key = "k" * 24
    settings = stack.model_copy(
        update={"api": stack.api.model_copy(update={"admin_api_key": SecretStr(key)})}
    )
    with TestClient(create_app(settings)) as admin_client:
        listing = admin_client.get("/api/artworks", params={"collection": collection}).json()
        victim = listing["items"][0]["id"]
        response = admin_client.delete(f"/api/artworks/{victim}", headers={"X-API-Key": key})
        assert response.status_code == 202
        with es_client(stack) as es:
            assert (
                wait_for_count(es, collection, listing["total"] - 1, timeout=60)
                == listing["total"] - 1
            )
        assert admin_client.get(f"/api/artworks/{victim}").status_code == 404
        assert admin_client.get(f"/api/artworks/{victim}/thumbnail").status_code == 404


def test_exported_neighbours_equal_what_the_api_answers(
    stack: Settings, client: TestClient, real_works: tuple[str, Path], tmp_path: Path
) -> None:
    import json

    from gallery_api.export import export_neighbours
    from gallery_api.queries import Metric
    from gallery_api.search import Mode

    collection, _ = real_works
    written = export_neighbours(
        stack,
        tmp_path,
        k=3,
        metric=Metric.COSINE,
        mode=Mode.EXACT,
        collection=collection,
        console=Console(quiet=True),
    )
    files = sorted(tmp_path.glob("*.json"))
    total = client.get("/api/artworks", params={"collection": collection}).json()["total"]
    assert written == len(files) == total >= 5
    for path in files:
        exported = json.loads(path.read_text())
        answer = client.get(
            f"/api/artworks/{exported['id']}/similar",
            params={"k": 3, "collection": collection, "mode": "exact"},
        ).json()
        assert [n["id"] for n in exported["neighbours"]] == [h["id"] for h in answer["hits"]]
        assert exported["id"] not in {n["id"] for n in exported["neighbours"]}


def test_a_client_over_the_upload_rate_gets_429_with_retry_after(
    stack: Settings, real_works: tuple[str, Path]
) -> None:
    _, path = real_works
    settings = stack.model_copy(
        update={"api": stack.api.model_copy(update={"upload_rate_limit": "2/minute"})}
    )
    with TestClient(create_app(settings)) as limited:

        def upload() -> Response:
            return limited.post(
                "/api/search", files={"image": ("q.png", path.read_bytes(), "image/png")}
            )

        assert [upload().status_code for _ in range(2)] == [200, 200]
        refused = upload()
        assert refused.status_code == 429
        assert refused.json()["status"] == 429 and "2/minute" in refused.json()["detail"]
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert limited.get("/api/artworks", params={"limit": 1}).status_code == 200  # reads pass
