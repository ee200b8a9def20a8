"""The region whitening learned from copies (`training.painting_recipe.fit_learned_whitening`)."""

import numpy as np
import pytest

from training.painting_recipe import fit_learned_whitening


def _copy_recall(originals: np.ndarray, copies: np.ndarray) -> float:
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    nearest = (unit(copies) @ unit(originals).T).argmax(axis=1)
    return float((nearest == np.arange(len(copies))).mean())


def _images_and_copies(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images that differ in dims 0-5; a copy moves dim 6 a lot (say, blur), 0-5 a little."""
    rng = np.random.default_rng(seed)
    n = 300
    images = rng.normal(size=(n, 8)) * ([1.0] * 6 + [0.1, 0.1]) + 10.0
    copy_noise = [0.05] * 6 + [5.0, 0.05]
    first = images + rng.normal(size=(n, 8)) * copy_noise
    second = images + rng.normal(size=(n, 8)) * copy_noise
    return images, first, second


def test_learned_whitening_keeps_what_tells_images_apart_and_drops_what_a_copy_changes() -> None:
    images, first, second = _images_and_copies()
    kernel, bias = fit_learned_whitening(np.concatenate([images, first, second]), first, second, 6)
    assert kernel.shape == (8, 6) and bias.shape == (6,)
    # The direction copies move in barely reaches the kept dimensions.
    reach = np.linalg.norm(kernel, axis=1)
    assert reach[6] < 0.05 * reach[:6].min()
    # So a copy finds its image; with the raw features (or plain PCA) the copy noise wins.
    images2, copies, _ = _images_and_copies(seed=1)
    learned = _copy_recall(images2 @ kernel + bias, copies @ kernel + bias)
    raw = _copy_recall(images2 - 10.0, copies - 10.0)
    assert learned > 0.95 and learned > raw + 0.3, (learned, raw)


def test_learned_whitening_centres_the_features() -> None:
    images, first, second = _images_and_copies()
    features = np.concatenate([images, first, second])
    kernel, bias = fit_learned_whitening(features, first, second, 5)
    assert np.allclose(features.mean(axis=0) @ kernel + bias, 0.0, atol=1e-4)


def test_learned_whitening_wants_matching_pairs() -> None:
    images, first, second = _images_and_copies()
    with pytest.raises(ValueError, match="matching"):
        fit_learned_whitening(images, first, second[:-1], 5)
