"""The worker's batch logic with a fake encoder and real sandboxed decode processes."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gallery_core.image_records import ImageHeaders
from gallery_core.media import MediaStore
from tests.fakes import FakeEncoder, FakeRegionEncoder
from vectorizer import pipeline
from vectorizer.pipeline import (
    BatchProcessor,
    DecodePool,
    ImageEvent,
    PreparedImage,
    check_vectors,
    prepare_image,
)

DIMS = 256


@pytest.fixture(scope="module")
def pool() -> Iterator[DecodePool]:
    decode = DecodePool(workers=1)
    yield decode
    decode.close()


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def event(key: str, data: bytes | None, **meta: object) -> ImageEvent:
    return ImageEvent(
        key=key,
        data=data,
        headers=ImageHeaders(
            path=f"art/{key}.png", collection="art", content_sha256="s" + key, metadata=dict(meta)
        ),
        topic="paintings.images",
        partition=0,
        offset=7,
    )


def processor(tmp_path: Path, pool: DecodePool, **kw: object) -> BatchProcessor:
    return BatchProcessor(
        FakeEncoder(**kw),
        pool,
        MediaStore(tmp_path),  # type: ignore[arg-type]
        dims=DIMS,
        max_bytes=1 << 20,
        max_pixels=10**7,
    )


def test_a_good_image_becomes_a_document_with_its_metadata_and_a_thumbnail(
    tmp_path: Path, pool: DecodePool
) -> None:
    (out,) = processor(tmp_path, pool).process(
        [event("k1", png((200, 10, 10)), title="Red", artist="Anon", metadata={"source": "x"})]
    )
    assert out.dead_letter is None
    doc = json.loads(out.value or b"")
    assert doc["id"] == "k1" and doc["path"] == "art/k1.png" and doc["collection"] == "art"
    assert doc["title"] == "Red" and doc["artist"] == "Anon" and doc["metadata"] == {"source": "x"}
    assert doc["content_sha256"] == "sk1" and doc["model"] == "fake"
    assert (doc["width"], doc["height"], doc["format"]) == (40, 30, "png")
    assert len(doc["embedding"]) == DIMS
    assert np.linalg.norm(doc["embedding"]) == pytest.approx(1.0, abs=1e-5)
    assert (tmp_path / doc["thumbnail"]).is_file()
    assert MediaStore(tmp_path).display_path("k1").is_file()


def test_one_batch_makes_one_model_call_and_keeps_the_order(
    tmp_path: Path, pool: DecodePool
) -> None:
    proc = processor(tmp_path, pool)
    events = [event(f"k{i}", png((i * 20, 0, 0))) for i in range(5)]
    outs = proc.process(events)
    assert [o.key for o in outs] == [e.key for e in events]
    assert proc.encoder.calls == [5]  # type: ignore[attr-defined]


def test_bad_images_are_dead_lettered_with_the_decoder_reason_and_the_rest_goes_on(
    tmp_path: Path, pool: DecodePool
) -> None:
    good = png((1, 2, 3))
    outs = processor(tmp_path, pool).process(
        [event("trunc", good[: len(good) // 2]), event("ok", good), event("text", b"hello")]
    )
    trunc, ok, text = outs
    assert ok.dead_letter is None and ok.value
    assert trunc.dead_letter is not None and trunc.dead_letter.stage == "decode"
    assert trunc.dead_letter.reason == "truncated"
    assert text.dead_letter is not None and text.dead_letter.reason == "unsupported_format"
    letter = trunc.dead_letter
    assert (letter.key, letter.path, letter.source_topic, letter.source_offset) == (
        "trunc",
        "art/trunc.png",
        "paintings.images",
        7,
    )


def test_a_removed_file_becomes_a_tombstone_and_its_media_is_deleted(
    tmp_path: Path, pool: DecodePool
) -> None:
    proc = processor(tmp_path, pool)
    proc.process([event("gone", png((5, 5, 5)))])
    assert MediaStore(tmp_path).thumbnail_path("gone").exists()
    (out,) = proc.process([event("gone", None)])
    assert out.value is None and out.dead_letter is None
    assert not MediaStore(tmp_path).thumbnail_path("gone").exists()


@pytest.mark.parametrize(
    ("transform", "problem"),
    [
        (lambda v: v * np.nan, "NaN"),
        (lambda v: v * 0, "zeros"),
        (lambda v: np.where(np.arange(v.shape[1]) == 0, np.inf, v), "NaN or Inf"),
    ],
)
def test_invalid_vectors_are_never_published(
    tmp_path: Path, pool: DecodePool, transform: object, problem: str
) -> None:
    (out,) = processor(tmp_path, pool, transform=transform).process([event("v", png((9, 9, 9)))])
    assert out.value is None and out.dead_letter is not None
    assert out.dead_letter.reason == "invalid_vector" and problem in out.dead_letter.detail


def test_a_model_error_dead_letters_the_batch_instead_of_stopping(
    tmp_path: Path, pool: DecodePool
) -> None:
    def boom(v: np.ndarray) -> np.ndarray:
        raise RuntimeError("model exploded")

    outs = processor(tmp_path, pool, transform=boom).process(
        [event("a", png((1, 1, 1))), event("b", png((2, 2, 2)))]
    )
    assert all(o.dead_letter is not None and o.dead_letter.reason == "model_error" for o in outs)


def test_a_model_of_the_wrong_size_refuses_to_start(tmp_path: Path, pool: DecodePool) -> None:
    with pytest.raises(ValueError, match="128-dim"):
        BatchProcessor(
            FakeEncoder(dims=128),
            pool,
            MediaStore(tmp_path),
            dims=DIMS,  # type: ignore[arg-type]
            max_bytes=1 << 20,
            max_pixels=10**7,
        )


def test_vector_checks_name_the_problem() -> None:
    vectors = np.array([[1.0, 0.0], [np.nan, 0.0], [0.0, 0.0]], dtype=np.float32)
    assert check_vectors(vectors, 2) == [
        None,
        "vector has NaN or Inf values",
        "vector is all zeros",
    ]
    assert check_vectors(vectors, 3)[0] == "vector has 2 dims, the index has 3"


#: Bytes on which `prepare_or_die` kills its decode process.
CRASH = b"crash the decoder"


def prepare_or_die(data: bytes, *args: Any) -> PreparedImage:
    """`prepare_image`, except that the decode process dies at once (a crashing codec) on
    `CRASH`. Module-level, so the sandbox's processes can import it."""
    if data == CRASH:
        os._exit(1)
    return prepare_image(data, *args)


