"""One module per CLI command that belongs to the connector runtime."""

from __future__ import annotations

__all__: list[str] = []
