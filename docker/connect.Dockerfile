# Kafka Connect (distributed) with the project's Elasticsearch sink plugin.
ARG KAFKA_VERSION=4.3.1

FROM maven:3.9-eclipse-temurin-17 AS build
ARG KAFKA_VERSION
WORKDIR /src
COPY connectors/elasticsearch-sink/ ./
RUN mvn -B -ntp package -DskipTests -Dkafka.version=${KAFKA_VERSION}

FROM apache/kafka:${KAFKA_VERSION}
COPY --from=build /src/target/plugin/ /opt/connect-plugins/
COPY docker/connect-distributed.properties /opt/kafka/config/gallery-connect.properties
EXPOSE 8083
CMD ["/opt/kafka/bin/connect-distributed.sh", "/opt/kafka/config/gallery-connect.properties"]
