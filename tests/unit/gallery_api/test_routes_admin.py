"""DELETE /api/artworks/{id} and POST /api/artworks/{id}/reindex: admin changes through Kafka."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from gallery_core.image_records import ImageHeaders
from tests.unit.gallery_api.conftest import (
    ADMIN_KEY,
    UNKNOWN_ID,
    Fakes,
    Folders,
    MakeClient,
    assert_problem,
    png_bytes,
    sha256,
    work,
)

ACTIONS = ["delete", "reindex"]


def act(client: TestClient, action: str, artwork_id: str, **kwargs: Any) -> Response:
    if action == "delete":
        return client.delete(f"/api/artworks/{artwork_id}", **kwargs)
    return client.post(f"/api/artworks/{artwork_id}/reindex", **kwargs)


@pytest.fixture
def in_watch_dir(folders: Folders, fakes: Fakes) -> tuple[dict[str, Any], bytes]:
    """An indexed work whose source file is in the watched folder."""
    data = png_bytes((12, 34, 56))
    source = folders.watch_dir / "museum" / "teal.png"
    source.parent.mkdir(parents=True)
    source.write_bytes(data)
    doc = work("museum/teal.png", (12, 34, 56), content_sha256=sha256(data))
    fakes.index.add(doc)
    return doc, data


def nothing_published(fakes: Fakes) -> bool:
    publisher = fakes.publisher
    return publisher.removals == [] and publisher.images == [] and publisher.flushes == []


# --- 202 -------------------------------------------------------------------------------------


def test_delete_publishes_a_tombstone_for_the_work_and_answers_202(
    admin: TestClient, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes]
) -> None:
    doc, _ = in_watch_dir
    response = admin.delete(f"/api/artworks/{doc['id']}")
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "detail": "a delete was published; it takes effect in seconds",
    }
    assert fakes.publisher.removals == [doc["id"]]
    assert fakes.publisher.removal_headers == [ImageHeaders(path="museum/teal.png")]
    assert fakes.publisher.images == []
    assert len(fakes.publisher.flushes) == 1  # it waited for Kafka's acknowledgement
    assert doc["id"] in fakes.index.docs  # the API never deletes from the index itself


def test_reindex_publishes_the_file_read_from_the_watched_folder_and_answers_202(
    admin: TestClient, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes]
) -> None:
    doc, data = in_watch_dir
    response = admin.post(f"/api/artworks/{doc['id']}/reindex")
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "detail": "the source file was published again",
    }
    ((key, published, headers),) = fakes.publisher.images
    assert key == doc["id"] and published == data
    assert (headers.path, headers.collection, headers.content_sha256) == (
        "museum/teal.png",
        "museum",
        sha256(data),
    )
    assert fakes.publisher.removals == []
    assert len(fakes.publisher.flushes) == 1


def test_reindex_publishes_the_file_as_it_is_now(
    admin: TestClient, folders: Folders, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes]
) -> None:
    doc, _ = in_watch_dir
    changed = png_bytes((200, 100, 0), size=(40, 30))
    (folders.watch_dir / "museum" / "teal.png").write_bytes(changed)
    assert admin.post(f"/api/artworks/{doc['id']}/reindex").status_code == 202
    ((_, published, headers),) = fakes.publisher.images
    assert published == changed and headers.content_sha256 == sha256(changed)


# --- 401 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "not-the-admin-key-at-all"}, {"X-API-Key": ""}],
    ids=["no key", "wrong key", "empty key"],
)
def test_admin_without_the_right_key_is_401_and_reveals_nothing(
    make_client: MakeClient,
    fakes: Fakes,
    in_watch_dir: tuple[dict[str, Any], bytes],
    action: str,
    headers: dict[str, str],
) -> None:
    client = make_client(GALLERY_API__ADMIN_API_KEY=ADMIN_KEY)
    doc, _ = in_watch_dir
    for artwork_id in (doc["id"], UNKNOWN_ID, "not-an-id"):  # known, unknown, malformed alike
        body = assert_problem(act(client, action, artwork_id, headers=headers), 401, "Unauthorized")
        assert body["detail"] == "a valid X-API-Key header is required"
    assert fakes.index.calls == [] and nothing_published(fakes)


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_is_401_when_no_admin_key_is_configured_whatever_key_is_sent(
    client: TestClient, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes], action: str
) -> None:
    doc, _ = in_watch_dir
    for headers in ({}, {"X-API-Key": ADMIN_KEY}):
        body = assert_problem(act(client, action, doc["id"], headers=headers), 401, "Unauthorized")
        assert body["detail"] == "admin endpoints are disabled (set GALLERY_API__ADMIN_API_KEY)"
    assert fakes.index.calls == [] and nothing_published(fakes)


# --- 400, 404, 409 ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_with_a_malformed_id_is_400(admin: TestClient, fakes: Fakes, action: str) -> None:
    body = assert_problem(act(admin, action, "A" * 64), 400, "Bad request")
    assert body["detail"] == "an artwork id is 64 lower-case hexadecimal characters"
    assert fakes.index.calls == [] and nothing_published(fakes)


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_on_an_unknown_work_is_404_and_publishes_nothing(
    admin: TestClient, fakes: Fakes, action: str
) -> None:
    body = assert_problem(act(admin, action, UNKNOWN_ID), 404, "Not found")
    assert body["detail"] == f"no artwork {UNKNOWN_ID}"
    assert nothing_published(fakes)


def test_reindex_when_the_source_file_is_gone_is_409_and_publishes_nothing(
    admin: TestClient, folders: Folders, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes]
) -> None:
    doc, _ = in_watch_dir
    (folders.watch_dir / "museum" / "teal.png").unlink()
    body = assert_problem(
        admin.post(f"/api/artworks/{doc['id']}/reindex"), 409, "Source file missing"
    )
    assert body["detail"] == "museum/teal.png is not a publishable file in the watched folder"
    assert nothing_published(fakes)


@pytest.mark.parametrize(
    "path",
    ["museum/notes.png", None],
    ids=["no longer an image", "no path in the index"],
)
def test_reindex_of_a_source_that_cannot_be_published_is_409(
    admin: TestClient, folders: Folders, fakes: Fakes, path: str | None
) -> None:
    (folders.watch_dir / "museum").mkdir()
    (folders.watch_dir / "museum" / "notes.png").write_text("now a text file")
    doc = work("museum/notes.png", (1, 2, 3))
    doc["path"] = path
    fakes.index.add(doc)
    body = assert_problem(
        admin.post(f"/api/artworks/{doc['id']}/reindex"), 409, "Source file missing"
    )
    assert body["detail"] == f"{path} is not a publishable file in the watched folder"
    assert nothing_published(fakes)


def test_a_deleted_file_can_still_be_deleted_from_the_gallery(
    admin: TestClient, folders: Folders, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes]
) -> None:
    doc, _ = in_watch_dir
    (folders.watch_dir / "museum" / "teal.png").unlink()
    assert admin.delete(f"/api/artworks/{doc['id']}").status_code == 202
    assert fakes.publisher.removals == [doc["id"]]


# --- 500 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_kafka_refusing_the_admin_record_is_500_with_its_reason(
    admin: TestClient, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes], action: str
) -> None:
    doc, _ = in_watch_dir
    fakes.publisher.error = "KafkaError{code=_MSG_TIMED_OUT}"
    body = assert_problem(act(admin, action, doc["id"]), 500, "Internal error")
    assert body["detail"] == "Kafka did not accept the record: KafkaError{code=_MSG_TIMED_OUT}"


@pytest.mark.parametrize("action", ACTIONS)
def test_a_record_still_undelivered_after_the_flush_is_500_timed_out(
    admin: TestClient, fakes: Fakes, in_watch_dir: tuple[dict[str, Any], bytes], action: str
) -> None:
    doc, _ = in_watch_dir
    fakes.publisher.undelivered = 1
    body = assert_problem(act(admin, action, doc["id"]), 500, "Internal error")
    assert body["detail"] == "Kafka did not accept the record: timed out"
