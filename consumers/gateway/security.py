"""Who may call the gateway: channel API keys, operator bearer tokens, WhatsApp secrets.

Secrets are stored hashed: the security file holds the SHA-256 of each API key and operator
token (they are long random strings, so a plain SHA-256 is enough; no password stretching is
needed), compared with `hmac.compare_digest`. ``aduan keygen`` prints a new secret (give it to
the client or operator) and the line ``sha256: <hex>`` to paste into its entry as it is; the
loader takes the bare hex and the prefixed ``sha256:<hex>`` alike.

Without a security file the gateway refuses to start, unless development mode is asked for
explicitly (``ADUAN_GATEWAY_DEV_MODE=true``, which ``aduan run`` / ``make run`` set): then it
runs on the well-known development credentials below.

Security file (YAML)::

    api_keys:
      - id: web-portal                 # shown in logs and used as the rate-limit bucket
        channels: [web, open311]       # channels this key may submit on
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    operators:
      - id: op-ambon-07
        role: verifier                 # verifier | agency_officer | escalation_officer | admin
        agency: null                   # required for agency_officer
        sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
    whatsapp:
      app_secret: "..."                # Meta app secret: X-Hub-Signature-256 HMAC key
      verify_token: "..."              # the GET hub.verify_token handshake
    reporter_key: null                 # not used by the gateway (the engine pseudonymises)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from workflow.enums import ActorRole


class GatewayChannel(StrEnum):
    """The intake routes an API key can be allowed on."""

    WEB = "web"
    SMS = "sms"
    EMAIL = "email"
    SOCIAL_MEDIA = "social_media"
    SP4N_LAPOR = "sp4n_lapor"
    OPEN311 = "open311"


class OperatorRole(StrEnum):
    """Roles of operator tokens."""

    VERIFIER = "verifier"
    AGENCY_OFFICER = "agency_officer"
    ESCALATION_OFFICER = "escalation_officer"
    ADMIN = "admin"

    @property
    def actor_role(self) -> ActorRole:
        """The role the core checks commands against."""
        return {
            OperatorRole.VERIFIER: ActorRole.VERIFIER,
            OperatorRole.AGENCY_OFFICER: ActorRole.AGENCY,
            OperatorRole.ESCALATION_OFFICER: ActorRole.OFFICER,
            OperatorRole.ADMIN: ActorRole.OFFICER,
        }[self]


def _prefixed_hash(value: object) -> object:
    """Bare hex (as ``aduan keygen`` prints it) or ``sha256:<hex>`` -> ``sha256:<hex>``."""
    if not isinstance(value, str):
        return value
    bare = value.strip().lower().removeprefix("sha256:").strip()
    return f"sha256:{bare}"


SecretHash = Annotated[
    str,
    BeforeValidator(_prefixed_hash),
    Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="SHA-256 of the secret: 64 hex digits, optionally prefixed 'sha256:'",
    ),
]


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    channels: tuple[GatewayChannel, ...] = Field(min_length=1)
    sha256: SecretHash


class Operator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    role: OperatorRole
    agency: str | None = None
    sha256: SecretHash

    @model_validator(mode="after")
    def _agency_for_officers(self) -> Operator:
        if self.role is OperatorRole.AGENCY_OFFICER and not self.agency:
            raise ValueError("an agency_officer needs an agency code")
        return self


class WhatsAppSecrets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    app_secret: str = Field(min_length=8)
    verify_token: str = Field(min_length=8)


class SecurityConfig(BaseModel):
    """The gateway's credentials (hashes only, apart from the WhatsApp shared secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: tuple[ApiKey, ...] = ()
    operators: tuple[Operator, ...] = ()
    whatsapp: WhatsAppSecrets | None = None

    def find_key(self, presented: str) -> ApiKey | None:
        """The API key whose hash matches ``presented`` (constant time per comparison)."""
        return _matching(self.api_keys, presented)

    def find_operator(self, presented: str) -> Operator | None:
        """The operator whose token hash matches ``presented``."""
        return _matching(self.operators, presented)


class _Hashed(Protocol):
    @property
    def sha256(self) -> str: ...


_Entry = TypeVar("_Entry", bound=_Hashed)


def _matching(entries: Iterable[_Entry], presented: str) -> _Entry | None:
    # Every entry is compared (no early return), so the time taken does not tell which matched.
    digest = hash_secret(presented)
    found = None
    for entry in entries:
        if hmac.compare_digest(entry.sha256, digest):
            found = entry
    return found


class SecurityFileError(ValueError):
    """The gateway's credentials (security file, tracking secret) are missing or invalid; the
    message (one line) names the entry or the setting."""


def hash_secret(secret: str) -> str:
    """``sha256:<hex>`` of a key or token as the security file stores it."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A fresh random key or token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def load_security(path: str | Path) -> SecurityConfig:
    """Read and validate a security file; `SecurityFileError` names what is wrong."""
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SecurityFileError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SecurityFileError(f"{path}: not YAML ({exc})") from None
    try:
        return SecurityConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SecurityFileError(f"{path}: {where}: {first['msg']}") from None


#: Well-known development credentials (only in development mode without a security file).
DEV_API_KEY = "dev-channel-key"
DEV_TOKENS: dict[OperatorRole, str] = {
    OperatorRole.VERIFIER: "dev-verifier-token",
    OperatorRole.AGENCY_OFFICER: "dev-agency-token",
    OperatorRole.ESCALATION_OFFICER: "dev-escalation-token",
    OperatorRole.ADMIN: "dev-admin-token",
}
DEV_WHATSAPP = WhatsAppSecrets(app_secret="dev-whatsapp-secret", verify_token="dev-verify-token")
DEV_AGENCY = "PUPR"
DEV_TRACKING_SECRET = b"aduan-development-tracking-secret"


def dev_security() -> SecurityConfig:
    """Development credentials: one key for every channel, one token per role (agency PUPR)."""
    return SecurityConfig(
        api_keys=(
            ApiKey(id="dev", channels=tuple(GatewayChannel), sha256=hash_secret(DEV_API_KEY)),
        ),
        operators=tuple(
            Operator(
                id=f"dev-{role.value.replace('_', '-')}",
                role=role,
                agency=DEV_AGENCY if role is OperatorRole.AGENCY_OFFICER else None,
                sha256=hash_secret(token),
            )
            for role, token in DEV_TOKENS.items()
        ),
        whatsapp=DEV_WHATSAPP,
    )


def whatsapp_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header value Meta sends for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def check_whatsapp_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the HMAC-SHA256 of the raw body under the app secret."""
    if not header:
        return False
    return hmac.compare_digest(whatsapp_signature(app_secret, body), header.strip())


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends: base64 HMAC-SHA1, under the auth token, of the
    full URL it called followed by every POST parameter's name and value, sorted by name."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_twilio_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], header: str | None
) -> bool:
    """True when ``header`` is the signature of this URL and form (constant-time compare)."""
    if not header:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), header.strip().encode())
