"""Routing rules: hint, keywords, region prefix, category, re-routing, triage fallback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workflow.policy import load_policy
from workflow.routing import Router, RoutingRule

RULES = (
    RoutingRule(
        agency="INSPEKTORAT", name="pungli", categories=("permintaan_imbalan",), priority=20
    ),
    RoutingRule(agency="RSUD", keywords=("rumah sakit", "igd"), priority=10),
    RoutingRule(agency="DINKES", keywords=("puskesmas", "obat")),
    RoutingRule(agency="DINKES", services=("kesehatan",)),
    RoutingRule(agency="PUPR", keywords=("jalan rusak", "jembatan")),
    RoutingRule(agency="PUPR-KOTA", keywords=("jalan rusak",), region_codes=("81.01.17",)),
    RoutingRule(agency="DLH", region_codes=("81.01.09",), priority=-5, keywords=("sampah",)),
    RoutingRule(agency="BPBD", region_codes=("81.01.20",), priority=-10),
)
ROUTER = Router(RULES, "TRIASE", agencies=["DUKCAPIL"])


def route(text: str = "", **kw: object) -> tuple[str, bool]:
    args: dict[str, object] = {
        "agency_hint": None,
        "service": None,
        "category": None,
        "region_code": None,
    }
    args.update(kw)
    d = ROUTER.route(text=text, **args)  # type: ignore[arg-type]
    return d.agency, d.fallback


def test_known_hint_wins_case_insensitively() -> None:
    assert route("puskesmas tutup", agency_hint="dukcapil") == ("DUKCAPIL", False)
    d = ROUTER.route(
        agency_hint="PUPR", service=None, category=None, region_code=None, text="obat habis"
    )
    assert d.rule == "agency_hint"


def test_unknown_hint_is_ignored() -> None:
    assert route("obat habis di puskesmas", agency_hint="KEMENKES") == ("DINKES", False)


def test_keywords_are_whole_words_case_insensitive() -> None:
    assert route("Pelayanan di PUSKESMAS Amahai lambat") == ("DINKES", False)
    assert route("Jalan  Rusak parah di Tehoru") == ("PUPR", False)
    assert route("jembatan-jembatan putus") == ("PUPR", False)
    # 'obat' inside 'obatnya' or 'berobat' is not the word 'obat'
    assert route("kami sudah berobat") == ("TRIASE", True)


def test_priority_then_specificity() -> None:
    # RSUD (priority 10) beats DINKES (0) when both keywords occur
    assert route("obat tidak tersedia di IGD rumah sakit") == ("RSUD", False)
    # region + keyword rule is more specific than keyword-only with equal priority
    assert route("jalan rusak", region_code="81.01.17.2001") == ("PUPR-KOTA", False)
    assert route("jalan rusak", region_code="81.01.05") == ("PUPR", False)


def test_region_prefix_matches_whole_segments() -> None:
    assert route("", region_code="81.01.20") == ("BPBD", False)
    assert route("", region_code="81.01.20.1003") == ("BPBD", False)
    assert route("", region_code="81.01.201") == ("TRIASE", True)
    assert route("banyak sampah", region_code="81.01.09.2002") == ("DLH", False)
    assert route("banyak sampah", region_code="81.01.10") == ("TRIASE", True)


def test_category_and_service_normalized() -> None:
    d = ROUTER.route(
        agency_hint=None,
        service=None,
        category="Permintaan Imbalan",
        region_code=None,
        text="diminta uang",
    )
    assert (d.agency, d.fallback) == ("INSPEKTORAT", False)
    assert d.rule is not None
    assert d.rule.startswith("pungli")
    assert route("", service="Kesehatan") == ("DINKES", False)


def test_exclude_reroutes_a_returned_referral() -> None:
    text = "obat tidak tersedia di IGD rumah sakit"
    assert route(text, exclude=["RSUD"]) == ("DINKES", False)
    assert route(text, exclude=["RSUD", "DINKES"]) == ("TRIASE", True)
    # an excluded hint does not win
    assert route(text, agency_hint="RSUD", exclude=["rsud"]) == ("DINKES", False)


def test_nothing_matches_goes_to_triage() -> None:
    d = ROUTER.route(agency_hint=None, service=None, category=None, region_code=None, text="halo")
    assert (d.agency, d.rule, d.fallback) == ("TRIASE", "triage", True)


def test_rule_without_criteria_is_rejected() -> None:
    with pytest.raises(ValidationError, match="at least one of"):
        RoutingRule(agency="DINKES")


@pytest.mark.parametrize(
    ("text", "category", "agency"),
    [
        ("Antrean panjang di Puskesmas Masohi, obat habis", None, "DINKES"),
        ("Pasien ditolak di IGD RSUD Masohi", None, "RSUD-MASOHI"),
        ("Pengurusan KTP-el di kecamatan tidak selesai", None, "DUKCAPIL"),
        ("Jalan rusak menuju Desa Tamilouw", None, "PUPR"),
        ("Dana BOS sekolah tidak transparan", None, "DIKBUD"),
        ("Bansos PKH tidak diterima", None, "DINSOS"),
        ("Speedboat ke Pulau Haruku tanpa pelampung", None, "DISHUB"),
        ("Sampah menumpuk di pasar", None, "DLH"),
        ("Izin usaha NIB lama diproses", None, "DPMPTSP"),
        ("Longsor menutup jalan desa", None, "BPBD"),
        ("Petugas minta uang pelicin", None, "INSPEKTORAT"),
        ("Petugas minta imbalan untuk KTP", "permintaan_imbalan", "INSPEKTORAT"),
        ("Halo admin", None, "SETDA-TRIASE"),
    ],
)
def test_default_policy_routes(text: str, category: str | None, agency: str) -> None:
    router = load_policy().router()
    d = router.route(
        agency_hint=None, service=None, category=category, region_code="81.01", text=text
    )
    assert d.agency == agency
