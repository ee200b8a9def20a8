"""The painting-style generator: deterministic per seed, every style renders, sheet."""

from __future__ import annotations

import numpy as np
import pytest

from training.styles import STYLE_NAMES, contact_sheet, generate, render


def test_there_are_at_least_twelve_styles() -> None:
    assert len(STYLE_NAMES) >= 12
    assert len(set(STYLE_NAMES)) == len(STYLE_NAMES)


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_each_style_is_deterministic_for_a_seed(style: str) -> None:
    a = render(style, seed=7, index=2, size=96)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, render(style, seed=7, index=2, size=96))
    assert not np.array_equal(a, render(style, seed=8, index=2, size=96))
    assert a.std() > 5  # not a blank canvas


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown style"):
        render("cave_painting", seed=0, index=0)


def test_generate_yields_every_style() -> None:
    seen = {style for style, _, _ in generate(per_style=1, seed=0, size=48)}
    assert seen == set(STYLE_NAMES)


def test_contact_sheet_has_a_row_per_style() -> None:
    sheet = contact_sheet(seed=0, per_style=2, size=32)
    assert sheet.height == len(STYLE_NAMES) * 36