def test_a_crashing_decoder_process_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch's own call kills its process while the batch waits for it, so the sandbox
    # always sees the crash on this batch: BrokenProcessPool -> resource_limit, then restart.
    monkeypatch.setattr(pipeline, "prepare_image", prepare_or_die)
    pool = DecodePool(workers=1, memory_bytes=1 << 30)
    try:
        proc = processor(tmp_path, pool)
        (crashed,) = proc.process([event("a", CRASH)])
        assert crashed.value is None and crashed.dead_letter is not None
        assert (crashed.dead_letter.stage, crashed.dead_letter.reason) == (
            "decode",
            "resource_limit",
        )
        (again,) = proc.process([event("b", png((4, 4, 4)))])
        assert again.dead_letter is None and again.value is not None
    finally:
        pool.close()


def region_processor(tmp_path: Path, pool: DecodePool, **kw: Any) -> BatchProcessor:
    return BatchProcessor(
        FakeRegionEncoder(**kw),
        pool,
        MediaStore(tmp_path),
        dims=DIMS,
        region_dims=12,
        max_bytes=1 << 20,
        max_pixels=10**7,
    )


def test_a_region_model_writes_the_whole_picture_and_its_regions_with_their_boxes(
    tmp_path: Path, pool: DecodePool
) -> None:
    # 60 x 30: the model sees the centre square (x 15..45); regions are boxes of the picture.
    (out,) = region_processor(tmp_path, pool).process([event("k1", png((10, 200, 10), (60, 30)))])
    assert out.dead_letter is None
    doc = json.loads(out.value or b"")
    regions = doc["regions"]
    assert len(regions) == 1 + 9
    boxes = [[float(c) for c in r["box"].split(",")] for r in regions]
    assert boxes[0] == pytest.approx([0.25, 0.0, 0.75, 1.0])
    assert boxes[1] == pytest.approx([0.25, 0.0, 0.25 + 0.5 * 0.6, 0.6])
    assert boxes[-1] == pytest.approx([0.75 - 0.5 * 0.6, 0.4, 0.75, 1.0])
    for r in regions:
        assert len(r["vector"]) == 12
        assert np.linalg.norm(r["vector"]) == pytest.approx(1.0, abs=1e-5)


def test_a_nan_region_vector_dead_letters_the_image_as_an_invalid_vector(
    tmp_path: Path, pool: DecodePool
) -> None:
    def poison(regions: np.ndarray) -> np.ndarray:
        regions[:, 3] = np.nan
        return regions

    (out,) = region_processor(tmp_path, pool, region_transform=poison).process(
        [event("k1", png((1, 2, 3)))]
    )
    assert out.value is None and out.dead_letter is not None
    assert out.dead_letter.reason == "invalid_vector"
    assert "region" in out.dead_letter.detail and "NaN" in out.dead_letter.detail


def test_region_vectors_of_another_size_than_the_index_stop_the_worker(
    tmp_path: Path, pool: DecodePool
) -> None:
    with pytest.raises(ValueError, match="region vectors"):
        BatchProcessor(
            FakeRegionEncoder(region_dims=12),
            pool,
            MediaStore(tmp_path),
            dims=DIMS,
            region_dims=192,
            max_bytes=1 << 20,
            max_pixels=10**7,
        )


def test_metadata_the_document_cannot_hold_is_dead_lettered_and_the_batch_goes_on(
    tmp_path: Path, pool: DecodePool
) -> None:
    bad, good = processor(tmp_path, pool).process(
        [event("k1", png((1, 2, 3)), year="c. 1889"), event("k2", png((3, 2, 1)), year=1889)]
    )
    assert bad.value is None and bad.dead_letter is not None
    assert (bad.dead_letter.stage, bad.dead_letter.reason) == ("publish", "internal_error")
    assert "year" in bad.dead_letter.detail
    assert good.dead_letter is None and json.loads(good.value or b"")["year"] == 1889
