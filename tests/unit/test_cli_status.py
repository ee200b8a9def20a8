"""`gallery status` when nothing answers: a newcomer's first look at a stopped stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

GALLERY = [sys.executable, "-m", "gallery_cli.main"]


def _closed_port() -> int:
    with socket.socket() as s:  # bound then released: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_status_of_a_stopped_stack_says_what_is_down_without_tracebacks(tmp_path: Path) -> None:
    port = _closed_port()
    env = {
        **os.environ,
        "GALLERY_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "GALLERY_CONNECT__URL": f"http://127.0.0.1:{port}",
        "GALLERY_ELASTICSEARCH__URL": f"http://127.0.0.1:{port}",
        "GALLERY_API__PORT": str(port),
        "GALLERY_PATHS__RUN_DIR": str(tmp_path / "run"),
    }
    out = subprocess.run([*GALLERY, "status"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1  # the servers are down
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stdout.count("unreachable") >= 3  # Kafka, Connect, Elasticsearch
    assert "unknown documents; dead-lettered: unknown" in out.stdout
