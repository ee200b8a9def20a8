"""The local stack: Kafka (KRaft), Kafka Connect and Elasticsearch as supervised processes.

There is no Docker engine on the machines this product is developed and tested on, so this
package provisions the real servers from Maven Central into a cache outside the repository and
runs them as background processes with pid files, logs and health checks.
`docker-compose.yml` is the production shape of the same system, reading the same files.
"""
