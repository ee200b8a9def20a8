from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_a_crashing_command_is_restarted_and_a_clean_exit_ends_the_loop(tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    # Fails twice, then succeeds: the loop must run it three times and exit 0.
    script = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); n = len(p.read_text()) if p.exists() else 0;"
        " p.write_text('x' * (n + 1)); sys.exit(0 if n >= 2 else 3)"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "devstack.respawn", "--", sys.executable, "-c", script, str(marker)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert marker.read_text() == "xxx"
    assert "restarting in 1s" in result.stderr and "restarting in 2s" in result.stderr
    assert time.monotonic() - started >= 3  # the backoff was honoured


def test_sigterm_ends_both_the_loop_and_the_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.respawn", "--", sys.executable, "-c", child],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child_pid}").exists()
