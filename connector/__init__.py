"""Outlier Connector: Kafka records in, outlier-scored documents in OpenSearch out."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
