"""Exact script_score (the project's script engine) equals numpy; approximate kNN finds the
exact neighbours of embedding-like vectors."""

from __future__ import annotations

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from benchmarks.query_vectors import synthetic_vectors
from gallery_api.queries import (
    Metric,
    ScriptEngine,
    knn_query,
    num_candidates_for,
    script_score_query,
)
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


def through_the_sink(stack: Settings, vectors: np.ndarray):  # type: ignore[no-untyped-def]
    """Index ``vectors`` as a new collection through the sink; tombstone them afterwards."""
    collection = new_collection()
    ids = [f"{collection}-{i:04d}" for i in range(len(vectors))]
    produce_vectors(stack, collection, ids, vectors)
    es = es_client(stack)
    assert wait_for_count(es, collection, len(vectors), timeout=120) == len(vectors)
    yield es, collection, ids, vectors
    produce_tombstones(stack, ids)
    es.close()


@pytest.fixture(scope="module")
def indexed(stack: Settings):  # type: ignore[no-untyped-def]
    yield from through_the_sink(stack, random_vectors(N, seed=11))


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


@pytest.fixture(scope="module")
def embedding_like(stack: Settings):  # type: ignore[no-untyped-def]
    """Vectors shaped like the model's embeddings: clusters of low intrinsic dimension.

    An isotropic Gaussian in 1,344 dims (the exact tests' data) has no meaningful neighbours:
    every vector is about equally far from every other, the worst case of any quantised ANN
    index (bbq_hnsw's recall on it moves between runs with the segment layout). The mapping's
    choice is measured on data like this (`gallery bench query --index-types`).
    """
    yield from through_the_sink(stack, synthetic_vectors(N, load_index().dims, centres=20, seed=12))


def test_knn_finds_the_exact_neighbours(embedding_like) -> None:  # type: ignore[no-untyped-def]
    """Similar-by-id as the route asks it (k, candidates, the work itself excluded) finds
    the exact top 10 within the collection, through the index's own options (bbq_hnsw)."""
    es, collection, ids, vectors = embedding_like
    settings = Settings()
    k = 10
    recalls = []
    for row in np.random.default_rng(200).choice(N, size=20, replace=False):
        knn = knn_query(
            vectors[row],
            field=load_index().vector_field,
            k=k,
            num_candidates=num_candidates_for(k, settings.api.max_num_candidates),
            filters=[{"term": {"collection": collection}}],
            exclude_ids=[ids[row]],
        )
        hits = es.search(index=load_index().name, knn=knn, size=k, source=False)["hits"]["hits"]
        scores = numpy_scores(vectors, vectors[row], Metric.COSINE)
        scores[row] = -np.inf
        expected = {ids[j] for j in np.argsort(-scores)[:k]}
        assert len(hits) == k and ids[row] not in {h["_id"] for h in hits}
        recalls.append(len(expected & {h["_id"] for h in hits}) / k)
    print(f"knn recall@10 vs exact over {len(recalls)} queries: {np.mean(recalls):.3f}")
    assert np.mean(recalls) >= 0.95
