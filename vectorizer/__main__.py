"""Run the vectorizer worker: ``python -m vectorizer worker -l info --without-web``.

The model is loaded before the Faust worker starts, so a missing or mismatched model ends the
process with a clear error instead of a worker that consumes nothing.
"""

import sys

from vectorizer.agents import load_processor
from vectorizer.app import app

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        load_processor()
    app.main()
