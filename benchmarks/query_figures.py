"""The query benchmark's figures: latency percentiles, recall@k and the issue's targets.

A result is a nested dict; a figure is named by its dotted path in it (``latency_ms.es_knn.p95``),
which is how `Target` names what it bounds and how `flatten` lays the result out for a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "TARGETS",
    "Target",
    "check_targets",
    "flatten",
    "latency_summary",
    "recall_at_k",
]


@dataclass(frozen=True)
class Target:
    """A figure of one size's result (dotted path) and its bound."""

    figure: str
    limit: float
    at_least: bool = False  # True: figure >= limit; False: figure <= limit

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


#: Issue 5's targets, for this machine at N = 100,000 (checked at every N).
TARGETS = (
    Target("latency_ms.es_knn.p95", 50.0),
    Target("latency_ms.api_knn.p95", 50.0),
    Target("recall_at_10.es_knn", 0.95, at_least=True),
    Target("latency_ms.es_exact.p95", 500.0),
    Target("latency_ms.api_exact.p95", 500.0),
    Target("api_overhead_p50_ms.exact", 5.0),
    Target("api_overhead_p50_ms.knn", 5.0),
)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 (linear interpolation) of wall times, in milliseconds."""
    if not len(seconds):
        raise ValueError("no samples")
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
    }


def recall_at_k(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int) -> float:
    """Mean over queries of |found[:k] & truth[:k]| / k."""
    if len(found) != len(truth) or not truth:
        raise ValueError("need one answer per query, and at least one query")
    hits = [len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)) / k, 4)


def _lookup(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        value = value[part]
    return value


def check_targets(result: dict[str, Any], targets: Sequence[Target] = TARGETS) -> dict[str, Any]:
    """``{figure: {"value", "limit", "pass"}}`` for one size's result."""
    checks: dict[str, Any] = {}
    for target in targets:
        value = float(_lookup(result, target.figure))
        checks[target.figure] = {
            "value": value,
            "limit": (">= " if target.at_least else "<= ") + f"{target.limit:g}",
            "pass": target.met(value),
        }
    return checks


def flatten(result: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Nested dicts as one level of dotted keys (for the CLI's table)."""
    flat: dict[str, object] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
