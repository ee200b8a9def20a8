"""A seeded generator of painting-like images in distinct styles (pure numpy + Pillow).

The default model learns "style" from these images, since this machine has no real
paintings to learn from. Each style (see `STYLE_NAMES`) randomises palette,
composition and scale; ``render(style, seed, index)`` is deterministic::

    from training.styles import render, contact_sheet
    img = render("pointillism", seed=0, index=3, size=224)   # (224, 224, 3) uint8
    contact_sheet(seed=0).save("styles.png")                  # look at every style

Run ``python -m training.styles out.png`` to write a contact sheet.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from training.styles.render import STYLES

__all__ = ["STYLE_NAMES", "contact_sheet", "generate", "render"]

#: The styles, in label order.
STYLE_NAMES: tuple[str, ...] = tuple(STYLES)


def _rng(style: str, seed: int, index: int) -> np.random.Generator:
    # crc32, not hash(): str hashes are salted per process.
    return np.random.default_rng([seed, zlib.crc32(style.encode()), index])


def render(style: str, seed: int, index: int, size: int = 224) -> npt.NDArray[np.uint8]:
    """Image ``index`` of ``style`` for ``seed``: ``(size, size, 3)`` uint8, deterministic."""
    try:
        fn = STYLES[style]
    except KeyError:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLE_NAMES)}") from None
    out = fn(_rng(style, seed, index), size)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8, (style, out.shape, out.dtype)
    return out


def generate(
    per_style: int, seed: int = 0, size: int = 224, start: int = 0
) -> Iterator[tuple[str, int, npt.NDArray[np.uint8]]]:
    """``(style, index, image)`` for indices ``start .. start+per_style-1`` of every style."""
    for style in STYLE_NAMES:
        for i in range(start, start + per_style):
            yield style, i, render(style, seed, i, size)


def contact_sheet(seed: int = 0, per_style: int = 6, size: int = 128) -> Image.Image:
    """One row per style (name on the left), ``per_style`` samples each."""
    label_w = 110
    sheet = Image.new(
        "RGB", (label_w + per_style * (size + 4), len(STYLE_NAMES) * (size + 4)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for row, style in enumerate(STYLE_NAMES):
        y = row * (size + 4)
        draw.text((4, y + size // 2 - 6), style, fill=(0, 0, 0))
        for col in range(per_style):
            img = Image.fromarray(render(style, seed, col, 224)).resize((size, size))
            sheet.paste(img, (label_w + col * (size + 4), y))
    return sheet
