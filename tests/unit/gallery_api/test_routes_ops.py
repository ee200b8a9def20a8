"""GET /api/limits, /api/collections, /api/dead-letters and /api/map."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gallery_core.dead_letters import DeadLetter, FoundLetter
from tests.unit.gallery_api.conftest import (
    MODEL_VERSION,
    Corpus,
    Fakes,
    Folders,
    MakeClient,
    assert_problem,
    work,
)

# --- limits ----------------------------------------------------------------------------------


def test_limits_tell_the_upload_size_largest_k_and_accepted_formats(
    make_client: MakeClient,
) -> None:
    client = make_client(GALLERY_LIMITS__MAX_IMAGE_BYTES="123456", GALLERY_API__MAX_K="7")
    response = client.get("/api/limits")
    assert response.status_code == 200
    assert response.json() == {
        "max_image_bytes": 123456,
        "max_k": 7,
        "formats": ["JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP"],
    }


# --- collections -----------------------------------------------------------------------------


def test_collections_list_featured_ones_first_in_their_order_then_largest_first(
    make_client: MakeClient, fakes: Fakes
) -> None:
    fakes.index.add(
        *(work(f"clipart/{i}.png", (i, i, i)) for i in range(5)),
        *(work(f"photos/{i}.png", (i, i, i)) for i in range(4)),
        *(work(f"museum/{i}.png", (i, i, i)) for i in range(2)),
        work("small/one.png", (1, 1, 1)),
    )
    client = make_client(GALLERY_API__FEATURED_COLLECTIONS='["small", "ghost", "museum"]')
    response = client.get("/api/collections")
    assert response.status_code == 200
    assert response.json() == {
        "total": 12,
        "collections": [
            {"name": "small", "count": 1, "featured": True},
            {"name": "museum", "count": 2, "featured": True},
            {"name": "clipart", "count": 5, "featured": False},
            {"name": "photos", "count": 4, "featured": False},
        ],
    }


def test_museum_is_featured_by_default(client: TestClient, corpus: Corpus) -> None:
    collections = client.get("/api/collections").json()["collections"]
    assert [(c["name"], c["featured"]) for c in collections] == [
        ("museum", True),
        ("clipart", False),
    ]


def test_collections_of_an_empty_index(client: TestClient) -> None:
    response = client.get("/api/collections")
    assert response.status_code == 200
    assert response.json() == {"total": 0, "collections": []}


# --- dead letters ----------------------------------------------------------------------------


def letter(offset: int, reason: str, **fields: object) -> FoundLetter:
    return FoundLetter(
        DeadLetter(
            stage="decode",
            reason=reason,
            detail=f"detail {offset}",
            key=f"key-{offset}",
            at=1_700_000_000.0 + offset,
            **fields,  # type: ignore[arg-type]
        ),
        partition=offset % 2,
        offset=offset,
    )


def test_dead_letters_are_the_newest_ones_with_their_reasons_and_places(
    client: TestClient, fakes: Fakes
) -> None:
    fakes.dead_letters.total = 9
    fakes.dead_letters.letters = [
        letter(8, "truncated", path="museum/broken.jpg", collection="museum"),
        letter(7, "corrupt"),
        letter(6, "empty"),
    ]
    response = client.get("/api/dead-letters", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert fakes.dead_letters.limits == [2]
    assert body["total"] == 9
    assert body["items"] == [
        {
            "stage": "decode",
            "reason": "truncated",
            "detail": "detail 8",
            "key": "key-8",
            "path": "museum/broken.jpg",
            "collection": "museum",
            "content_sha256": None,
            "source_topic": None,
            "source_partition": None,
            "source_offset": None,
            "at": 1_700_000_008.0,
            "partition": 0,
            "offset": 8,
        },
        {
            "stage": "decode",
            "reason": "corrupt",
            "detail": "detail 7",
            "key": "key-7",
            "path": None,
            "collection": None,
            "content_sha256": None,
            "source_topic": None,
            "source_partition": None,
            "source_offset": None,
            "at": 1_700_000_007.0,
            "partition": 1,
            "offset": 7,
        },
    ]


def test_dead_letters_default_to_the_newest_twenty(client: TestClient, fakes: Fakes) -> None:
    response = client.get("/api/dead-letters")
    assert response.status_code == 200
    assert response.json() == {"total": 0, "items": []}
    assert fakes.dead_letters.limits == [20]


@pytest.mark.parametrize("limit", [0, 201, "all"])
def test_dead_letters_limit_out_of_range_is_400(
    client: TestClient, fakes: Fakes, limit: object
) -> None:
    body = assert_problem(
        client.get("/api/dead-letters", params={"limit": limit}), 400, "Bad request"
    )
    assert body["detail"].startswith("limit: ")
    assert fakes.dead_letters.limits == []


# --- the map ---------------------------------------------------------------------------------


def test_the_map_of_an_empty_collection_has_no_points(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = client.get("/api/map", params={"collection": "nothing-here"})
    assert response.status_code == 200
    body = response.json()
    assert body["points"] == [] and body["count"] == 0 and body["doc_count"] == 0
    assert body["collection"] == "nothing-here"
    assert body["sampled"] is False and body["cached"] is False
    assert body["model_version"] == MODEL_VERSION
    assert fakes.index.calls_to("sample_vectors") == []  # nothing to project


def test_the_map_of_a_small_collection_places_each_work_in_the_unit_square_and_is_cached(
    client: TestClient, corpus: Corpus, fakes: Fakes, folders: Folders
) -> None:
    # Only works of the current model: whether the map should show others is not settled.
    del fakes.index.docs[corpus.legacy_red["id"]]
    museum = {corpus.red["id"], corpus.crimson["id"], corpus.blue["id"]}
    first = client.get("/api/map", params={"collection": "museum", "limit": 10})
    assert first.status_code == 200
    body = first.json()
    assert {p["id"] for p in body["points"]} == museum
    assert body["count"] == body["doc_count"] == 3 and body["sampled"] is False
    assert body["method"] == "pca"  # too few works for t-SNE
    assert all(0.0 <= p[axis] <= 1.0 for p in body["points"] for axis in ("x", "y"))
    red = next(p for p in body["points"] if p["id"] == corpus.red["id"])
    assert red["title"] == "red" and red["year"] == 1958
    assert red["thumbnail_url"] == f"/api/artworks/{corpus.red['id']}/thumbnail"
    assert body["cached"] is False
    assert len(list((folders.run_dir / "maps").glob("*.json"))) == 1

    again = client.get("/api/map", params={"collection": "museum", "limit": 10}).json()
    assert again["cached"] is True and again["points"] == body["points"]
    assert len(fakes.index.calls_to("sample_vectors")) == 1


def test_a_larger_collection_than_the_limit_is_sampled(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    del fakes.index.docs[corpus.legacy_red["id"]]
    body = client.get("/api/map", params={"collection": "museum", "limit": 2}).json()
    assert body["count"] == 2 and body["doc_count"] == 3 and body["sampled"] is True


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 5001}, {"collection": "c" * 201}])
def test_map_parameters_out_of_range_are_400(
    client: TestClient, fakes: Fakes, params: dict[str, object]
) -> None:
    body = assert_problem(client.get("/api/map", params=params), 400, "Bad request")
    assert body["detail"].startswith(f"{next(iter(params))}: ")
    assert fakes.index.calls == []
