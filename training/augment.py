"""Batched, per-sample random augmentation in TensorFlow (uint8 in, uint8 out).

It covers the perturbation families `training.perturb` evaluates (crop,
rotation, flip, blur, JPEG, colour shift, noise, downscale, grayscale, overlaid
text) with independent draws per image, so two views of one image differ the way a
re-photographed, re-encoded or captioned copy differs from the original. Randomness
comes from a seeded ``tf.random.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

__all__ = ["AugmentConfig", "Augmenter", "text_masks"]

_WORDS = (
    "SALE",
    "gallery",
    "© 2024",
    "Museum",
    "lot 42",
    "sample",
    "draft",
    "untitled",
    "No. 7",
    "copy",
    "Collection",
    "photo",
    "watermark",
    "preview",
    "ART",
    "1893",
)


def text_masks(n: int, size: int, seed: int) -> npt.NDArray[np.float32]:
    """``(n, size, size)`` alpha masks of random captions, stamps and watermarks."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), dtype=np.float32)
    for k in range(n):
        img = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 3))):
            words = " ".join(rng.choice(_WORDS, int(rng.integers(1, 3))))
            font = ImageFont.load_default(size=float(rng.uniform(0.07, 0.16) * size))
            x = rng.uniform(0, 0.5) * size
            y = rng.uniform(0, 0.85) * size
            draw.text((x, y), words, fill=255, font=font)
        out[k] = np.asarray(img, dtype=np.float32) / 255.0
    return out


