"""connector.connections: OpenSearch client arguments, insecure warnings, AWS SigV4 signing."""

from __future__ import annotations

import datetime
import hashlib
import logging

import pytest

from connector.connections import aws_sigv4_auth, check_kafka, opensearch_kwargs
from connector.errors import ConfigError

FIXED = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
URL = "https://search-logs-abc123.eu-west-1.es.amazonaws.com/outliers-gameday/_bulk"
BODY = b'{"create":{"_id":"t+0+1"}}\n{"outlier":{"score":1.5}}\n'


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fixed credentials in the environment (the standard chain's first link), fixed clock."""
    import botocore.auth

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-example")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FIXED.replace(tzinfo=None))


def _botocore_headers(service: str, region: str, method: str, url: str, body: bytes) -> dict:
    """What botocore's own SigV4 signer puts on the same request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        "session-token-example")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    SigV4Auth(creds, service, region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_sigv4_signature_equals_botocores_for_fixed_requests(aws_env, service):
    kwargs = opensearch_kwargs({"hosts": [URL.split("/outliers")[0]],
                                "aws_sigv4": {"region": "eu-west-1", "service": service}})
    auth = kwargs["http_auth"]
    for method, url, body in (("POST", URL, BODY), ("GET", URL.rsplit("/", 2)[0] + "/", None)):
        ours = auth(method, url, body)
        theirs = _botocore_headers(service, "eu-west-1", method, url, body or b"")
        assert ours["Authorization"] == theirs["Authorization"]
        assert ours["X-Amz-Date"] == "20260102T030405Z"
        assert ours["X-Amz-Security-Token"] == "session-token-example"
        assert f"Credential=AKIDEXAMPLE/20260102/eu-west-1/{service}/aws4_request" in (
            ours["Authorization"])
    # the body is signed: another body, another signature
    assert auth("POST", URL, BODY + b" ")["Authorization"] != auth("POST", URL, BODY)[
        "Authorization"]


def test_sigv4_without_credentials_is_a_clear_config_error(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="no AWS credentials in the standard chain"):
        aws_sigv4_auth({"region": "eu-west-1"}, "p.output.opensearch.aws_sigv4")


@pytest.mark.parametrize("block, rule", [
    ({"service": "es"}, "needs region"),
    ({"region": "r", "service": "s3"}, "must be one of es, aoss"),
    ({"region": "r", "profile": "x"}, "unknown key"),
])
def test_bad_sigv4_blocks_name_the_path(block, rule):
    with pytest.raises(ConfigError, match=rule) as caught:
        opensearch_kwargs({"aws_sigv4": block}, "p.output.opensearch")
    assert caught.value.path.startswith("p.output.opensearch.aws_sigv4")


def test_sigv4_and_http_auth_exclude_each_other():
    with pytest.raises(ConfigError, match="exclude each other"):
        opensearch_kwargs({"http_auth": ["u", "p"], "aws_sigv4": {"region": "r"}})


def test_basic_auth_list_becomes_a_tuple_and_verification_stays_default():
    ca = "/etc/ssl/certs/ca-certificates.crt"
    kw = opensearch_kwargs({"hosts": ["https://h:9200"], "http_auth": ["u", "pw"],
                            "ca_certs": ca})
    assert kw["http_auth"] == ("u", "pw") and "verify_certs" not in kw  # opensearch-py: on
    from opensearchpy import OpenSearch

    pool = OpenSearch(**kw).transport.get_connection().pool
    assert (pool.cert_reqs, pool.ca_certs) == ("CERT_REQUIRED", ca)


def test_turning_verification_off_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING, "connector.connections"):
        opensearch_kwargs({"hosts": ["https://h:9200"], "verify_certs": False}, "p.out")
        check_kafka({"bootstrap.servers": "b:9093", "enable.ssl.certificate.verification":
                     "false", "ssl.endpoint.identification.algorithm": "none"}, "p.src")
    text = caplog.text
    assert "verification is OFF for OpenSearch https://h:9200 (p.out.verify_certs: false)" in text
    assert "verification is OFF for Kafka b:9093" in text
    assert "host name verification is OFF for Kafka b:9093" in text


def test_secure_defaults_log_nothing(caplog):
    with caplog.at_level(logging.WARNING, "connector.connections"):
        opensearch_kwargs({"hosts": ["https://h:9200"], "http_auth": ["u", "pw"]})
        check_kafka({"bootstrap.servers": "b:9093", "security.protocol": "SASL_SSL",
                     "sasl.password": "x"})
    assert caplog.text == ""
