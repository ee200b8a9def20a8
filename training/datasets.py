"""Training and evaluation data: readers for the public layouts, and arrays for the model.

Readers return `LabeledImage` records (a path plus optional ``style`` and ``genre``):

* `read_folder_tree`: ``root/<class>/.../*.jpg`` (WikiArt's folder-per-style layout);
  the class is the first folder under ``root`` and becomes ``label_field``.
* `read_csv`: a CSV with a filename column and style / genre columns (Painter by
  Numbers' ``train_info.csv``: ``filename,artist,title,style,genre,date``); column
  names are configurable.
* `read_openclipart`: Debian's ``openclipart-png`` (``/usr/share/openclipart/png/<category>/``),
  with the category as genre.

`load_arrays` decodes files with the shared safe decoder and `to_model_input`, exactly
as the worker does, in a small process pool, and drops exact duplicates (same model
input). `split_holdout` assigns each image to train or held-out by a hash of its path,
so the split does not depend on the order files are listed in.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging import decode_image, to_model_input
from training.styles import STYLE_NAMES, render

__all__ = [
    "IMAGE_SUFFIXES",
    "OPENCLIPART_ROOT",
    "ArrayDataset",
    "LabeledImage",
    "generated_styles",
    "load_arrays",
    "read_csv",
    "read_folder_tree",
    "read_openclipart",
    "split_holdout",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: Final = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
)
OPENCLIPART_ROOT: Final = Path("/usr/share/openclipart/png")


@dataclass(frozen=True, slots=True)
class LabeledImage:
    """An image file and what is known of it (a generated style, a clip-art category)."""

    path: Path
    style: str | None = None
    genre: str | None = None


@dataclass(slots=True)
class ArrayDataset:
    """Model inputs plus integer labels per head (-1 where an image has no such label)."""

    images: npt.NDArray[np.uint8]  # (n, S, S, 3)
    labels: dict[str, npt.NDArray[np.int32]]  # head -> (n,)
    classes: dict[str, list[str]]  # head -> class names (index = label)
    ids: list[str]  # path or generator id per image

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx: npt.NDArray[np.int64] | Sequence[int]) -> ArrayDataset:
        idx = np.asarray(idx, dtype=np.int64)
        return ArrayDataset(
            self.images[idx],
            {k: v[idx] for k, v in self.labels.items()},
            dict(self.classes),
            [self.ids[i] for i in idx],
        )

    @staticmethod
    def concat(parts: Sequence[ArrayDataset]) -> ArrayDataset:
        """Stack datasets; heads missing from a part get label -1 there."""
        heads: dict[str, list[str]] = {}
        for p in parts:
            for head, names in p.classes.items():
                if head in heads and heads[head] != names:
                    raise ValueError(f"head {head!r} has different classes in two parts")
                heads[head] = names
        labels = {
            h: np.concatenate(
                [p.labels.get(h, np.full(len(p), -1, np.int32)) for p in parts]
            ).astype(np.int32)
            for h in heads
        }
        return ArrayDataset(
            np.concatenate([p.images for p in parts]),
            labels,
            heads,
            [i for p in parts for i in p.ids],
        )


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def read_folder_tree(root: Path, label_field: str = "style") -> list[LabeledImage]:
    """Every image under ``root/<class>/`` (any depth), labelled with ``<class>``."""
    if label_field not in ("style", "genre"):
        raise ValueError("label_field is 'style' or 'genre'")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    out: list[LabeledImage] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(class_dir.rglob("*")):
            if _is_image(path):
                out.append(LabeledImage(path, **{label_field: class_dir.name}))
    if not out:
        raise ValueError(f"no images in class folders under {root}")
    return out


def read_csv(
    csv_path: Path,
    image_dir: Path | None = None,
    *,
    filename_column: str = "filename",
    style_column: str | None = "style",
    genre_column: str | None = "genre",
    skip_missing: bool = True,
) -> list[LabeledImage]:
    """Rows of a filename/style/genre CSV; file names are relative to ``image_dir``.

    Empty label cells become None. Rows whose file does not exist are skipped (with
    a logged count) unless ``skip_missing`` is False, then they raise.
    """
    csv_path = Path(csv_path)
    base = Path(image_dir) if image_dir is not None else csv_path.parent
    out: list[LabeledImage] = []
    missing = 0
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        for col in (filename_column, style_column, genre_column):
            if col is not None and col not in fields:
                raise ValueError(f"{csv_path} has no column {col!r} (columns: {fields})")
        for row in reader:
            path = base / row[filename_column]
            if not path.is_file():
                if not skip_missing:
                    raise FileNotFoundError(path)
                missing += 1
                continue
            style = (row.get(style_column) or "").strip() or None if style_column else None
            genre = (row.get(genre_column) or "").strip() or None if genre_column else None
            out.append(LabeledImage(path, style=style, genre=genre))
    if missing:
        log.warning("%s: %d rows name files that do not exist; skipped", csv_path, missing)
    return out


def read_openclipart(root: Path = OPENCLIPART_ROOT) -> list[LabeledImage]:
    """openclipart-png, genre = top-level category (``apt-get install openclipart-png``)."""
    if not Path(root).is_dir():
        raise FileNotFoundError(
            f"{root} not found: install Debian's clip art with "
            "`apt-get update && apt-get install -y openclipart-png`"
        )
    return read_folder_tree(root, label_field="genre")


def split_holdout(
    items: Sequence[LabeledImage], fraction: float, salt: str = "holdout"
) -> tuple[list[LabeledImage], list[LabeledImage]]:
    """``(kept, held_out)``: each item goes by a hash of its file name, not its position."""
    cut = int(fraction * 10_000)
    kept: list[LabeledImage] = []
    held: list[LabeledImage] = []
    for item in items:
        key = f"{salt}/{item.path.parent.name}/{item.path.name}".encode()
        (held if zlib.crc32(key) % 10_000 < cut else kept).append(item)
    return kept, held


def _load_one(args: tuple[str, int]) -> npt.NDArray[np.uint8] | None:
    path, size = args
    try:
        decoded = decode_image(Path(path).read_bytes())
    except (ImageDecodeError, OSError) as exc:
        log.warning("skipping %s: %s", path, exc)
        return None
    return to_model_input(decoded, size)


def _classes_of(values: Iterable[str | None], min_count: int) -> list[str]:
    counts = Counter(v for v in values if v is not None)
    return sorted(c for c, n in counts.items() if n >= min_count)


def load_arrays(
    items: Sequence[LabeledImage],
    size: int,
    *,
    workers: int = 2,
    min_class_count: int = 1,
    classes: dict[str, list[str]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ArrayDataset:
    """Decode ``items`` to ``(n, size, size, 3)`` uint8, drop undecodable files and duplicates.

    Heads are ``style`` and ``genre`` where any item has that label. Classes with
    fewer than ``min_class_count`` images get label -1 (unless ``classes`` fixes the
    class lists, e.g. to encode a validation set like the training set).
    """
    jobs = [(str(it.path), size) for it in items]
    if workers > 1 and len(jobs) > 64:
        with ProcessPoolExecutor(workers) as pool:
            arrays = []
            for a in pool.map(_load_one, jobs, chunksize=32):
                arrays.append(a)
                if progress:
                    progress(1)
    else:
        arrays = []
        for job in jobs:
            arrays.append(_load_one(job))
            if progress:
                progress(1)
    keep: list[int] = []
    seen: set[bytes] = set()
    for i, a in enumerate(arrays):
        if a is None:
            continue
        digest = hashlib.blake2b(a.tobytes(), digest_size=16).digest()
        if digest in seen:
            continue
        seen.add(digest)
        keep.append(i)
    if len(keep) < len(items):
        log.info("kept %d of %d images (undecodable or duplicate dropped)", len(keep), len(items))
    kept_items = [items[i] for i in keep]
    images = (
        np.stack([arrays[i] for i in keep])  # type: ignore[misc]
        if keep
        else np.zeros((0, size, size, 3), np.uint8)
    )
    if classes is None:
        classes = {}
        for head in ("style", "genre"):
            names = _classes_of((getattr(it, head) for it in kept_items), min_class_count)
            if names:
                classes[head] = names
    labels: dict[str, npt.NDArray[np.int32]] = {}
    for head, names in classes.items():
        index = {n: i for i, n in enumerate(names)}
        labels[head] = np.asarray(
            [index.get(getattr(it, head) or "", -1) for it in kept_items], dtype=np.int32
        )
    return ArrayDataset(images, labels, dict(classes), [str(it.path) for it in kept_items])


def _render_one(args: tuple[str, int, int, int, int]) -> npt.NDArray[np.uint8]:
    from PIL import Image

    style, seed, i, render_size, size = args
    return to_model_input(Image.fromarray(render(style, seed, i, render_size)), size)


def generated_styles(
    per_style: int,
    *,
    seed: int,
    size: int,
    render_size: int = 224,
    start: int = 0,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> ArrayDataset:
    """``per_style`` images of every generated style, through `to_model_input` like files."""
    jobs = [
        (style, seed, i, render_size, size)
        for style in STYLE_NAMES
        for i in range(start, start + per_style)
    ]
    images: list[npt.NDArray[np.uint8]] = []
    if workers > 1 and len(jobs) > 64:
        with ProcessPoolExecutor(workers) as pool:
            for a in pool.map(_render_one, jobs, chunksize=16):
                images.append(a)
                if progress:
                    progress(1)
    else:
        for job in jobs:
            images.append(_render_one(job))
            if progress:
                progress(1)
    return ArrayDataset(
        np.stack(images),
        {"style": np.asarray([STYLE_NAMES.index(j[0]) for j in jobs], dtype=np.int32)},
        {"style": list(STYLE_NAMES)},
        [f"generated:{j[0]}:{seed}:{j[2]}" for j in jobs],
    )
