"""Clients for secured servers: TLS, authentication and AWS SigV4, verification on by default.

A pipeline's ``output.opensearch`` block holds opensearch-py keyword arguments verbatim
(``hosts``, ``http_auth``, ``use_ssl``, ``verify_certs``, ``ca_certs``, ``client_cert``,
``client_key``, ...) plus one key of ours, ``aws_sigv4: {region, service: es|aoss}``, which
becomes opensearch-py's ``Urllib3AWSV4SignerAuth`` with credentials from the standard AWS
chain (environment, ``~/.aws``, container or instance role; needs ``botocore``, the ``aws``
extra). ``source.kafka`` goes verbatim to librdkafka, whose defaults already verify the
broker's certificate and host name.

Turning verification off takes an explicit setting (``verify_certs: false``;
``enable.ssl.certificate.verification: false`` or ``ssl.endpoint.identification.algorithm:
none``) and logs a warning naming the server.

>>> opensearch_kwargs({"hosts": ["https://h:9200"], "http_auth": ["u", "p"]})["http_auth"]
('u', 'p')
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from connector.errors import ConfigError

__all__ = [
    "KafkaErrorReporter", "aws_sigv4_auth", "check_kafka", "opensearch_client",
    "opensearch_kwargs",
]

logger = logging.getLogger(__name__)

AWS_SERVICES = ("es", "aoss")


def _hosts(settings: Mapping[str, Any]) -> str:
    hosts = settings.get("hosts") or ["http://127.0.0.1:9200"]
    if isinstance(hosts, (str, dict)):
        hosts = [hosts]
    return ", ".join(h if isinstance(h, str) else f"{h.get('host')}:{h.get('port')}"
                     for h in hosts)


def aws_sigv4_auth(block: Any, where: str = "output.opensearch.aws_sigv4",
                   credentials: Any = None) -> Any:
    """opensearch-py's SigV4 signer for ``{region, service}``; credentials from the AWS chain.

    Parameters
    ----------
    block
        ``{"region": "eu-west-1", "service": "es"}`` (``service`` defaults to ``es``;
        ``aoss`` is OpenSearch Serverless).
    where
        The YAML path, for errors.
    credentials
        botocore credentials; default: ``botocore.session.Session().get_credentials()``.

    Examples
    --------
    >>> from botocore.credentials import Credentials
    >>> auth = aws_sigv4_auth({"region": "eu-west-1"}, credentials=Credentials("AK", "SK"))
    >>> auth.signer.region, auth.signer.service
    ('eu-west-1', 'es')
    >>> try:
    ...     aws_sigv4_auth({"region": "r", "service": "s3"}, credentials=Credentials("A", "S"))
    ... except ConfigError as exc:
    ...     print(exc.path, "|", exc.rule)
    output.opensearch.aws_sigv4.service | must be one of es, aoss (got 's3')
    """
    if not isinstance(block, Mapping) or not isinstance(block.get("region"), str):
        raise ConfigError(where, "needs region (e.g. {region: eu-west-1, service: es})")
    unknown = set(block) - {"region", "service"}
    if unknown:
        raise ConfigError(where, f"unknown key(s) {sorted(unknown)} (accepted: region, service)")
    service = block.get("service", "es")
    if service not in AWS_SERVICES:
        raise ConfigError(f"{where}.service", f"must be one of es, aoss (got {service!r})")
    try:
        from opensearchpy import Urllib3AWSV4SignerAuth
    except ImportError as exc:  # pragma: no cover - opensearch-py always has it
        raise ConfigError(where, f"opensearch-py lacks the SigV4 signer: {exc}") from exc
    if credentials is None:
        try:
            import botocore.session
        except ImportError as exc:
            raise ConfigError(where, "needs botocore: pip install 'outlier-connector[aws]'"
                              ) from exc
        credentials = botocore.session.Session().get_credentials()
        if credentials is None:
            raise ConfigError(where, "no AWS credentials in the standard chain (env "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, AWS_PROFILE, "
                              "container or instance role)")
    return Urllib3AWSV4SignerAuth(credentials, block["region"], service)


def opensearch_kwargs(settings: Mapping[str, Any], where: str = "output.opensearch"
                      ) -> dict[str, Any]:
    """opensearch-py keyword arguments for a ``output.opensearch`` block.

    ``http_auth`` given as a YAML list becomes a tuple; ``aws_sigv4`` becomes the signer
    (and must not be combined with ``http_auth``); ``verify_certs: false`` logs a warning.

    Examples
    --------
    >>> kw = opensearch_kwargs({"hosts": ["https://h:9200"], "ca_certs": "/ca.pem"})
    >>> kw["ca_certs"], kw["timeout"]
    ('/ca.pem', 30)
    >>> try:
    ...     opensearch_kwargs({"http_auth": ["u"]})
    ... except ConfigError as exc:
    ...     print(exc.rule)
    must be [user, password] or 'user:password'
    """
    kwargs = dict(settings)
    kwargs.setdefault("timeout", 30)
    auth = kwargs.get("http_auth")
    if isinstance(auth, (list, tuple)):
        if len(auth) != 2:
            raise ConfigError(f"{where}.http_auth", "must be [user, password] or 'user:password'")
        kwargs["http_auth"] = (str(auth[0]), str(auth[1]))
    if "aws_sigv4" in kwargs:
        if auth is not None:
            raise ConfigError(where, "http_auth and aws_sigv4 exclude each other")
        kwargs["http_auth"] = aws_sigv4_auth(kwargs.pop("aws_sigv4"), f"{where}.aws_sigv4")
    if kwargs.get("verify_certs") is False:
        kwargs.setdefault("ssl_show_warn", False)  # our warning below says it once
        logger.warning("TLS certificate verification is OFF for OpenSearch %s (%s.verify_certs: "
                       "false): anyone on the path can read and change the traffic",
                       _hosts(settings), where)
    return kwargs


def opensearch_client(settings: Mapping[str, Any], where: str = "output.opensearch") -> Any:
    """An ``opensearchpy.OpenSearch`` built from a ``output.opensearch`` block."""
    from opensearchpy import OpenSearch

    return OpenSearch(**opensearch_kwargs(settings, where))


def check_kafka(settings: Mapping[str, Any], where: str = "source.kafka") -> None:
    """Warn about librdkafka settings that turn verification off or send a password in clear.

    >>> check_kafka({"bootstrap.servers": "b:9093", "security.protocol": "SASL_SSL"})
    """
    servers = settings.get("bootstrap.servers", "?")
    if str(settings.get("enable.ssl.certificate.verification", "true")).lower() == "false":
        logger.warning("TLS certificate verification is OFF for Kafka %s (%s."
                       "enable.ssl.certificate.verification: false)", servers, where)
    if str(settings.get("ssl.endpoint.identification.algorithm", "https")).lower() == "none":
        logger.warning("TLS host name verification is OFF for Kafka %s (%s."
                       "ssl.endpoint.identification.algorithm: none)", servers, where)
    protocol = str(settings.get("security.protocol", "plaintext")).upper()
    if protocol == "SASL_PLAINTEXT" and "sasl.password" in settings:
        logger.warning("Kafka %s: %s.security.protocol SASL_PLAINTEXT sends the SASL "
                       "exchange without TLS", servers, where)


# librdkafka error codes that mean "the connection settings are wrong", with what to check
_KAFKA_HINTS = {
    -169: "authentication failed: check sasl.mechanism, sasl.username and sasl.password",
    -181: "TLS failed: check ssl.ca.location (the CA that signed the broker's certificate) "
          "and the broker's host name",
}


class KafkaErrorReporter:
    """librdkafka's ``error_cb``: one clear log line per kind of error and minute.

    librdkafka retries authentication and TLS failures forever and reports them only
    through this callback (and its own stderr log); this names the servers, the settings
    block and what to check, and says that nothing is consumed or committed meanwhile.

    Examples
    --------
    >>> from confluent_kafka import KafkaError
    >>> reporter = KafkaErrorReporter("b:9093", "p.source.kafka")
    >>> reporter.line(KafkaError(-169, "SASL authentication error: invalid credentials"))[:60]
    'kafka b:9093 (p.source.kafka): authentication failed: check '
    """

    def __init__(self, servers: str, where: str, every: float = 60.0) -> None:
        self.servers, self.where, self.every = servers, where, every
        self._last: dict[int, float] = {}

    def line(self, err: Any) -> str:
        hint = _KAFKA_HINTS.get(err.code())
        head = f"kafka {self.servers} ({self.where}): "
        return head + (f"{hint}; librdkafka: {err.str()}; nothing is consumed or committed "
                       "until it connects" if hint else err.str())

    def __call__(self, err: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(err.code(), -self.every) < self.every:
            return
        self._last[err.code()] = now
        level = logging.ERROR if err.code() in _KAFKA_HINTS or err.fatal() else logging.WARNING
        logger.log(level, "%s", self.line(err))
