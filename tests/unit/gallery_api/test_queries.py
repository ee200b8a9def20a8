from __future__ import annotations

import json

import pytest

from gallery_api.queries import (
    Metric,
    ScriptEngine,
    knn_query,
    knn_query_unfiltered,
    same_model_first,
    script_score_query,
)


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


def test_knn_rescoring_is_the_mappings_unless_a_query_overrides_it() -> None:
    assert "rescore_vector" not in knn_query([1.0], field="v", k=10)
    body = knn_query_unfiltered([1.0], field="v", k=10, num_candidates=200, oversample=5)
    assert body["rescore_vector"] == {"oversample": 5.0}


def test_knn_filters_and_exclusions_apply_inside_the_search() -> None:
    body = knn_query(
        [1.0], field="v", k=3, filters=[{"term": {"style": "cubism"}}], exclude_ids=["x"]
    )
    assert body["filter"][0] == {"term": {"style": "cubism"}}
    assert json.dumps(body["filter"][1]) == json.dumps(
        {"bool": {"must_not": [{"ids": {"values": ["x"]}}]}}
    )


def test_the_first_knn_asks_one_more_per_excluded_work_and_only_the_callers_filters() -> None:
    collection = {"term": {"collection": "museum"}}
    body = knn_query_unfiltered(
        [0.5, 0.5],
        field="embedding",
        k=10,
        num_candidates=100,
        filters=[collection],
        exclude_ids=["self"],
    )
    assert body["k"] == 11 and body["num_candidates"] == 100
    assert body["filter"] == [collection]  # no model filter, no exclusion
    assert "filter" not in knn_query_unfiltered([1.0], field="e", k=3, num_candidates=3)
    assert knn_query_unfiltered([1.0], field="e", k=5, num_candidates=2)["num_candidates"] == 5


def hit(artwork_id: str, model_version: str | None = "v2") -> dict[str, object]:
    source = {} if model_version is None else {"model_version": model_version}
    return {"_id": artwork_id, "_score": 1.0, "_source": source}


def test_same_model_first_drops_the_excluded_work_and_keeps_k() -> None:
    hits = [hit("self"), hit("a"), hit("b"), hit("c")]
    kept = same_model_first(hits, k=2, model_version="v2", exclude_ids=["self"])
    assert [h["_id"] for h in kept or []] == ["a", "b"]
    # a small index: fewer hits than asked, all of the model, is the whole answer
    assert same_model_first(hits[:2], k=5, model_version="v2", exclude_ids=["self"]) == [hits[1]]


def test_a_work_of_another_model_before_the_kth_asks_for_the_filtered_search() -> None:
    hits = [hit("a"), hit("old", "v1"), hit("b"), hit("c")]
    assert same_model_first(hits, k=3, model_version="v2") is None
    assert same_model_first(hits, k=1, model_version="v2") == [hits[0]]  # it comes after
    # no version on either side is the empty version, as model_filter has it
    assert same_model_first([hit("x", None)], k=1, model_version=None) is None
    assert same_model_first([hit("y", "")], k=1, model_version=None) == [hit("y", "")]
