from __future__ import annotations

import json

import pytest

from gallery_api.queries import Metric, ScriptEngine, knn_query, script_score_query


@pytest.mark.parametrize("engine", list(ScriptEngine))
@pytest.mark.parametrize("metric", list(Metric))
def test_query_vector_travels_as_a_parameter_never_in_the_source(
    engine: ScriptEngine, metric: Metric
) -> None:
    body = script_score_query([0.25, -1.5], metric=metric, field="embedding", engine=engine)
    script = body["script_score"]["script"]
    assert script["params"] == {"field": "embedding", "query_vector": [0.25, -1.5]}
    assert "0.25" not in script["source"] and "embedding" not in script["source"]
    assert script["lang"] == engine.value


def test_painless_sources_are_the_documented_forms() -> None:
    cos = script_score_query([1.0], metric=Metric.COSINE, field="v", engine=ScriptEngine.PAINLESS)
    l2 = script_score_query([1.0], metric=Metric.L2, field="v", engine=ScriptEngine.PAINLESS)
    assert cos["script_score"]["script"]["source"] == (
        "cosineSimilarity(params.query_vector, params.field) + 1.0"
    )
    assert l2["script_score"]["script"]["source"] == (
        "1 / (1 + l2norm(params.query_vector, params.field))"
    )


def test_exact_query_only_scores_documents_with_a_vector_and_excludes_ids() -> None:
    body = script_score_query(
        [1.0],
        metric=Metric.COSINE,
        field="embedding",
        engine=ScriptEngine.GALLERY_VECTOR,
        filters=[{"term": {"collection": "artworks"}}],
        exclude_ids=["abc"],
    )
    inner = body["script_score"]["query"]["bool"]
    assert {"exists": {"field": "embedding"}} in inner["filter"]
    assert {"term": {"collection": "artworks"}} in inner["filter"]
    assert inner["must_not"] == [{"ids": {"values": ["abc"]}}]


def test_knn_candidates_grow_with_k_and_are_clamped() -> None:
    assert knn_query([1.0], field="v", k=10)["num_candidates"] == 100
    assert knn_query([1.0], field="v", k=50)["num_candidates"] == 500
    assert knn_query([1.0], field="v", k=5000)["num_candidates"] == 10_000
    assert knn_query([1.0], field="v", k=20, num_candidates=5)["num_candidates"] == 20


def test_knn_filters_and_exclusions_apply_inside_the_search() -> None:
    body = knn_query(
        [1.0], field="v", k=3, filters=[{"term": {"style": "cubism"}}], exclude_ids=["x"]
    )
    assert body["filter"][0] == {"term": {"style": "cubism"}}
    assert json.dumps(body["filter"][1]) == json.dumps(
        {"bool": {"must_not": [{"ids": {"values": ["x"]}}]}}
    )
