"""Throughput of an `Encoder` on this machine (what `gallery bench model` prints)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gallery_core.model.encoder import Encoder

__all__ = ["bench_encoder"]


def bench_encoder(
    encoder: Encoder, batch_sizes: Sequence[int], *, seconds: float = 4.0, seed: int = 0
) -> dict[str, Any]:
    """Images/s of ``encoder.encode`` per batch size: warm-up, then repeated timed calls.

    The figure is the batch size over the *median* call time, so a burst of load
    from other processes moves it less than a mean would.
    """
    rng = np.random.default_rng(seed)
    s = encoder.input_size
    rows = []
    for b in batch_sizes:
        x = rng.integers(0, 256, (b, s, s, 3), dtype=np.uint8)
        for _ in range(3):
            encoder.encode(x)
        times: list[float] = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(times) < 5:
            t0 = time.perf_counter()
            encoder.encode(x)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rows.append(
            {"batch": b, "images_per_s": b / med, "ms_per_batch": med * 1000, "calls": len(times)}
        )
    return {
        "model": encoder.name,
        "version": encoder.version,
        "input_size": s,
        "dims": encoder.dims,
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "rows": rows,
    }
