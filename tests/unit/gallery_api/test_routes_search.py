"""POST /api/search: search by an uploaded image (the test encoder: its mean colour)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from gallery_api.main import UPLOAD_OVERHEAD_BYTES
from tests.fakes import FakeEncoder
from tests.unit.gallery_api.conftest import (
    MODEL_VERSION,
    SPEC,
    Corpus,
    Fakes,
    MakeClient,
    assert_problem,
    jpeg_bytes,
    noise_png,
    png_bytes,
)

RED_PNG = png_bytes((255, 0, 0))


def upload(client: TestClient, data: bytes, name: str = "query.png", **params: Any) -> Response:
    return client.post(
        "/api/search", params=params, files={"image": (name, data, "application/octet-stream")}
    )


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["id"] for hit in hits]


def test_an_uploaded_image_finds_the_works_that_look_the_same_first(
    client: TestClient, corpus: Corpus, fakes: Fakes
) -> None:
    response = upload(client, RED_PNG)
    assert response.status_code == 200, response.text
    body = response.json()
    hits = body["hits"]
    # red and its copy are the same picture as the upload: score 2 (cosine + 1), then the rest.
    assert set(ids(hits[:2])) == {corpus.red["id"], corpus.red_copy["id"]}
    assert ids(hits[2:]) == [corpus.crimson["id"], corpus.orange["id"], corpus.blue["id"]]
    assert [h["score"] for h in hits[:2]] == pytest.approx([2.0, 2.0], abs=1e-6)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0]["match"] is None  # no region model, so no region match
    assert body["took_ms"] >= 0
    # Works embedded by another model are never compared with the upload.
    assert corpus.legacy_red["id"] not in ids(hits)
    (call,) = fakes.index.calls_to("similar")
    assert call["model_version"] == MODEL_VERSION and call["filters"] == []
    assert call["exclude_ids"] == []
    assert call["k"] == 10  # the default k


def test_an_upload_in_another_format_is_decoded_the_same_way(
    client: TestClient, corpus: Corpus
) -> None:
    response = upload(client, jpeg_bytes((0, 0, 255), size=(16, 16)), name="query.jpg")
    assert response.status_code == 200
    assert response.json()["hits"][0]["id"] == corpus.blue["id"]


def test_an_upload_search_honours_k_metric_and_collection(
    client: TestClient, corpus: Corpus
) -> None:
    response = upload(client, RED_PNG, k=2, metric="l2", collection="museum")
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert ids(hits) == [corpus.red["id"], corpus.crimson["id"]]
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-6)
    assert 0.0 < hits[1]["score"] < hits[0]["score"]


def test_an_upload_with_k_above_max_k_is_400(make_client: MakeClient, corpus: Corpus) -> None:
    client = make_client(GALLERY_API__MAX_K="3")
    body = assert_problem(upload(client, RED_PNG, k=4), 400, "Bad request")
    assert body["detail"] == "k must be at most 3"


@pytest.mark.parametrize(
    ("params", "named"), [({"metric": "foo"}, "metric"), ({"mode": "exactish"}, "mode")]
)
def test_an_upload_with_an_invalid_query_parameter_is_400(
    client: TestClient, corpus: Corpus, params: dict[str, str], named: str
) -> None:
    body = assert_problem(upload(client, RED_PNG, **params), 400, "Bad request")
    assert body["detail"].startswith(f"{named}: ")


def test_a_search_without_an_image_field_is_400(client: TestClient) -> None:
    response = client.post("/api/search", files={"picture": ("q.png", RED_PNG, "image/png")})
    body = assert_problem(response, 400, "Bad request")
    assert body["detail"] == "image: Field required"


def test_an_image_over_the_byte_limit_is_413_from_the_decoder(
    make_client: MakeClient, fakes: Fakes
) -> None:
    client = make_client(GALLERY_LIMITS__MAX_IMAGE_BYTES="2000")
    data = noise_png(40)  # about 5 kB: under the request limit, over the image limit
    assert 2000 < len(data) < UPLOAD_OVERHEAD_BYTES
    body = assert_problem(upload(client, data), 413, "Payload too large")
    assert body["detail"] == f"too_large: {len(data)} bytes is more than the limit of 2000"
    assert fakes.index.calls_to("similar") == []


def test_a_request_body_over_the_limit_is_413_problem_json_not_plain_text(
    make_client: MakeClient, fakes: Fakes
) -> None:
    client = make_client(GALLERY_LIMITS__MAX_IMAGE_BYTES="2000")
    data = noise_png(160)  # about 77 kB: more than the image limit plus the multipart overhead
    assert len(data) > 2000 + UPLOAD_OVERHEAD_BYTES
    body = assert_problem(upload(client, data), 413, "Payload too large")
    assert body["detail"] == "the request body is larger than the upload limit"
    assert fakes.index.calls_to("similar") == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n1 0 obj << >> endobj\n", "unsupported_format"),
        (b"just some text, not a picture", "unsupported_format"),
        (b"", "empty"),
    ],
)
def test_a_file_that_is_not_an_image_is_415(
    client: TestClient, fakes: Fakes, data: bytes, reason: str
) -> None:
    body = assert_problem(upload(client, data), 415, "Unsupported image")
    assert body["detail"].startswith(f"{reason}: ")
    assert fakes.index.calls_to("similar") == []
    metrics = client.get("/metrics").text
    assert f'gallery_uploads_rejected_total{{reason="{reason}"}} 1.0' in metrics


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (noise_png(30)[:200], "truncated"),
        (jpeg_bytes((10, 200, 30), size=(64, 64))[:300], "truncated"),
    ],
)
def test_a_truncated_image_is_422(
    client: TestClient, fakes: Fakes, data: bytes, reason: str
) -> None:
    body = assert_problem(upload(client, data), 422, "Image cannot be decoded")
    assert body["detail"].startswith(f"{reason}: ")
    assert fakes.index.calls_to("similar") == []


def test_an_image_with_too_many_pixels_is_422(make_client: MakeClient, fakes: Fakes) -> None:
    client = make_client(GALLERY_LIMITS__MAX_IMAGE_PIXELS="100")
    body = assert_problem(
        upload(client, png_bytes((1, 2, 3), size=(20, 20))), 422, "Image cannot be decoded"
    )
    assert body["detail"].startswith("too_many_pixels: ")
    assert fakes.index.calls_to("similar") == []


def test_a_client_over_the_upload_rate_gets_429_with_retry_after(
    make_client: MakeClient, corpus: Corpus
) -> None:
    client = make_client(GALLERY_API__UPLOAD_RATE_LIMIT="2/minute")
    assert [upload(client, RED_PNG).status_code for _ in range(2)] == [200, 200]
    refused = upload(client, RED_PNG)
    body = assert_problem(refused, 429, "Too many requests")
    assert body["detail"].startswith("more than 2/minute uploads from testclient; retry in ")
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert client.get("/api/artworks").status_code == 200  # reads are not limited
    metrics = client.get("/metrics").text
    assert 'gallery_uploads_rejected_total{reason="rate_limited"} 1.0' in metrics


def test_an_upload_while_all_upload_slots_are_busy_gets_429(
    make_client: MakeClient, corpus: Corpus
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(vectors: np.ndarray) -> np.ndarray:
        entered.set()
        assert release.wait(10), "the test never released the first upload"
        return vectors

    encoder = FakeEncoder(dims=SPEC.dims, transform=hold)
    client = make_client(encoder=encoder, GALLERY_API__MAX_CONCURRENT_UPLOADS="1")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(upload, client, RED_PNG)
        try:
            assert entered.wait(10), "the first upload never reached the encoder"
            refused = upload(client, RED_PNG)
        finally:
            release.set()
        assert first.result(timeout=10).status_code == 200
    body = assert_problem(refused, 429, "Too many requests")
    assert body["detail"] == "too many images are being searched right now; retry shortly"
    assert "retry-after" not in refused.headers
    assert encoder.calls == [1]  # the refused upload was never embedded
    assert upload(client, RED_PNG).status_code == 200  # the slot is free again
