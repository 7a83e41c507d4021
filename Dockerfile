# The connector image: the CLI plus the assets it applies (opensearch/, dashboards/, pipelines/).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# what .dockerignore lets through: the packages, pyproject, README and the asset folders
COPY . /app
RUN pip install .

# setup finds opensearch/ and dashboards/ in the working directory
CMD ["outlier-connector", "--help"]
