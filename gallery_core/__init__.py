"""The ground floor every service stands on (see ARCHITECTURE.md).

Image safety (`imaging`), the model (`model`), what a source file becomes (`sources`), the
records of the three topics and the document's fields, the Kafka and Elasticsearch clients,
dead letters, health probes and the status object, settings and the contract files. The
producer, the worker, the API and the local stack import this package and their own code,
never one another.
"""
