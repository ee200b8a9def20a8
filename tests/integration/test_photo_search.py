"""Search by a photo of a painting, through the real worker, Elasticsearch and API.

Real paintings (the dev set's first works) go through the pipeline; photos of them - framed
on a wall, a detail, a catalogue page - are uploaded, and the original must come first,
with the view and region that matched.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from rich.console import Console

from benchmarks.api_quality import evaluate_through_api
from gallery_api.main import create_app
from gallery_api.search import Mode
from gallery_core.clients import es_client
from gallery_core.settings import Settings
from producer.ingest import ingest
from tests.integration.sinkutil import delete_collection, new_collection
from training.perturb import perturb
from training.real_paintings import collect_real_paintings, write_collection

pytestmark = pytest.mark.integration

WORKS = 8


@pytest.fixture(scope="module")
def museum(
    stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[Path]]]:
    paintings = collect_real_paintings(stack.paths.cache_dir)[:WORKS]
    if len(paintings) < WORKS:
        message = "the real paintings' packages are not installed (make demo-data)"
        if os.environ.get("GALLERY_REQUIRE_REAL_PAINTINGS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    collection = new_collection()
    root = tmp_path_factory.mktemp("museum-drop")
    write_collection(paintings, root / collection)
    summary = ingest(stack, root, wait=True, timeout_s=300, console=Console(quiet=True))
    assert summary.indexed == WORKS
    files = sorted((root / collection).rglob("*.jpg"))
    yield collection, files
    with es_client(stack) as es:
        delete_collection(stack, es, collection)


@pytest.fixture(scope="module")
def client(stack: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(stack)) as test_client:
        yield test_client


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["exact", "knn"])
@pytest.mark.parametrize(
    ("family", "views"),
    [("framed_photo", ("picture-",)), ("detail_crop", ("photo", "centre")), ("caption_strip", ())],
)
def test_a_photo_of_a_painting_finds_it_first_and_says_which_region_matched(
    client: TestClient,
    museum: tuple[str, list[Path]],
    family: str,
    views: tuple[str, ...],
    mode: str,
) -> None:
    collection, files = museum
    for seed, path in enumerate(files[:4]):
        photo = perturb(Image.open(path).convert("RGB"), family, seed)
        response = client.post(
            "/api/search",
            params={"k": 5, "collection": collection, "mode": mode},
            files={"image": ("photo.jpg", jpeg(photo), "image/jpeg")},
        )
        assert response.status_code == 200, response.text
        top = response.json()["hits"][0]
        assert top["path"] == f"{collection}/{path.relative_to(path.parents[1]).as_posix()}"
        match = top["match"]
        assert match is not None and len(match["region"]) == 4
        x0, y0, x1, y1 = match["region"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        if views:
            assert match["view"].startswith(views), match


def test_an_indexed_painting_carries_its_regions_and_similar_works_answer(
    client: TestClient, museum: tuple[str, list[Path]], stack: Settings
) -> None:
    collection, _ = museum
    works = client.get("/api/artworks", params={"collection": collection, "limit": 50}).json()
    assert works["total"] == WORKS
    first = works["items"][0]
    assert first["model"] == "gallery-painting-lite0"
    with es_client(stack) as es:
        doc = es.get(index="paintings", id=first["id"])["_source"]
    assert len(doc["regions"]) == 10 and len(doc["regions"][0]["vector"]) == 192
    similar = client.get(
        f"/api/artworks/{first['id']}/similar", params={"k": 3, "collection": collection}
    )
    assert similar.status_code == 200
    assert first["id"] not in [h["id"] for h in similar.json()["hits"]]


@pytest.mark.parametrize("mode", [Mode.EXACT, Mode.KNN])
def test_gallery_eval_through_the_api_measures_the_collection_in_the_mode_asked(
    client: TestClient, museum: tuple[str, list[Path]], mode: Mode
) -> None:
    collection, files = museum
    root = next(p for p in files[0].parents if p.name == collection).parent  # the dropped DIR
    report = evaluate_through_api(client, root, collection, families=["dim_noise"], mode=mode)
    assert (report.works, report.mode) == (WORKS, mode.value)
    assert 0 <= report.artist_queries <= WORKS and 0.0 <= report.same_artist_hit_at_10 <= 1.0
    # One miss in 8 is allowed, not two: the full evaluation misses 1-3 of the 195 real
    # paintings' dim-light + noise photos (0.5-1.5 %), and one of the 8 here is such a case
    # (met-39668 "Old Trees, Level Distance", faint ink on silk: dimmed, it comes close to
    # dark pictures of bare trees; over the demo's index, "The Forest in Winter at Sunset"
    # comes first for 5 of 8 seeds). At a 1.5 % miss rate, 8 of 8 fails 11 % of runs;
    # 7 of 8, 0.6 %.
    assert list(report.copy_recall_at_1) == ["dim_noise"]
    assert report.copy_recall_at_1["dim_noise"] >= 7 / WORKS
