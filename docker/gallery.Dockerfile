# The product's own Python services (init; later the worker, the watcher and the API).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gallery_core/ gallery_core/
COPY devstack/ devstack/
COPY gallery_cli/ gallery_cli/
COPY gallery_api/ gallery_api/
COPY vectorizer/ vectorizer/
COPY benchmarks/ benchmarks/
COPY kafka/ kafka/
COPY mappings/ mappings/
COPY connectors/*.json connectors/
# Editable, so the code finds kafka/, mappings/ and connectors/ beside it in /app.
RUN pip install --no-cache-dir -e '.[worker,ml,api]'
USER 65534
