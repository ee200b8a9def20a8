"""The model card: a small JSON file beside each ``.keras`` model (``<model>.card.json``).

It says what the model is (name, version, backbone, input size, embedding dims),
what it was trained on (data sources, class names per head, seed, epochs) and how
well it did (metrics). `KerasEncoder` reads it to learn the input size and version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = ["CARD_SUFFIX", "ModelCard", "card_path_for"]

CARD_SUFFIX: Final = ".card.json"
#: Version of the card's own layout (bump when fields change meaning).
CARD_SCHEMA: Final = 1


def card_path_for(model_path: Path) -> Path:
    """``weights/default.keras`` -> ``weights/default.card.json``."""
    return model_path.with_name(model_path.name.removesuffix(".keras") + CARD_SUFFIX)


@dataclass(slots=True)
class ModelCard:
    """What a saved embedding model is, what it saw in training and how it measured."""

    name: str
    version: str
    backbone: str
    input_size: int
    embedding_dims: int
    trained: bool = True
    #: Human-readable descriptions of the training data (one per source).
    data: list[str] = field(default_factory=list)
    #: Class names per classification head, e.g. {"style": [...], "genre": [...]}.
    classes: dict[str, list[str]] = field(default_factory=dict)
    #: Flat metric name -> value (validation accuracy, eval figures, ...).
    metrics: dict[str, float] = field(default_factory=dict)
    #: Training settings (seed, epochs, batch size, ...), for reproducibility.
    training: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    schema: int = CARD_SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("a model card is a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown model card fields: {sorted(unknown)}")
        return cls(**raw)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        return cls.from_json(path.read_text(encoding="utf-8"))
