# The product's own Python services: init, the vectorizer worker, the watcher and the API.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gallery_core/ gallery_core/
COPY devstack/ devstack/
COPY gallery_cli/ gallery_cli/
COPY gallery_api/ gallery_api/
COPY producer/ producer/
COPY vectorizer/ vectorizer/
COPY web/ web/
COPY benchmarks/ benchmarks/
# training/ (model training and the style generator) is not shipped: services never import it.
COPY kafka/ kafka/
COPY mappings/ mappings/
COPY connectors/*.json connectors/
# Editable, so the code finds kafka/, mappings/ and connectors/ beside it in /app.
RUN pip install --no-cache-dir -e '.[worker,ml,api]'
# Empty named volumes take these folders' ownership, so the unprivileged user can write.
RUN mkdir -p /data/media /data/watch /data/run && chown -R 65534:65534 /data
USER 65534
