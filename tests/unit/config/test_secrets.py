"""Secrets in pipeline configs: ``${file:...}``, environment, masking in logs and tracebacks."""

from __future__ import annotations

import logging

import pytest

from connector.config_env import Settings, interpolate, mask, register_secret
from connector.errors import ConfigError


def test_file_reference_reads_the_file_without_its_trailing_newline(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("file-secret-1a2b\n")
    out = interpolate({"kafka": {"sasl.password": f"${{file:{secret}}}"}}, {}, "p.source")
    assert out == {"kafka": {"sasl.password": "file-secret-1a2b"}}
    assert mask("x file-secret-1a2b y") == "x *** y"


def test_a_missing_secret_file_names_the_yaml_path_and_the_file(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as caught:
        interpolate({"sasl.password": f"${{file:{missing}}}"}, {}, "p.source.kafka")
    assert caught.value.path == "p.source.kafka.sasl.password"
    assert str(missing) in caught.value.rule and "cannot be read" in caught.value.rule


def test_env_values_under_secret_keys_are_masked_but_user_names_are_not():
    interpolate({"http_auth": ["${OS_USER}", "${OS_PASSWORD}"]},
                {"OS_USER": "svc-writer", "OS_PASSWORD": "env-secret-9z8y"}, "p.output.opensearch")
    assert mask("svc-writer env-secret-9z8y") == "svc-writer ***"


def test_literal_secrets_in_settings_are_masked():
    Settings({"bootstrap.servers": "b:9093", "sasl.password": "literal-secret-77"})
    assert mask("auth literal-secret-77") == "auth ***"


def test_log_records_and_their_tracebacks_are_masked(caplog):
    register_secret("logged-secret-5q5q")
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("connecting with %s", "logged-secret-5q5q")
        try:
            raise RuntimeError("failed for logged-secret-5q5q")
        except RuntimeError:
            logging.getLogger("t").exception("boom")
    assert "logged-secret-5q5q" not in caplog.text
    assert "connecting with ***" in caplog.text and "failed for ***" in caplog.text


def test_short_values_are_not_registered():
    register_secret("ab")
    assert mask("a tab b") == "a tab b"
