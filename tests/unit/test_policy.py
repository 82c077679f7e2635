"""Policy loading: packaged defaults, overrides, and one-line errors naming the entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow.escalation import EscalationLadder, EscalationLevel
from workflow.policy import DEFAULT_POLICY_PATH, Agency, Policy, PolicyError, load_policy
from workflow.sla import ComplaintClass, DayType, SlaTarget, Stage


def wd(n: int) -> SlaTarget:
    return SlaTarget(amount=n, unit=DayType.WORKING)


def test_defaults_load() -> None:
    p = load_policy()
    assert p.region.code == "81.01"
    assert p.region.name == "Kabupaten Maluku Tengah"
    assert p.default_tz == "Asia/Jayapura"
    assert len(p.agencies) >= 12
    assert {"DINKES", "DIKBUD", "PUPR", "DUKCAPIL", "RSUD-MASOHI", "INSPEKTORAT"} <= {
        a.code for a in p.agencies
    }
    assert p.agency(p.triage_agency).code == "SETDA-TRIASE"
    assert p.sla.verification == wd(3)
    assert p.sla.follow_up_plan == wd(5)
    assert p.sla.reporter_information == SlaTarget(amount=30, unit=DayType.CALENDAR)
    assert p.sla.reporter_confirmation == wd(10)
    assert p.sla.warning_thresholds == (0.5, 0.75)
    assert p.sla.reopen_grace == wd(1)
    assert p.ladder == EscalationLadder()
    # the packaged file says the same as the model defaults
    assert p.sla == type(p.sla)(**yaml.safe_load(DEFAULT_POLICY_PATH.read_text())["sla"])


def test_resolution_targets_by_class_priority_category() -> None:
    p = load_policy()
    assert p.resolution_target() == wd(5)
    assert p.resolution_target("light") == wd(2)
    assert p.resolution_target(ComplaintClass.NO_OVERSIGHT) == wd(14)
    assert p.resolution_target(category="Permintaan Imbalan") == wd(60)
    assert p.resolution_target(priority="urgent") == wd(2)
    # priority wins over category; an explicit class wins over both
    assert p.resolution_target(category="permintaan_imbalan", priority="urgent") == wd(2)
    assert p.resolution_target("normative", "permintaan_imbalan", "urgent") == wd(5)
    assert p.sla.target(Stage.RESOLUTION, "examination") == wd(60)
    assert p.sla.target(Stage.VERIFICATION) == wd(3)
    with pytest.raises(ValueError, match="ladder"):
        p.sla.target(Stage.ESCALATION)


def test_calendars_cached_per_zone_and_router_cached() -> None:
    p = load_policy(overrides={"extra_days_off": [date(2026, 9, 14)]})
    assert p.calendar_for("DINKES") is p.calendar_for("PUPR") is p.calendar_for(None)
    assert not p.calendar_for("DINKES").is_working_day(date(2026, 9, 14))
    assert p.router() is p.router()
    # caches do not take part in equality, and copies do not share them
    fresh = load_policy(overrides={"extra_days_off": [date(2026, 9, 14)]})
    assert fresh == p
    assert Policy.model_validate_json(p.model_dump_json()) == p
    copy = p.model_copy(update={"extra_days_off": ()})
    assert copy.calendar_for("DINKES").is_working_day(date(2026, 9, 14))
    assert not p.calendar_for("DINKES").is_working_day(date(2026, 9, 14))


def test_agency_lookup_and_ladder_for() -> None:
    own = EscalationLadder(levels=(EscalationLevel(level=1, title="Direktur", role="director"),))
    p = Policy(
        agencies=(
            Agency(code="TRIASE", name="Triase"),
            Agency(code="RSUD", name="RSUD Masohi", ladder=own),
        ),
        triage_agency="TRIASE",
    )
    assert p.ladder_for("RSUD") is own
    assert p.ladder_for("TRIASE") == EscalationLadder()
    assert p.ladder_for(None) == EscalationLadder()
    with pytest.raises(KeyError, match="unknown agency 'NOPE'; known agencies: TRIASE, RSUD"):
        p.agency("NOPE")


def test_overrides_deep_merge() -> None:
    p = load_policy(overrides={"sla": {"verification": {"amount": 2}, "warning_thresholds": [0.8]}})
    assert p.sla.verification == wd(2)
    assert p.sla.follow_up_plan == wd(5)
    assert p.sla.warning_thresholds == (0.8,)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def defaults() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    assert isinstance(data, dict)
    return data


def bad_tz(d: dict[str, Any]) -> None:
    d["agencies"][3]["tz"] = "Asia/Tokyo"


def bad_rule_agency(d: dict[str, Any]) -> None:
    d["routing"][2]["agency"] = "DINKESX"


def bad_triage(d: dict[str, Any]) -> None:
    d["triage_agency"] = "NOWHERE"


def bad_thresholds(d: dict[str, Any]) -> None:
    d["sla"]["warning_thresholds"] = [0.75, 0.5]


def bad_unit(d: dict[str, Any]) -> None:
    d["sla"]["resolution"]["light"]["unit"] = "weeks"


def duplicate_agency(d: dict[str, Any]) -> None:
    d["agencies"].append({"code": "DINKES", "name": "Dinas Kesehatan lagi"})


def unquoted_time(d: dict[str, Any]) -> None:
    d["office_hours"]["friday"]["close"] = 990  # what YAML makes of an unquoted 16:30


def unknown_key(d: dict[str, Any]) -> None:
    d["sla"]["verificaton"] = {"amount": 3}


def bad_ladder(d: dict[str, Any]) -> None:
    d["ladder"]["levels"][1]["level"] = 5


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            bad_tz,
            "policy.yaml: agencies[3].tz: 'Asia/Tokyo' is not one of the WIB/WITA/WIT zones "
            "(Asia/Jakarta, Asia/Makassar, Asia/Jayapura)",
        ),
        (bad_rule_agency, "policy.yaml: routing[2].agency: unknown agency 'DINKESX'"),
        (bad_triage, "policy.yaml: triage_agency: unknown agency 'NOWHERE'"),
        (bad_thresholds, "policy.yaml: sla.warning_thresholds: warning thresholds must be"),
        (bad_unit, "policy.yaml: sla.resolution.light.unit: Input should be 'working' or"),
        (duplicate_agency, "policy.yaml: agencies[12].code: duplicate agency code 'DINKES'"),
        (unquoted_time, "policy.yaml: office_hours.friday.close: time 990 must be written as"),
        (unknown_key, "policy.yaml: sla.verificaton: unknown entry"),
        (bad_ladder, "policy.yaml: ladder: levels must be numbered 1, 2, ... in order"),
    ],
)
def test_bad_entries_give_one_line_naming_the_entry(
    tmp_path: Path,
    mutate: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    data = defaults()
    mutate(data)
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "region:\n  code: '81.01'\n  name: [unclosed\n")
    with pytest.raises(PolicyError, match=r"^policy\.yaml: line \d+: invalid YAML"):
        load_policy(path)


def test_missing_file_and_wrong_top_level(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"^nope\.yaml: cannot read"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="top level must be a mapping"):
        load_policy(write(tmp_path, "- 1\n- 2\n"))


def test_several_problems_are_counted(tmp_path: Path) -> None:
    data = defaults()
    bad_tz(data)
    bad_unit(data)
    with pytest.raises(PolicyError, match=r"\(and 1 more problem\)$"):
        load_policy(write(tmp_path, data))
