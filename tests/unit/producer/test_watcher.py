"""The watcher's decisions on a real folder, with a publisher that records instead of Kafka."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image
from watchdog.events import FileClosedEvent, FileDeletedEvent, FileMovedEvent

from gallery_core.settings import Settings
from producer.state import PublishedState
from producer.watcher import FolderWatcher
from tests.fakes import FakePublisher


def png_bytes(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FolderWatcher:
    monkeypatch.setenv("GALLERY_PATHS__WATCH_DIR", str(tmp_path / "watch"))
    monkeypatch.setenv("GALLERY_PATHS__RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("GALLERY_PRODUCER__SETTLE_S", "0.2")
    settings = Settings(_env_file=None)
    settings.paths.watch_dir.mkdir(parents=True)
    state = PublishedState(tmp_path / "run" / "state.sqlite")
    return FolderWatcher(settings, FakePublisher(), state)  # type: ignore[arg-type]


def pub(w: FolderWatcher) -> FakePublisher:
    return w.publisher  # type: ignore[return-value]


def test_sync_publishes_each_image_once_and_skips_unchanged_ones_on_restart(
    watcher: FolderWatcher,
) -> None:
    (watcher.root / "art").mkdir()
    (watcher.root / "art" / "a.png").write_bytes(png_bytes((1, 2, 3)))
    (watcher.root / "art" / ".hidden.png").write_bytes(png_bytes((1, 2, 3)))
    watcher.sync()
    watcher.sync()
    assert [h.path for _, _, h in pub(watcher).images] == ["art/a.png"]


def test_a_changed_file_is_published_again_under_the_same_id(watcher: FolderWatcher) -> None:
    path = watcher.root / "a.png"
    path.write_bytes(png_bytes((1, 1, 1)))
    watcher.consider(path)
    path.write_bytes(png_bytes((9, 9, 9)))
    watcher.consider(path)
    (first, _, h1), (second, _, h2) = pub(watcher).images
    assert first == second and h1.content_sha256 != h2.content_sha256


def test_files_removed_while_stopped_are_tombstoned_at_the_next_sync(
    watcher: FolderWatcher,
) -> None:
    path = watcher.root / "gone.png"
    path.write_bytes(png_bytes((1, 1, 1)))
    watcher.sync()
    path.unlink()
    watcher.sync()
    assert pub(watcher).removals == [pub(watcher).images[0][0]]
    watcher.sync()
    assert len(pub(watcher).removals) == 1  # the state forgot it once delivered


def test_a_file_is_published_only_after_it_settles(watcher: FolderWatcher) -> None:
    path = watcher.root / "slow.png"
    data = png_bytes((4, 4, 4))
    path.write_bytes(data[:20])
    watcher._mark(path)
    watcher.check_pending()
    assert not pub(watcher).images and not pub(watcher).dead_letters
    path.write_bytes(data)  # the copy finishes
    watcher._mark(path)
    deadline = time.monotonic() + 5
    while path in watcher.pending and time.monotonic() < deadline:
        time.sleep(0.05)
        watcher.check_pending()
    assert [d for _, d, _ in pub(watcher).images] == [data]


def test_close_after_write_publishes_without_waiting(watcher: FolderWatcher) -> None:
    path = watcher.root / "done.png"
    path.write_bytes(png_bytes((5, 5, 5)))
    watcher.handle(FileClosedEvent(str(path)))
    watcher.check_pending()
    assert len(pub(watcher).images) == 1


def test_a_refused_file_is_dead_lettered_once_per_version(watcher: FolderWatcher) -> None:
    path = watcher.root / "notes.jpg"
    path.write_text("not an image")
    watcher.consider(path)
    watcher.consider(path)
    assert [d.reason for d in pub(watcher).dead_letters] == ["unsupported_format"]
    path.write_text("still not an image, but another version")
    os.utime(path, ns=(1, 1))
    watcher.consider(path)
    assert len(pub(watcher).dead_letters) == 2


def test_a_restarted_watcher_does_not_dead_letter_an_unchanged_refused_file_again(
    watcher: FolderWatcher,
) -> None:
    path = watcher.root / "notes.jpg"
    path.write_text("not an image")
    watcher.sync()
    restarted = FolderWatcher(watcher.settings, FakePublisher(), watcher.state)  # type: ignore[arg-type]
    restarted.sync()
    assert len(pub(watcher).dead_letters) == 1 and pub(restarted).dead_letters == []


def test_a_refusal_whose_dead_letter_failed_is_sent_again(watcher: FolderWatcher) -> None:
    path = watcher.root / "notes.jpg"
    path.write_text("not an image")
    pub(watcher).fail = True
    watcher.consider(path)
    pub(watcher).fail = False
    watcher.consider(path)
    watcher.consider(path)
    assert len(pub(watcher).dead_letters) == 2


def test_delete_and_move_events_tombstone_the_old_path(watcher: FolderWatcher) -> None:
    a = watcher.root / "a.png"
    a.write_bytes(png_bytes((6, 6, 6)))
    watcher.consider(a)
    moved = watcher.root / "b.png"
    a.rename(moved)
    watcher.handle(FileMovedEvent(str(a), str(moved)))
    watcher.check_pending()
    assert len(pub(watcher).removals) == 1
    assert [h.path for _, _, h in pub(watcher).images] == ["a.png", "b.png"]
    moved.unlink()
    watcher.handle(FileDeletedEvent(str(moved)))
    assert len(pub(watcher).removals) == 2


def test_a_failed_delivery_leaves_the_file_to_be_published_again(
    watcher: FolderWatcher,
) -> None:
    path = watcher.root / "a.png"
    path.write_bytes(png_bytes((7, 7, 7)))
    pub(watcher).fail = True
    watcher.sync()
    pub(watcher).fail = False
    watcher.sync()
    assert len(pub(watcher).images) == 2


def test_files_in_a_hidden_staging_folder_wait_until_it_is_renamed(watcher: FolderWatcher) -> None:
    from watchdog.events import DirMovedEvent

    staging = watcher.root / ".batch.partial" / "birds"
    staging.mkdir(parents=True)
    (staging / "owl.png").write_bytes(png_bytes((3, 3, 3)))
    watcher.handle(FileClosedEvent(str(staging / "owl.png")))
    watcher.check_pending()
    assert not pub(watcher).images
    final = watcher.root / "batch"
    (watcher.root / ".batch.partial").rename(final)
    watcher.handle(DirMovedEvent(str(watcher.root / ".batch.partial"), str(final)))
    deadline = time.monotonic() + 5
    while watcher.pending and time.monotonic() < deadline:
        time.sleep(0.05)
        watcher.check_pending()
    assert [h.path for _, _, h in pub(watcher).images] == ["batch/birds/owl.png"]
