"""The one sandbox for untrusted decoding: processes with address-space and CPU caps.

`Sandbox` keeps ``workers`` processes (``forkserver``, never ``fork``: the worker and the
API run threads) whose ``RLIMIT_AS`` and ``RLIMIT_CPU`` are lowered at start. `Sandbox.run_all`
runs a function over many inputs and answers each with its result or an `ImageDecodeError`:
a decoder that dies (a bomb that slipped through, a crash in a codec) is reported as
``resource_limit``, one that overruns its wall-clock budget as ``timeout``, and the processes
are replaced, so one bad file never stops the caller. `decode_image_sandboxed` is the one-shot
form: `decode_image` in a throw-away sandbox of one process. POSIX only (``resource``).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Final, TypeVar

from PIL import Image

from gallery_core.errors import ImageDecodeError
from gallery_core.imaging.decode import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    DecodedImage,
    MiB,
    check_size,
    decode_image,
)
from gallery_core.imaging.formats import ImageFormat, describe_unsupported, sniff_format
from gallery_core.reasons import Reason

__all__ = [
    "SANDBOX_MEMORY_BYTES",
    "SANDBOX_TIMEOUT_S",
    "Sandbox",
    "decode_image_sandboxed",
]

#: Defaults: wall-clock budget of a call (including the start of a worker process) and the
#: address-space limit (``RLIMIT_AS``) of each process.
SANDBOX_TIMEOUT_S: Final = 30.0
SANDBOX_MEMORY_BYTES: Final = 3 * 1024 * MiB

T = TypeVar("T")


def _limit_process(memory_bytes: int, cpu_seconds: int) -> None:
    """Process initializer: cap the process's address space and CPU time."""
    import resource

    def lower(limit: int, wanted: int, slack: int = 0) -> None:
        _soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
            new_hard = min(hard, wanted + slack)
        else:
            new_hard = wanted + slack
        resource.setrlimit(limit, (wanted, new_hard))

    lower(resource.RLIMIT_AS, memory_bytes)
    # SIGXCPU at the soft limit, SIGKILL one second later: a backstop should the
    # parent fail to kill a process that overran its wall-clock budget.
    lower(resource.RLIMIT_CPU, cpu_seconds, slack=1)


def _context() -> multiprocessing.context.BaseContext:
    # Never fork: the API and the worker run threads, and forking them is unsafe.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Sandbox:
    """Persistent processes with ``memory_bytes`` of address space and ``cpu_seconds`` of CPU."""

    def __init__(
        self,
        workers: int = 2,
        memory_bytes: int = SANDBOX_MEMORY_BYTES,
        cpu_seconds: int = 60,
    ) -> None:
        if workers <= 0 or memory_bytes <= 0 or cpu_seconds <= 0:
            raise ValueError("workers, memory_bytes and cpu_seconds must be positive")
        self._args = (workers, memory_bytes, cpu_seconds)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        workers, memory_bytes, cpu_seconds = self._args
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=_limit_process,
            initargs=(memory_bytes, cpu_seconds),
        )

    def run_all(
        self,
        fn: Callable[..., T],
        calls: Sequence[tuple[Any, ...]],
        timeout_s: float = SANDBOX_TIMEOUT_S,
    ) -> list[T | ImageDecodeError]:
        """``fn(*args)`` for each of ``calls``, in order: its result, or why it failed.

        ``fn`` must be importable (it runs in another process) and raise `ImageDecodeError`
        for bad input; anything else it raises propagates.
        """
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        try:
            futures: list[Future[T]] = [self._pool.submit(fn, *args) for args in calls]
        except BrokenProcessPool:  # a process died while idle (the OOM killer...): replace it
            self.restart()
            futures = [self._pool.submit(fn, *args) for args in calls]
        results: list[T | ImageDecodeError] = []
        broken = False
        for future in futures:
            try:
                results.append(future.result(timeout=timeout_s))
            except ImageDecodeError as exc:
                results.append(exc)
            except BrokenProcessPool:
                broken = True
                results.append(
                    ImageDecodeError(
                        Reason.RESOURCE_LIMIT, "the decoder process died (memory or CPU limit?)"
                    )
                )
            except TimeoutError:
                broken = True
                results.append(
                    ImageDecodeError(Reason.TIMEOUT, f"decoding took longer than {timeout_s:g} s")
                )
            except MemoryError:  # raised in the process outside the decoder's own guard
                results.append(
                    ImageDecodeError(Reason.RESOURCE_LIMIT, "out of memory in the decoder process")
                )
        if broken:
            self.restart()
        return results

    def restart(self) -> None:
        """Replace the processes; the old ones are killed, whatever they were doing."""
        old = self._pool
        self._pool = self._new_pool()
        _kill(old)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _kill(pool: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor cannot cancel a running task (Python 3.14 adds
    # kill_workers()); until then reach for its process table. RLIMIT_CPU is the backstop.
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.kill()


_Payload = tuple[bytes, tuple[int, int], str, int, int, int, bool]


def _decode_to_payload(data: bytes, max_bytes: int, max_pixels: int) -> _Payload:
    decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    rgb = decoded.rgb
    return (
        rgb.tobytes(),
        rgb.size,
        decoded.format.value,
        decoded.width,
        decoded.height,
        decoded.n_frames,
        decoded.exif_transposed,
    )


def decode_image_sandboxed(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    timeout_s: float = SANDBOX_TIMEOUT_S,
    memory_bytes: int = SANDBOX_MEMORY_BYTES,
) -> DecodedImage:
    """`decode_image` in a throw-away `Sandbox` of one process.

    Raises `ImageDecodeError` with ``timeout`` or ``resource_limit`` (out of memory, or the
    process died), or any reason `decode_image` gives. Empty, oversized and non-image input
    is rejected before a process is started.
    """
    if timeout_s <= 0 or memory_bytes <= 0:
        raise ValueError("timeout_s and memory_bytes must be positive")
    data = check_size(data, max_bytes)
    if sniff_format(data) is None:
        raise ImageDecodeError(Reason.UNSUPPORTED_FORMAT, describe_unsupported(data))
    sandbox = Sandbox(1, memory_bytes, math.ceil(timeout_s) + 1)
    with sandbox:  # a process that overran was killed and replaced by run_all
        (result,) = sandbox.run_all(_decode_to_payload, [(data, max_bytes, max_pixels)], timeout_s)
    if isinstance(result, ImageDecodeError):
        raise result
    raw, size, fmt, width, height, n_frames, transposed = result
    return DecodedImage(
        rgb=Image.frombytes("RGB", size, raw),
        format=ImageFormat(fmt),
        width=width,
        height=height,
        n_frames=n_frames,
        exif_transposed=transposed,
    )
