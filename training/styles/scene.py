"""Compositions and palettes the painting styles render (pure numpy).

A `Scene` is a simple landscape-like layout (sky gradient, ground, hills, a sun, a few
objects) as a float RGB image plus an integer region map. Styles that depict
something (pointillism, hatching, impressionist strokes, prints, ...) render the same
kind of scene in their own way, so the style, not the subject, is what tells them
apart.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FloatImage", "Scene", "grid", "make_palette", "make_scene", "smooth_noise"]

FloatImage = npt.NDArray[np.float32]


def grid(size: int) -> tuple[FloatImage, FloatImage]:
    """Pixel-centre coordinates ``(yy, xx)`` in 0..1, each ``(size, size)``."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return yy.astype(np.float32), xx.astype(np.float32)


def make_palette(
    rng: np.random.Generator,
    n: int,
    *,
    sat: tuple[float, float] = (0.4, 0.9),
    val: tuple[float, float] = (0.5, 0.95),
    scheme: str | None = None,
) -> FloatImage:
    """``(n, 3)`` RGB colours in 0..1 around a random base hue (analogous, complementary...)."""
    scheme = scheme or str(rng.choice(["analogous", "complementary", "triadic", "split"]))
    base = rng.random()
    offsets = {
        "analogous": [0.0, 0.06, -0.06, 0.12, -0.12],
        "complementary": [0.0, 0.5, 0.04, 0.54, -0.04],
        "triadic": [0.0, 1 / 3, 2 / 3, 0.05, 0.38],
        "split": [0.0, 0.42, 0.58, 0.05, 0.47],
    }[scheme]
    cols = []
    for i in range(n):
        h = (base + offsets[i % len(offsets)] + rng.normal(0, 0.015)) % 1.0
        s = rng.uniform(*sat)
        v = rng.uniform(*val)
        cols.append(colorsys.hsv_to_rgb(h, s, v))
    return np.asarray(cols, dtype=np.float32)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> FloatImage:
    """Value noise in 0..1: a ``cells x cells`` random grid, bilinearly upsampled."""
    g = rng.random((cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, size, dtype=np.float32)
    i = np.minimum(t.astype(np.int32), cells - 1)
    f = t - i
    f = f * f * (3 - 2 * f)
    a = g[i][:, i] * (1 - f)[None, :] + g[i][:, i + 1] * f[None, :]
    b = g[i + 1][:, i] * (1 - f)[None, :] + g[i + 1][:, i + 1] * f[None, :]
    out: FloatImage = a * (1 - f)[:, None] + b * f[:, None]
    return out


@dataclass(frozen=True, slots=True)
class Scene:
    rgb: FloatImage  # (S, S, 3) in 0..1, flat regions (sky is a gradient)
    labels: npt.NDArray[np.int32]  # (S, S) region ids
    palette: FloatImage  # (k, 3) colours used


def make_scene(rng: np.random.Generator, size: int, palette: FloatImage) -> Scene:
    """A random landscape-like composition coloured from ``palette``."""
    yy, xx = grid(size)
    k = len(palette)

    def pick() -> FloatImage:
        colour: FloatImage = palette[int(rng.integers(k))]
        return colour

    labels = np.zeros((size, size), dtype=np.int32)
    horizon = rng.uniform(0.3, 0.7)
    top, bottom = pick(), pick()
    t = np.clip(yy / max(horizon, 1e-3), 0, 1)[..., None]
    rgb = (top * (1 - t) + bottom * t).astype(np.float32)
    region = 1
    # Sun or moon.
    if rng.random() < 0.7:
        cy, cx = rng.uniform(0.08, horizon * 0.8), rng.uniform(0.1, 0.9)
        r = rng.uniform(0.05, 0.15)
        m = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        rgb[m] = pick()
        labels[m] = region
        region += 1
    # Hills, back to front.
    for j in range(int(rng.integers(1, 4))):
        amp = rng.uniform(0.02, 0.12)
        freq = rng.uniform(1.0, 5.0)
        phase = rng.uniform(0, 2 * np.pi)
        base = horizon + j * rng.uniform(0.03, 0.12)
        m = yy > base - amp * np.sin(2 * np.pi * freq * xx / 2 + phase)
        rgb[m] = pick() * rng.uniform(0.85, 1.1)
        labels[m] = region
        region += 1
    # Objects: ellipses, rectangles, triangles.
    for _ in range(int(rng.integers(1, 6))):
        cy, cx = rng.uniform(0.2, 0.9), rng.uniform(0.05, 0.95)
        h, w = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3)
        kind = rng.integers(3)
        if kind == 0:
            m = ((yy - cy) / h) ** 2 + ((xx - cx) / w) ** 2 < 1
        elif kind == 1:
            m = (np.abs(yy - cy) < h / 2) & (np.abs(xx - cx) < w / 2)
        else:
            m = (
                (yy < cy + h / 2)
                & (yy > cy - h / 2)
                & (np.abs(xx - cx) < (yy - (cy - h / 2)) / max(h, 1e-3) * w / 2)
            )
        rgb[m] = pick()
        labels[m] = region
        region += 1
    return Scene(np.clip(rgb, 0, 1), labels, palette)
