# The connector image: the CLI plus the assets it applies (opensearch/, dashboards/, pipelines/).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# what .dockerignore lets through: the packages, pyproject, README and the asset folders
COPY . /app
RUN pip install .

# Runs as an unprivileged user; /app stays root-owned (read-only to the process), and the
# user's home is the only writable place (Python and library caches).
RUN useradd --create-home --uid 10001 --user-group outlier
USER outlier

# Liveness of the image, not of Kafka or OpenSearch: the installed CLI loads and the shipped
# pipeline validates (about 1 s of CPU, no server contacted).
HEALTHCHECK --interval=60s --timeout=10s --retries=3 \
    CMD ["outlier-connector", "validate", "pipelines/gameday.yaml"]

# setup finds opensearch/ and dashboards/ in the working directory
CMD ["outlier-connector", "--help"]
