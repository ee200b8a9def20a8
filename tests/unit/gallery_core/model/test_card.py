"""Model cards: JSON round trip and where they live."""

from __future__ import annotations

from pathlib import Path

import pytest

from gallery_core.model.card import ModelCard, card_path_for


def _card() -> ModelCard:
    return ModelCard(
        name="gallery-style-cnn",
        version="2026.11-1",
        backbone="compact",
        input_size=160,
        embedding_dims=256,
        data=["styles"],
        classes={"style": ["a", "b"]},
        metrics={"val_style_accuracy": 0.9},
        training={"seed": 0},
    )


def test_card_round_trips_through_json(tmp_path: Path) -> None:
    card = _card()
    path = tmp_path / "m.card.json"
    card.save(path)
    assert ModelCard.load(path) == card


def test_unknown_fields_are_rejected() -> None:
    text = _card().to_json().replace('"name"', '"nmae"')
    with pytest.raises((ValueError, TypeError)):
        ModelCard.from_json(text)


def test_card_sits_beside_the_model() -> None:
    assert card_path_for(Path("w/default.keras")) == Path("w/default.card.json")
