"""Fixtures of the browser tests: the live API, headless Debian Chromium, a collection of our own.

The API at settings.api.url is used as it is when it answers /healthz; otherwise the session's
`stack` fixture starts the local stack (which starts the API too). Chromium is Debian's
(`apt-get install -y chromium`), driven by Playwright for Python; `playwright install` is never
needed. Without /usr/bin/chromium the tests skip, unless GALLERY_REQUIRE_BROWSER=1 (then they
fail, as a missing browser should in CI).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from gallery_core.settings import REPO_ROOT, Settings

CHROMIUM = Path(os.environ.get("GALLERY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CLIPART = Path("/usr/share/openclipart/png")

N_PAINTINGS = 30
N_CLIPART = 10
LONG_TITLE = (
    "An extraordinarily long title for a small study of overlapping warm circles, painted "
    "over many evenings in the late autumn light of a north-facing studio"
)
LONG_ARTIST = "Maria-Magdalena Konstantinopoulou-Vandervelde"


def _api_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def api_url(request: pytest.FixtureRequest, settings: Settings) -> str:
    url = settings.api.url
    if not _api_up(url):
        request.getfixturevalue("stack")  # devstack.stack.up starts the API as well
        deadline = time.monotonic() + 180
        while not _api_up(url):
            if time.monotonic() > deadline:
                pytest.fail(f"the API did not come up at {url}")
            time.sleep(1)
    return url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("GALLERY_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---- a collection of our own, dropped into the watched folder --------------------------------


@dataclass
class Work:
    name: str
    title: str
    artist: str
    style: str
    year: int
    data: bytes


@dataclass
class Collection:
    name: str
    folder: Path
    works: list[Work] = field(default_factory=list)
    #: File names of two works with byte-identical content.
    duplicate_pair: tuple[str, str] = ("", "")

    def artwork_id(self, file_name: str) -> str:
        import hashlib

        return hashlib.sha256(f"{self.name}/{file_name}".encode()).hexdigest()

    def work(self, file_name: str) -> Work:
        return next(w for w in self.works if w.name == file_name)


STYLES = {
    "Warm circles": [(214, 73, 51), (242, 166, 90), (250, 220, 150), (120, 40, 40)],
    "Cool stripes": [(30, 70, 140), (90, 150, 200), (200, 225, 240), (20, 30, 60)],
    "Green fields": [(40, 110, 60), (150, 190, 90), (230, 230, 180), (60, 50, 30)],
}
ARTISTS = ["Ada Marsh", "Bruno Kell", "Chiara Oduya"]


def painting(style: str, seed: int, size: tuple[int, int]) -> bytes:
    """A small abstract 'painting' whose look depends on its style (so similarity has shape)."""
    rng = np.random.default_rng(seed)
    palette = STYLES[style]
    w, h = size
    top, bottom = np.array(palette[2]), np.array(palette[3])
    t = np.linspace(0, 1, h)[:, None, None]
    bg = (top * (1 - t) + bottom * t).astype(np.uint8)
    img = Image.fromarray(np.broadcast_to(bg, (h, w, 3)).copy())
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(6, 14))):
        color = tuple(int(c) for c in palette[int(rng.integers(0, 2))])
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(min(w, h) // 12, min(w, h) // 4))
        if style == "Warm circles":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
        elif style == "Cool stripes":
            draw.rectangle((0, y, w, y + r // 3), fill=color)
        else:
            draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=color)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def build_works() -> list[Work]:
    works = []
    sizes = [(320, 400), (400, 300), (360, 360), (300, 420), (480, 320)]
    names = list(STYLES)
    for i in range(N_PAINTINGS):
        style = names[i % len(names)]
        title = f"{style.split()[1].capitalize()} study no. {i + 1}"
        artist = ARTISTS[i % len(ARTISTS)]
        if i == 3:
            title, artist = LONG_TITLE, LONG_ARTIST
        works.append(
            Work(
                name=f"study-{i + 1:02d}.jpg",
                title=title,
                artist=artist,
                style=style,
                year=1890 + i,
                data=painting(style, i, sizes[i % len(sizes)]),
            )
        )
    clip = (
        sorted(p for p in (CLIPART / "animals").rglob("*.png") if p.stat().st_size < 60_000)
        if CLIPART.is_dir()
        else []
    )
    for i, path in enumerate(clip[:N_CLIPART]):
        works.append(
            Work(
                name=f"clip-{i + 1:02d}.png",
                title=path.stem.replace("_", " "),
                artist="Openclipart",
                style="Clip art",
                year=2010,
                data=path.read_bytes(),
            )
        )
    for i in range(len(works), N_PAINTINGS + N_CLIPART):  # no clip art installed: more paintings
        works.append(
            Work(
                name=f"extra-{i:02d}.jpg",
                title=f"Extra study {i}",
                artist=ARTISTS[i % 3],
                style="Warm circles",
                year=1950,
                data=painting("Warm circles", 1000 + i, (320, 320)),
            )
        )
    return works


def _count(api_url: str, collection: str) -> int:
    body = httpx.get(
        f"{api_url}/api/artworks", params={"collection": collection, "limit": 1}, timeout=10
    ).json()
    return int(body["total"])


def _wait_count(api_url: str, collection: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    seen = _count(api_url, collection)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = _count(api_url, collection)
    return seen


@pytest.fixture(scope="session")
def gallery_collection(api_url: str, settings: Settings) -> Iterator[Collection]:
    """~40 works (abstract paintings, clip art, one identical copy, a very long title) in
    watch/<unique>/, searchable before the tests start; removed again at the end."""
    name = f"gallery-ui-{uuid.uuid4().hex[:8]}"
    folder = settings.paths.watch_dir / name
    folder.mkdir(parents=True)
    coll = Collection(name=name, folder=folder, works=build_works())
    # an identical copy under another name: the gallery shows it as such
    original = coll.works[0]
    copy = Work(
        name="copy-of-study-01.jpg",
        title=f"{original.title} (copy)",
        artist=original.artist,
        style=original.style,
        year=original.year,
        data=original.data,
    )
    coll.works.append(copy)
    coll.duplicate_pair = (original.name, copy.name)
    # the sidecar first, so every image is published with its metadata
    with (folder / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filename", "title", "artist", "style", "date"])
        for w in coll.works:
            writer.writerow([w.name, w.title, w.artist, w.style, str(w.year)])
    time.sleep(1.5)  # let the watcher settle the sidecar before the images arrive
    for w in coll.works:
        (folder / w.name).write_bytes(w.data)
    try:
        seen = _wait_count(api_url, name, len(coll.works), timeout=240)
        assert seen == len(coll.works), f"only {seen} of {len(coll.works)} works became searchable"
        yield coll
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        left = _wait_count(api_url, name, 0, timeout=120)
        # the cached map of a collection that is gone is dropped on the next request
        httpx.get(f"{api_url}/api/map", params={"collection": name}, timeout=60)
        if left:
            pytest.fail(f"{left} works of {name} were still indexed after removing the folder")
