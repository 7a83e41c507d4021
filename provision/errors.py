"""The one error the provisioning code raises: it always names the port, artifact or file."""

from __future__ import annotations


class ProvisionError(RuntimeError):
    """Provisioning or starting a local server failed; the message says what and where."""
