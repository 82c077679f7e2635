"""Just enough of the Kafka wire protocol, over TLS with SASL/SCRAM, for kafkactl's secured mode.

Standard library only (kafkactl runs before the virtualenv exists). It authenticates a principal
(SaslHandshake v1 + SaslAuthenticate v1, SCRAM-SHA-512 as in RFC 5802/7677), asks for metadata
(readiness) and reads, creates and deletes ACLs (DescribeAcls/CreateAcls/DeleteAcls v1, the
last non-flexible versions, so no tagged fields are needed), and asks a cluster which node leads
its KRaft quorum (DescribeQuorum v0, a flexible request: compact strings and empty tag sections).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import ssl
import struct
from collections.abc import Iterable
from typing import NamedTuple

CLIENT_ID = b"aduan-kafkactl"

# api keys
METADATA, DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS = 3, 29, 30, 31
DESCRIBE_QUORUM = 55
METADATA_LOG = "__cluster_metadata"  # the KRaft quorum's log
SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36

RESOURCE_TYPES = {"topic": 2, "group": 3, "cluster": 4, "transactional_id": 5}
PATTERN_TYPES = {"literal": 3, "prefixed": 4}
OPERATIONS = {
    "ALL": 2,
    "READ": 3,
    "WRITE": 4,
    "CREATE": 5,
    "DELETE": 6,
    "ALTER": 7,
    "DESCRIBE": 8,
    "CLUSTER_ACTION": 9,
    "DESCRIBE_CONFIGS": 10,
    "ALTER_CONFIGS": 11,
    "IDEMPOTENT_WRITE": 12,
}
ALLOW = 3
ANY = 1  # resource type / pattern type / operation / permission "any" in filters


class KafkaError(Exception):
    """The broker answered with an error code (or the protocol went wrong)."""


class AuthenticationFailed(KafkaError):
    pass


class Acl(NamedTuple):
    """One ALLOW binding, as the protocol numbers it."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int = ALLOW


# ---------------------------------------------------------------- encoding


def _string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def _bytes(raw: bytes) -> bytes:
    return struct.pack(">i", len(raw)) + raw


def _uvarint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def _compact_string(text: str) -> bytes:
    raw = text.encode()
    return _uvarint(len(raw) + 1) + raw


NO_TAGS = b"\x00"  # an empty tagged-field section of a flexible message


