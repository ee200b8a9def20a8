"""Which parts of a picture are embedded: regions of an indexed work, views of a query photo.

Pure geometry on decoded images (Pillow, numpy, OpenCV); no model, no I/O.

*Index side* (the worker): besides the whole picture (its centre square, `to_model_input`),
each work is embedded in `REGION_GRID` x `REGION_GRID` square **regions** whose side is
`REGION_SIDE` of the picture's shorter side, spread evenly over the picture. A detail that a
visitor photographs, or a catalogue crops, is then close to one of them: a crop keeping 60 % of
each side shares at least ~70 % of its area with the nearest region.

*Query side* (upload search and `gallery eval`): an uploaded photo is embedded as several
**views**: the photo itself, every picture-like quadrilateral found in it (a painting hanging
on a wall, tilted, in a frame; a catalogue page with a caption under the plate), rectified to
a straight rectangle, and the photo's central part. A work's score is its best match over
(view, region) pairs (the API's `fuse_views`, the evaluation's `fused_top_k`), and the
answer says which view and which region matched.

The quadrilateral finder is the usual document-scanner recipe (OpenCV: edges, contours,
polygon approximation, perspective warp); it is hand-tuned here only in its thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "REGION_GRID",
    "REGION_SIDE",
    "Box",
    "View",
    "find_picture_quads",
    "index_regions",
    "picture_regions",
    "query_views",
    "rectify",
]

#: Regions per side of the grid of indexed regions (so REGION_GRID**2 regions per work).
REGION_GRID: Final = 3
#: A region's side as a share of the picture's shorter side.
REGION_SIDE: Final = 0.6
#: Long side the quadrilateral finder works at (pixels).
FINDER_SIDE: Final = 512
#: A picture-like quadrilateral covers at least this share of the photo, and at most the next.
MIN_QUAD_AREA: Final = 0.08
MAX_QUAD_AREA: Final = 0.97
#: Border added around the photo before looking for outlines (pixels at `FINDER_SIDE`).
PAD_PX: Final = 6
#: Quadrilaterals kept per photo (a frame's outer and inner edge, and one more).
MAX_QUADS: Final = 3
#: A found picture is at most this elongated, and its grey levels vary at least this much.
MAX_PICTURE_ASPECT: Final = 3.0
MIN_PICTURE_CONTRAST: Final = 12.0
#: The central view keeps this share of each side of the photo.
CENTRE_SHARE: Final = 0.7


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box as shares of the picture's width and height (0..1)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.x0 * width),
            round(self.y0 * height),
            max(round(self.x0 * width) + 1, round(self.x1 * width)),
            max(round(self.y0 * height) + 1, round(self.y1 * height)),
        )

    def as_list(self) -> list[float]:
        return [round(self.x0, 4), round(self.y0, 4), round(self.x1, 4), round(self.y1, 4)]


@dataclass(frozen=True, slots=True)
class View:
    """One way of looking at a query photo: its name, and the image to embed."""

    name: str
    image: Image.Image


def index_regions(width: int, height: int) -> list[Box]:
    """The `REGION_GRID`**2 square regions of a ``width`` x ``height`` picture, row by row."""
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    side = REGION_SIDE * min(width, height)
    fw, fh = side / width, side / height
    steps = np.linspace(0.0, 1.0, REGION_GRID)
    return [
        Box(
            float(sx * (1 - fw)),
            float(sy * (1 - fh)),
            float(sx * (1 - fw) + fw),
            float(sy * (1 - fh) + fh),
        )
        for sy in steps
        for sx in steps
    ]


def picture_regions(width: int, height: int) -> list[Box]:
    """What a painting model's region vectors describe, as boxes of the whole picture.

    The model sees the centre square (`to_model_input`): first that square, then its
    `index_regions`, mapped back to shares of the picture's ``width`` and ``height``.
    """
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    side = min(width, height)
    ox, oy = (width - side) / 2, (height - side) / 2
    return [
        Box(
            (ox + b.x0 * side) / width,
            (oy + b.y0 * side) / height,
            (ox + b.x1 * side) / width,
            (oy + b.y1 * side) / height,
        )
        for b in [Box(0.0, 0.0, 1.0, 1.0), *index_regions(1, 1)]
    ]


def find_picture_quads(img: Image.Image) -> list[npt.NDArray[np.float32]]:
    """Corners (tl, tr, br, bl; ``(4, 2)`` in ``img``'s pixels) of picture-like quadrilaterals.

    Largest first, at most `MAX_QUADS`, none nearly equal to another or to the whole photo.
    """
    import cv2

    scale = min(1.0, FINDER_SIDE / max(img.size))
    small = img.convert("L")
    if scale < 1.0:
        small = small.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
            Image.Resampling.BILINEAR,
        )
    # A frame of black around the photo, so that a picture filling it up to one or more of its
    # edges (a catalogue plate with a caption strip under it) still has a closed outline.
    pad = PAD_PX
    grey = cv2.copyMakeBorder(np.asarray(small), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    grey = cv2.GaussianBlur(grey, (5, 5), 0)
    median = float(np.median(grey))
    edges = cv2.Canny(grey, max(10.0, 0.5 * median), max(30.0, 1.2 * median))
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    area_px = float(small.width * small.height)
    found: list[tuple[float, npt.NDArray[np.float32]]] = []
    for contour in contours:
        area = float(cv2.contourArea(contour))
        if not MIN_QUAD_AREA * area_px <= area <= MAX_QUAD_AREA * area_px:
            continue
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            quad = approx.reshape(4, 2).astype(np.float32)
        else:
            rect = cv2.minAreaRect(contour)
            (_, _), (rw, rh), _ = rect
            if rw * rh <= 0 or area / (rw * rh) < 0.9:
                continue
            quad = cv2.boxPoints(rect).astype(np.float32)
        found.append((area, (_order_corners(quad) - pad) / scale))
    found.sort(key=lambda t: -t[0])
    w, h = img.size
    kept = [np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)]
    for _, quad in found:
        if all(_corner_distance(quad, q) > 0.03 * max(img.size) for q in kept):
            kept.append(quad)
        if len(kept) == MAX_QUADS + 1:
            break
    return kept[1:]  # not the photo's own outline


def rectify(img: Image.Image, quad: npt.NDArray[np.float32]) -> Image.Image:
    """The quadrilateral ``quad`` (tl, tr, br, bl) of ``img`` warped to an upright rectangle."""
    import cv2

    tl, tr, br, bl = quad
    width = max(2, round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = max(2, round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    warped = cv2.warpPerspective(
        np.asarray(img.convert("RGB")), matrix, (width, height), flags=cv2.INTER_AREA
    )
    return Image.fromarray(warped)


def query_views(img: Image.Image) -> list[View]:
    """The photo, each picture found in it (rectified), and its central part."""
    rgb = img.convert("RGB")
    views = [View("photo", rgb)]
    pictures = [rectify(rgb, quad) for quad in find_picture_quads(rgb)]
    for k, picture in enumerate(p for p in pictures if _looks_like_a_picture(p)):
        views.append(View(f"picture-{k + 1}", picture))
    margin = (1 - CENTRE_SHARE) / 2
    box = Box(margin, margin, 1 - margin, 1 - margin).pixels(rgb.width, rgb.height)
    views.append(View("centre", rgb.crop(box)))
    return views


def _looks_like_a_picture(img: Image.Image) -> bool:
    """Not a strip (a caption, a label, a frame's edge) and not a blank area (a wall, a page).

    Such outlines are found too, and their near-empty content would match blank works.
    """
    ratio = img.width / img.height
    if not 1 / MAX_PICTURE_ASPECT <= ratio <= MAX_PICTURE_ASPECT:
        return False
    grey = np.asarray(img.convert("L").resize((64, 64)), np.float32)
    return float(grey.std()) >= MIN_PICTURE_CONTRAST


def _order_corners(quad: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Top-left, top-right, bottom-right, bottom-left."""
    s = quad.sum(axis=1)
    d = np.diff(quad, axis=1).ravel()
    return np.array(
        [quad[np.argmin(s)], quad[np.argmin(d)], quad[np.argmax(s)], quad[np.argmax(d)]],
        dtype=np.float32,
    )


def _corner_distance(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    return float(np.max(np.linalg.norm(a - b, axis=1)))
