"""Issue 20 in a real browser: Debian's Chromium (Playwright, no browser download) on the
console, served over HTTP by the gateway on the real broker with a real engine worker.

A verifier logs in, verifies and refers a complaint, which appears by itself in the agency
liaison's open queue; the liaison posts the follow-up plan (a second plan is refused by the
engine and the page shows why) and resolves it; the tracking page shows the resolution and
nothing of the reporter; the liaison can neither open nor act on another agency's case, the
verifier gets no agency actions; after the simulated clock jumps three weeks, an escalation
officer sees the untouched complaint, breached, in the escalation queue.
``ADUAN_SCREENSHOT_DIR`` keeps the screenshots (docs/console/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, OperatorRole
from tests.e2e.console_server import ServedGateway
from tests.e2e.harness import EngineHarness
from tests.e2e.test_engine_flows import has, wit
from tests.tools import require_tool

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

WAIT_MS = 60_000
RESOLUTION = "Lubang jalan di Desa Amahai sudah ditambal dan diaspal ulang pada 9 Desember."


@pytest.fixture
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    executable = require_tool("chromium")  # Debian's /usr/bin/chromium
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def gateway(engine: EngineHarness, tmp_path: Path) -> Iterator[ServedGateway]:
    engine.start_worker()
    served = ServedGateway(engine, tmp_path / "store").start()
    try:
        yield served
    finally:
        served.stop()


def submit(gateway: ServedGateway, submission: str, text: str, **extra: Any) -> str:
    form = {"submission_id": submission, "text": text, **extra}
    answer = httpx.post(
        f"{gateway.url}/v1/intake/web", json=form, headers={"X-API-Key": DEV_API_KEY}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    tracking: str = answer.json()["tracking_number"]
    return tracking


def login(browser: Browser, gateway: ServedGateway, role: OperatorRole) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{gateway.url}/console/masuk")
    page.get_by_label("Token petugas").fill(DEV_TOKENS[role])
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Antrean kerja")
    return page


def open_case(page: Page, tracking: str) -> None:
    """Wait for the case in the (polled) queue and follow its link."""
    page.locator(f'tr[data-case="{tracking}"] a').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kasus {tracking}")


def do(page: Page, action: str, expected: str = "Perintah diterapkan", **fields: str) -> None:
    """Fill and send an action form; wait for the engine's answer (``expected``)."""
    form = page.locator(f'form[data-action="{action}"]')
    for name, value in fields.items():
        control = form.locator(f'[name="{name}"]')
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button").click()
    expect(page.locator("#hasil")).to_contain_text(expected, timeout=WAIT_MS)


def status_is(page: Page, word: str) -> None:
    expect(page.locator("#status")).to_have_text(word, timeout=WAIT_MS)


def shoot(page: Page, name: str, tmp_path: Path) -> None:
    target = Path(os.environ.get("ADUAN_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / name), full_page=True)


def test_verify_refer_resolve_track_and_escalate_in_chromium(
    engine: EngineHarness, gateway: ServedGateway, browser: Browser, tmp_path: Path
) -> None:
    road = submit(
        gateway,
        "web-console-1",
        "Jalan di Desa Amahai berlubang besar, sudah 3 bulan tidak diperbaiki.",
        name="Budi Santoso",
        phone="081234567890",
        confidentiality="public",
        agency_hint="PUPR",
        location={"address": "Desa Amahai", "latitude": -3.33, "longitude": 128.92},
    )
    clinic = submit(
        gateway,
        "web-console-2",
        "Puskesmas Masohi tutup pada jam pelayanan, pasien disuruh pulang.",
        confidentiality="anonymous",
        agency_hint="DINKES",
    )
    # the liaison's queue is open before the referral: the case must appear in it by itself
    liaison = login(browser, gateway, OperatorRole.AGENCY_OFFICER)
    expect(liaison.locator(f'tr[data-case="{road}"]')).to_have_count(0)

    verifier = login(browser, gateway, OperatorRole.VERIFIER)
    expect(verifier.locator(f'tr[data-case="{clinic}"]')).to_be_visible()
    expect(verifier.locator(f'tr[data-case="{road}"]')).to_be_visible()
    shoot(verifier, "queue-verifier.png", tmp_path)
    open_case(verifier, road)
    shoot(verifier, "case-actions.png", tmp_path)
    do(verifier, "CompleteFormalVerification", note="Identitas dan kronologi lengkap.")
    status_is(verifier, "Verifikasi")
    do(verifier, "CompleteMaterialVerification", agency="PUPR")
    status_is(verifier, "Diteruskan ke instansi")
    expect(verifier.locator('form[data-action="ResolveComplaint"]')).to_have_count(0)

    open_case(liaison, road)  # arrived through the queue's polling, no reload
    do(liaison, "PostFollowUpPlan", plan="Tim PUPR meninjau lokasi dan menambal lubang.")
    status_is(liaison, "Ditindaklanjuti")
    # the table still offers the plan form in progress; the engine's guard refuses a second one
    do(liaison, "PostFollowUpPlan", expected="Perintah ditolak", plan="Rencana kedua.")
    expect(liaison.locator("#hasil")).to_contain_text("already posted")
    do(liaison, "ResolveComplaint", resolution_text=RESOLUTION)
    status_is(liaison, "Selesai, menunggu konfirmasi")
    expect(liaison.locator("#hasil")).to_contain_text("Perintah diterapkan")
    shoot(liaison, "case-page.png", tmp_path)
    # the clinic's case is not the liaison's: not in the queue, not openable
    liaison.goto(f"{gateway.url}/console/antrean")
    expect(liaison.locator(f'tr[data-case="{clinic}"]')).to_have_count(0)
    refused = liaison.goto(f"{gateway.url}/console/kasus/{clinic}")
    assert refused is not None
    assert refused.status == 403
    expect(liaison.get_by_role("alert")).to_contain_text("tidak diteruskan ke instansi Anda")

    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(f"{gateway.url}/lacak/")
    phone.get_by_label("Nomor pelacakan").fill(road)
    phone.get_by_role("button", name="Lacak").click()
    expect(phone.locator("#hasil-penyelesaian")).to_have_text(RESOLUTION)
    assert "Budi" not in phone.content()
    shoot(phone, "tracking-page.png", tmp_path)

    # three weeks later the untouched clinic complaint has breached and climbed the ladder
    events = engine.reader("cases.events")
    later: datetime = wit("2026-12-28T10:00:00")
    gateway.now = later
    engine.set_clock(later)
    events.wait(has("CaseEscalated", level=1), 60, "the clinic's escalation")
    officer = login(browser, gateway, OperatorRole.ESCALATION_OFFICER)
    row = officer.locator(f'tr.row-breach[data-case="{clinic}"]')
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row).to_contain_text("terlambat")
    shoot(officer, "queue-escalation.png", tmp_path)
