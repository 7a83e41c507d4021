"""The pipeline config's contact with the environment: ``${VAR}`` interpolation, masked secrets.

``interpolate`` is the only place a pipeline reads environment variables; ``Settings`` holds
client settings verbatim (librdkafka dotted keys, opensearch-py arguments) and masks values
whose key looks secret wherever they are printed.

>>> interpolate({"hosts": ["${HOST:-127.0.0.1}:9200"], "port": "${PORT}"}, {"PORT": "9"}, "p")
{'hosts': ['127.0.0.1:9200'], 'port': 9}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from connector.errors import ConfigError

__all__ = ["Settings", "interpolate", "looks_secret"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET = re.compile(r"pass|secret|token|credential|http_auth|api_key|private", re.I)


def looks_secret(key: str) -> bool:
    """Whether a setting's key (or YAML path) names a secret.

    >>> looks_secret("sasl.password"), looks_secret("bootstrap.servers")
    (True, False)
    """
    return _SECRET.search(key) is not None


class Settings(dict):
    """Client settings passed verbatim to a client; read-only, secrets masked in ``repr``.

    >>> Settings({"bootstrap.servers": "b:9092", "sasl.password": "hunter2"})
    Settings({'bootstrap.servers': 'b:9092', 'sasl.password': '***'})
    """

    def __repr__(self) -> str:
        shown = {k: ("***" if looks_secret(str(k)) else v) for k, v in self.items()}
        return f"Settings({shown!r})"

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("Settings are read-only; copy with dict(settings) to change them")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly  # type: ignore[assignment]


def interpolate(node: Any, env: Any, path: str) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of a YAML tree.

    A value that is a whole reference keeps its number or boolean type (unless its path looks
    secret); an unset variable without a default is a :class:`ConfigError` naming ``path``.

    >>> interpolate("${NOPE}", {}, "p.source.path")
    Traceback (most recent call last):
    ...
    connector.errors.ConfigError: p.source.path: environment variable NOPE is not set (no default)
    """
    if isinstance(node, dict):
        return {k: interpolate(v, env, f"{path}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def sub(m: re.Match[str]) -> str:
        if m.group(1) in env:
            return str(env[m.group(1)])
        if m.group(2) is not None:
            return m.group(2)
        raise ConfigError(path, f"environment variable {m.group(1)} is not set (no default)")

    out = _ENV.sub(sub, node)
    whole = _ENV.fullmatch(node) is not None
    if whole and not looks_secret(path) and re.fullmatch(r"-?\d+(\.\d+)?|true|false", out):
        return yaml.safe_load(out)  # a whole-value reference keeps its number/bool type
    return out
