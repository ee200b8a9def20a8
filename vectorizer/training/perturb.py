"""Perturbation families for the copy-recovery evaluation (pure Pillow/numpy, seeded).

Each function takes an RGB ``PIL.Image`` and a ``numpy`` generator and returns a new
RGB image: the kind of change a copy of an artwork picks up on its way around the web
(MoMA-style "find the original" test). Strengths are moderate but clearly visible.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

__all__ = ["FAMILIES", "Perturbation", "perturb"]

Perturbation = Callable[[Image.Image, np.random.Generator], Image.Image]
WHITE: Final = (255, 255, 255)


def crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Keep 60-80 % of each side, anywhere in the image."""
    w, h = img.size
    fw, fh = rng.uniform(0.6, 0.8, 2)
    cw, ch = max(1, round(w * fw)), max(1, round(h * fh))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def rotation(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Turn by 10-30 degrees either way; the corners are filled with white."""
    angle = float(rng.uniform(10, 30) * rng.choice([-1, 1]))
    return img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=WHITE)


def flip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Mirror left-right."""
    return ImageOps.mirror(img)


def blur(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Gaussian blur, radius 1-2 % of the shorter side."""
    return img.filter(ImageFilter.GaussianBlur(min(img.size) * rng.uniform(0.01, 0.02)))


def jpeg(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Re-encode as JPEG at quality 10-25."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(10, 26)))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def colour(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Hue shift of 0.05-0.15 turns, saturation x0.5-1.5, brightness x0.8-1.2."""
    hsv = np.asarray(img.convert("HSV"), dtype=np.int16).copy()
    shift = int(rng.uniform(0.05, 0.15) * 256 * rng.choice([-1, 1]))
    hsv[..., 0] = (hsv[..., 0] + shift) % 256
    out = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    out = ImageEnhance.Color(out).enhance(rng.uniform(0.5, 1.5))
    return ImageEnhance.Brightness(out).enhance(rng.uniform(0.8, 1.2))


def noise(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Additive Gaussian noise, sigma 12-20 grey levels."""
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0, rng.uniform(12, 20), a.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def downscale(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Shrink to 1/4-1/6 of the size and blow back up (a thumbnail re-used)."""
    w, h = img.size
    f = rng.uniform(4, 6)
    small = img.resize((max(1, round(w / f)), max(1, round(h / f))), Image.Resampling.BILINEAR)
    return small.resize((w, h), Image.Resampling.BILINEAR)


def grayscale(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Drop the colour."""
    return img.convert("L").convert("RGB")


_CAPTIONS: Final = ("SOLD", "© gallery", "Lot 117", "preview only", "museum copy", "1889", "ART")


def text(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Overlay a caption or watermark, 8-14 % of the height, black, white or red."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    font = ImageFont.load_default(size=float(max(6.0, h * rng.uniform(0.08, 0.14))))
    caption = str(rng.choice(_CAPTIONS))
    x = rng.uniform(0.02, 0.4) * w
    y = rng.uniform(0.05, 0.8) * h
    fill = [(0, 0, 0), (255, 255, 255), (200, 20, 20)][int(rng.integers(3))]
    draw.text((x, y), caption, fill=fill, font=font, stroke_width=1, stroke_fill=(128, 128, 128))
    return out


#: Family name -> perturbation, in report order.
FAMILIES: Final[dict[str, Perturbation]] = {
    "crop": crop,
    "rotation": rotation,
    "flip": flip,
    "blur": blur,
    "jpeg": jpeg,
    "colour": colour,
    "noise": noise,
    "downscale": downscale,
    "grayscale": grayscale,
    "text": text,
}


def perturb(img: Image.Image, family: str, seed: int) -> Image.Image:
    """``FAMILIES[family]`` applied with a generator seeded by ``seed``."""
    return FAMILIES[family](img.convert("RGB"), np.random.default_rng(seed))
