"""Per-client rate limit of uploads (RELIABILITY A7), on the `limits` library.

A moving window per client address: ``"60/minute"`` lets each client send 60 uploads in any
60 s. The counters live in the storage named by ``storage_uri``: ``memory://`` (default)
keeps them per API process; with several API replicas, point all of them at one Redis
(``redis://host:6379``) so that the limit holds across replicas.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies

__all__ = ["UploadRateLimit"]


class UploadRateLimit:
    def __init__(self, limit: str, storage_uri: str = "memory://") -> None:
        try:
            self.item: RateLimitItem = parse(limit)
        except ValueError as exc:
            raise ValueError(
                f"upload rate limit {limit!r} is not like '60/minute' ({exc})"
            ) from None
        self.limit = limit
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def retry_after(self, client: str) -> int | None:
        """Count one upload from ``client``; None if allowed, else seconds until it would be."""
        if self._limiter.hit(self.item, "upload", client):
            return None
        reset = self._limiter.get_window_stats(self.item, "upload", client).reset_time
        return max(1, math.ceil(reset - time.time()))
