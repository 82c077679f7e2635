"""kafkactl's secured mode: SASL_SSL with SCRAM-SHA-512, a local CA, KRaft ACLs per principal.

Standard library only. Per instance (``var/kafka-<port>/``):

- ``ca.pem``: the CA clients trust (ADUAN_KAFKA_SSL_CAFILE); public.
- ``secure/`` (mode 0700): the CA and broker keys, the broker's PKCS#12 keystore and
  ``credentials.json`` (mode 0600): one generated password per principal. Never committed (var/
  is ignored by git).

Credentials are bootstrapped at format time (``kafka-storage format --add-scram``, KIP-900), so
the broker's own principal (``admin``, the super user) authenticates from its first start. ACLs
come from ``acls.json`` and are reconciled after every start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import ssl
import struct
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import kafkawire
from kafkawire import Acl

HERE = Path(__file__).resolve().parent
ACL_SPEC = HERE / "acls.json"
ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
CERT_DAYS = 825


class SecureFailure(Exception):
    """A failure of the secured mode, reported by kafkactl as one line."""


@dataclass(frozen=True)
class SecureFiles:
    root: Path  # the instance's folder, var/kafka-<port>

    @property
    def secret_dir(self) -> Path:
        return self.root / "secure"

    @property
    def ca_pem(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.secret_dir / "ca.key"

    @property
    def broker_key(self) -> Path:
        return self.secret_dir / "broker.key"

    @property
    def broker_pem(self) -> Path:
        return self.secret_dir / "broker.pem"

    @property
    def broker_names(self) -> Path:
        return self.secret_dir / "broker.names"

    @property
    def keystore(self) -> Path:
        return self.secret_dir / "broker.p12"

    @property
    def credentials(self) -> Path:
        return self.secret_dir / "credentials.json"


def principals() -> list[str]:
    """Every principal with SCRAM credentials: the super user first, then those of acls.json."""
    spec = json.loads(ACL_SPEC.read_text())
    return [str(spec["super_user"]), *spec["principals"]]


# ---------------------------------------------------------------- passwords


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (created with that mode: never briefly wider)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def ensure_credentials(files: SecureFiles) -> dict[str, str]:
    """Load the per-instance passwords; generate the missing ones (and the keystore's)."""
    files.secret_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(files.secret_dir, 0o700)
    creds: dict[str, str] = {}
    if files.credentials.exists():
        creds = dict(json.loads(files.credentials.read_text()))
    wanted = [*principals(), "keystore"]
    if all(name in creds for name in wanted):
        return creds
    for name in wanted:
        creds.setdefault(name, secrets.token_urlsafe(24))
    write_private(files.credentials, json.dumps(creds, indent=2) + "\n")
    return creds


def scram_format_args(creds: Mapping[str, str]) -> list[str]:
    """``kafka-storage format`` arguments that create every principal's SCRAM credential."""
    args: list[str] = []
    for name in principals():
        args += ["--add-scram", f"{MECHANISM}=[name={name},password={creds[name]}]"]
    return args


# ---------------------------------------------------------------- certificates (openssl)


def _openssl(*args: str, env: Mapping[str, str] | None = None) -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        raise SecureFailure("openssl not found on PATH: install it (apt-get install openssl)")
    proc = subprocess.run(
        [openssl, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        tail = " ".join((proc.stdout + proc.stderr).split())[-300:]
        raise SecureFailure(f"openssl {args[0]} failed (exit {proc.returncode}): {tail}")


def _subject_alt_names(host: str) -> str:
    names = {"DNS:localhost", "IP:127.0.0.1"}
    try:
        ipaddress.ip_address(host)
        names.add(f"IP:{host}")
    except ValueError:
        names.add(f"DNS:{host}")
    return ",".join(sorted(names))


def ensure_certificates(files: SecureFiles, host: str, keystore_password: str) -> bool:
    """A local CA and a broker certificate for host, issued once; True when (re)issued."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    if not (files.ca_pem.exists() and files.ca_key.exists()):
        files.broker_names.unlink(missing_ok=True)  # a new CA: reissue the broker's too
        ca = ["-keyout", str(files.ca_key), "-out", str(files.ca_pem), "-days", str(CERT_DAYS)]
        ca += ["-subj", "/O=aduan/CN=aduan local Kafka CA"]
        ca += ["-addext", "basicConstraints=critical,CA:TRUE"]
        _openssl("req", "-x509", *ec, *ca, "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(files.ca_key, 0o600)
        os.chmod(files.ca_pem, 0o644)
    names = _subject_alt_names(host)
    issued = files.broker_names.exists() and files.broker_names.read_text().strip() == names
    if issued and files.keystore.exists():
        return False
    with tempfile.TemporaryDirectory(dir=files.secret_dir) as tmp:
        csr, ext = Path(tmp) / "broker.csr", Path(tmp) / "ext.cnf"
        ext.write_text(
            f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
        )
        request = ["-keyout", str(files.broker_key), "-out", str(csr)]
        _openssl("req", *ec, *request, "-subj", "/O=aduan/CN=aduan-broker")
        sign = ["-in", str(csr), "-CA", str(files.ca_pem), "-CAkey", str(files.ca_key)]
        sign += ["-set_serial", str(secrets.randbits(63)), "-days", str(CERT_DAYS)]
        _openssl("x509", "-req", *sign, "-extfile", str(ext), "-out", str(files.broker_pem))
    bundle = ["-in", str(files.broker_pem), "-inkey", str(files.broker_key)]
    bundle += ["-certfile", str(files.ca_pem), "-name", "broker", "-out", str(files.keystore)]
    password = {"ADUAN_KEYSTORE_PASSWORD": keystore_password}  # not on the command line
    _openssl("pkcs12", "-export", *bundle, "-passout", "env:ADUAN_KEYSTORE_PASSWORD", env=password)
    for path in (files.broker_key, files.keystore):
        os.chmod(path, 0o600)
    files.broker_names.write_text(names + "\n")
    return True


# ---------------------------------------------------------------- broker configuration


def _jaas(module: str, user: str, password: str, *extra: str) -> str:
    fields = " ".join([f'username="{user}"', f'password="{password}"', *extra])
    return f"org.apache.kafka.common.security.{module} required {fields};"


def broker_properties(
    files: SecureFiles, host: str, port: int, controller_port: int, creds: Mapping[str, str]
) -> dict[str, str]:
    """What the secured mode sets in server.properties (on top of the plaintext template).

    Clients: SASL_SSL with SCRAM-SHA-512. The controller listener: SASL_SSL with PLAIN for the
    broker's own principal only (SCRAM lives in the metadata log, so a KRaft controller cannot
    use it; PLAIN's users come from this file)."""
    admin = creds[ADMIN]
    return {
        "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_SSL://{host}:{port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas(
            "scram.ScramLoginModule", ADMIN, admin
        ),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": _jaas(
            "plain.PlainLoginModule", ADMIN, admin, f'user_{ADMIN}="{admin}"'
        ),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(files.keystore),
        "ssl.keystore.password": creds["keystore"],
        "ssl.key.password": creds["keystore"],
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca_pem),
        "ssl.client.auth": "none",
        "ssl.endpoint.identification.algorithm": "https",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def override_properties(text: str, overrides: Mapping[str, str]) -> str:
    """Replace the values of keys present in a .properties text; append the other keys."""
    left = dict(overrides)
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and "=" in line and key in left:
            line = f"{key}={left.pop(key)}"
        lines.append(line)
    if left:
        lines += ["", "# secured mode (kafkactl.py start --secure)"]
        lines += [f"{k}={v}" for k, v in left.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- ACLs


def _prefix_dot(prefix: str) -> str:
    prefix = prefix.strip().rstrip(".")
    return f"{prefix}." if prefix else ""


def wanted_acls(prefix: str = "", app_id: str = "aduan") -> set[Acl]:
    """The ACLs acls.json asks for, with the prefix and app id filled in."""
    spec = json.loads(ACL_SPEC.read_text())
    p = _prefix_dot(prefix)
    out: set[Acl] = set()
    for principal, grants in spec["principals"].items():
        for grant in grants:
            name = str(grant["name"]).replace("{app}", f"{p}{app_id}").replace("{p}", p)
            pattern = grant.get("pattern", "literal")
            if pattern == "prefixed" and not name:  # no prefix: the whole cluster's kind
                name, pattern = "*", "literal"
            for op in grant["ops"]:
                out.add(
                    Acl(
                        kafkawire.RESOURCE_TYPES[grant["resource"]],
                        name,
                        kafkawire.PATTERN_TYPES[pattern],
                        f"User:{principal}",
                        "*",
                        kafkawire.OPERATIONS[op],
                    )
                )
    return out


@dataclass(frozen=True)
class AclChange:
    total: int
    created: int
    removed: int


def reconcile_acls(conn: kafkawire.Connection, wanted: set[Acl]) -> AclChange:
    """Create the missing ACLs; remove the managed principals' ACLs that are no longer wanted
    (other principals' ACLs, made by hand, are left alone)."""
    managed = {f"User:{name}" for name in principals()}
    have = conn.describe_acls()
    missing = wanted - have
    extra = {acl for acl in have if acl.principal in managed and acl not in wanted}
    conn.create_acls(sorted(missing))
    conn.delete_acls(sorted(extra))
    return AclChange(len(wanted), len(missing), len(extra))


# ---------------------------------------------------------------- talking to the broker


def admin_connection(files: SecureFiles, host: str, port: int) -> kafkawire.Connection:
    """A TLS connection authenticated as the super user (raises OSError or KafkaError)."""
    creds = json.loads(files.credentials.read_text())
    conn = kafkawire.Connection(host, port, str(files.ca_pem))
    try:
        conn.authenticate(ADMIN, creds[ADMIN])
    except BaseException:
        conn.close()
        raise
    return conn


def answers_securely(files: SecureFiles, host: str, port: int) -> bool:
    """Ready: TLS handshake, SCRAM login as the super user and a metadata answer with a broker."""
    try:
        with contextlib.closing(admin_connection(files, host, port)) as conn:
            return conn.broker_count() >= 1
    except (OSError, ssl.SSLError, struct.error, kafkawire.KafkaError, ValueError, KeyError):
        return False


def prepare(
    files: SecureFiles, host: str, port: int, controller_port: int, formatted: bool
) -> tuple[dict[str, str], list[str]]:
    """Passwords and certificates of a secured instance; returns (its server.properties
    overrides, the storage format arguments that bootstrap the SCRAM credentials)."""
    if formatted and not files.credentials.exists():
        raise SecureFailure(
            f"{files.credentials} is gone but the broker's data holds the SCRAM credentials "
            f"made with it: remove {files.root} to start afresh"
        )
    creds = ensure_credentials(files)
    ensure_certificates(files, host, creds["keystore"])
    overrides = broker_properties(files, host, port, controller_port, creds)
    return overrides, scram_format_args(creds)


def apply_acls(files: SecureFiles, host: str, port: int, prefix: str, app_id: str) -> AclChange:
    """Reconcile acls.json on the running broker (raises OSError or kafkawire.KafkaError)."""
    with contextlib.closing(admin_connection(files, host, port)) as conn:
        return reconcile_acls(conn, wanted_acls(prefix, app_id))


def client_env(files: SecureFiles, bootstrap: str, principal: str) -> list[str]:
    """Environment lines that configure an aduan client as principal (consumers/kafka_security)."""
    if not files.credentials.exists():
        raise SecureFailure(f"no {files.credentials} yet: start the broker with --secure first")
    creds = json.loads(files.credentials.read_text())
    if principal not in creds or principal == "keystore":
        raise SecureFailure(f"no principal {principal!r}; known: {', '.join(principals())}")
    return [
        f"ADUAN_KAFKA_BOOTSTRAP={bootstrap}",
        "ADUAN_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        f"ADUAN_KAFKA_SASL_MECHANISM={MECHANISM}",
        f"ADUAN_KAFKA_SASL_USERNAME={principal}",
        f"ADUAN_KAFKA_SASL_PASSWORD={creds[principal]}",
        f"ADUAN_KAFKA_SSL_CAFILE={files.ca_pem}",
    ]
