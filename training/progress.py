"""How long-running training and evaluation steps report progress, without knowing the UI.

A `Progress` is called once per step with a description and a total, and returns the
function to call with each increment (the CLI draws rich bars; tests pass `no_progress`).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "no_progress"]

Progress = Callable[[str, int], Callable[[int], None]]


def no_progress(_: str, __: int) -> Callable[[int], None]:
    return lambda _n: None
