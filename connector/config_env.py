"""The pipeline config's contact with the environment: ``${VAR}`` interpolation, masked secrets.

``interpolate`` is the only place a pipeline reads environment variables and secret files
(``${file:/var/run/secrets/kafka/password}``, Kubernetes Secret style: the file's content,
one trailing newline dropped); ``Settings`` holds client settings verbatim (librdkafka dotted
keys, opensearch-py arguments) and masks values whose key looks secret wherever they are
printed.

Every secret value seen (a ``${file:...}`` reference, a ``${VAR}`` under a secret-looking key,
a literal under one) is registered with :func:`register_secret`; from then on every log record
of the process (its message and its traceback) has it replaced by ``***``, and :func:`mask`
does the same for text printed directly (errors, ``--dry-run``).

>>> interpolate({"hosts": ["${HOST:-127.0.0.1}:9200"], "port": "${PORT}"}, {"PORT": "9"}, "p")
{'hosts': ['127.0.0.1:9200'], 'port': 9}
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

import yaml

from connector.errors import ConfigError

__all__ = ["Settings", "interpolate", "looks_secret", "mask", "register_secret"]

_ENV = re.compile(r"\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}")
_MIN_SECRET = 4  # shorter values would mask ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``.

    >>> register_secret("s3cr3t-value")
    >>> mask("login failed for password s3cr3t-value")
    'login failed for password ***'
    """
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "***")
    return text


def register_secret(value: Any) -> None:
    """Mask ``value`` in every later log record of this process (and in :func:`mask`).

    ``[user, password]`` pairs register the password only; values under 4 characters are
    ignored (they would mask ordinary words).
    """
    global _installed
    if isinstance(value, (list, tuple)):
        if len(value) == 2:
            register_secret(value[1])
        return
    if not isinstance(value, str) or len(value) < _MIN_SECRET:
        return
    with _lock:
        _secrets.add(value)
        if ":" in value and len(value.split(":", 1)[1]) >= _MIN_SECRET:
            _secrets.add(value.split(":", 1)[1])  # 'user:password' http_auth
        if not _installed:
            _install_record_factory()
            _installed = True


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - leave a badly formatted record to logging
            return record
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)


def _read_secret_file(name: str, path: str) -> str:
    try:
        text = Path(name).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"secret file {name} cannot be read: {exc.strerror}") from None
    return text[:-1] if text.endswith("\n") else text
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            if looks_secret(str(key)):
                register_secret(value)

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

    secret = looks_secret(path) and not path.endswith("http_auth[0]")  # [user, password]

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            value = _read_secret_file(m.group(1).strip(), path)
            register_secret(value)
            return value
        if m.group(2) in env:
            value = str(env[m.group(2)])
        elif m.group(3) is not None:
            value = m.group(3)
        else:
            raise ConfigError(path, f"environment variable {m.group(2)} is not set (no default)")
        if secret:
            register_secret(value)
        return value

    out = _ENV.sub(sub, node)
    if secret:
        register_secret(out)
    whole = _ENV.fullmatch(node) is not None
    if whole and not secret and re.fullmatch(r"-?\d+(\.\d+)?|true|false", out):
        return yaml.safe_load(out)  # a whole-value reference keeps its number/bool type
    return out
