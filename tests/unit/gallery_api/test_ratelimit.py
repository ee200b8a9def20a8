"""The per-client upload rate limit."""

from __future__ import annotations

import pytest

from gallery_api.ratelimit import UploadRateLimit


def test_each_client_has_its_own_window_and_learns_how_long_to_wait() -> None:
    limit = UploadRateLimit("3/minute")
    assert [limit.retry_after("10.0.0.1") for _ in range(3)] == [None, None, None]
    wait = limit.retry_after("10.0.0.1")
    assert wait is not None and 0 < wait <= 60
    assert limit.retry_after("10.0.0.2") is None  # another client is not affected


def test_a_malformed_limit_is_refused_with_the_expected_form() -> None:
    with pytest.raises(ValueError, match="60/minute"):
        UploadRateLimit("as many as you like")
