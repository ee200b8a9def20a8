"""gallery_core.status.judge_sink: when a RUNNING connector is not healthy."""

from __future__ import annotations

from gallery_core.status import judge_sink

RUNNING = {
    "state": "RUNNING",
    "tasks": [{"id": 0, "state": "RUNNING"}, {"id": 1, "state": "RUNNING"}],
}


def test_a_running_sink_without_lag_is_up_to_date() -> None:
    assert judge_sink(RUNNING, 0, idle_s=3600) == (True, "up to date")


def test_a_running_sink_with_lag_and_recent_progress_is_healthy() -> None:
    healthy, detail = judge_sink(RUNNING, 40, idle_s=5)
    assert healthy and "40" in detail


def test_running_but_not_writing_while_records_wait_is_unhealthy() -> None:
    healthy, detail = judge_sink(RUNNING, 40, idle_s=300, stall_after_s=120)
    assert not healthy and detail.startswith("stalled")


def test_a_failed_task_makes_the_connector_unhealthy_and_is_named() -> None:
    state = {
        "state": "RUNNING",
        "tasks": [{"id": 0, "state": "RUNNING"}, {"id": 1, "state": "FAILED"}],
    }
    healthy, detail = judge_sink(state, 0, idle_s=0)
    assert not healthy and "1:FAILED" in detail


def test_a_missing_connector_is_unhealthy() -> None:
    assert judge_sink({"state": "MISSING", "tasks": []}, None, idle_s=0)[0] is False
