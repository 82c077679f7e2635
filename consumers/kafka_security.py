"""How every aduan client authenticates to Kafka: one declaration, three client flavours.

Environment (prefix ``ADUAN_KAFKA_``, like ``ADUAN_KAFKA_BOOTSTRAP``): ``SECURITY_PROTOCOL``
(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ``SASL_MECHANISM`` (SCRAM-SHA-512), ``SASL_USERNAME``,
``SASL_PASSWORD``, ``SSL_CAFILE`` (a PEM file; none = the system's trust store), and
``CREDENTIALS_FILE`` (``aduan run`` only: JSON ``{principal: password}``, from which each service it
starts gets its own login, see :func:`principal_env`).
``kafkactl.py env --principal NAME`` prints these for a local secured broker.

:func:`kafka_python_kwargs` suits ``KafkaProducer``/``KafkaConsumer``/``KafkaAdminClient``,
:func:`aiokafka_kwargs` the aiokafka clients, :func:`faust_settings` a ``faust.App``.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSecurity(BaseSettings):
    """Transport security and credentials of one Kafka client."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_KAFKA_", extra="ignore", frozen=True)

    security_protocol: Protocol = Field(
        default="PLAINTEXT", description="How to talk to the brokers."
    )
    sasl_mechanism: Mechanism = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (SASL_* protocols only)."
    )
    sasl_username: str | None = Field(default=None, description="SASL principal name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: Path | None = Field(
        default=None, description="CA certificates (PEM) to trust; none = the system's."
    )
    credentials_file: Path | None = Field(
        default=None,
        description="JSON {principal: password} (kafkactl's secure/credentials.json): a "
        "supervisor (aduan run) logs each service in as its own principal; none = they inherit "
        "this process's login.",
    )

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs sasl_username and "
                "sasl_password (ADUAN_KAFKA_SASL_USERNAME / ADUAN_KAFKA_SASL_PASSWORD)"
            )
        if self.ssl_cafile is not None and not self.ssl_cafile.is_file():
            raise ValueError(f"ssl_cafile {self.ssl_cafile} is not a readable file")
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def password(self) -> str:
        return self.sasl_password.get_secret_value() if self.sasl_password else ""


def principal_env(security: KafkaSecurity, principal: str) -> dict[str, str]:
    """Environment that logs a child process in as ``principal``, from the credentials file.

    Empty without a credentials file or SASL: the child then inherits this process's settings.
    """
    if security.credentials_file is None or not security.uses_sasl:
        return {}
    try:
        passwords = json.loads(security.credentials_file.read_text())
        password = passwords[principal]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"no password for principal {principal!r} in {security.credentials_file}: "
            f"{type(exc).__name__}"
        ) from None
    return {"ADUAN_KAFKA_SASL_USERNAME": principal, "ADUAN_KAFKA_SASL_PASSWORD": str(password)}


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """A verifying TLS context (hostname checked) for TLS protocols, else None."""
    if not security.uses_tls:
        return None
    cafile = str(security.ssl_cafile) if security.ssl_cafile else None
    return ssl.create_default_context(cafile=cafile)


def kafka_python_kwargs(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for kafka-python clients."""
    kwargs: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.uses_tls:
        kwargs["ssl_check_hostname"] = True
        if security.ssl_cafile is not None:
            kwargs["ssl_cafile"] = str(security.ssl_cafile)
    if security.uses_sasl:
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = security.password()
    return kwargs


def aiokafka_kwargs(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients (TLS through an ssl.SSLContext)."""
    kwargs: dict[str, Any] = {"security_protocol": security.security_protocol}
    context = ssl_context(security)
    if context is not None:
        kwargs["ssl_context"] = context
    if security.uses_sasl:
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = security.password()
    return kwargs


def faust_settings(security: KafkaSecurity) -> dict[str, Any]:
    """``broker_credentials`` (and the TLS context) for ``faust.App(...)``; empty for PLAINTEXT."""
    import faust

    context = ssl_context(security)
    if security.uses_sasl:
        credentials: Any = faust.SASLCredentials(
            username=security.sasl_username,
            password=security.password(),
            ssl_context=context,
            mechanism=security.sasl_mechanism,
        )
    elif context is not None:
        credentials = faust.SSLCredentials(context)
    else:
        return {}
    return {"broker_credentials": credentials, "ssl_context": context}
