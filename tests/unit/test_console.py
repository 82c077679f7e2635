"""The console and the tracking page over HTTP (TestClient), with the real core applying the
published commands into the in-memory read model: sessions, CSRF, roles, confidentiality."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consumers.gateway.app import create_app
from consumers.gateway.console.queues import clock_view
from consumers.gateway.console.session import SESSION_COOKIE, SESSION_LIFETIME
from consumers.gateway.security import DEV_TOKENS, OperatorRole, dev_security
from tests.unit.test_gateway import KEY, NOW, Env, web_form
from workflow.commands import LinkToIncident


class ConsoleEnv(Env):
    """`Env` with a clock the test can move (sessions expire on the gateway's clock)."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.now = NOW
        self.app = create_app(
            self.settings,
            security=dev_security(),
            publisher=self.publisher,
            read_model=self.model,
            clock=lambda: self.now,
        )


@pytest.fixture
def env(tmp_path: Path) -> ConsoleEnv:
    return ConsoleEnv(tmp_path)


@pytest.fixture
def client(env: ConsoleEnv) -> Iterator[TestClient]:
    with TestClient(env.app) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def login(client: TestClient, role: OperatorRole) -> None:
    client.cookies.clear()
    form = client.get("/console/masuk")
    answer = client.post(
        "/console/masuk",
        data={"token": DEV_TOKENS[role], "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/antrean"


def submit(client: TestClient, env: Env, **extra: Any) -> str:
    answer = client.post("/v1/intake/web", json=web_form(**extra), headers=KEY)
    assert answer.status_code == 202, answer.text
    env.engine()
    tracking: str = answer.json()["tracking_number"]
    return tracking


def act(client: TestClient, tracking: str, type_: str, **fields: str) -> Any:
    page = client.get(f"/console/kasus/{tracking}")
    assert page.status_code == 200, page.text
    data = {"csrf": csrf_of(page.text), "jenis": type_, "kunci": f"t-{type_}", **fields}
    return client.post(f"/console/kasus/{tracking}/perintah", data=data, follow_redirects=False)


def actions_on(client: TestClient, tracking: str) -> list[str]:
    return re.findall(r'data-action="(\w+)"', client.get(f"/console/kasus/{tracking}").text)


# -- sessions and CSRF ------------------------------------------------------------------------


def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/console/antrean", "/console/kasus/ADU-AAAA-BBBB-CCCC"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/masuk")
    poll = client.get("/console/antrean/tabel", headers={"HX-Request": "true"})
    assert (poll.status_code, poll.headers["hx-redirect"]) == (401, "/console/masuk")


def test_login_sets_a_strict_httponly_expiring_cookie(client: TestClient) -> None:
    form = client.get("/console/masuk")
    answer = client.post(
        "/console/masuk",
        data={"token": DEV_TOKENS[OperatorRole.VERIFIER], "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert "httponly" in flags
    assert flags["samesite"].strip().lower() == "samesite=strict"
    assert flags["max-age"].strip() == f"Max-Age={int(SESSION_LIFETIME.total_seconds())}"
    assert DEV_TOKENS[OperatorRole.VERIFIER] not in cookie  # the token itself is never stored
    assert client.get("/console/antrean").status_code == 200


def test_login_refuses_unknown_tokens_and_forms_without_csrf(client: TestClient) -> None:
    form = client.get("/console/masuk")
    wrong = client.post("/console/masuk", data={"token": "nope", "csrf": csrf_of(form.text)})
    assert wrong.status_code == 401
    assert "Token tidak dikenal" in wrong.text
    token = DEV_TOKENS[OperatorRole.ADMIN]
    forged = client.post("/console/masuk", data={"token": token, "csrf": "x" * 64})
    assert forged.status_code == 403
    client.cookies.clear()  # no pre-login cookie: a cross-site post
    blind = client.post("/console/masuk", data={"token": token, "csrf": csrf_of(form.text)})
    assert blind.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_sessions_expire_and_forged_cookies_are_refused(
    client: TestClient, env: ConsoleEnv
) -> None:
    login(client, OperatorRole.ADMIN)
    value = client.cookies[SESSION_COOKIE]
    body, _, mac = value.rpartition(".")
    client.cookies.set(SESSION_COOKIE, f"{body}.{'0' * len(mac)}")
    assert client.get("/console/antrean", follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, value)
    assert client.get("/console/antrean", follow_redirects=False).status_code == 200
    env.now = NOW + SESSION_LIFETIME + timedelta(seconds=1)
    assert client.get("/console/antrean", follow_redirects=False).status_code == 303


def test_a_command_form_without_the_csrf_token_publishes_nothing(
    client: TestClient, env: ConsoleEnv
) -> None:
    tracking = submit(client, env)
    login(client, OperatorRole.VERIFIER)
    data = {"jenis": "CompleteFormalVerification", "csrf": "0" * 64}
    answer = client.post(f"/console/kasus/{tracking}/perintah", data=data)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert env.publisher.sent == []
    logout = client.post("/console/keluar", data={}, follow_redirects=False)
    assert logout.status_code == 403  # logging out is a form too


def test_logout_ends_the_session(client: TestClient) -> None:
    login(client, OperatorRole.VERIFIER)
    page = client.get("/console/antrean")
    out = client.post("/console/keluar", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/masuk")
    assert client.get("/console/antrean", follow_redirects=False).status_code == 303


# -- queues, actions, roles --------------------------------------------------------------------


def test_the_verifier_works_a_case_through_the_forms(client: TestClient, env: ConsoleEnv) -> None:
    tracking = submit(client, env, agency_hint="PUPR")
    login(client, OperatorRole.VERIFIER)
    queue = client.get("/console/antrean").text
    assert tracking in queue
    assert 'data-queue="verifikasi">(1)' in queue
    poll = client.get("/console/antrean/tabel", headers={"HX-Request": "true"}).text
    assert tracking in poll
    assert 'data-queue="verifikasi" hx-swap-oob="true">(1)' in poll  # the tab's count, live
    assert actions_on(client, tracking) == [
        "CompleteFormalVerification",
        "RequestInformation",
        "RejectComplaint",
        "EscalateManually",
    ]
    sent = act(client, tracking, "CompleteFormalVerification", note="lengkap")
    assert sent.status_code == 303
    assert sent.headers["location"].endswith(
        "perintah=cmd:dev-verifier:t-CompleteFormalVerification"
    )
    env.engine()
    result = client.get(
        sent.headers["location"].replace(
            f"/console/kasus/{tracking}?", f"/console/kasus/{tracking}/hasil?"
        )
    )
    assert "Perintah diterapkan: Verifikasi formal selesai" in result.text
    assert "CompleteMaterialVerification" in actions_on(client, tracking)
    assert act(client, tracking, "CompleteMaterialVerification", agency="PUPR").status_code == 303
    env.engine()
    assert env.model.case(tracking).state == "referred"  # type: ignore[union-attr]
    assert tracking not in client.get("/console/antrean").text  # left the verifier's queue
    # what the lifecycle table does not allow in this state is not offered, nor accepted
    assert "AcceptReferral" not in actions_on(client, tracking)
    refused = act(client, tracking, "AcceptReferral")
    assert refused.status_code == 403
    assert env.publisher.sent == []


def test_a_rejected_command_shows_the_engines_reason(client: TestClient, env: ConsoleEnv) -> None:
    tracking = submit(client, env)
    login(client, OperatorRole.VERIFIER)
    act(client, tracking, "CompleteFormalVerification")
    env.engine()
    sent = act(client, tracking, "CompleteMaterialVerification", agency="NOPE")
    assert sent.status_code == 303
    env.engine()
    command_id = sent.headers["location"].split("perintah=")[1]
    result = client.get(f"/console/kasus/{tracking}/hasil", params={"perintah": command_id})
    assert "Perintah ditolak: syarat tidak terpenuhi" in result.text
    assert "agency must exist" in result.text
    page = client.get(f"/console/kasus/{tracking}").text
    assert 'data-event="CommandRejected"' in page


def test_the_agency_liaison_sees_and_acts_only_on_its_agencys_cases(
    client: TestClient, env: ConsoleEnv
) -> None:
    ours = submit(
        client, env, agency_hint="PUPR", submission_id="f-ours", confidentiality="anonymous"
    )
    theirs = submit(client, env, agency_hint="DINKES", submission_id="f-theirs")
    login(client, OperatorRole.VERIFIER)
    for tracking, agency in ((ours, "PUPR"), (theirs, "DINKES")):
        act(client, tracking, "CompleteFormalVerification")
        env.engine()
        act(client, tracking, "CompleteMaterialVerification", agency=agency)
        env.engine()
    login(client, OperatorRole.AGENCY_OFFICER)
    queue = client.get("/console/antrean?instansi=DINKES").text  # its agency filter is fixed
    assert ours in queue
    assert theirs not in queue
    assert client.get(f"/console/kasus/{theirs}").status_code == 403
    blocked = act_without_page(client, theirs, "PostFollowUpPlan", plan="x")
    assert blocked.status_code == 403
    page = client.get(f"/console/kasus/{ours}").text
    assert "Budi" not in page  # an anonymous reporter's identity stays with the desk
    assert "Pseudonim" not in page
    offered = actions_on(client, ours)
    # the agency may also ask the reporter (its clock pauses); the desk's actions are not offered
    assert {"AcceptReferral", "ReturnReferral", "PostFollowUpPlan", "RequestInformation"} <= set(
        offered
    )
    assert "RejectComplaint" not in offered
    assert env.publisher.sent == []


def act_without_page(client: TestClient, tracking: str, type_: str, **fields: str) -> Any:
    """A post to a case the operator cannot open (the CSRF token from the queue page)."""
    csrf = csrf_of(client.get("/console/antrean").text)
    data = {"csrf": csrf, "jenis": type_, **fields}
    return client.post(f"/console/kasus/{tracking}/perintah", data=data, follow_redirects=False)


def test_queue_filters_and_the_late_clock(client: TestClient, env: ConsoleEnv) -> None:
    tracking = submit(client, env)
    login(client, OperatorRole.ADMIN)
    assert tracking in client.get("/console/antrean?antrean=semua&kanal=web").text
    assert tracking not in client.get("/console/antrean?antrean=semua&kanal=sms").text
    case = env.model.case(tracking)
    assert case is not None
    late = clock_view(case, None, env.workflow.policy, NOW + timedelta(days=30))
    assert late.level == "breach"
    assert late.left.startswith("terlambat")
    on_time = clock_view(case, None, env.workflow.policy, NOW)
    assert (on_time.level, on_time.left[:4]) == ("ok", "sisa")


# -- the public tracking page ------------------------------------------------------------------


def test_tracking_page_shows_no_reporter_and_nothing_of_a_confidential_case(
    client: TestClient, env: ConsoleEnv
) -> None:
    open_case = submit(client, env, submission_id="f-open", confidentiality="public")
    secret = submit(client, env, submission_id="f-secret", confidentiality="confidential")
    shown = client.get("/lacak/", params={"nomor": open_case.lower()})
    assert shown.status_code == 200
    assert "Jalan di Desa Amahai" in shown.text
    assert "Budi" not in shown.text
    assert "081234567890" not in shown.text
    hidden = client.get("/lacak/", params={"nomor": secret}).text
    assert "Diterima, menunggu verifikasi" in hidden
    assert "Amahai" not in hidden
    assert "Perihal" not in hidden
    assert client.get("/lacak/", params={"nomor": "ADU-AAAA-BBBB-CCCC"}).status_code == 404
    assert client.get("/lacak/", params={"nomor": "bukan"}).status_code == 404


def test_attachments_download_only_for_those_who_may_open_the_case(
    client: TestClient, env: ConsoleEnv
) -> None:
    photo = b"\xff\xd8\xff\xe0" + b"JPEGDATA" * 100
    answer = client.post(
        "/v1/intake/web/multipart",
        data={"submission_id": "mp-1", "text": "Drainase tersumbat", "agency_hint": "DINKES"},
        files=[("attachments", ("foto jalan.jpg", photo, "image/jpeg"))],
        headers=KEY,
    )
    assert answer.status_code == 202, answer.text
    env.engine()
    tracking = answer.json()["tracking_number"]
    login(client, OperatorRole.VERIFIER)
    page = client.get(f"/console/kasus/{tracking}").text
    assert f'href="/console/kasus/{tracking}/lampiran/0"' in page
    download = client.get(f"/console/kasus/{tracking}/lampiran/0")
    assert download.status_code == 200
    assert download.content == photo
    assert download.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/console/kasus/{tracking}/lampiran/1").status_code == 404
    login(client, OperatorRole.AGENCY_OFFICER)  # PUPR; the case is at the triage desk
    assert client.get(f"/console/kasus/{tracking}/lampiran/0").status_code == 403


def _link(env: ConsoleEnv, tracking: str, incident: str = "INC-ADU-TEST") -> None:
    env.apply(
        LinkToIncident.model_validate(
            {
                "event_id": f"incident-link:{tracking}:{incident}:2",
                "occurred_at": NOW,
                "case_id": tracking,
                "payload": {"incident_id": incident, "reporters": 2},
            }
        )
    )


def test_a_verifier_unlinks_a_wrongly_linked_case_from_its_incident(
    client: TestClient, env: ConsoleEnv
) -> None:
    tracking = submit(client, env)
    login(client, OperatorRole.VERIFIER)
    assert "UnlinkFromIncident" not in actions_on(client, tracking)  # not linked: no form
    _link(env, tracking)
    page = client.get(f"/console/kasus/{tracking}").text
    assert "INC-ADU-TEST · 2 laporan" in page
    assert "UnlinkFromIncident" in actions_on(client, tracking)
    assert 'data-fixed="incident_id">Kejadian massal: INC-ADU-TEST' in page
    # The incident comes from the case, not from the post: a forged one is not sent.
    sent = act(client, tracking, "UnlinkFromIncident", reason="lain kejadian", incident_id="X")
    assert sent.status_code == 303
    env.engine()
    case = env.model.case(tracking)
    assert case is not None
    assert (case.incident_id, case.incidents_refused) == (None, ("INC-ADU-TEST",))
    assert "UnlinkFromIncident" not in actions_on(client, tracking)
    assert 'data-event="IncidentUnlinked"' in client.get(f"/console/kasus/{tracking}").text


def test_an_agency_liaison_gets_no_unlink_form(client: TestClient, env: ConsoleEnv) -> None:
    tracking = submit(client, env, agency_hint="PUPR")
    _link(env, tracking)
    login(client, OperatorRole.VERIFIER)
    act(client, tracking, "CompleteFormalVerification")
    env.engine()
    act(client, tracking, "CompleteMaterialVerification", agency="PUPR")
    env.engine()
    login(client, OperatorRole.AGENCY_OFFICER)
    page = client.get(f"/console/kasus/{tracking}")
    assert page.status_code == 200  # its own agency's case: it sees it and its incident
    assert "INC-ADU-TEST" in page.text
    assert "PostFollowUpPlan" in actions_on(client, tracking)
    assert "UnlinkFromIncident" not in actions_on(client, tracking)
