"""Choose `DESCRIPTOR_WEIGHTS` for a model trained with ``descriptor=True``.

The shares only matter in the served embedding (training sees the learned part), so
they can be chosen after training without retraining. This uses the training run's own
validation split (8% of the default recipe's data, never trained on, and disjoint from
the held-out evaluation data): copy recall@1 of the 10 `perturb` families on its clip
art and precision@10 by style on its generated images, for each candidate share.

    python -m training.tune_descriptor artifacts/models/x.keras
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(model_path: str) -> None:
    import keras

    from gallery_core.imaging import to_model_input
    from gallery_core.model import build
    from training import recipe
    from training.evaluate import DISTRACTOR_SHARE, SOURCE_SIDE, _seed
    from training.metrics import label_retrieval, recall_at_k, top_k
    from training.painting_eval import load_source
    from training.perturb import FAMILIES, perturb
    from training.train import TrainConfig, _split

    model = keras.saving.load_model(model_path, compile=False)
    parts = keras.Model(
        model.inputs[0],
        [model.get_layer(build.LEARNED_LAYER).output, model.get_layer("layout_descriptor").output],
    )
    size = model.inputs[0].shape[1]
    data, _ = recipe.train_set(size)
    cfg = TrainConfig()
    _, val = _split(len(data), cfg.val_fraction, cfg.seed)
    style_val = val[data.labels["style"][val] >= 0]
    clip_val = val[data.labels["style"][val] < 0]
    g = build.DESCRIPTOR_GREY_GRID**2

    def comps(images: np.ndarray) -> list[np.ndarray]:
        out = [parts.predict(images[i : i + 128], verbose=0) for i in range(0, len(images), 128)]
        learned = np.concatenate([o[0] for o in out])
        desc = np.concatenate([o[1] for o in out])
        return [learned, desc[:, :g], desc[:, g:]]

    n_dis = int(round(len(clip_val) * DISTRACTOR_SHARE))
    indexed, distractors = clip_val[n_dis:], clip_val[:n_dis]
    order = np.concatenate([indexed, distractors])
    truth = np.concatenate([np.arange(len(indexed)), np.full(n_dis, -1)]).astype(np.int64)
    sources = [load_source(Path(data.ids[i]), SOURCE_SIDE) for i in order]
    idx_c = comps(data.images[indexed])
    fam_c = {}
    for fam in FAMILIES:
        q = np.stack(
            [to_model_input(perturb(s, fam, _seed(fam, j)), size) for j, s in enumerate(sources)]
        )
        fam_c[fam] = comps(q)
    sty_c = comps(data.images[style_val])
    sty_y = data.labels["style"][style_val]
    cat_c = comps(data.images[clip_val])
    cat_y = data.labels["genre"][clip_val]

    def join(c: list[np.ndarray], w: tuple[float, ...]) -> np.ndarray:
        v = np.concatenate([x * np.sqrt(wi) for x, wi in zip(c, w, strict=True)], axis=1)
        out: np.ndarray = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        return out

    rows = []
    for a in (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6):
        for t in (0.0, 0.25, 0.5, 0.75, 1.0) if a < 1 else (0.0,):
            b = round((1 - a) * t, 4)
            c = round(1 - a - b, 4)
            w = (a, b, c)
            index = join(idx_c, w)
            r1 = {
                f: recall_at_k(top_k(join(fc, w), index, 1)[0], truth, 1) for f, fc in fam_c.items()
            }
            style = label_retrieval(join(sty_c, w), sty_y)["precision_at_10"]
            category = label_retrieval(join(cat_c, w), cat_y)["precision_at_10"]
            rows.append(
                {
                    "weights": w,
                    "recall_at_1_mean": float(np.mean(list(r1.values()))),
                    "style_p10": style,
                    "category_p10": category,
                    "recall_at_1": r1,
                }
            )
            sys.stdout.write(json.dumps(rows[-1], default=float) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else str(Path("gallery_core/model/weights/default.keras"))
    )
