"""provision.secure: the secured stack's certificates, broker and proxy configuration."""

from __future__ import annotations

import subprocess
from pathlib import Path

from provision import secure


def test_server_certificate_verifies_against_its_ca_only(tmp_path):
    ca = secure.make_ca(tmp_path, "ca")
    other, _ = secure.make_ca(tmp_path, "other-ca")
    cert, key = secure.make_server_cert(tmp_path, ca)

    def verify(ca_file: Path) -> int:
        return subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), "-verify_ip",
                               "127.0.0.1", str(cert)], capture_output=True).returncode

    assert verify(ca[0]) == 0
    assert verify(other) != 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_kafka_has_no_plaintext_client_listener_and_scram_for_brokers():
    props = secure.kafka_properties(secure.SecureLayout(Path("/s")), "pw")
    settings = dict(line.split("=", 1) for line in props.splitlines())
    assert settings["advertised.listeners"] == "SASL_SSL://127.0.0.1:9192"
    assert settings["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert settings["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert settings["inter.broker.listener.name"] == "SASL_SSL"
    assert settings["ssl.truststore.location"] == "/s/tls/ca.pem"


def test_proxy_asks_for_basic_auth_and_denies_the_reader_every_write(tmp_path):
    conf = secure.nginx_conf(secure.SecureLayout(tmp_path), "127.0.0.1:9200", False)
    assert "auth_basic_user_file" in conf and f"{tmp_path}/nginx/htpasswd" in conf
    assert '"~^reader:(GET|HEAD)$" 0;' in conf and '"~^reader:" 1;' in conf
    assert "return 403" in conf and "security_exception" in conf
    assert "user root" not in conf


def test_ssha_matches_the_htpasswd_format():
    import base64
    import hashlib

    raw = base64.b64decode(secure.ssha("pw", b"12345678")[len("{SSHA}"):])
    assert raw[:20] == hashlib.sha1(b"pw12345678").digest() and raw[20:] == b"12345678"
