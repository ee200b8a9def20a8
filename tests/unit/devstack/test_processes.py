from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from devstack.processes import ManagedProcess


def _proc(tmp_path: Path) -> ManagedProcess:
    return ManagedProcess("sleeper", tmp_path / "pids" / "s.pid", tmp_path / "logs" / "s.log")


def test_started_process_is_alive_until_stopped(tmp_path: Path) -> None:
    proc = _proc(tmp_path)
    child = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    pid = proc.start([sys.executable, "-c", child], env=dict(os.environ), cwd=tmp_path)
    assert proc.alive() and proc.pid() == pid
    assert proc.stop(timeout=10) is True
    assert not proc.alive()
    assert not proc.pid_file.exists()
    # The grandchild was in the same session and went down with it.
    assert not _live_members_of_group(pid)


def _live_members_of_group(pgid: int) -> list[str]:
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            members.append(entry.name)
    return members


def test_stop_of_a_stopped_process_reports_nothing_ran(tmp_path: Path) -> None:
    assert _proc(tmp_path).stop() is False


def test_a_recycled_pid_is_not_taken_for_ours(tmp_path: Path) -> None:
    proc = _proc(tmp_path)
    proc.pid_file.parent.mkdir(parents=True)
    # Our own pid is alive, but it did not start at the recorded time.
    proc.pid_file.write_text(f"{os.getpid()} 1\n")
    assert proc.pid() is None
    assert not proc.pid_file.exists()


def test_output_goes_to_the_log_file(tmp_path: Path) -> None:
    proc = _proc(tmp_path)
    proc.start(
        [sys.executable, "-c", "print('hello from child')"], env=dict(os.environ), cwd=tmp_path
    )
    deadline = time.monotonic() + 10
    while "hello from child" not in proc.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "hello from child" in proc.log_file.read_text()


def test_a_started_process_keeps_its_stamp_until_it_stops(tmp_path: Path) -> None:
    proc = _proc(tmp_path)
    assert proc.stamp() == ""
    proc.start(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env=dict(os.environ),
        cwd=tmp_path,
        stamp="model 2026.12-4 /m.keras",
    )
    assert proc.stamp() == "model 2026.12-4 /m.keras"
    proc.stop(timeout=10)
    assert proc.stamp() == "" and not proc.stamp_file.exists()


def test_a_dead_process_has_no_stamp(tmp_path: Path) -> None:
    proc = _proc(tmp_path)
    proc.start([sys.executable, "-c", "pass"], env=dict(os.environ), cwd=tmp_path, stamp="x")
    deadline = time.monotonic() + 10
    while proc.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.stamp() == ""
