"""gallery_core.imaging.sandbox: results in order, failures as reasons, dead processes replaced."""

from __future__ import annotations

import time

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging import Sandbox
from gallery_core.reasons import Reason


def _fail(reason: str) -> None:
    raise ImageDecodeError(reason, "on purpose")


def test_results_come_back_in_order_and_a_decode_error_is_a_result() -> None:
    with Sandbox(workers=2, memory_bytes=1 << 30) as sandbox:
        out = sandbox.run_all(pow, [(2, 3), (3, 2)]) + sandbox.run_all(_fail, [("truncated",)])
    assert out[:2] == [8, 9]
    assert isinstance(out[2], ImageDecodeError) and out[2].reason is Reason.TRUNCATED


def test_a_process_that_died_while_idle_is_replaced_before_the_next_call() -> None:
    with Sandbox(workers=1, memory_bytes=1 << 30) as sandbox:
        assert sandbox.run_all(pow, [(2, 3)]) == [8]
        pool = sandbox._pool
        for process in list(pool._processes.values()):  # type: ignore[union-attr]
            process.kill()
            process.join()
        deadline = time.monotonic() + 20
        while not pool._broken and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert pool._broken  # type: ignore[attr-defined]
        assert sandbox.run_all(pow, [(2, 4)]) == [16]
