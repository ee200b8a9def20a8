from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

import pytest

from gallery_core.reasons import Reason
from gallery_core.sources.paths import (
    PathRejected,
    artwork_id,
    collection_of,
    is_ignored,
    relative_path,
)


@pytest.mark.parametrize(
    "name",
    [".hidden.jpg", "photo.jpg.part", "x.tmp", "~$lock.png", "Thumbs.db", "a.crdownload", "b~"],
)
def test_hidden_and_temporary_files_are_ignored(name: str) -> None:
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["monet.jpg", "Water Lilies (1916).PNG", "a.b.c.webp"])
def test_ordinary_names_are_candidates(name: str) -> None:
    assert not is_ignored(name)


def test_a_file_inside_the_root_gets_its_relative_posix_path(tmp_path: Path) -> None:
    (tmp_path / "artworks" / "dutch").mkdir(parents=True)
    (tmp_path / "artworks" / "dutch" / "a.jpg").write_bytes(b"x")
    rel = relative_path(tmp_path, tmp_path / "artworks" / "dutch" / "a.jpg")
    assert rel == PurePosixPath("artworks/dutch/a.jpg")
    assert collection_of(rel) == "artworks"


def test_files_at_the_root_belong_to_the_default_collection() -> None:
    assert collection_of(PurePosixPath("a.jpg")) == "default"


@pytest.mark.parametrize("escape", ["../outside.jpg", "/etc/passwd", "a/../../outside.jpg"])
def test_paths_leaving_the_root_are_refused(tmp_path: Path, escape: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.jpg").write_bytes(b"x")
    with pytest.raises(PathRejected) as info:
        relative_path(root, Path(escape))
    assert info.value.reason in (Reason.PATH_ESCAPE, Reason.UNREADABLE)


def test_a_symlink_to_a_file_inside_the_root_keeps_its_own_path(tmp_path: Path) -> None:
    (tmp_path / "animals").mkdir()
    (tmp_path / "animals" / "cat.png").write_bytes(b"x")
    (tmp_path / "pets").mkdir()
    os.symlink("../animals/cat.png", tmp_path / "pets" / "cat.png")
    rel = relative_path(tmp_path, tmp_path / "pets" / "cat.png")
    assert rel == PurePosixPath("pets/cat.png") and collection_of(rel) == "pets"


def test_a_symlink_to_a_file_outside_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", root / "link.jpg")
    with pytest.raises(PathRejected) as info:
        relative_path(root, root / "link.jpg")
    assert info.value.reason is Reason.PATH_ESCAPE


def test_a_dangling_symlink_is_unreadable(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    with pytest.raises(PathRejected) as info:
        relative_path(tmp_path, tmp_path / "dangling.jpg")
    assert info.value.reason is Reason.UNREADABLE


def test_a_symlinked_folder_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"x")
    os.symlink(outside, root / "escape")
    with pytest.raises(PathRejected) as info:
        relative_path(root, root / "escape" / "secret.jpg")
    assert info.value.reason is Reason.PATH_ESCAPE


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(PathRejected) as info:
        relative_path(tmp_path, tmp_path / "dir")
    assert info.value.reason is Reason.NOT_A_FILE


def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg")
    with open(bad, "wb") as fh:
        fh.write(b"x")
    with pytest.raises(PathRejected) as info:
        relative_path(tmp_path, Path(os.fsdecode(bad)))
    assert info.value.reason is Reason.UNREADABLE


def test_ids_depend_on_the_path_only_and_ignore_unicode_normalisation(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.jpg")
    (tmp_path / nfd).write_bytes(b"x")
    rel = relative_path(tmp_path, tmp_path / nfd)
    assert artwork_id(rel) == artwork_id(PurePosixPath(unicodedata.normalize("NFC", "café.jpg")))
    assert artwork_id(PurePosixPath("a/b.jpg")) != artwork_id(PurePosixPath("a/c.jpg"))
    assert len(artwork_id(rel)) == 64
