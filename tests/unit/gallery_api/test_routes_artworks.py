"""GET /api/artworks, /api/artworks/{id}, .../similar, .../image and .../thumbnail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gallery_api.queries import Metric
from gallery_api.search import Mode
from tests.unit.gallery_api.conftest import (
    MODEL_VERSION,
    UNKNOWN_ID,
    VECTOR_FIELD,
    Corpus,
    Fakes,
    Folders,
    MakeClient,
    assert_problem,
    jpeg_bytes,
    work,
)

MALFORMED_IDS = [
    "abc",
    "a" * 63,
    "a" * 65,
    "A" * 64,  # upper case
    "g" * 64,  # not hexadecimal
]


def ids(items: list[dict[str, object]]) -> list[object]:
    return [item["id"] for item in items]


# --- the listing -----------------------------------------------------------------------------


def test_listing_pages_through_all_works_with_their_image_urls(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = client.get("/api/artworks", params={"limit": 2, "offset": 1})
    assert response.status_code == 200
    body = response.json()
    everything = sorted(doc["id"] for doc in corpus.all())
    assert body["total"] == 6
    assert ids(body["items"]) == everything[1:3]  # the fake browses in id order
    for item in body["items"]:
        assert item["image_url"] == f"/api/artworks/{item['id']}/image"
        assert item["thumbnail_url"] == f"/api/artworks/{item['id']}/thumbnail"
        assert VECTOR_FIELD not in item
    assert fakes.index.calls_to("browse") == [
        {"limit": 2, "offset": 1, "collection": None, "seed": None}
    ]


def test_listing_passes_collection_and_random_seed_and_defaults_to_48(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = client.get("/api/artworks", params={"collection": "museum", "random": 7})
    assert response.status_code == 200
    body = response.json()
    museum = {corpus.red["id"], corpus.crimson["id"], corpus.blue["id"], corpus.legacy_red["id"]}
    assert body["total"] == 4 and set(ids(body["items"])) == museum
    assert fakes.index.calls_to("browse") == [
        {"limit": 48, "offset": 0, "collection": "museum", "seed": 7}
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"offset": -1},
        {"offset": 10_001},
        {"random": -1},
        {"collection": "c" * 201},
    ],
)
def test_listing_parameters_out_of_range_are_400(
    client: TestClient, fakes: Fakes, params: dict[str, object]
) -> None:
    body = assert_problem(client.get("/api/artworks", params=params), 400, "Bad request")
    assert next(iter(params)) in body["detail"]
    assert fakes.index.calls_to("browse") == []


# --- one work --------------------------------------------------------------------------------


def test_a_work_is_returned_with_its_copies_under_other_paths(
    client: TestClient, corpus: Corpus
) -> None:
    red = corpus.red["id"]
    response = client.get(f"/api/artworks/{red}")
    assert response.status_code == 200
    body = response.json()
    assert {
        k: body[k] for k in ("id", "path", "collection", "title", "artist", "style", "year")
    } == {
        "id": red,
        "path": "museum/red.png",
        "collection": "museum",
        "title": "red",
        "artist": "Rothko",
        "style": "colour-field",
        "year": 1958,
    }
    assert body["model"] == "fake" and body["model_version"] == MODEL_VERSION
    assert body["content_sha256"] == corpus.red["content_sha256"]
    assert body["image_url"] == f"/api/artworks/{red}/image"
    assert body["thumbnail_url"] == f"/api/artworks/{red}/thumbnail"
    assert body["duplicates"] == [corpus.red_copy["id"]]
    assert VECTOR_FIELD not in body


def test_a_work_without_a_content_hash_has_no_duplicates_and_none_are_looked_for(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = client.get(f"/api/artworks/{corpus.blue['id']}")
    assert response.status_code == 200
    assert response.json()["duplicates"] == []
    assert fakes.index.calls_to("duplicates") == []


@pytest.mark.parametrize("suffix", ["", "/similar"])
def test_an_unknown_work_is_404(client: TestClient, corpus: Corpus, suffix: str) -> None:
    body = assert_problem(client.get(f"/api/artworks/{UNKNOWN_ID}{suffix}"), 404, "Not found")
    assert body["detail"] == f"no artwork {UNKNOWN_ID}"


@pytest.mark.parametrize("suffix", ["", "/similar", "/image", "/thumbnail"])
@pytest.mark.parametrize("artwork_id", MALFORMED_IDS)
def test_a_malformed_id_is_400_before_anything_is_looked_up(
    client: TestClient, fakes: Fakes, artwork_id: str, suffix: str
) -> None:
    body = assert_problem(client.get(f"/api/artworks/{artwork_id}{suffix}"), 400, "Bad request")
    assert body["detail"] == "an artwork id is 64 lower-case hexadecimal characters"
    assert fakes.index.calls == []


# --- similar works ---------------------------------------------------------------------------


def test_similar_ranks_the_nearest_first_and_never_returns_the_query_work(
    client: TestClient, corpus: Corpus
) -> None:
    red = corpus.red["id"]
    response = client.get(f"/api/artworks/{red}/similar")
    assert response.status_code == 200
    body = response.json()
    assert body["query"]["id"] == red and body["query"]["path"] == "museum/red.png"
    assert VECTOR_FIELD not in body["query"]
    # Its copy under another path is a hit (score 2: identical); the query itself is not.
    assert ids(body["hits"]) == [
        corpus.red_copy["id"],
        corpus.crimson["id"],
        corpus.orange["id"],
        corpus.blue["id"],
    ]
    scores = [hit["score"] for hit in body["hits"]]
    assert scores[0] == pytest.approx(2.0, abs=1e-6)
    assert scores == sorted(scores, reverse=True) and scores[-1] < 1.1
    assert all(0.0 <= s <= 2.0 for s in scores)
    assert body["hits"][0]["image_url"] == f"/api/artworks/{corpus.red_copy['id']}/image"
    assert body["took_ms"] >= 0


def test_similar_compares_only_works_of_the_query_works_model_version(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    red = corpus.red["id"]
    hits = client.get(f"/api/artworks/{red}/similar").json()["hits"]
    assert corpus.legacy_red["id"] not in ids(hits)  # identical pixels, other model
    (call,) = fakes.index.calls_to("similar")
    assert call["model_version"] == MODEL_VERSION and call["filters"] == []
    assert call["exclude_ids"] == [red]

    legacy = client.get(f"/api/artworks/{corpus.legacy_red['id']}/similar").json()
    assert legacy["hits"] == []  # no other work of the old model


def test_similar_honours_k_and_the_collection_style_and_artist_filters(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    url = f"/api/artworks/{corpus.red['id']}/similar"
    assert ids(client.get(url, params={"k": 2}).json()["hits"]) == [
        corpus.red_copy["id"],
        corpus.crimson["id"],
    ]
    in_museum = client.get(url, params={"collection": "museum"}).json()["hits"]
    assert ids(in_museum) == [corpus.crimson["id"], corpus.blue["id"]]
    styled = client.get(url, params={"style": "colour-field", "artist": "Nobody"}).json()
    assert styled["hits"] == []
    assert fakes.index.calls_to("similar")[-1]["filters"] == [
        {"term": {"style": "colour-field"}},
        {"term": {"artist": "Nobody"}},
    ]


def test_similar_by_l2_keeps_the_order_with_scores_in_zero_to_one(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = client.get(f"/api/artworks/{corpus.red['id']}/similar", params={"metric": "l2"})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert ids(hits)[:3] == [corpus.red_copy["id"], corpus.crimson["id"], corpus.orange["id"]]
    scores = [hit["score"] for hit in hits]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert scores == sorted(scores, reverse=True) and all(0.0 < s <= 1.0 for s in scores)
    assert fakes.index.calls_to("similar")[0]["metric"] is Metric.L2


def test_knn_mode_asks_for_ten_candidates_per_result_within_the_cap(
    make_client: MakeClient, corpus: Corpus, fakes: Fakes
) -> None:
    client = make_client(GALLERY_API__MAX_NUM_CANDIDATES="150")
    url = f"/api/artworks/{corpus.red['id']}/similar"
    assert client.get(url, params={"mode": "knn", "k": 5}).status_code == 200
    assert client.get(url, params={"mode": "knn", "k": 50}).status_code == 200
    calls = fakes.index.calls_to("similar")
    assert [(c["mode"], c["k"], c["num_candidates"]) for c in calls] == [
        (Mode.KNN, 5, 100),
        (Mode.KNN, 50, 150),
    ]


def test_k_above_max_k_is_400_and_max_k_itself_is_allowed(
    make_client: MakeClient, corpus: Corpus
) -> None:
    client = make_client(GALLERY_API__MAX_K="3")
    url = f"/api/artworks/{corpus.red['id']}/similar"
    body = assert_problem(client.get(url, params={"k": 4}), 400, "Bad request")
    assert body["detail"] == "k must be at most 3"
    allowed = client.get(url, params={"k": 3})
    assert allowed.status_code == 200 and len(allowed.json()["hits"]) == 3


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"metric": "foo"}, "metric"),
        ({"mode": "fast"}, "mode"),
        ({"k": 0}, "k"),
        ({"k": "ten"}, "k"),
        ({"collection": "c" * 201}, "collection"),
    ],
)
def test_an_invalid_query_parameter_is_400_naming_it(
    client: TestClient, corpus: Corpus, fakes: Fakes, params: dict[str, object], named: str
) -> None:
    response = client.get(f"/api/artworks/{corpus.red['id']}/similar", params=params)
    body = assert_problem(response, 400, "Bad request")
    assert body["detail"].startswith(f"{named}: ")
    assert fakes.index.calls_to("similar") == []


# --- images ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "folder"), [("image", "images"), ("thumbnail", "thumbs")])
def test_images_are_served_from_the_media_folder_and_cached(
    client: TestClient, folders: Folders, corpus: Corpus, suffix: str, folder: str
) -> None:
    red = corpus.red["id"]
    data = jpeg_bytes((255, 0, 0))
    path: Path = folders.media_dir / folder / red[:2] / f"{red}.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    response = client.get(f"/api/artworks/{red}/{suffix}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "public, max-age=3600"


@pytest.mark.parametrize("suffix", ["image", "thumbnail"])
def test_a_missing_image_file_is_404(client: TestClient, corpus: Corpus, suffix: str) -> None:
    red = corpus.red["id"]
    body = assert_problem(client.get(f"/api/artworks/{red}/{suffix}"), 404, "Not found")
    assert body["detail"] == f"no {suffix} for artwork {red}"


def test_similar_to_a_work_not_vectorized_yet_is_409(make_client: MakeClient, fakes: Fakes) -> None:
    pending = work("art/pending.png")  # no vector: the worker has not written it yet
    fakes.index.add(pending)
    client = make_client()
    assert_problem(client.get(f"/api/artworks/{pending['id']}/similar"), 409, "No vector")
