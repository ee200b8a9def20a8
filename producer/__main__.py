"""Run the watcher of the watched folder: ``python -m producer watch`` (``gallery up`` does)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from gallery_core.contracts import load_topics
from gallery_core.publisher import ImagePublisher
from gallery_core.settings import get_settings
from producer.state import PublishedState
from producer.watcher import FolderWatcher


def main() -> int:
    if sys.argv[1:] != ["watch"]:
        sys.stderr.write("usage: python -m producer watch\n")
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    topics = load_topics()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    state = PublishedState(settings.paths.run_dir / "producer" / "state.sqlite")
    publisher = ImagePublisher(settings, topics.images.name, topics.dlq.name)
    try:
        FolderWatcher(settings, publisher, state).run(stop)
    finally:
        state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
