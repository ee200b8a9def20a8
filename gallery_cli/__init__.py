"""The `gallery` command: run the stack, ingest, train, evaluate, benchmark."""
