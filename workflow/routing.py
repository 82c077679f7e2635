"""Routing: which agency (OPD) is responsible for a complaint.

Rules come from the policy. A rule matches when *every* criterion it sets matches (criteria it
leaves empty are ignored); within one criterion any listed value may match:

* ``categories`` — the maladministration or service category, compared case-insensitively with
  spaces and hyphens treated as underscores ("Penundaan Berlarut" == "penundaan_berlarut");
* ``services`` — the service named by the reporter or channel, compared the same way;
* ``region_codes`` — Kemendagri region code prefixes matched on whole dot-separated segments
  ("81.01" matches "81.01" and "81.01.05.2001", not "81.010");
* ``keywords`` — whole words or phrases found case-insensitively in the subject and text.

Among matching rules the highest ``priority`` wins, then the rule setting more criteria, then
the earlier one. An explicit, known agency hint wins over every rule. Agencies in ``exclude``
(those that returned the referral) are never chosen, which is how a returned referral is
re-routed. When nothing matches, the triage agency receives the case with ``fallback=True``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Router", "RoutingDecision", "RoutingRule", "normalize_key"]

_NON_WORD = re.compile(r"[\s\-]+")


def normalize_key(value: str) -> str:
    """Normalize a category or service name for comparison (casefold, spaces -> '_')."""
    return _NON_WORD.sub("_", value.strip()).casefold()


def _region_matches(prefix: str, code: str) -> bool:
    return code == prefix or code.startswith(prefix + ".")


class RoutingRule(BaseModel):
    """Route complaints matching the given criteria to ``agency``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str = Field(min_length=1)
    name: str | None = None
    """Optional label used in the decision's reason."""
    categories: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    priority: int = 0

    @model_validator(mode="after")
    def _not_empty(self) -> RoutingRule:
        if not (self.categories or self.services or self.region_codes or self.keywords):
            raise ValueError(
                "a routing rule needs at least one of categories, services, region_codes, "
                "keywords (the triage agency is the catch-all)"
            )
        if any(not k.strip() for k in self.keywords):
            raise ValueError("keywords must not be blank")
        return self


class RoutingDecision(BaseModel):
    """Where a complaint goes and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str
    rule: str | None
    """Why: "agency_hint", the rule's name or index and criteria, or "triage" for fallback."""
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class _Compiled:
    index: int
    rule: RoutingRule
    categories: frozenset[str]
    services: frozenset[str]
    keywords: re.Pattern[str] | None
    folded_agency: str
    decision: RoutingDecision
    """What `Router.route` answers when this rule wins (built once: decisions are frozen)."""

    def matches(self, cat: str | None, svc: str | None, region_code: str | None, text: str) -> bool:
        if self.categories and cat not in self.categories:
            return False
        if self.services and svc not in self.services:
            return False
        prefixes = self.rule.region_codes
        if prefixes and not (
            region_code and any(_region_matches(p, region_code) for p in prefixes)
        ):
            return False
        return self.keywords is None or self.keywords.search(text) is not None


def _specificity(rule: RoutingRule) -> int:
    return sum(bool(x) for x in (rule.categories, rule.services, rule.region_codes, rule.keywords))


def _describe(index: int, rule: RoutingRule) -> str:
    label = rule.name or f"routing[{index}]"
    parts = [
        f"{key}={','.join(vals)}"
        for key, vals in (
            ("categories", rule.categories),
            ("services", rule.services),
            ("region_codes", rule.region_codes),
            ("keywords", rule.keywords),
        )
        if vals
    ]
    return f"{label} ({'; '.join(parts)})"


_NORMALIZED_LIMIT = 1024


class Router:
    """Routing rules compiled once; `route` and `rank` are pure and cheap."""

    def __init__(
        self,
        rules: Iterable[RoutingRule],
        triage_agency: str,
        agencies: Collection[str] | None = None,
    ) -> None:
        """Compile ``rules``. An agency hint may name any of ``agencies``, any rule's agency or
        the triage agency."""
        compiled = []
        for i, rule in enumerate(rules):
            pattern = None
            if rule.keywords:
                words = sorted({k.strip() for k in rule.keywords}, key=len, reverse=True)
                alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
                pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
            compiled.append(
                _Compiled(
                    index=i,
                    rule=rule,
                    categories=frozenset(map(normalize_key, rule.categories)),
                    services=frozenset(map(normalize_key, rule.services)),
                    keywords=pattern,
                    folded_agency=rule.agency.casefold(),
                    decision=RoutingDecision(
                        agency=rule.agency, rule=_describe(i, rule), fallback=False
                    ),
                )
            )
        compiled.sort(key=lambda c: (-c.rule.priority, -_specificity(c.rule), c.index))
        self._rules: tuple[_Compiled, ...] = tuple(compiled)
        self.triage_agency = triage_agency
        known = {c.rule.agency for c in compiled} | set(agencies or ()) | {triage_agency}
        self._known = {code.casefold(): code for code in known}
        self._hinted = {
            folded: RoutingDecision(agency=code, rule="agency_hint", fallback=False)
            for folded, code in self._known.items()
        }
        self._fallback = RoutingDecision(agency=triage_agency, rule="triage", fallback=True)
        self._normalized: dict[str, str] = {}

    def _normalize(self, value: str) -> str:
        # Categories and services come from short closed-ish vocabularies: memoise (bounded).
        found = self._normalized.get(value)
        if found is None:
            if len(self._normalized) >= _NORMALIZED_LIMIT:
                self._normalized.clear()
            found = self._normalized[value] = normalize_key(value)
        return found

    def route(
        self,
        *,
        agency_hint: str | None,
        service: str | None,
        category: str | None,
        region_code: str | None,
        text: str,
        exclude: Collection[str] = (),
    ) -> RoutingDecision:
        """Choose the responsible agency for a complaint.

        ``text`` is the subject and body together. ``exclude`` lists agencies that returned the
        referral. An agency hint naming a known agency (case-insensitive) wins unless excluded.
        """
        return self.rank(
            agency_hint=agency_hint,
            service=service,
            category=category,
            region_code=region_code,
            text=text,
            exclude=exclude,
            limit=1,
        )[0]

    def rank(
        self,
        *,
        agency_hint: str | None,
        service: str | None,
        category: str | None,
        region_code: str | None,
        text: str,
        exclude: Collection[str] = (),
        limit: int | None = None,
    ) -> list[RoutingDecision]:
        """Every agency that could take the complaint, best first, in one pass over the rules.

        The first decision is what `route` returns; each following one is what `route` would
        return with every agency before it added to ``exclude`` (the hint counts only for the
        first). The list ends with the triage fallback (``fallback=True``) unless ``limit``
        (at least 1) cuts it short; each agency appears once.
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        excluded = {e.casefold() for e in exclude} if exclude else set()
        ranked: list[RoutingDecision] = []
        if agency_hint:
            folded = agency_hint.strip().casefold()
            hinted = self._hinted.get(folded)
            if hinted is not None and folded not in excluded:
                ranked.append(hinted)
                if limit == 1:
                    return ranked
                excluded.add(folded)
        cat = self._normalize(category) if category else None
        svc = self._normalize(service) if service else None
        for c in self._rules:
            if c.folded_agency in excluded or not c.matches(cat, svc, region_code, text):
                continue
            ranked.append(c.decision)
            if len(ranked) == limit:
                return ranked
            excluded.add(c.folded_agency)
        ranked.append(self._fallback)
        return ranked
