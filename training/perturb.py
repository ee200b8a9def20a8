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

__all__ = ["FAMILIES", "PAINTING_FAMILIES", "Perturbation", "perturb"]

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
    return _jpeg(img, int(rng.integers(10, 26)))


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


# --- Photographs of a painting (issue 12): what a visitor's or a catalogue's copy looks like.


def detail(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A detail: 60 % of each side, anywhere in the picture."""
    w, h = img.size
    cw, ch = max(1, round(w * 0.6)), max(1, round(h * 0.6))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


_WALLS: Final = ((236, 232, 222), (214, 206, 190), (186, 196, 204), (120, 36, 40), (52, 64, 80))
_FRAMES: Final = ((150, 112, 48), (62, 40, 24), (20, 20, 20), (196, 170, 110))


def framed_photo(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone photo of the picture hanging framed on a wall.

    A frame of 4-8 % of the shorter side, the framed picture filling 55-75 % of the
    photo's width, tilted by up to 5 degrees either way, a wall of one of a few museum
    colours with a lighting gradient, a warm (tungsten) cast, sensor noise and JPEG 70.
    """
    w, h = img.size
    t = max(2, round(min(w, h) * rng.uniform(0.04, 0.08)))
    frame_rgb = np.array(_FRAMES[int(rng.integers(len(_FRAMES)))], dtype=np.float32)
    framed = Image.new("RGB", (w + 2 * t, h + 2 * t), tuple(int(c) for c in frame_rgb))
    draw = ImageDraw.Draw(framed)
    inner = tuple(int(c) for c in np.clip(frame_rgb * 0.6, 0, 255))
    draw.rectangle(
        (t // 2, t // 2, w + t + t // 2, h + t + t // 2), outline=inner, width=max(1, t // 4)
    )
    framed.paste(img, (t, t))
    angle = float(rng.uniform(-5, 5))
    tilted = framed.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    mask = Image.new("L", framed.size, 255).rotate(angle, expand=True)
    fill = rng.uniform(0.55, 0.75)
    width = round(tilted.width / fill)
    aspect = 0.75 if w >= h else 4 / 3  # a phone photo, held the way the picture hangs
    height = max(round(tilted.height / rng.uniform(0.6, 0.8)), round(width * aspect))
    wall = np.array(_WALLS[int(rng.integers(len(_WALLS)))], dtype=np.float32)
    light = np.linspace(1.05, 0.8, height, dtype=np.float32)[:, None, None]
    canvas = np.broadcast_to(wall, (height, width, 3)) * light
    photo = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    x = (width - tilted.width) // 2 + int(rng.integers(-width // 20, width // 20 + 1))
    y = (height - tilted.height) // 2 + int(rng.integers(-height // 20, height // 20 + 1))
    photo.paste(tilted, (x, y), mask)
    a = np.asarray(photo, dtype=np.float32)
    warm = np.array([rng.uniform(1.05, 1.15), 1.0, rng.uniform(0.75, 0.88)], np.float32)
    a = a * warm + rng.normal(0, 3.0, a.shape).astype(np.float32)
    return _jpeg(Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)), 70)


_LABELS: Final = (
    ("Unknown artist", "Landscape with figures", "c. 1650"),
    ("After the master", "Study of light", "1874"),
    ("Workshop of the painter", "Portrait of a lady", "1520"),
)


def caption_strip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A catalogue or museum-label strip under the picture: 15-25 % of its height, 3 lines."""
    w, h = img.size
    strip = max(12, round(h * rng.uniform(0.15, 0.25)))
    out = Image.new("RGB", (w, h + strip), (248, 246, 240))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    lines = _LABELS[int(rng.integers(len(_LABELS)))]
    size = max(6.0, strip / 4.2)
    font = ImageFont.load_default(size=size)
    for k, line in enumerate(lines):
        draw.text(
            (w * 0.04, h + strip * 0.08 + k * size * 1.15), line, fill=(30, 30, 30), font=font
        )
    return out


def dim_noise(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Dim light: brightness x0.35-0.55, sensor noise sigma 6-10 levels, JPEG 85."""
    a = np.asarray(img, dtype=np.float32) * rng.uniform(0.35, 0.55)
    a = a + rng.normal(0, rng.uniform(6, 10), a.shape).astype(np.float32)
    return _jpeg(Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)), 85)


def fifth_resolution(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A thumbnail: 1/5 of the width and height, left small."""
    w, h = img.size
    return img.resize((max(1, round(w / 5)), max(1, round(h / 5))), Image.Resampling.BILINEAR)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


#: Issue 12's families for photos and copies of real paintings, in report order.
PAINTING_FAMILIES: Final[dict[str, Perturbation]] = {
    "detail_crop": detail,
    "framed_photo": framed_photo,
    "caption_strip": caption_strip,
    "dim_noise": dim_noise,
    "fifth_resolution": fifth_resolution,
}


def perturb(img: Image.Image, family: str, seed: int) -> Image.Image:
    """``FAMILIES[family]`` (or ``PAINTING_FAMILIES[family]``), seeded by ``seed``."""
    fn = FAMILIES.get(family) or PAINTING_FAMILIES[family]
    return fn(img.convert("RGB"), np.random.default_rng(seed))
