"""deploy/kafka/acls.json against the code: every declared topic covered, no unknown topic, the
identity-holding topics read only by the engine and the operator, names as the clients use them.

kafkactl is standard-library only, so the topic list is kept in acls.json; this test is what
keeps the two from drifting apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from consumers.notifier.service import NotifierSettings
from consumers.settings import EngineSettings
from consumers.topics import (
    COMMANDS,
    CONTACTS,
    DEADLETTER,
    EVENTS,
    INTAKE,
    REPORTER_INBOUND,
    TOPICS,
    engine_topics,
    topic_name,
)

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
sys.path.insert(0, str(KAFKA_DIR))
import kafkawire  # noqa: E402
import secure  # noqa: E402

SPEC = json.loads((KAFKA_DIR / "acls.json").read_text())
TOPIC, GROUP = kafkawire.RESOURCE_TYPES["topic"], kafkawire.RESOURCE_TYPES["group"]
LITERAL, PREFIXED = kafkawire.PATTERN_TYPES["literal"], kafkawire.PATTERN_TYPES["prefixed"]
READ, WRITE = kafkawire.OPERATIONS["READ"], kafkawire.OPERATIONS["WRITE"]


def allowed(acls: set[kafkawire.Acl], rtype: int, name: str, op: int) -> set[str]:
    """Principals (without 'User:') allowed op on the resource, as Kafka matches names."""
    who = set()
    for acl in acls:
        if acl.resource_type != rtype or acl.operation not in (op, kafkawire.OPERATIONS["ALL"]):
            continue
        literal = acl.pattern_type == LITERAL and acl.resource_name in (name, "*")
        prefixed = acl.pattern_type == PREFIXED and name.startswith(acl.resource_name)
        if literal or prefixed:
            who.add(acl.principal.removeprefix("User:"))
    return who


def spec_topics() -> set[str]:
    """The logical topic names acls.json mentions (literal names under {p})."""
    names = set()
    for grants in SPEC["principals"].values():
        for grant in grants:
            name = grant["name"]
            if grant["resource"] == "topic" and grant.get("pattern", "literal") == "literal":
                assert name.startswith("{p}"), f"{name}: topic names take the prefix"
                names.add(name.removeprefix("{p}"))
    return names


def test_every_declared_topic_has_acls_and_no_unknown_topic_is_named() -> None:
    declared = {t.name for t in TOPICS}
    clock = EngineSettings().clock_topic
    assert declared <= spec_topics(), f"missing in acls.json: {declared - spec_topics()}"
    assert spec_topics() <= declared | {clock}, f"unknown: {spec_topics() - declared - {clock}}"


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_only_the_engine_and_the_operator_read_identities(prefix: str) -> None:
    acls = secure.wanted_acls(prefix, "aduan")
    for logical in (INTAKE, DEADLETTER):
        readers = allowed(acls, TOPIC, topic_name(logical, prefix), READ)
        assert "operator" in readers
        assert readers <= {"engine", "operator"}, (logical, readers)
    assert "engine" in allowed(acls, TOPIC, topic_name(INTAKE, prefix), READ)


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_only_the_reporter_service_and_the_operator_read_contacts(prefix: str) -> None:
    acls = secure.wanted_acls(prefix, "aduan")
    contacts = topic_name(CONTACTS, prefix)
    assert allowed(acls, TOPIC, contacts, READ) == {"reporter", "operator"}
    assert "engine" in allowed(acls, TOPIC, contacts, WRITE)


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_the_gateway_writes_intake_commands_replies_and_dead_letters_only(prefix: str) -> None:
    acls = secure.wanted_acls(prefix, "aduan")
    written = {
        t.name
        for t in TOPICS
        if "gateway" in allowed(acls, TOPIC, topic_name(t.name, prefix), WRITE)
    }
    assert written == {INTAKE, COMMANDS, REPORTER_INBOUND, DEADLETTER}


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_names_match_what_the_clients_use(prefix: str) -> None:
    settings = EngineSettings(topic_prefix=prefix)
    acls = secure.wanted_acls(prefix, settings.app_id)
    assert "engine" in allowed(acls, GROUP, settings.full_app_id, READ)  # faust's group
    assert "engine" in allowed(acls, GROUP, f"{settings.full_app_id}-relay", READ)
    changelog = settings.case_changelog_topic
    assert "engine" in allowed(acls, TOPIC, changelog, WRITE)
    assert "engine" in allowed(acls, TOPIC, f"{settings.full_app_id}-__assignor-__leader", READ)
    txn = kafkawire.RESOURCE_TYPES["transactional_id"]
    assert "engine" in allowed(acls, txn, f"{settings.full_app_id}-relay-5", WRITE)
    notifier_group = settings.topic(NotifierSettings().group_id)
    assert allowed(acls, GROUP, notifier_group, READ) == {"notifier"}
    assert "engine" in allowed(acls, TOPIC, settings.clock_topic, READ)
    assert "operator" in allowed(acls, TOPIC, settings.clock_topic, WRITE)


def test_a_prefix_confines_the_operator_and_no_prefix_means_every_topic() -> None:
    staged = secure.wanted_acls("staging", "aduan")
    assert allowed(staged, TOPIC, "other.deadletter", READ) == set()
    assert allowed(staged, TOPIC, "staging.deadletter", READ) == {"operator"}
    plain = secure.wanted_acls("", "aduan")
    assert "operator" in allowed(plain, TOPIC, "anything", READ)


def test_server_properties_override_keeps_the_template_and_adds_the_rest() -> None:
    text = "# a comment=kept\nlisteners=PLAINTEXT://h:1\nlog.dirs=/d\n"
    out = secure.override_properties(text, {"listeners": "SASL_SSL://h:1", "super.users": "U"})
    assert out.splitlines()[:3] == ["# a comment=kept", "listeners=SASL_SSL://h:1", "log.dirs=/d"]
    assert out.splitlines()[-1] == "super.users=U"


def test_scram_client_matches_rfc7677_style_exchange() -> None:
    """The client side against a server computed independently with the same primitives."""
    import base64
    import hashlib
    import hmac

    client = kafkawire.ScramClient("user", "pencil")
    first = client.client_first().decode()
    assert first.startswith("n,,n=user,r=")
    nonce = first.split("r=", 1)[1] + "server"
    salt = b"salt-of-16-bytes"
    server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i=4096"
    final = client.client_final(server_first.encode()).decode()
    salted = hashlib.pbkdf2_hmac("sha512", b"pencil", salt, 4096)
    auth = f"n=user,r={first.split('r=', 1)[1]},{server_first},c=biws,r={nonce}".encode()
    client_key = hmac.digest(salted, b"Client Key", "sha512")
    signature = hmac.digest(hashlib.sha512(client_key).digest(), auth, "sha512")
    proof = base64.b64decode(final.split(",p=", 1)[1])
    assert bytes(a ^ b for a, b in zip(proof, signature, strict=True)) == client_key
    server_sig = hmac.digest(hmac.digest(salted, b"Server Key", "sha512"), auth, "sha512")
    client.verify_server(b"v=" + base64.b64encode(server_sig))
    with pytest.raises(kafkawire.AuthenticationFailed):
        client.verify_server(b"v=" + base64.b64encode(b"x" * 64))


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_the_declared_faust_topics_are_the_workers_and_it_may_use_them(prefix: str) -> None:
    settings = EngineSettings(topic_prefix=prefix)
    names = [topic_name(t.name, prefix) for t in engine_topics(settings.app_id)]
    assert names[0] == settings.case_changelog_topic
    assert names[1] == f"{settings.full_app_id}-__assignor-__leader"
    acls = secure.wanted_acls(prefix, settings.app_id)
    for name in names:
        for op in (READ, WRITE):
            assert "engine" in allowed(acls, TOPIC, name, op), name


@pytest.mark.parametrize("prefix", ["", "staging"])
def test_the_incident_detector_reads_events_writes_commands_and_owns_its_faust_topics(
    prefix: str,
) -> None:
    settings = EngineSettings(topic_prefix=prefix)
    acls = secure.wanted_acls(prefix, settings.app_id)
    app_id = f"{settings.full_app_id}-incidents"  # consumers/incidents/app.py

    def used(op: int) -> set[str]:
        return {
            t.name
            for t in TOPICS
            if "incidents" in allowed(acls, TOPIC, topic_name(t.name, prefix), op)
        }

    assert (used(READ), used(WRITE)) == ({EVENTS}, {COMMANDS})
    assert "incidents" in allowed(acls, GROUP, app_id, READ)
    for own in ("sightings", "follow", "areas-changelog", "__assignor-__leader"):
        for op in (READ, WRITE):
            assert "incidents" in allowed(acls, TOPIC, f"{app_id}-{own}", op), own
