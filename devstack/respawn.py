"""Keep one of the product's own processes running: ``python -m devstack.respawn -- CMD ...``.

Restarts the command when it exits with an error (a crashed Faust worker exits non-zero by
design, W15/W16), with exponential backoff from 1 s to 30 s, reset after a minute of health.
SIGTERM/SIGINT are passed on to the command and end the loop. In docker-compose the same job
is done by `restart: unless-stopped`; this is the local stack's equivalent, nothing more.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

logger = logging.getLogger("devstack.respawn")


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        sys.stderr.write("usage: python -m devstack.respawn -- COMMAND [ARG ...]\n")
        return 2
    command = argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s respawn: %(message)s")
    stop = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    backoff = 1.0
    while not stop.is_set():
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stop.is_set() or code == 0:
            return code
        if time.monotonic() - started > 60:
            backoff = 1.0
        logger.error("%s exited with %d; restarting in %.0fs", command[0], code, backoff)
        stop.wait(backoff)
        backoff = min(backoff * 2, 30.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
