"""Programmes as data (issue 18): each programme's code, name, owner agency, period and eligibility rule, read from
the configuration (programs.national, programs.local and each kab/kota's programs.local), and checked.

A rule says which families a programme is for:
    eligibility: {desil: official | local, desil_min: 1, desil_max: 4,   # the desil range, over one of the two
                  categories: [fakir_miskin, miskin],                    # any of these local categories (none: any)
                  verified_within_months: 12,                            # verified (hasil 1) this recently
                  bps_min: 9, criteria: [k04, k05]}                      # other indicators: BPS count, criteria met
Every key is optional; a programme without `eligibility` takes rosters but has no eligibility list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.errors import InputError

CATEGORIES = ("fakir_miskin", "miskin", "rentan")
INDICATOR_KEYS = tuple(f"k{i:02d}" for i in range(1, 15))
PERIODS = {"month": re.compile(r"(20\d\d)-(0[1-9]|1[0-2])"), "quarter": re.compile(r"(20\d\d)-Q([1-4])"),
           "year": re.compile(r"(20\d\d)")}  # fmt: skip
PERIOD_EXAMPLE = {"month": "2026-12", "quarter": "2026-Q4", "year": "2026"}
ENTRY_KEYS = ("code", "name", "owner", "period", "eligibility")
RULE_KEYS = ("desil", "desil_min", "desil_max", "categories", "verified_within_months", "bps_min", "criteria")


@dataclass(frozen=True)
class Rule:
    """Which families a programme is for (see the module's docstring)."""

    desil: str = "official"
    desil_min: int = 1
    desil_max: int = 10
    categories: tuple[str, ...] = ()
    verified_within_months: int | None = None
    bps_min: int | None = None
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class Programme:
    """A programme as configured: national (everywhere) or local (the kab/kota that list it)."""

    code: str
    name: str
    owner: str = ""
    period: str = "month"
    rule: Rule | None = None
    national: bool = False
    # where it runs, for a local programme: the kab/kota listing it in their own list, and whether the deployment's
    # list (which every kab/kota without its own list takes) holds it
    kotas: tuple[str, ...] = ()
    deployment: bool = False
    not_in: tuple[str, ...] = field(default=())  # kab/kota with a list of their own that lacks it

    def runs_in(self, kota: str) -> bool:
        """Whether the programme runs in a kab/kota (its families may be its recipients)."""
        return self.national or kota in self.kotas or (self.deployment and kota not in self.not_in)

    def check_period(self, period: str) -> str:
        """The period as given when it has the programme's form (2026-12, 2026-Q4 or 2026); InputError otherwise."""
        if not isinstance(period, str) or not PERIODS[self.period].fullmatch(period.strip()):
            raise InputError(f"period: programme {self.code} runs by {self.period}, e.g. {PERIOD_EXAMPLE[self.period]};"
                             f" got {str(period)[:20]!r}")  # fmt: skip
        return period.strip()


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def validate_rule(rule: Any, where: str) -> list[str]:
    """Problems with one eligibility rule, each naming the setting."""
    if not isinstance(rule, dict):
        return [f"{where}: a mapping of {', '.join(RULE_KEYS)} expected, got {rule!r}"]
    problems = [f"{where}.{k}: unknown setting (known: {', '.join(RULE_KEYS)})" for k in rule if k not in RULE_KEYS]
    if rule.get("desil", "official") not in ("official", "local"):
        problems.append(f"{where}.desil: official or local expected, got {rule['desil']!r}")
    lo, hi = rule.get("desil_min", 1), rule.get("desil_max", 10)
    if not (_int_in(lo, 1, 10) and _int_in(hi, 1, 10) and lo <= hi):
        problems.append(f"{where}: 1 <= desil_min <= desil_max <= 10 expected, got {lo!r}, {hi!r}")
    cats = rule.get("categories", [])
    if not isinstance(cats, list) or not set(cats) <= set(CATEGORIES):
        problems.append(f"{where}.categories: a list of {', '.join(CATEGORIES)} expected, got {cats!r}")
    months = rule.get("verified_within_months")
    if months is not None and not _int_in(months, 1, 120):
        problems.append(f"{where}.verified_within_months: a whole number 1..120 expected, got {months!r}")
    bps = rule.get("bps_min")
    if bps is not None and not _int_in(bps, 1, 14):
        problems.append(f"{where}.bps_min: a whole number 1..14 expected, got {bps!r}")
    crit = rule.get("criteria", [])
    if not isinstance(crit, list) or not set(crit) <= set(INDICATOR_KEYS):
        problems.append(f"{where}.criteria: a list of indicator keys k01..k14 expected, got {crit!r}")
    return problems


def validate_entry_extras(entry: dict[str, Any], where: str) -> list[str]:
    """Problems with the exchange settings of one programme entry (owner, period, eligibility), and unknown keys."""
    problems = [f"{where}.{k}: unknown setting (known: {', '.join(ENTRY_KEYS)})" for k in entry if k not in ENTRY_KEYS]
    owner = entry.get("owner", "")
    if not isinstance(owner, str) or len(owner) > 120:
        problems.append(f"{where}.owner: the owner agency's name, at most 120 characters, expected, got {owner!r}")
    if entry.get("period", "month") not in PERIODS:
        problems.append(f"{where}.period: one of {', '.join(PERIODS)} expected, got {entry['period']!r}")
    if "eligibility" in entry:
        problems += validate_rule(entry["eligibility"], f"{where}.eligibility")
    return problems


def _rule(raw: dict[str, Any] | None) -> Rule | None:
    if raw is None:
        return None
    return Rule(desil=raw.get("desil", "official"), desil_min=raw.get("desil_min", 1),
                desil_max=raw.get("desil_max", 10), categories=tuple(raw.get("categories", ())),
                verified_within_months=raw.get("verified_within_months"), bps_min=raw.get("bps_min"),
                criteria=tuple(raw.get("criteria", ())))  # fmt: skip


def _programme(entry: dict[str, Any], **where: Any) -> Programme:
    return Programme(code=entry["code"], name=entry["name"], owner=entry.get("owner", ""),
                     period=entry.get("period", "month"), rule=_rule(entry.get("eligibility")), **where)  # fmt: skip


def programmes(programs: dict[str, Any], kab_kota: dict[str, Any]) -> dict[str, Programme]:
    """Every configured programme by code: the national ones, then the local ones of the deployment and of each
    kab/kota (a local programme listed by several takes the first definition met: the deployment's, then by code)."""
    out = {e["code"]: _programme(e, national=True) for e in programs.get("national") or []}
    own = {k: v["programs"]["local"] for k, v in sorted(kab_kota.items())
           if isinstance(v.get("programs"), dict) and isinstance(v["programs"].get("local"), list)}  # fmt: skip
    for e in programs.get("local") or []:
        if e["code"] not in out:
            lacking = tuple(k for k, lst in own.items() if e["code"] not in {x["code"] for x in lst})
            out[e["code"]] = _programme(e, deployment=True, not_in=lacking)
    for kota, lst in own.items():
        for e in lst:
            p = out.get(e["code"])
            if p is None:
                out[e["code"]] = _programme(e, kotas=(kota,))
            elif not p.national and not p.deployment:
                out[e["code"]] = Programme(**{**p.__dict__, "kotas": (*p.kotas, kota)})
    return out


def cutoff_date(period: str, day: int) -> date:
    """The day a period's eligibility list is fixed: `day` of its (first) month (2026-12, 2026-Q4 -> October,
    2026 -> January)."""
    year, _, rest = period.partition("-")
    month = 1 if not rest else (3 * int(rest[1]) - 2 if rest.startswith("Q") else int(rest))
    return date(int(year), month, day)
