"""The training loop: classification heads + an instance-contrastive loss, early stopping.

Each step takes a class-balanced batch, makes two augmented views of every image
(`Augmenter`), and minimises

* cross-entropy of each cosine head (style, genre) on images that carry that label
  (masked otherwise), so images of one style / category cluster together, plus
* ``contrastive_weight`` x NT-Xent (SimCLR) between the two views, so a cropped,
  rotated, re-encoded or captioned copy lands next to its original: the
  perturbation-recovery task retrieval systems are judged on.

After every epoch the validation split is scored (head accuracy on clean images,
recall@1 of augmented copies); the best epoch is kept (``checkpoints/best.keras``)
and training stops after ``patience`` epochs without improvement, or when
``max_minutes`` is spent. Seeds are fixed (numpy, TF, Keras, augmentation); on a
multi-threaded CPU the result is reproducible to float rounding, not bit for bit.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gallery_core.model.card import ModelCard, card_path_for
from training.datasets import ArrayDataset

__all__ = ["TrainConfig", "TrainResult", "balanced_sampler", "train"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TrainConfig:
    backbone: str = "compact"
    width: float = 1.0
    #: Also pool the compact CNN's third stage (off in the shipped model; see README).
    multi_scale: bool = False
    #: Join the fixed colour/layout descriptor to the served embedding (`LayoutDescriptor`).
    descriptor: bool = False
    #: Sigma (px at the input size) of a fixed Gaussian blur in front of the backbone
    #: (`GaussianLowPass`); 0: none.
    input_blur: float = 0.0
    input_size: int = 160
    embedding_dim: int = 256
    batch_size: int = 48
    epochs: int = 20
    steps_per_epoch: int = 150
    learning_rate: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 100
    contrastive_weight: float = 1.0
    head_weight: float = 1.0
    temperature: float = 0.1
    #: Embeddings of recent batches kept as extra negatives for the contrastive loss
    #: (a memory bank; 0 disables). More negatives -> finer instance discrimination.
    queue_size: int = 0
    #: Share of each batch (0..0.5) made of hard negatives: one nearest neighbour (by the
    #: model's own clean embeddings, mined every epoch from the second on) per anchor
    #: (`hard_negatives`). 0 draws the whole batch at random.
    hard_negative_share: float = 0.0
    #: How many nearest neighbours of each image a hard negative is drawn from.
    hard_negative_k: int = 10
    #: Heads whose classes are meant to cluster: a neighbour with the anchor's label in
    #: one of them is not a hard negative (two pictures of one style should stay close).
    hard_negative_skip_shared: tuple[str, ...] = ("style",)
    #: Probability that an image's first view is the image itself, unaugmented: the
    #: pair is then (original, damaged copy), as in copy search, where the index holds
    #: originals. 0: both views are always augmented (SimCLR).
    clean_view_share: float = 0.0
    #: Sampling weight of an image is count(class) ** -balance (1: every class equally).
    balance: float = 0.7
    val_fraction: float = 0.08
    patience: int = 4
    max_minutes: float = 50.0
    seed: int = 0
    weights: str | None = None


@dataclass(slots=True)
class TrainResult:
    model_path: Path
    card: ModelCard
    history: list[dict[str, float]] = field(default_factory=list)


def balanced_sampler(
    labels: dict[str, npt.NDArray[np.int32]], balance: float
) -> npt.NDArray[np.float64]:
    """Per-image sampling probabilities: each labelled head's classes weighted by count**-balance.

    An image's weight is the mean over the heads it has a label for; every head
    (e.g. generated styles vs. clip-art genres) gets the same total share.
    """
    n = len(next(iter(labels.values())))
    p = np.zeros(n, dtype=np.float64)
    heads = [h for h, y in labels.items() if (y >= 0).any()]
    for head in heads:
        y = labels[head]
        w = np.zeros(n, dtype=np.float64)
        valid = y >= 0
        counts = np.bincount(y[valid])
        w[valid] = counts[y[valid]].astype(np.float64) ** -balance
        p += w / w.sum()
    out: npt.NDArray[np.float64] = p / p.sum()
    return out


def _as_json(settings: Any) -> dict[str, Any]:
    """A dataclass's fields as JSON holds them (tuples as lists): a loaded card compares equal."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def _split(
    n: int, fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train(
    data: ArrayDataset,
    out_path: Path,
    config: TrainConfig,
    *,
    name: str = "gallery-style-cnn",
    version: str = "dev",
    data_notes: list[str] | None = None,
    checkpoint_dir: Path | None = None,
    notes: str = "",
    progress: Any = None,
) -> TrainResult:
    """Train on ``data`` and save the embedding model to ``out_path`` (+ its card)."""
    import keras
    import tensorflow as tf

    from gallery_core.model.build import (
        DESCRIPTOR_DIMS,
        DESCRIPTOR_WEIGHTS,
        make_embedding_model,
        make_training_model,
    )
    from training.augment import Augmenter
    from training.hard_negatives import (
        grey_thumbnails,
        hard_negative_batch,
        near_duplicates,
        nearest_neighbours,
        same_label,
    )

    cfg = config
    if data.images.shape[1] != cfg.input_size:
        raise ValueError(f"images are {data.images.shape[1]} px, config says {cfg.input_size}")
    keras.utils.set_random_seed(cfg.seed)
    out_path = Path(out_path)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else out_path.parent / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    train_idx, val_idx = _split(len(data), cfg.val_fraction, cfg.seed)
    train_set, val_set = data.subset(train_idx), data.subset(val_idx)
    heads = {h: len(names) for h, names in data.classes.items() if (train_set.labels[h] >= 0).any()}
    emb_model = make_embedding_model(
        cfg.backbone,
        input_size=cfg.input_size,
        embedding_dim=cfg.embedding_dim,
        weights=cfg.weights,
        width=cfg.width,
        multi_scale=cfg.multi_scale,
        descriptor=cfg.descriptor,
        input_blur=cfg.input_blur,
        seed=cfg.seed,
    )
    model = make_training_model(emb_model, heads, seed=cfg.seed)
    total_steps = cfg.epochs * cfg.steps_per_epoch
    warmup = min(cfg.warmup_steps, total_steps // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        total_steps - warmup,
        alpha=0.02,
        warmup_target=cfg.learning_rate,
        warmup_steps=warmup,
    )
    opt = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
    augment = Augmenter(cfg.input_size, cfg.seed)
    head_names = sorted(heads)

    def masked_ce(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        valid = y >= 0
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(y, 0), logits=logits)
        w = tf.cast(valid, tf.float32)
        return tf.reduce_sum(ce * w) / tf.maximum(tf.reduce_sum(w), 1.0)

    q_size = max(cfg.queue_size, 1)
    learned_dim = cfg.embedding_dim - (DESCRIPTOR_DIMS if cfg.descriptor else 0)
    queue = tf.Variable(tf.zeros((q_size, learned_dim)), trainable=False)
    queue_ids = tf.Variable(tf.fill([q_size], tf.constant(-1, tf.int64)), trainable=False)
    queue_ptr = tf.Variable(0, dtype=tf.int64, trainable=False)

    def nt_xent(z: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        n2 = tf.shape(z)[0]
        b = n2 // 2
        sim = tf.matmul(z, z, transpose_b=True) / cfg.temperature
        sim = sim - tf.eye(n2) * 1e9
        if cfg.queue_size > 0:
            # Queued embeddings of other images are negatives; empty slots and queued
            # copies of this batch's own images are masked out.
            both = tf.concat([ids, ids], axis=0)
            stale = tf.matmul(z, tf.stop_gradient(queue), transpose_b=True) / cfg.temperature
            invalid = (queue_ids[None, :] < 0) | (queue_ids[None, :] == both[:, None])
            sim = tf.concat([sim, stale - tf.cast(invalid, tf.float32) * 1e9], axis=1)
        target = tf.concat([tf.range(b, n2), tf.range(0, b)], axis=0)
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=sim)
        )

    def enqueue(z: tf.Tensor, ids: tf.Tensor) -> None:
        b = tf.shape(ids, out_type=tf.int64)[0]
        slots = tf.math.floormod(queue_ptr + tf.range(b, dtype=tf.int64), q_size)[:, None]
        queue.scatter_nd_update(slots, tf.stop_gradient(z))
        queue_ids.scatter_nd_update(slots, ids)
        queue_ptr.assign(tf.math.floormod(queue_ptr + b, q_size))

    @tf.function(reduce_retracing=True)  # type: ignore[untyped-decorator]
    def step(
        images: tf.Tensor, ids: tf.Tensor, labels: dict[str, tf.Tensor]
    ) -> dict[str, tf.Tensor]:
        views = augment.pair(images, cfg.clean_view_share)
        with tf.GradientTape() as tape:
            out = model(views, training=True)
            losses = {
                h: masked_ce(out[h], tf.concat([labels[h], labels[h]], axis=0)) for h in head_names
            }
            losses["contrastive"] = nt_xent(out["embedding"], ids)
            total = tf.add_n(
                [cfg.head_weight * losses[h] for h in head_names]
                + [cfg.contrastive_weight * losses["contrastive"]]
            )
        grads = tape.gradient(total, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        if cfg.queue_size > 0:
            enqueue(out["embedding"][: tf.shape(ids)[0]], ids)
        losses["loss"] = total
        return losses

    @tf.function(reduce_retracing=True)  # type: ignore[untyped-decorator]
    def infer(images: tf.Tensor) -> dict[str, tf.Tensor]:
        return model(images, training=False)  # type: ignore[no-any-return]

    def infer_all(images: npt.NDArray[np.uint8]) -> list[dict[str, tf.Tensor]]:
        return [infer(images[i : i + 128]) for i in range(0, len(images), 128)]

    val_aug = Augmenter(cfg.input_size, cfg.seed + 999)
    val_views = np.concatenate(
        [val_aug(val_set.images[i : i + 64]).numpy() for i in range(0, len(val_set), 64)]
    )

    def evaluate() -> dict[str, float]:
        outs = infer_all(val_set.images)
        metrics: dict[str, float] = {}
        for h in head_names:
            pred = np.concatenate([o[h].numpy().argmax(1) for o in outs])
            y = val_set.labels[h]
            if (y >= 0).any():
                metrics[f"val_{h}_accuracy"] = float((pred[y >= 0] == y[y >= 0]).mean())
        emb = np.concatenate([o["embedding"].numpy() for o in outs])
        qv = np.concatenate([o["embedding"].numpy() for o in infer_all(val_views)])
        nearest = (qv @ emb.T).argmax(1)
        metrics["val_copy_recall_at_1"] = float((nearest == np.arange(len(emb))).mean())
        metrics["val_score"] = float(np.mean(list(metrics.values())))
        return metrics

    probs = balanced_sampler(train_set.labels, cfg.balance)
    rng = np.random.default_rng(cfg.seed)
    thumbs = grey_thumbnails(train_set.images) if cfg.hard_negative_share > 0 else None
    mined: tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None = None

    def mine() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        assert thumbs is not None
        emb = np.concatenate([o["embedding"].numpy() for o in infer_all(train_set.images)])
        neighbours = nearest_neighbours(emb, cfg.hard_negative_k)
        usable = ~near_duplicates(thumbs, neighbours)
        for head in cfg.hard_negative_skip_shared:
            if head in train_set.labels:
                usable &= ~same_label(train_set.labels[head], neighbours)
        log.info(
            "mined neighbours; %.2f%% of pairs are not drawn (near-duplicates or same %s)",
            100 * (1 - usable.mean()),
            "/".join(cfg.hard_negative_skip_shared),
        )
        return neighbours, usable

    def draw_batch() -> npt.NDArray[np.int64]:
        if mined is None:
            return rng.choice(len(train_set), cfg.batch_size, replace=False, p=probs)
        return hard_negative_batch(
            rng, probs, mined[0], mined[1], cfg.batch_size, cfg.hard_negative_share
        )

    history: list[dict[str, float]] = []
    best = -math.inf
    best_epoch = 0
    stale = 0
    started = time.monotonic()
    stop_reason = "epochs"
    best_path = ckpt_dir / "best.keras"
    for epoch in range(1, cfg.epochs + 1):
        sums: dict[str, float] = {}
        if cfg.hard_negative_share > 0 and epoch > 1:
            mined = mine()
        task = (
            progress.add_task(f"epoch {epoch}/{cfg.epochs}", total=cfg.steps_per_epoch)
            if progress
            else None
        )
        for s in range(cfg.steps_per_epoch):
            idx = draw_batch()
            labels = {h: tf.constant(train_set.labels[h][idx]) for h in head_names}
            losses = step(tf.constant(train_set.images[idx]), tf.constant(idx, tf.int64), labels)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if progress:
                progress.update(
                    task,
                    advance=1,
                    description=f"epoch {epoch}/{cfg.epochs} loss {sums['loss'] / (s + 1):.3f}",
                )
        record = {f"train_{k}": v / cfg.steps_per_epoch for k, v in sums.items()}
        record.update(evaluate())
        record["epoch"] = epoch
        record["minutes"] = (time.monotonic() - started) / 60
        history.append(record)
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in record.items()})
        if progress:
            progress.console.print(
                f"epoch {epoch}: loss {record['train_loss']:.3f} "
                + " ".join(f"{k} {v:.3f}" for k, v in record.items() if k.startswith("val_"))
            )
        emb_model.save(ckpt_dir / "last.keras")
        if record["val_score"] > best:
            best, best_epoch, stale = record["val_score"], epoch, 0
            emb_model.save(best_path)
        else:
            stale += 1
            if stale >= cfg.patience:
                stop_reason = f"early stop: no improvement for {cfg.patience} epochs"
                break
        elapsed = record["minutes"]
        if elapsed + elapsed / epoch > cfg.max_minutes:
            stop_reason = f"time budget of {cfg.max_minutes:g} min"
            break

    final = keras.saving.load_model(best_path, compile=False)
    final.save(out_path)
    best_record = history[best_epoch - 1]
    card = ModelCard(
        name=name,
        version=version,
        backbone=cfg.backbone,
        input_size=cfg.input_size,
        embedding_dims=cfg.embedding_dim,
        trained=True,
        data=list(data_notes or []),
        classes={h: list(data.classes[h]) for h in head_names},
        notes=notes,
        metrics={k: round(v, 4) for k, v in best_record.items() if k.startswith("val_")},
        training={
            **_as_json(cfg),
            "descriptor_weights": list(DESCRIPTOR_WEIGHTS) if cfg.descriptor else None,
            "augment": _as_json(augment.cfg),
            "train_images": len(train_set),
            "val_images": len(val_set),
            "best_epoch": best_epoch,
            "epochs_run": len(history),
            "stopped": stop_reason,
            "minutes": round(history[-1]["minutes"], 1),
        },
    )
    card.save(card_path_for(out_path))
    return TrainResult(out_path, card, history)
