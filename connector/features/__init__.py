"""Record features (field -> float) and per-key event-time windows."""

from __future__ import annotations

from connector.features.extract import FeatureExtractor, get_field

__all__ = ["FeatureExtractor", "get_field"]
