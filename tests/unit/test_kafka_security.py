"""consumers.kafka_security: one declaration -> kafka-python, aiokafka and faust settings."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import faust
import pytest
from pydantic import SecretStr, ValidationError

from consumers.kafka_security import (
    KafkaSecurity,
    aiokafka_kwargs,
    faust_settings,
    kafka_python_kwargs,
    ssl_context,
)


@pytest.fixture
def cafile(tmp_path: Path) -> Path:
    """A real self-signed CA certificate (openssl, as the secured broker's own)."""
    openssl = shutil.which("openssl")
    if openssl is None:  # the secured broker needs openssl anyway
        pytest.fail("openssl is required (it makes the secured broker's certificates)")
    key, cert = tmp_path / "ca.key", tmp_path / "ca.pem"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    args = ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=aduan unit CA"]
    subprocess.run([openssl, "req", "-x509", *ec, *args], check=True, capture_output=True)
    return cert


def scram(cafile: Path) -> KafkaSecurity:
    return KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_username="gateway",
        sasl_password=SecretStr("s3cret"),
        ssl_cafile=cafile,
    )


def test_the_default_is_plaintext_and_asks_for_nothing() -> None:
    plain = KafkaSecurity()
    assert kafka_python_kwargs(plain) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_kwargs(plain) == {"security_protocol": "PLAINTEXT"}
    assert faust_settings(plain) == {}
    assert ssl_context(plain) is None


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, cafile: Path) -> None:
    monkeypatch.setenv("ADUAN_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ADUAN_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ADUAN_KAFKA_SASL_USERNAME", "engine")
    monkeypatch.setenv("ADUAN_KAFKA_SASL_PASSWORD", "from-env")
    monkeypatch.setenv("ADUAN_KAFKA_SSL_CAFILE", str(cafile))
    monkeypatch.setenv("ADUAN_KAFKA_BOOTSTRAP", "127.0.0.1:9092")  # another declaration's
    sec = KafkaSecurity()
    assert sec.sasl_username == "engine"
    assert sec.password() == "from-env"
    assert sec.ssl_cafile == cafile
    assert "from-env" not in repr(sec)  # a SecretStr: never in logs


def test_kafka_python_gets_sasl_and_the_ca_file(cafile: Path) -> None:
    assert kafka_python_kwargs(scram(cafile)) == {
        "security_protocol": "SASL_SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(cafile),
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "gateway",
        "sasl_plain_password": "s3cret",
    }


def test_aiokafka_gets_a_verifying_ssl_context(cafile: Path) -> None:
    kwargs = aiokafka_kwargs(scram(cafile))
    context = kwargs.pop("ssl_context")
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "gateway",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert len(context.get_ca_certs()) == 1  # the given CA (no system store mixed in)


def test_faust_gets_sasl_credentials_over_tls(cafile: Path) -> None:
    settings = faust_settings(scram(cafile))
    credentials = settings["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("gateway", "s3cret")
    assert credentials.ssl_context is settings["ssl_context"]
    app = faust.App("t-kafka-security", broker="kafka://127.0.0.1:1", **settings)
    assert app.conf.broker_credentials is credentials


def test_tls_without_sasl_and_sasl_without_tls(cafile: Path) -> None:
    tls = KafkaSecurity(security_protocol="SSL", ssl_cafile=cafile)
    assert "sasl_mechanism" not in kafka_python_kwargs(tls)
    assert isinstance(faust_settings(tls)["broker_credentials"], faust.SSLCredentials)
    sasl_plain = KafkaSecurity(
        security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password=SecretStr("p")
    )
    assert "ssl_context" not in aiokafka_kwargs(sasl_plain)
    assert faust_settings(sasl_plain)["broker_credentials"].protocol.value == "SASL_PLAINTEXT"


def test_incomplete_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs sasl_username and sasl_password"):
        KafkaSecurity(security_protocol="SASL_SSL", sasl_username="gateway")
    with pytest.raises(ValidationError, match="not a readable file"):
        KafkaSecurity(security_protocol="SSL", ssl_cafile=tmp_path / "missing.pem")
    with pytest.raises(ValidationError):
        KafkaSecurity(security_protocol="KERBEROS")  # type: ignore[arg-type]
