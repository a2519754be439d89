"""Programmes as data (issue 18): national and local programmes, their owner, period and eligibility rule come from
the configuration, are validated setting by setting, and resolve to where each programme runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config, validate_kab_kota
from core.errors import InputError
from core.programmes import Programme, Rule, programmes


def _load(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return load_config(path)


def test_the_shipped_national_programmes_and_their_rules():
    cfg = load_config()
    known = programmes(cfg["programs"], cfg["kab_kota"])
    assert list(known) == ["PKH", "BPNT", "PBI-JK", "BPJS-TK"]
    assert known["PKH"].rule == Rule(desil="official", desil_min=1, desil_max=4)
    assert [known[c].rule.desil_max for c in ("BPNT", "PBI-JK", "BPJS-TK")] == [5, 5, 5]  # type: ignore[union-attr]
    assert all(p.national and p.period == "month" and p.runs_in("73.71") for p in known.values())
    assert cfg["programs"]["cutoff_day"] == 17


def test_a_local_programme_with_a_rule_runs_where_it_is_listed(tmp_path):
    cfg = _load(tmp_path, """
programs:
  local: [{code: KARTU-SEHAT, name: Kartu Sehat, owner: Dinkes, period: year}]
kab_kota:
  "15.71":
    programs:
      local:
        - {code: KARTU-BAHAGIA, name: Kartu Bahagia, owner: Dinsos Kota Jambi,
           eligibility: {desil: local, desil_max: 3, categories: [fakir_miskin, miskin], verified_within_months: 12,
                         bps_min: 9, criteria: [k04]}}
  "12.71": {programs: {local: [{code: KARTU-SEHAT, name: Kartu Sehat Medan}]}}
""")
    known = programmes(cfg["programs"], cfg["kab_kota"])
    kartu, sehat = known["KARTU-BAHAGIA"], known["KARTU-SEHAT"]
    assert kartu.rule == Rule(desil="local", desil_min=1, desil_max=3, categories=("fakir_miskin", "miskin"),
                              verified_within_months=12, bps_min=9, criteria=("k04",))  # fmt: skip
    assert (kartu.owner, kartu.period, kartu.kotas) == ("Dinsos Kota Jambi", "month", ("15.71",))
    assert [kartu.runs_in(k) for k in ("15.71", "12.71", "73.71")] == [True, False, False]
    # the deployment's list: every kab/kota without a list of its own, and those listing it; 15.71 lists its own
    assert sehat.rule is None and sehat.period == "year"
    assert [sehat.runs_in(k) for k in ("15.71", "12.71", "73.71")] == [False, True, True]


def test_periods_have_the_programmes_form():
    month, quarter, year = (Programme("X", "X", period=p) for p in ("month", "quarter", "year"))
    assert (month.check_period(" 2026-12 "), quarter.check_period("2026-Q4"), year.check_period("2026")) == (
        "2026-12", "2026-Q4", "2026")
    for p, bad in ((month, "2026-13"), (month, "2026"), (quarter, "2026-Q5"), (year, "1999"), (month, "x" * 50)):
        with pytest.raises(InputError, match=f"period: programme X runs by {p.period}"):
            p.check_period(bad)


def test_wrong_programme_settings_are_each_named(tmp_path):
    with pytest.raises(InputError) as err:
        _load(tmp_path, """
programs:
  cutoff_day: 31
  national:
    - {code: PKH, name: PKH, period: week}
    - {code: PKH, name: again}
  local:
    - {code: KARTU-SEHAT, name: Kartu Sehat, owner: 7, colour: red,
       eligibility: {desil: resmi, desil_min: 5, desil_max: 2, categories: [miskin, kaya], verified_within_months: 0,
                     bps_min: 15, criteria: [k15], income: 1}}
    - {code: BPNT, name: Lokal, eligibility: [1, 4]}
""")
    assert err.value.problems == [
        "programs.local[0].colour: unknown setting (known: code, name, owner, period, eligibility)",
        "programs.local[0].owner: the owner agency's name, at most 120 characters, expected, got 7",
        "programs.local[0].eligibility.income: unknown setting (known: desil, desil_min, desil_max, categories,"
        " verified_within_months, bps_min, criteria)",
        "programs.local[0].eligibility.desil: official or local expected, got 'resmi'",
        "programs.local[0].eligibility: 1 <= desil_min <= desil_max <= 10 expected, got 5, 2",
        "programs.local[0].eligibility.categories: a list of fakir_miskin, miskin, rentan expected, got"
        " ['miskin', 'kaya']",
        "programs.local[0].eligibility.verified_within_months: a whole number 1..120 expected, got 0",
        "programs.local[0].eligibility.bps_min: a whole number 1..14 expected, got 15",
        "programs.local[0].eligibility.criteria: a list of indicator keys k01..k14 expected, got ['k15']",
        "programs.local[1].code: BPNT is a national programme, counted on its own",
        "programs.local[1].eligibility: a mapping of desil, desil_min, desil_max, categories, verified_within_months,"
        " bps_min, criteria expected, got [1, 4]",
        "programs.national[0].period: one of month, quarter, year expected, got 'week'",
        "programs.national[1].code: PKH is listed twice",
        "programs.cutoff_day: a day of the month 1..28 expected, got 31",
    ]  # fmt: skip


def test_a_kab_kota_programme_may_not_take_a_configured_national_code():
    assert validate_kab_kota({"15.71": {"programs": {"local": [{"code": "PIP", "name": "PIP"}]}}}, ("PIP",)) == [
        "kab_kota.15.71.programs.local[0].code: PIP is a national programme, counted on its own"]
    assert validate_kab_kota({"15.71": {"programs": {"local": [
        {"code": "KARTU-BAHAGIA", "name": "Kartu Bahagia", "eligibility": {"desil_max": 11}}]}}}) == [
        "kab_kota.15.71.programs.local[0].eligibility: 1 <= desil_min <= desil_max <= 10 expected, got 1, 11"]