class Reader:
    """Reads the fields of a response body in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int8(self) -> int:
        return self._take(">b")

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def int64(self) -> int:
        return self._take(">q")

    def string(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        text = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return text

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def compact_string(self) -> str | None:
        n = self.uvarint() - 1
        if n < 0:
            return None
        text = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return text

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.pos += self.uvarint()  # size, then the value

    def bytes_(self) -> bytes:
        n = self.int32()
        raw = self.data[self.pos : self.pos + max(n, 0)]
        self.pos += max(n, 0)
        return raw


# ---------------------------------------------------------------- the connection


class Connection:
    """One connection (TLS when a CA file is given), sending one request at a time."""

    def __init__(self, host: str, port: int, cafile: str | None, timeout: float = 5.0) -> None:
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock: socket.socket = raw
        if cafile is not None:
            context = ssl.create_default_context(cafile=cafile)
            try:
                self.sock = context.wrap_socket(raw, server_hostname=host)
            except BaseException:
                raw.close()
                raise
        self.sock.settimeout(timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return buf

    def request(self, api_key: int, version: int, body: bytes, flexible: bool = False) -> Reader:
        """Send a request (header v1, or v2 when flexible) and return a reader positioned after
        the response header."""
        self.correlation += 1
        header = struct.pack(">hhih", api_key, version, self.correlation, len(CLIENT_ID))
        payload = header + CLIENT_ID + (NO_TAGS if flexible else b"") + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._recv_exact(4))
        reader = Reader(self._recv_exact(size))
        if reader.int32() != self.correlation:
            raise KafkaError("unexpected correlation id in the answer")
        if flexible:
            reader.skip_tags()
        return reader

    def authenticate(self, username: str, password: str) -> None:
        """SASL SCRAM-SHA-512 (RFC 5802): client-first, server-first, client-final, server-final."""
        answer = self.request(SASL_HANDSHAKE, 1, _string("SCRAM-SHA-512"))
        if (code := answer.int16()) != 0:
            raise KafkaError(f"SaslHandshake refused SCRAM-SHA-512 (error {code})")
        scram = ScramClient(username, password)
        server_first = self._sasl_step(scram.client_first())
        server_final = self._sasl_step(scram.client_final(server_first))
        scram.verify_server(server_final)

    def _sasl_step(self, message: bytes) -> bytes:
        answer = self.request(SASL_AUTHENTICATE, 1, _bytes(message))
        code, text = answer.int16(), answer.string()
        if code != 0:
            raise AuthenticationFailed(text or f"SASL authentication failed (error {code})")
        return answer.bytes_()

    def broker_count(self) -> int:
        """Metadata v4 for no topics: how many brokers the answer lists."""
        answer = self.request(METADATA, 4, struct.pack(">ib", 0, 0))
        answer.int32()  # throttle time
        return answer.int32()

    def quorum_leader(self) -> tuple[int, int]:
        """DescribeQuorum v0 (a broker forwards it to the active controller): the KRaft
        leader's node id (-1: no leader) and its epoch."""
        partition = struct.pack(">i", 0) + NO_TAGS
        topic = _compact_string(METADATA_LOG) + _uvarint(2) + partition + NO_TAGS
        answer = self.request(DESCRIBE_QUORUM, 0, _uvarint(2) + topic + NO_TAGS, flexible=True)
        if (code := answer.int16()) != 0:
            raise KafkaError(f"DescribeQuorum failed (error {code})")
        if answer.uvarint() - 1 < 1:
            raise KafkaError("DescribeQuorum answered no topic")
        answer.compact_string()
        if answer.uvarint() - 1 < 1:
            raise KafkaError("DescribeQuorum answered no partition")
        answer.int32()  # partition index
        if (code := answer.int16()) != 0:
            raise KafkaError(f"DescribeQuorum failed for the metadata log (error {code})")
        return answer.int32(), answer.int32()

    def describe_acls(self) -> set[Acl]:
        """Every ACL on the cluster (a match-any filter)."""
        body = struct.pack(">bh", ANY, -1) + struct.pack(">b", ANY)
        body += _string(None) + _string(None) + struct.pack(">bb", ANY, ANY)
        answer = self.request(DESCRIBE_ACLS, 1, body)
        answer.int32()  # throttle
        code, text = answer.int16(), answer.string()
        if code != 0:
            raise KafkaError(f"DescribeAcls failed (error {code}: {text})")
        found: set[Acl] = set()
        for _ in range(answer.int32()):
            rtype, name, pattern = answer.int8(), answer.string() or "", answer.int8()
            for _ in range(answer.int32()):
                principal, host = answer.string() or "", answer.string() or ""
                op, perm = answer.int8(), answer.int8()
                found.add(Acl(rtype, name, pattern, principal, host, op, perm))
        return found

    def create_acls(self, acls: Iterable[Acl]) -> None:
        todo = list(acls)
        if not todo:
            return
        body = struct.pack(">i", len(todo))
        for acl in todo:
            body += struct.pack(">b", acl.resource_type) + _string(acl.resource_name)
            body += struct.pack(">b", acl.pattern_type) + _string(acl.principal)
            body += _string(acl.host) + struct.pack(">bb", acl.operation, acl.permission)
        answer = self.request(CREATE_ACLS, 1, body)
        answer.int32()  # throttle
        self._expect_results(answer, len(todo))
        for acl in todo:
            code, text = answer.int16(), answer.string()
            if code != 0:
                raise KafkaError(f"CreateAcls {acl} failed (error {code}: {text})")

    @staticmethod
    def _expect_results(answer: Reader, n: int) -> None:
        if (got := answer.int32()) != n:
            raise KafkaError(f"expected {n} results in the answer, got {got}")

    def delete_acls(self, acls: Iterable[Acl]) -> None:
        todo = list(acls)
        if not todo:
            return
        body = struct.pack(">i", len(todo))
        for acl in todo:  # an exact filter per binding
            body += struct.pack(">b", acl.resource_type) + _string(acl.resource_name)
            body += struct.pack(">b", acl.pattern_type) + _string(acl.principal)
            body += _string(acl.host) + struct.pack(">bb", acl.operation, acl.permission)
        answer = self.request(DELETE_ACLS, 1, body)
        answer.int32()  # throttle
        self._expect_results(answer, len(todo))
        for acl in todo:
            code, text = answer.int16(), answer.string()
            if code != 0:
                raise KafkaError(f"DeleteAcls {acl} failed (error {code}: {text})")
            for _ in range(answer.int32()):  # the matching bindings, each with its own error
                answer.int16(), answer.string(), answer.int8(), answer.string(), answer.int8()
                answer.string(), answer.string(), answer.int8(), answer.int8()


# ---------------------------------------------------------------- SCRAM-SHA-512


def _saslname(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramClient:
    """The client side of one SCRAM-SHA-512 exchange."""

    def __init__(self, username: str, password: str) -> None:
        self.password = password.encode()
        self.nonce = base64.b64encode(secrets.token_bytes(24)).decode()
        self.first_bare = f"n={_saslname(username)},r={self.nonce}"
        self.server_signature = b""

    def client_first(self) -> bytes:
        return f"n,,{self.first_bare}".encode()

    def client_final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        fields = dict(part.split("=", 1) for part in text.split(","))
        nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
        if not nonce.startswith(self.nonce):
            raise AuthenticationFailed("the server's SCRAM nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha512", self.password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha512")
        stored_key = hashlib.sha512(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha512")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", "sha512")
        self.server_signature = hmac.digest(server_key, auth_message, "sha512")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server(self, server_final: bytes) -> None:
        fields = dict(part.split("=", 1) for part in server_final.decode().split(","))
        if "e" in fields:
            raise AuthenticationFailed(f"SCRAM: {fields['e']}")
        got = base64.b64decode(fields.get("v", ""))
        if not hmac.compare_digest(got, self.server_signature):
            raise AuthenticationFailed("the server's SCRAM signature is wrong")