#: A (low, high) range a value is drawn from.
Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation (per image)."""

    crop_scale: Range = (0.55, 1.0)  # side of the crop / side of the image
    p_rotate: float = 0.4
    max_degrees: float = 30.0
    p_rot90: float = 0.1
    p_hflip: float = 0.5
    p_vflip: float = 0.05
    p_colour: float = 0.8
    max_hue: float = 0.12
    saturation: Range = (0.4, 1.6)
    brightness: float = 0.25
    contrast: Range = (0.65, 1.4)
    p_gray: float = 0.2
    p_blur: float = 0.25
    blur_sigma: Range = (0.8, 2.2)  # px at the model's input size
    p_downscale: float = 0.2
    downscale: Range = (2.0, 4.5)  # shrink factor before blowing back up
    p_text: float = 0.25
    p_noise: float = 0.3
    max_noise: float = 20.0
    p_jpeg: float = 0.2
    jpeg_quality: tuple[int, int] = (15, 70)
    #: Small originals: with this probability the photometric damage (blur, downscale,
    #: text, noise, JPEG) happens at ``small_side`` px and is then scaled back up, as it
    #: does to a 60-110 px clip-art original or thumbnail before it is resized for the model.
    p_small: float = 0.3
    small_side: tuple[int, int] = (48, 112)


class Augmenter:
    """``aug(images_uint8) -> images_uint8`` of the same shape, drawn per image."""

    def __init__(self, size: int, seed: int, config: AugmentConfig | None = None) -> None:
        self.size = size
        self.cfg = config or AugmentConfig()
        self.gen = tf.random.Generator.from_seed(seed)
        self.text = tf.constant(text_masks(64, size, seed))

    def _u(self, shape: Any, lo: float = 0.0, hi: float = 1.0) -> tf.Tensor:
        return self.gen.uniform(shape, lo, hi)

    def _coin(self, n: tf.Tensor, p: float) -> tf.Tensor:
        return tf.cast(self._u([n]) < p, tf.float32)

    def _geometry(self, x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        c = self.cfg
        s = float(self.size)
        scale = self._u([n], *c.crop_scale)
        theta = self._u([n], -c.max_degrees, c.max_degrees) * (math.pi / 180)
        theta *= self._coin(n, c.p_rotate)
        quarter = tf.cast(self.gen.uniform([n], 1, 4, dtype=tf.int32), tf.float32) * (math.pi / 2)
        theta += quarter * self._coin(n, c.p_rot90)
        flip = 1.0 - 2.0 * self._coin(n, c.p_hflip)
        vflip = 1.0 - 2.0 * self._coin(n, c.p_vflip)
        room = (1.0 - scale) * s / 2
        tx = self._u([n], -1, 1) * room
        ty = self._u([n], -1, 1) * room
        cos, sin = tf.cos(theta), tf.sin(theta)
        a0, a1 = cos * flip * scale, -sin * vflip * scale
        b0, b1 = sin * flip * scale, cos * vflip * scale
        ctr = s / 2
        a2 = ctr + tx - (a0 * ctr + a1 * ctr)
        b2 = ctr + ty - (b0 * ctr + b1 * ctr)
        zeros = tf.zeros_like(a0)
        transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x,
            transforms=transforms,
            output_shape=[self.size, self.size],
            fill_value=255.0,
            interpolation="BILINEAR",
            fill_mode="CONSTANT",
        )

    def _colour(self, x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        c = self.cfg
        on = self._coin(n, c.p_colour)[:, None, None, None]
        hsv = tf.image.rgb_to_hsv(x / 255.0)
        h = tf.math.floormod(hsv[..., 0] + self._u([n], -c.max_hue, c.max_hue)[:, None, None], 1.0)
        sat = tf.clip_by_value(hsv[..., 1] * self._u([n], *c.saturation)[:, None, None], 0, 1)
        y = tf.image.hsv_to_rgb(tf.stack([h, sat, hsv[..., 2]], axis=-1)) * 255.0
        mean = tf.reduce_mean(y, axis=[1, 2, 3], keepdims=True)
        y = (y - mean) * self._u([n], *c.contrast)[:, None, None, None] + mean
        y = y + self._u([n], -c.brightness, c.brightness)[:, None, None, None] * 255.0
        x = on * y + (1 - on) * x
        gray = tf.reduce_sum(x * tf.constant([0.299, 0.587, 0.114]), axis=-1, keepdims=True)
        g = self._coin(n, c.p_gray)[:, None, None, None]
        return g * tf.broadcast_to(gray, tf.shape(x)) + (1 - g) * x

    def _blur_down(self, x: tf.Tensor, n: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
        c = self.cfg
        sigma = self._u([], *c.blur_sigma)
        r = max(4, math.ceil(2 * c.blur_sigma[1]))
        t = tf.range(-r, r + 1, dtype=tf.float32)
        k1 = tf.exp(-(t**2) / (2 * sigma**2))
        k1 = k1 / tf.reduce_sum(k1)
        k = tf.tile((k1[:, None] * k1[None, :])[:, :, None, None], [1, 1, 3, 1])
        padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")
        blurred = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
        b = self._coin(n, c.p_blur)[:, None, None, None]
        x = b * blurred + (1 - b) * x
        factor = self._u([], *c.downscale)
        small = tf.maximum(tf.cast(tf.cast(size, tf.float32) / factor, tf.int32), 1)
        down = tf.image.resize(x, [small, small], method="area")
        up = tf.image.resize(down, [size, size], method="bilinear")
        d = self._coin(n, c.p_downscale)[:, None, None, None]
        return d * up + (1 - d) * x

    def _text_noise(self, x: tf.Tensor, n: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
        c = self.cfg
        idx = self.gen.uniform([n], 0, int(self.text.shape[0]), dtype=tf.int32)
        alpha = tf.image.resize(tf.gather(self.text, idx)[..., None], [size, size], method="area")
        alpha = alpha * self._coin(n, c.p_text)[:, None, None, None]
        ink = tf.where(self._u([n, 1, 1, 1]) < 0.5, 0.0, 255.0)
        ink = tf.where(self._u([n, 1, 1, 1]) < 0.3, self._u([n, 1, 1, 3], 0, 255), ink)
        x = x * (1 - alpha) + ink * alpha
        std = self._u([n, 1, 1, 1], 0, c.max_noise) * self._coin(n, c.p_noise)[:, None, None, None]
        return x + self.gen.normal(tf.shape(x)) * std

    def _jpeg(self, x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        c = self.cfg
        q = self.gen.uniform([n], c.jpeg_quality[0], c.jpeg_quality[1] + 1, dtype=tf.int32)
        on = self._u([n]) < c.p_jpeg
        u8 = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)

        def one(args: tuple[tf.Tensor, tf.Tensor, tf.Tensor]) -> tf.Tensor:
            img, quality, flag = args
            return tf.cond(
                flag,
                lambda: tf.image.adjust_jpeg_quality(img, quality),
                lambda: img,
            )

        return tf.map_fn(one, (u8, q, on), fn_output_signature=tf.uint8)

    def _damage(self, x: tf.Tensor, n: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
        """Blur, downscale, text, noise and JPEG at ``size`` px; float in, rounded float out."""
        x = self._blur_down(x, n, size)
        x = self._text_noise(x, n, size)
        x = tf.clip_by_value(x, 0, 255)
        if self.cfg.p_jpeg > 0:
            return tf.cast(self._jpeg(x, n), tf.float32)
        return tf.round(x)

    def pair(self, images: tf.Tensor, clean_share: float = 0.0) -> tf.Tensor:
        """Two views of each image, stacked ``[first views; second views]`` (2n images).

        With probability ``clean_share`` an image's first view is the image itself
        (the contrastive pair is then original vs. damaged copy, as in copy search);
        otherwise both views are augmented independently.
        """
        first = self(images)
        if clean_share > 0:
            clean = self._u([tf.shape(images)[0], 1, 1, 1]) < clean_share
            first = tf.where(clean, tf.cast(images, tf.uint8), first)
        return tf.concat([first, self(images)], axis=0)

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        x = tf.cast(images, tf.float32)
        n = tf.shape(x)[0]
        x = self._geometry(x, n)
        x = self._colour(x, n)
        out = self._damage(x, n, self.size)
        if self.cfg.p_small > 0:
            side = self.gen.uniform([], *self.cfg.small_side, dtype=tf.int32)
            low = self._damage(tf.image.resize(x, [side, side], method="area"), n, side)
            up = tf.image.resize(low, [self.size, self.size], method="bilinear")
            on = self._coin(n, self.cfg.p_small)[:, None, None, None]
            out = on * up + (1 - on) * out
        return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)
