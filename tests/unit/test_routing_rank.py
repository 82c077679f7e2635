"""Router.rank: one pass over the rules gives what repeated `route` calls with a growing
``exclude`` give."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.policy import load_policy
from workflow.routing import Router, RoutingDecision, RoutingRule

RULES = (
    RoutingRule(agency="INSPEKTORAT", categories=("permintaan_imbalan",), priority=20),
    RoutingRule(agency="RSUD", keywords=("rumah sakit", "igd"), priority=10),
    RoutingRule(agency="DINKES", keywords=("puskesmas", "obat")),
    RoutingRule(agency="DINKES", services=("kesehatan",)),
    RoutingRule(agency="PUPR", keywords=("jalan rusak", "jembatan")),
    RoutingRule(agency="PUPR-KOTA", keywords=("jalan rusak",), region_codes=("81.01.17",)),
    RoutingRule(agency="DLH", region_codes=("81.01.09",), priority=-5, keywords=("sampah",)),
    RoutingRule(agency="BPBD", region_codes=("81.01.20",), priority=-10),
)
ROUTER = Router(RULES, "TRIASE", agencies=["DUKCAPIL"])
AGENCIES = [
    "INSPEKTORAT",
    "RSUD",
    "DINKES",
    "PUPR",
    "PUPR-KOTA",
    "DLH",
    "BPBD",
    "DUKCAPIL",
    "TRIASE",
]
WORDS = ["obat", "igd", "rumah sakit", "jalan rusak", "jembatan", "sampah", "halo", "berobat"]


def by_route(router: Router, limit: int | None, **kw: object) -> list[RoutingDecision]:
    """The reference: route, exclude what it chose, route again (the hint only first)."""
    exclude = list(kw.pop("exclude", ()))  # type: ignore[call-overload]
    out: list[RoutingDecision] = []
    hint = kw.pop("agency_hint")
    while limit is None or len(out) < limit:
        d = router.route(agency_hint=hint, exclude=exclude, **kw)  # type: ignore[arg-type]
        out.append(d)
        if d.fallback:
            break
        exclude.append(d.agency)
        hint = None
    return out


def test_rank_orders_every_matching_agency_once_then_triage() -> None:
    ranked = ROUTER.rank(
        agency_hint=None,
        service="Kesehatan",
        category=None,
        region_code="81.01.17.2001",
        text="obat habis di IGD rumah sakit, jalan rusak",
    )
    assert [(d.agency, d.fallback) for d in ranked] == [
        ("RSUD", False),
        ("PUPR-KOTA", False),  # priority 0, two criteria: before the one-criterion rules
        ("DINKES", False),
        ("PUPR", False),
        ("TRIASE", True),
    ]
    assert ranked[0] == ROUTER.route(
        agency_hint=None,
        service="Kesehatan",
        category=None,
        region_code="81.01.17.2001",
        text="obat habis di IGD rumah sakit, jalan rusak",
    )


def test_rank_hint_first_and_limit() -> None:
    kw: dict[str, object] = {"service": None, "category": None, "region_code": None}
    ranked = ROUTER.rank(agency_hint="dukcapil", text="obat di igd", limit=2, **kw)  # type: ignore[arg-type]
    assert [d.agency for d in ranked] == ["DUKCAPIL", "RSUD"]
    assert ranked[0].rule == "agency_hint"
    assert ROUTER.rank(agency_hint=None, text="halo", **kw) == [  # type: ignore[arg-type]
        RoutingDecision(agency="TRIASE", rule="triage", fallback=True)
    ]
    with pytest.raises(ValueError, match="limit"):
        ROUTER.rank(agency_hint=None, text="halo", limit=0, **kw)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(WORDS), max_size=5),
    hint=st.none() | st.sampled_from([*AGENCIES, "rsud", "UNKNOWN"]),
    service=st.none() | st.sampled_from(["kesehatan", "Kesehatan", "lain"]),
    category=st.none() | st.sampled_from(["permintaan_imbalan", "Permintaan Imbalan", "x"]),
    region=st.none() | st.sampled_from(["81.01.17.2001", "81.01.09", "81.01.20", "81.01.201"]),
    exclude=st.lists(st.sampled_from([*AGENCIES, "rsud"]), max_size=3),
    limit=st.none() | st.integers(min_value=1, max_value=6),
)
def test_rank_equals_repeated_route(
    words: list[str],
    hint: str | None,
    service: str | None,
    category: str | None,
    region: str | None,
    exclude: list[str],
    limit: int | None,
) -> None:
    kw: dict[str, object] = {
        "agency_hint": hint,
        "service": service,
        "category": category,
        "region_code": region,
        "text": " ".join(words),
        "exclude": exclude,
    }
    assert ROUTER.rank(limit=limit, **kw) == by_route(ROUTER, limit, **dict(kw))  # type: ignore[arg-type]


def test_rank_on_default_policy_matches_route() -> None:
    router = load_policy().router()
    text = "Obat habis di puskesmas, petugas minta uang pelicin, jalan rusak ke RSUD"
    kw: dict[str, object] = {"service": None, "category": None, "region_code": "81.01"}
    ranked = router.rank(agency_hint=None, text=text, **kw)  # type: ignore[arg-type]
    assert ranked == by_route(router, None, agency_hint=None, text=text, **kw)
    assert [d.agency for d in ranked][:4] == ["INSPEKTORAT", "RSUD-MASOHI", "DINKES", "PUPR"]
