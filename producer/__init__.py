"""The producer: publishes image files to Kafka (a one-off `gallery ingest DIR`, or a watcher).

Each accepted file becomes one record on the images topic: key = artwork id, value = the
file's bytes, headers = path, collection, content hash and metadata. A removed file becomes a
tombstone for its id. Refused files go to the dead-letter topic with a reason.
"""
