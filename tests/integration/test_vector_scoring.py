"""Exact script_score (the project's script engine) equals numpy; approximate knn works."""

from __future__ import annotations

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from gallery_api.queries import Metric, ScriptEngine, knn_query, script_score_query
from gallery_core.clients import es_client
from gallery_core.contracts import load_index
from gallery_core.settings import Settings
from tests.integration.sinkutil import (
    new_collection,
    produce_tombstones,
    produce_vectors,
    random_vectors,
    wait_for_count,
)

pytestmark = pytest.mark.integration

N = 600


@pytest.fixture(scope="module")
def indexed(stack: Settings):  # type: ignore[no-untyped-def]
    collection = new_collection()
    ids = [f"{collection}-{i:04d}" for i in range(N)]
    vectors = random_vectors(N, seed=11)
    produce_vectors(stack, collection, ids, vectors)
    es = es_client(stack)
    assert wait_for_count(es, collection, N, timeout=120) == N
    yield es, collection, ids, vectors
    produce_tombstones(stack, ids)
    es.close()


def numpy_scores(vectors: np.ndarray, query: np.ndarray, metric: Metric) -> np.ndarray:
    v = vectors.astype(np.float64)
    q = query.astype(np.float64)
    if metric is Metric.COSINE:
        return (v @ q) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q)) + 1.0
    return 1.0 / (1.0 + np.linalg.norm(v - q, axis=1))


def search(es: Elasticsearch, query: dict, size: int = 10) -> list[tuple[str, float]]:
    hits = es.search(index=load_index().name, query=query, size=size, source=False)["hits"]["hits"]
    return [(h["_id"], h["_score"]) for h in hits]


@pytest.mark.parametrize("metric", list(Metric))
def test_exact_top10_equals_numpy_brute_force(indexed, metric: Metric) -> None:  # type: ignore[no-untyped-def]
    es, collection, ids, vectors = indexed
    for seed in range(5):
        query = (
            np.random.default_rng(100 + seed).standard_normal(vectors.shape[1]).astype(np.float32)
        )
        body = script_score_query(
            query,
            metric=metric,
            field=load_index().vector_field,
            engine=ScriptEngine.GALLERY_VECTOR,
            filters=[{"term": {"collection": collection}}],
        )
        got = search(es, body)
        expected = numpy_scores(vectors, query, metric)
        order = np.argsort(-expected)[:10]
        assert [i for i, _ in got] == [ids[j] for j in order]
        assert [s for _, s in got] == pytest.approx(expected[order].tolist(), rel=1e-5)


def test_exact_query_excludes_the_query_work_itself(indexed) -> None:  # type: ignore[no-untyped-def]
    es, collection, ids, vectors = indexed
    body = script_score_query(
        vectors[0],
        metric=Metric.COSINE,
        field=load_index().vector_field,
        engine=ScriptEngine.GALLERY_VECTOR,
        filters=[{"term": {"collection": collection}}],
        exclude_ids=[ids[0]],
    )
    got = [i for i, _ in search(es, body)]
    assert ids[0] not in got and len(got) == 10


def test_knn_finds_the_exact_neighbours(indexed) -> None:  # type: ignore[no-untyped-def]
    es, collection, ids, vectors = indexed
    recalls = []
    for seed in range(5):
        query = (
            np.random.default_rng(200 + seed).standard_normal(vectors.shape[1]).astype(np.float32)
        )
        knn = knn_query(
            query,
            field=load_index().vector_field,
            k=10,
            filters=[{"term": {"collection": collection}}],
        )
        hits = es.search(index=load_index().name, knn=knn, size=10, source=False)["hits"]["hits"]
        expected = {ids[j] for j in np.argsort(-numpy_scores(vectors, query, Metric.COSINE))[:10]}
        assert len(hits) == 10
        recalls.append(len(expected & {h["_id"] for h in hits}) / 10)
    print(f"knn recall@10 vs exact over {len(recalls)} queries: {np.mean(recalls):.3f}")
    assert np.mean(recalls) >= 0.9
