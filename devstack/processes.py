"""Background processes with pid files: start detached, check alive, stop the whole group.

Hand-written rather than a process manager (supervisord, circus) because the stack needs only
this: each server runs in its own session so that `stop` ends it and every child it spawned
(Elasticsearch's launcher starts the server JVM as a child), and a pid file records the process
start time as well, so a recycled pid is never taken for ours.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ManagedProcess", "process_stats"]

logger = logging.getLogger(__name__)

#: Children started by this Python process, kept so they can be reaped (no zombies) and so
#: Popen does not warn about a child still running when it is garbage-collected.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may contain spaces, so split after ')'.
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    pid_file: Path
    log_file: Path

    def pid(self) -> int | None:
        """The pid of our running process, or None (stale pid files are removed)."""
        try:
            pid_text, started = self.pid_file.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        child = _children.get(pid)
        if child is not None and child.poll() is not None:
            del _children[pid]
        if _start_time(pid) != started or _is_zombie(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def alive(self) -> bool:
        return self.pid() is not None

    @property
    def stamp_file(self) -> Path:
        return self.pid_file.with_suffix(".stamp")

    def stamp(self) -> str:
        """What the running process was started with (`start`'s ``stamp``; "" if none)."""
        try:
            return self.stamp_file.read_text().strip() if self.alive() else ""
        except OSError:
            return ""

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        user: str | None = None,
        stamp: str = "",
    ) -> int:
        """Start ``argv`` detached; ``stamp`` records what it was started with (for example
        the model it loads), so that a caller can tell when it should be restarted."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                user=user,
                start_new_session=True,
            )
        _children[proc.pid] = proc
        started = _start_time(proc.pid)
        self.pid_file.write_text(f"{proc.pid} {started}\n")
        self.stamp_file.write_text(f"{stamp}\n")
        logger.info("started %s (pid %d), log %s", self.name, proc.pid, self.log_file)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, then SIGKILL after `timeout`. True if something ran."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not _group_alive(pid):
                break
            time.sleep(0.2)
        else:
            logger.warning("%s did not stop in %.0fs: SIGKILL", self.name, timeout)
            _signal_group(pid, signal.SIGKILL)
            time.sleep(0.5)
        _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        self.stamp_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL the whole group at once (used by fault-injection tests)."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _group_alive(pid) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.1)
            _reap(pid)


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def process_stats() -> Iterator[list[str]]:
    """The fields after the command name of /proc/<pid>/stat, for every process:
    [0] state, [2] process group, [11:15] utime, stime, cutime, cstime (clock ticks)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


def _group_alive(pgid: int) -> bool:
    return any(int(f[2]) == pgid and f[0] != "Z" for f in process_stats())
