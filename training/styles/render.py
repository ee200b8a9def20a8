"""The painting-like styles: one function per style, ``(rng, size) -> uint8 RGB``.

Every style randomises its palette, composition and scale (dot sizes, stroke
lengths, line spacing...) from the generator it is given, so two images of one style
share a *way of painting* and little else.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from training.styles.scene import FloatImage, grid, make_palette, make_scene, smooth_noise

__all__ = ["STYLES", "StyleFn"]

U8 = npt.NDArray[np.uint8]
StyleFn = Callable[[np.random.Generator, int], U8]


def _u8(rgb: FloatImage) -> U8:
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _f(img: Image.Image) -> FloatImage:
    return np.asarray(img, dtype=np.float32) / 255.0


def _col(c: FloatImage | tuple[float, ...]) -> tuple[int, int, int]:
    r, g, b = (int(np.clip(round(float(v) * 255), 0, 255)) for v in c[:3])
    return r, g, b


def _jitter(
    c: FloatImage, rng: np.random.Generator, hue: float, sat: float, val: float
) -> FloatImage:
    h, s, v = colorsys.rgb_to_hsv(*(float(x) for x in c))
    h = (h + rng.normal(0, hue)) % 1.0
    s = float(np.clip(s + rng.normal(0, sat), 0, 1))
    v = float(np.clip(v + rng.normal(0, val), 0, 1))
    return np.asarray(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32)


def _edges(labels: npt.NDArray[np.int32], width: int) -> npt.NDArray[np.bool_]:
    e = np.zeros(labels.shape, dtype=bool)
    e[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    e[1:, :] |= labels[1:, :] != labels[:-1, :]
    if width > 1:
        img = Image.fromarray(e.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(width | 1))
        e = np.asarray(img) > 0
    return e


def _paper(rng: np.random.Generator, size: int, tint: FloatImage | None = None) -> FloatImage:
    base = (
        tint
        if tint is not None
        else np.asarray(
            colorsys.hsv_to_rgb(
                rng.uniform(0.08, 0.15), rng.uniform(0.03, 0.15), rng.uniform(0.9, 0.98)
            ),
            dtype=np.float32,
        )
    )
    grain = rng.normal(0, 0.015, (size, size, 1)).astype(np.float32)
    out: FloatImage = np.clip(base[None, None, :] + grain, 0, 1)
    return out


# ----------------------------------------------------------------------------- styles


def pointillism(rng: np.random.Generator, size: int) -> U8:
    """Seurat: small round dots of pure colour sampled from the scene."""
    pal = make_palette(rng, 5, sat=(0.5, 0.95), val=(0.6, 1.0))
    scene = make_scene(rng, size, pal)
    img = Image.fromarray(_u8(_paper(rng, size)))
    draw = ImageDraw.Draw(img)
    r = rng.uniform(1.6, 3.2) * size / 224
    n = int(size * size / (r * r) * 0.6)
    ys = rng.random(n) * size
    xs = rng.random(n) * size
    for y, x in zip(ys, xs, strict=True):
        c = scene.rgb[int(y), int(x)]
        if rng.random() < 0.12:  # optical mixing: a neighbouring palette colour
            c = pal[int(rng.integers(len(pal)))]
        c = _jitter(c, rng, 0.02, 0.08, 0.06)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_col(c))
    return np.asarray(img)


def hatching(rng: np.random.Generator, size: int) -> U8:
    """Pen-and-ink: parallel and cross-hatched lines whose density follows the tone."""
    pal = make_palette(rng, 5, sat=(0.0, 0.6), val=(0.15, 1.0))
    scene = make_scene(rng, size, pal)
    lum = scene.rgb @ np.asarray([0.3, 0.59, 0.11], dtype=np.float32)
    lum = (lum - lum.min()) / max(float(lum.max() - lum.min()), 1e-3)
    yy, xx = grid(size)
    spacing = rng.uniform(4.5, 8.0) / size
    width = rng.uniform(0.25, 0.45)
    base_angle = rng.uniform(0, np.pi)
    wobble = smooth_noise(rng, size, 6) * 0.6 * spacing * 4
    ink = np.zeros((size, size), dtype=bool)
    for j, thr in enumerate((0.85, 0.6, 0.38, 0.2)):
        a = base_angle + j * np.pi / 4 * (1 if j % 2 == 0 else -1.3)
        u = (xx * np.cos(a) + yy * np.sin(a) + wobble) / spacing
        ink |= ((u % 1.0) < width) & (lum < thr)
    ink |= _edges(scene.labels, 2)
    paper = _paper(rng, size)
    ink_col = np.asarray(
        [(0.08, 0.07, 0.06), (0.1, 0.12, 0.3), (0.3, 0.18, 0.08)][int(rng.integers(3))],
        dtype=np.float32,
    )
    out = np.where(ink[..., None], ink_col, paper)
    return _u8(out)


def colour_field(rng: np.random.Generator, size: int) -> U8:
    """Rothko / Newman: a few huge soft-edged fields of deep colour."""
    pal = make_palette(rng, 4, sat=(0.5, 1.0), val=(0.3, 0.9))
    ground = pal[0]
    out = np.broadcast_to(ground, (size, size, 3)).copy()
    layers: list[tuple[Image.Image, FloatImage]] = []
    if rng.random() < 0.75:  # stacked rectangles
        n = int(rng.integers(2, 4))
        margin = rng.uniform(0.06, 0.12) * size
        shares = 0.6 / n + 0.4 * rng.dirichlet(np.ones(n) * 2)
        bounds = np.concatenate([[0.0], np.cumsum(shares)])
        inner = size - 2 * margin
        for i in range(n):
            m = Image.new("L", (size, size), 0)
            d = ImageDraw.Draw(m)
            y0 = margin + bounds[i] * inner + 0.025 * size
            y1 = max(y0 + 1, margin + bounds[i + 1] * inner - 0.025 * size)
            d.rectangle((margin, y0, size - margin, y1), fill=255)
            layers.append((m, pal[1 + i % 3]))
    else:  # zips
        for _ in range(int(rng.integers(1, 3))):
            m = Image.new("L", (size, size), 0)
            d = ImageDraw.Draw(m)
            x = rng.uniform(0.1, 0.9) * size
            w = rng.uniform(0.01, 0.05) * size
            d.rectangle((x - w, 0, x + w, size), fill=255)
            layers.append((m, pal[int(rng.integers(1, 4))]))
    blur = rng.uniform(1.5, 4.0) * size / 224
    for m, col in layers:
        a = _f(m.filter(ImageFilter.GaussianBlur(blur)))[..., None]
        rough = 0.85 + 0.3 * smooth_noise(rng, size, 12)[..., None]
        a = np.clip(a * rough, 0, 1)
        out = out * (1 - a) + col * a
    tex = (smooth_noise(rng, size, 40) - 0.5)[..., None] * 0.08
    return _u8(out + tex)


def cubist(rng: np.random.Generator, size: int) -> U8:
    """Analytic cubism: angular facets in muted earth tones, shaded, dark edges."""
    pal = make_palette(rng, 5, sat=(0.1, 0.45), val=(0.3, 0.8), scheme="analogous")
    scene = make_scene(rng, size, pal)
    yy, xx = grid(size)
    n = int(rng.integers(12, 40))
    py, px = rng.random(n), rng.random(n)
    d = (yy[..., None] - py) ** 2 + (xx[..., None] - px) ** 2
    lab = np.argmin(d, axis=-1).astype(np.int32)
    for _ in range(int(rng.integers(3, 8))):  # straight cuts across the facets
        a = rng.uniform(0, np.pi)
        c = rng.uniform(0.2, 0.8)
        side = (xx * np.cos(a) + yy * np.sin(a)) > c
        lab = lab * 2 + side
    _, lab = np.unique(lab, return_inverse=True)
    lab = lab.reshape(size, size).astype(np.int32)
    out = np.zeros((size, size, 3), dtype=np.float32)
    for i in range(int(lab.max()) + 1):
        m = lab == i
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        base = scene.rgb[int(ys.mean()), int(xs.mean())] * 0.6 + pal[i % len(pal)] * 0.4
        a = rng.uniform(0, 2 * np.pi)
        g = xx[m] * np.cos(a) + yy[m] * np.sin(a)
        g = (g - g.min()) / max(float(g.max() - g.min()), 1e-3)
        shade = rng.uniform(0.45, 0.8) + rng.uniform(0.3, 0.6) * g
        out[m] = base[None, :] * shade[:, None]
    out[_edges(lab, 2)] *= 0.35
    out += rng.normal(0, 0.02, out.shape).astype(np.float32)
    return _u8(out)


def impressionist(rng: np.random.Generator, size: int) -> U8:
    """Monet: short thick directional strokes of broken, bright colour."""
    pal = make_palette(rng, 5, sat=(0.35, 0.8), val=(0.65, 1.0))
    scene = make_scene(rng, size, pal)
    base = Image.fromarray(_u8(scene.rgb)).filter(ImageFilter.GaussianBlur(size / 40))
    img = base.copy()
    draw = ImageDraw.Draw(img)
    s = size / 224
    length = rng.uniform(6, 14) * s
    width = max(2, int(rng.uniform(3, 6) * s))
    fa, fb = rng.uniform(1, 4, 2)
    pa, pb = rng.uniform(0, 2 * np.pi, 2)
    n = int(size * size / (length * width) * 1.6)
    ys, xs = rng.random(n) * size, rng.random(n) * size
    for y, x in zip(ys, xs, strict=True):
        a = np.sin(fa * x / size * 2 * np.pi + pa) + np.cos(fb * y / size * 2 * np.pi + pb)
        a = a * 0.8 + rng.normal(0, 0.25)
        dx, dy = np.cos(a) * length / 2, np.sin(a) * length / 2
        c = _jitter(scene.rgb[int(y), int(x)], rng, 0.04, 0.12, 0.1)
        draw.line((x - dx, y - dy, x + dx, y + dy), fill=_col(c), width=width)
    return np.asarray(img)


def flat_print(rng: np.random.Generator, size: int) -> U8:
    """Woodcut / ukiyo-e print: few flat colours, thick black outlines, paper grain."""
    pal = make_palette(rng, 4, sat=(0.3, 0.75), val=(0.5, 0.95))
    scene = make_scene(rng, size, pal)
    # Quantise the sky gradient into bands: prints have no smooth ramps.
    levels = np.rint(scene.rgb * 4) / 4
    out = levels * 0.9 + _paper(rng, size) * 0.1
    yy, xx = grid(size)
    if rng.random() < 0.6:  # stylised waves / clouds as black curves
        f = rng.uniform(8, 20)
        wave = np.abs(np.sin(f * np.pi * (yy + 0.05 * np.sin(6 * np.pi * xx)))) < 0.08
        out[wave & (scene.labels == 0)] = 0.1
    edge_w = int(rng.integers(3, 6))
    out[_edges(scene.labels, edge_w)] = np.asarray([0.06, 0.05, 0.05])
    return _u8(out)


def halftone_pop(rng: np.random.Generator, size: int) -> U8:
    """Lichtenstein: primaries, Ben-Day dots on white, bold black outlines."""
    primaries = np.asarray(
        [
            (0.9, 0.1, 0.1),
            (1.0, 0.85, 0.1),
            (0.1, 0.35, 0.85),
            (0.95, 0.75, 0.65),
            (0.1, 0.7, 0.8),
            (0.95, 0.4, 0.6),
        ],
        dtype=np.float32,
    )
    pal = primaries[rng.permutation(len(primaries))[:4]]
    scene = make_scene(rng, size, pal)
    yy, xx = grid(size)
    pitch = rng.uniform(5.0, 9.0) / size
    a = rng.choice([0.0, np.pi / 4, rng.uniform(0, np.pi)])
    u = (xx * np.cos(a) + yy * np.sin(a)) / pitch
    v = (-xx * np.sin(a) + yy * np.cos(a)) / pitch
    r = rng.uniform(0.25, 0.42)
    dots = ((u % 1 - 0.5) ** 2 + (v % 1 - 0.5) ** 2) < r * r
    out = scene.rgb.copy()
    dotted = np.isin(scene.labels, rng.choice(scene.labels.max() + 1, 2, replace=True))
    white = np.asarray([0.98, 0.97, 0.95], dtype=np.float32)
    out = np.where((dotted & ~dots)[..., None], white, out)
    out[_edges(scene.labels, int(rng.integers(3, 7)))] = np.asarray([0.05, 0.05, 0.05])
    return _u8(out)


def watercolour(rng: np.random.Generator, size: int) -> U8:
    """Transparent washes on white paper: soft blooms, darker dried edges, granulation."""
    pal = make_palette(rng, 5, sat=(0.3, 0.8), val=(0.6, 1.0))
    out = _paper(rng, size, np.asarray([0.97, 0.96, 0.93], dtype=np.float32))
    yy, xx = grid(size)
    for _ in range(int(rng.integers(4, 9))):
        cy, cx = rng.uniform(0.1, 0.9, 2)
        ry, rx = rng.uniform(0.1, 0.4, 2)
        warp = (smooth_noise(rng, size, 5) - 0.5) * 0.8
        d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 + warp
        if rng.random() < 0.35:  # a horizontal sky/ground wash instead of a blob
            d = np.abs(yy - cy) / ry * 2 + warp
        m = (d < 1).astype(np.float32)
        soft = _f(Image.fromarray(_u8(m)).filter(ImageFilter.GaussianBlur(size / 60)))
        rim = np.clip(
            m - _f(Image.fromarray(_u8(m)).filter(ImageFilter.GaussianBlur(size / 30))), 0, 1
        )
        gran = 0.8 + 0.4 * rng.random((size, size)).astype(np.float32)
        alpha = np.clip((soft * rng.uniform(0.25, 0.55) + rim * 0.6) * gran, 0, 1)[..., None]
        pigment = pal[int(rng.integers(len(pal)))]
        out = out * (1 - alpha + alpha * pigment)  # subtractive (multiply) mixing
    return _u8(out)


def geometric_grid(rng: np.random.Generator, size: int) -> U8:
    """Mondrian / De Stijl: black bars dividing white rectangles, a few primaries."""
    fills = [
        np.asarray(c, dtype=np.float32)
        for c in [(0.85, 0.1, 0.1), (0.1, 0.2, 0.65), (0.95, 0.8, 0.1), (0.1, 0.1, 0.1)]
    ]
    if rng.random() < 0.4:  # a randomised palette instead of the classic primaries
        fills = list(make_palette(rng, 4, sat=(0.6, 1.0), val=(0.5, 0.95)))
    img = Image.new("RGB", (size, size), _col((0.95, 0.94, 0.9)))
    draw = ImageDraw.Draw(img)
    line = max(3, int(rng.uniform(0.015, 0.035) * size))
    rects = [(0.0, 0.0, float(size), float(size))]
    for _ in range(int(rng.integers(4, 10))):
        i = int(rng.integers(len(rects)))
        x0, y0, x1, y1 = rects.pop(i)
        if (x1 - x0) > (y1 - y0):
            c = rng.uniform(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0))
            rects += [(x0, y0, c, y1), (c, y0, x1, y1)]
        else:
            c = rng.uniform(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0))
            rects += [(x0, y0, x1, c), (x0, c, x1, y1)]
    for x0, y0, x1, y1 in rects:
        if rng.random() < 0.35:
            draw.rectangle((x0, y0, x1, y1), fill=_col(fills[int(rng.integers(len(fills)))]))
        draw.rectangle((x0, y0, x1, y1), outline=(15, 15, 15), width=line)
    return np.asarray(img)


def drip(rng: np.random.Generator, size: int) -> U8:
    """Pollock: tangled poured lines and splatters over a raw canvas."""
    ground = np.asarray(
        colorsys.hsv_to_rgb(rng.uniform(0.05, 0.15), rng.uniform(0.05, 0.3), rng.uniform(0.2, 0.9)),
        dtype=np.float32,
    )
    img = Image.fromarray(_u8(_paper(rng, size, ground)))
    draw = ImageDraw.Draw(img)
    pal = np.concatenate(
        [
            make_palette(rng, 3, sat=(0.2, 0.9), val=(0.3, 1.0)),
            np.asarray([(0.05, 0.05, 0.05), (0.95, 0.95, 0.92)], dtype=np.float32),
        ]
    )
    s = size / 224
    for _ in range(int(rng.integers(25, 60))):
        col = _col(pal[int(rng.integers(len(pal)))])
        x, y = rng.uniform(0, size, 2)
        a = rng.uniform(0, 2 * np.pi)
        w = max(1, int(rng.choice([1, 1, 2, 3, 5]) * s))
        pts = [(x, y)]
        for _ in range(int(rng.integers(20, 80))):
            a += rng.normal(0, 0.5)
            step = rng.uniform(3, 9) * s
            x, y = x + np.cos(a) * step, y + np.sin(a) * step
            pts.append((x, y))
        draw.line(pts, fill=col, width=w, joint="curve")
        for _ in range(int(rng.integers(0, 8))):
            sx, sy = pts[int(rng.integers(len(pts)))]
            r = rng.uniform(1, 4) * s
            sx, sy = sx + rng.normal(0, 6 * s), sy + rng.normal(0, 6 * s)
            draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=col)
    return np.asarray(img)


def ink_wash(rng: np.random.Generator, size: int) -> U8:
    """Sumi-e: graded grey ink mountains and a few dark brush strokes on empty paper."""
    paper = _paper(rng, size)
    tint = np.asarray(
        colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.0, 0.25), 0.15), dtype=np.float32
    )
    yy, xx = grid(size)
    out = paper.copy()
    n = int(rng.integers(2, 5))
    for j in range(n):  # far (pale) to near (dark) ridges
        base = rng.uniform(0.35, 0.6) + j * 0.1
        ridge = base - rng.uniform(0.1, 0.3) * smooth_noise(rng, size, int(rng.integers(3, 8)))[0]
        m = (yy > ridge[None, :]).astype(np.float32)
        fade = np.clip(1 - (yy - ridge[None, :]) / rng.uniform(0.15, 0.4), 0.15, 1)
        strength = 0.2 + 0.6 * (j + 1) / n
        a = _f(Image.fromarray(_u8(m * fade)).filter(ImageFilter.GaussianBlur(size / 100)))
        a = a[..., None] * strength
        out = out * (1 - a) + tint * a
    img = Image.fromarray(_u8(out))
    draw = ImageDraw.Draw(img)
    s = size / 224
    for _ in range(int(rng.integers(1, 4))):  # branches
        x, y = float(rng.uniform(0, size)), float(rng.uniform(0, size * 0.5))
        ang = float(rng.uniform(0, 2 * np.pi))
        w = float(rng.uniform(3, 7) * s)
        for _ in range(int(rng.integers(8, 20))):
            ang += float(rng.normal(0, 0.35))
            nx, ny = x + math.cos(ang) * 8 * s, y + math.sin(ang) * 8 * s
            draw.line((x, y, nx, ny), fill=_col(tint * 0.6), width=max(1, int(w)))
            x, y, w = nx, ny, w * 0.93
    if rng.random() < 0.5:  # red seal
        x, y = rng.uniform(0.75, 0.9) * size, rng.uniform(0.75, 0.9) * size
        r = 0.035 * size
        draw.rectangle((x - r, y - r, x + r, y + r), fill=(180, 30, 25))
    return np.asarray(img)


def mosaic(rng: np.random.Generator, size: int) -> U8:
    """Roman mosaic / stained glass: square tesserae with grout lines."""
    pal = make_palette(rng, 5, sat=(0.3, 0.85), val=(0.4, 0.95))
    scene = make_scene(rng, size, pal)
    tile = rng.uniform(7, 13) * size / 224
    grout = _col([(0.85, 0.83, 0.78), (0.2, 0.2, 0.2), (0.55, 0.52, 0.48)][int(rng.integers(3))])
    img = Image.new("RGB", (size, size), grout)
    draw = ImageDraw.Draw(img)
    gap = max(1.0, tile * rng.uniform(0.12, 0.22))
    n = int(math.ceil(size / tile)) + 1
    for i in range(n):
        offset = rng.uniform(0, tile * 0.5) if rng.random() < 0.5 else 0.0
        for j in range(n):
            y = i * tile + rng.normal(0, tile * 0.05)
            x = j * tile + offset + rng.normal(0, tile * 0.05)
            cy, cx = (
                int(min(size - 1, max(0, y + tile / 2))),
                int(min(size - 1, max(0, x + tile / 2))),
            )
            c = _jitter(scene.rgb[cy, cx], rng, 0.015, 0.06, 0.07)
            draw.rectangle((x, y, x + tile - gap, y + tile - gap), fill=_col(c))
    return np.asarray(img)


def op_art(rng: np.random.Generator, size: int) -> U8:
    """Riley / Vasarely: hard-edged stripes, rings or checks warped into illusions."""
    yy, xx = grid(size)
    if rng.random() < 0.5:
        c0 = np.asarray([0.05, 0.05, 0.05], dtype=np.float32)
        c1 = np.asarray([0.96, 0.96, 0.94], dtype=np.float32)
    else:
        c0, c1 = make_palette(rng, 2, sat=(0.6, 1.0), val=(0.3, 1.0), scheme="complementary")
    kind = int(rng.integers(3))
    f = rng.uniform(8, 20)
    if kind == 0:  # waves
        field = np.sin(
            f * np.pi * (yy + rng.uniform(0.02, 0.08) * np.sin(rng.uniform(4, 12) * np.pi * xx))
        )
    elif kind == 1:  # rings around a moving centre
        cy, cx = rng.uniform(0.2, 0.8, 2)
        field = np.sin(f * np.pi * np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) * 1.5)
    else:  # warped checkerboard
        cy, cx = rng.uniform(0.3, 0.7, 2)
        r2 = (yy - cy) ** 2 + (xx - cx) ** 2
        bulge = 1 + rng.uniform(0.5, 2.0) * np.exp(-r2 / 0.05)
        field = np.sin(f * np.pi * (yy - cy) / bulge) * np.sin(f * np.pi * (xx - cx) / bulge)
    m = (field > 0)[..., None]
    return _u8(np.where(m, c0, c1))


#: Style name -> renderer. The order is the label order of generated datasets.
STYLES: Final[dict[str, StyleFn]] = {
    "pointillism": pointillism,
    "hatching": hatching,
    "colour_field": colour_field,
    "cubist": cubist,
    "impressionist": impressionist,
    "flat_print": flat_print,
    "halftone_pop": halftone_pop,
    "watercolour": watercolour,
    "geometric_grid": geometric_grid,
    "drip": drip,
    "ink_wash": ink_wash,
    "mosaic": mosaic,
    "op_art": op_art,
}
