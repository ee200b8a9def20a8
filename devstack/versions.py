"""Every version the local stack runs, pinned in one place.

`docker-compose.yml` names the same versions in its image tags (checked by
tests/unit/test_compose.py), and the Maven builds receive them as -D properties.
"""

from __future__ import annotations

__all__ = [
    "ELASTICSEARCH_VERSION",
    "KAFKA_VERSION",
    "LOG4J_VERSION",
    "MAVEN_CENTRAL",
    "MIN_JAVA_MAJOR",
    "SLF4J_VERSION",
]

#: Apache Kafka broker (KRaft) and Kafka Connect runtime, from Maven Central.
KAFKA_VERSION = "4.3.1"
#: Elasticsearch: the integ-test-zip distribution on Maven Central (the last 8.x published there).
ELASTICSEARCH_VERSION = "8.19.21"
#: Logging backend for Kafka and Connect (they ship only the log4j2 API).
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"
#: Kafka 4 and Elasticsearch 8 both run on Java 17.
MIN_JAVA_MAJOR = 17

MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
