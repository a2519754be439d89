"""Errors as work in the data layer (issue 18), on a hand-built kab/kota: which roster's recipients count (the
newest covering each RT), the fixed eligibility list over the live rule, "receives no programme" against the other
programmes' current rosters of overlapping periods, and each reason and action in words.

Expected values are written from the fixture rows below, never read back from the product's SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from core.programmes import Programme, Rule
from gis.programme_errors import _action, _inclusion, _months_before, area_counts, overlapping, work_list
from tests.worlds import insert_kota_chains

BOX = (103.5, -1.7, 103.7, -1.5)
KEL = "15.71.01.1001"
RT1, RT2 = f"{KEL}.001.001", f"{KEL}.001.002"
PKH = Programme(code="PKH", name="PKH", national=True, rule=Rule(desil="official", desil_min=1, desil_max=4))
PERIOD = "2026-11"
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))

# name: (rt, official desil, hasil, tgl_verval, programs)
FAMILIES: dict[str, tuple[str, int | None, int | None, str | None, list[str]]] = {
    "a": (RT1, 2, 1, "2026-10-01", ["PKH"]),  # recipient (roster 1), eligible: no error
    "b": (RT1, 8, 1, "2026-10-01", ["PKH"]),  # recipient (roster 1), desil 8: inclusion, verified -> removal
    "c": (RT2, 3, None, None, ["PKH"]),  # named by roster 1 only, which roster 2 replaces for RT2: not a recipient
    "d": (RT2, 9, None, None, []),  # recipient (roster 2), never verified: inclusion, re-verify
    "e": (RT2, 1, 6, "2026-10-03", ["PKH"]),  # recipient (roster 2), found deceased: inclusion, removal
    "f": (RT1, 2, 1, "2026-09-01", []),  # eligible, verified, no programme at all: exclusion, no programme
    "g": (RT1, 4, 1, "2026-09-02", []),  # eligible, verified, on BPNT's current 2026-Q4 roster: exclusion
    "h": (RT2, 3, 1, "2026-09-03", []),  # eligible, verified, on an old BPNT roster that a newer one replaced
    "i": (RT2, 2, 1, "2026-09-04", ["PBI-JK"]),  # eligible, verified, the registry lists PBI-JK: exclusion
}


def _insert(db: Any) -> dict[str, int]:
    ids = {}
    for n, (name, (rt, desil, hasil, tgl, programs)) in enumerate(FAMILIES.items()):
        row = db.execute(
            f"INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, programs, source,"
            f" desil_resmi, hasil_verval, tgl_verval, nama_kepala, {_CRIT}) VALUES (%s, 'x', %s, '15.71', 4, %s,"
            " 'test', %s, %s, %s, %s, " + ", ".join(["true"] * 9 + ["false"] * 5) + ") RETURNING id",
            (f"{n:064x}", rt, programs, desil, hasil, tgl, f"Kepala {name}"),
        ).fetchone()
        ids[name] = row[0]
    return ids


def _roster(db: Any, programme: str, period: str, scope: list[str], families: list[int], kotas: str = "15.71") -> int:
    (rid,) = db.execute(
        "INSERT INTO programme_roster (programme, period, scope_codes, uploaded_by, file_sha256, rows, matched,"
        " unmatched) VALUES (%s, %s, %s, 'test', %s, %s, %s, 0) RETURNING id",
        (programme, period, scope, "0" * 64, len(families), len(families)),
    ).fetchone()
    for row, hid in enumerate(families, start=2):
        db.execute("INSERT INTO programme_recipient (roster_id, household_id, row, kota_code) VALUES (%s, %s, %s, %s)",
                   (rid, hid, row, kotas))  # fmt: skip
    return int(rid)


@pytest.fixture
def world(db):
    insert_kota_chains(db, ("15.71",), BOX, rts=("001", "002"))
    ids = _insert(db)
    _roster(db, "PKH", PERIOD, ["15.71"], [ids["a"], ids["b"], ids["c"]])
    _roster(db, "PKH", PERIOD, [RT2], [ids["d"], ids["e"]])  # an RT's office: replaces roster 1 for RT2 only
    _roster(db, "PKH", "2026-10", ["15.71"], [ids["f"]])  # another period: not this one's
    _roster(db, "BPNT", "2026-Q4", [], [ids["g"], ids["h"]])
    _roster(db, "BPNT", "2026-Q4", [], [ids["g"]])  # BPNT's newest for the quarter: h no longer on it
    _roster(db, "BPNT", "2026-Q3", [], [ids["f"]])  # a quarter not overlapping November
    return db, ids


def _by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in rows}


def test_the_newest_roster_covering_each_rt_names_the_recipients(world):
    db, ids = world
    out = db.call(area_counts, PKH, PERIOD, level="rt", parent=None, scope=None, staff=True)
    rts = _by_code(out["areas"])
    assert set(rts) == {RT1, RT2}
    cols = ("recipients", "eligible", "inclusion", "exclusion", "exclusion_no_programme")
    # RT1: a, b recipients; eligible a, f, g; inclusion b; exclusion f, g (f receives nothing)
    assert tuple(rts[RT1][c] for c in cols) == (2, 3, 1, 2, 1)
    # RT2: d, e recipients (c was replaced); eligible c, h, i (e deceased is not); inclusion d, e; exclusion h, i
    assert tuple(rts[RT2][c] for c in cols) == (2, 3, 2, 2, 1)
    (kota,) = db.call(area_counts, PKH, PERIOD, level="kota", parent=None, scope=None, staff=True)["areas"]
    assert tuple(kota[c] for c in cols) == (4, 6, 3, 4, 2)
    # a scope of RT2 counts RT2's families only, at every level
    (mine,) = db.call(area_counts, PKH, PERIOD, level="kota", parent=None, scope=(RT2,), staff=True)["areas"]
    assert tuple(mine[c] for c in cols) == (2, 3, 2, 2, 1)


def test_where_no_roster_covers_an_rt_the_registrys_programme_column_says(world):
    """A period with no roster yet (2026-12): the registry's programme column (as imported) names the recipients, so
    the figures are the registry's until an office sends its roster; the work list says which source it used."""
    db, ids = world
    cols = ("recipients", "eligible", "inclusion", "exclusion")
    rts = _by_code(db.call(area_counts, PKH, "2026-12", level="rt", parent=None, scope=None, staff=True)["areas"])
    # registry PKH: a, b (RT1), c, e (RT2); eligible a, f, g (RT1) and c, h, i (RT2); inclusion b (desil 8) and e
    # (deceased); exclusion f, g (RT1) and h, i (RT2): c is eligible but never verified
    assert tuple(rts[RT1][c] for c in cols) == (2, 3, 1, 2)
    assert tuple(rts[RT2][c] for c in cols) == (2, 3, 1, 2)
    _roster(db, "PKH", "2026-12", [RT2], [ids["d"]])  # RT2's office sends its December roster: RT2 by the roster
    rts = _by_code(db.call(area_counts, PKH, "2026-12", level="rt", parent=None, scope=None, staff=True)["areas"])
    assert tuple(rts[RT1][c] for c in cols) == (2, 3, 1, 2)
    # RT2: d (desil 9) the only recipient, an inclusion error; e is no longer one; exclusion h, i (c never verified)
    assert tuple(rts[RT2][c] for c in cols) == (1, 3, 1, 2)
    out = db.call(work_list, PKH, "2026-12", area=None, scope=None, actor="user:test", role="admin", limit=100)
    codes = {i["household_id"]: [r["code"] for r in i["reasons"]] for i in out["items"]}
    assert codes[ids["g"]] == ["not_recipient_registry"] and codes[ids["i"]] == ["not_recipient"]


def test_the_work_list_gives_each_familys_kind_reasons_and_action(world):
    db, ids = world
    out = db.call(work_list, PKH, PERIOD, area=None, scope=None, actor="user:test", role="admin", limit=100)
    items = {i["household_id"]: i for i in out["items"]}
    name = {v: k for k, v in ids.items()}
    assert {name[i] for i in items} == {"b", "d", "e", "f", "g", "h", "i"} and out["total"] == 7
    got = {name[i]: (x["kind"], [r["code"] for r in x["reasons"]], x["action"]) for i, x in items.items()}
    assert got == {
        "b": ("inclusion", ["desil_above"], "propose_removal"),
        "d": ("inclusion", ["desil_above"], "re_verify"),
        "e": ("inclusion", ["found_at_verification"], "propose_removal"),
        "f": ("exclusion", ["no_programme"], "propose_for_programme"),
        "g": ("exclusion", ["not_recipient"], "propose_for_programme"),
        "h": ("exclusion", ["no_programme"], "propose_for_programme"),
        "i": ("exclusion", ["not_recipient"], "propose_for_programme"),
    }
    assert items[ids["b"]]["reasons"][0]["text"] == "recipient, desil 8 above the rule's 4"
    assert items[ids["e"]]["reasons"][0]["text"] == "recipient, found deceased at verification 2026-10-03"
    assert items[ids["f"]]["reasons"][0]["text"] == "eligible and verified 2026-09-01, receives no programme"
    # receiving nothing first, then the inclusion errors
    assert [name[i["household_id"]] for i in out["items"]][:2] == ["f", "h"]
    # every family read audited in its kab/kota's chain
    (audited,) = db.execute("SELECT object_ids FROM audit_log WHERE actor = 'user:test' AND action = 'read'"
                            " AND object_type = 'household'").fetchall()  # fmt: skip
    assert sorted(int(i) for i in audited[0]) == sorted(items)


def test_a_fixed_list_decides_eligibility_once_it_is_fixed(world):
    db, ids = world
    db.execute("INSERT INTO programme_list (programme, period, kota_code, cutoff, families, rule) VALUES"
               " ('PKH', %s, '15.71', '2026-11-17', 1, %s)", (PERIOD, Jsonb({})))  # fmt: skip
    # b (desil 8 now) was on the list fixed on the cut-off; a (desil 2, within the rule today) was not
    db.execute("INSERT INTO programme_eligible (programme, period, kota_code, household_id) VALUES"
               " ('PKH', %s, '15.71', %s)", (PERIOD, ids["b"]))  # fmt: skip
    out = db.call(work_list, PKH, PERIOD, area=RT1, scope=None, actor="user:test", role="admin", limit=100)
    items = {i["household_id"]: i for i in out["items"]}
    assert ids["b"] not in items  # on the fixed list: eligible for the period
    assert [r["text"] for r in items[ids["a"]]["reasons"]] == [
        "recipient, not on the period's eligibility list fixed on 2026-11-17"]
    # f and g are not on the fixed list: no longer eligible for the period, so no exclusion errors
    assert set(items) == {ids["a"]}


def test_overlapping_periods():
    assert overlapping("2026-12") == ["2026", "2026-Q4", "2026-12"]
    assert overlapping("2026-Q2") == ["2026", "2026-Q2", "2026-04", "2026-05", "2026-06"]
    assert len(overlapping("2026")) == 1 + 4 + 12


@pytest.mark.parametrize(("d", "months", "want"), [
    (date(2026, 11, 17), 12, date(2025, 11, 17)), (date(2026, 3, 31), 1, date(2026, 2, 28)),
    (date(2026, 1, 15), 2, date(2025, 11, 15)),
])  # fmt: skip
def test_months_before(d, months, want):
    assert _months_before(d, months) == want


def _row(**over: Any) -> dict[str, Any]:
    row = {"hasil_verval": 1, "tgl_verval": date(2026, 10, 1), "eligible": False, "fixed_cutoff": None,
           "desil_resmi": 2, "local_desil": 2, "category": "miskin", "bps_count": 9,
           **{f"k{i:02d}": True for i in range(1, 15)}}  # fmt: skip
    return row | over


CUT = date(2026, 11, 17)


@pytest.mark.parametrize(("rule", "row", "texts"), [
    (Rule(desil="local", desil_min=2, desil_max=3), _row(local_desil=1),
     ["recipient, local desil 1 below the rule's 2"]),
    (Rule(), _row(desil_resmi=None), ["recipient, no desil"]),
    (Rule(categories=("fakir_miskin",)), _row(category="rentan"),
     ["recipient, category rentan not in the rule's fakir_miskin"]),
    (Rule(bps_min=10), _row(bps_count=7), ["recipient, 7 BPS criteria met, the rule asks 10"]),
    (Rule(criteria=("k04", "k05")), _row(k05=False), ["recipient, criterion k05 not met"]),
    (Rule(verified_within_months=1), _row(tgl_verval=date(2026, 10, 17)),
     ["recipient, not verified in the 1 months before the cut-off 2026-11-17"]),
    (Rule(), _row(), ["recipient, outside the programme's rule"]),
    (Rule(desil_max=4), _row(hasil_verval=5, tgl_verval=date(2026, 9, 9), eligible=True),
     ["recipient, found a duplicate at verification 2026-09-09"]),
])  # fmt: skip
def test_each_part_of_a_rule_is_worded(rule, row, texts):
    assert [r["text"] for r in _inclusion(row, rule, CUT)] == texts


def test_the_action_follows_what_verification_found():
    stale = [{"code": "not_verified_recently"}]
    assert _action("inclusion", _row(hasil_verval=1), stale) == "re_verify"
    assert _action("inclusion", _row(hasil_verval=1), [{"code": "desil_above"}]) == "propose_removal"
    assert _action("inclusion", _row(hasil_verval=None), [{"code": "desil_above"}]) == "re_verify"
    assert _action("inclusion", _row(hasil_verval=2), [{"code": "found_at_verification"}]) == "re_verify"
    assert _action("inclusion", _row(hasil_verval=4), [{"code": "found_at_verification"}]) == "propose_removal"
    assert _action("exclusion", _row(), [{"code": "no_programme"}]) == "propose_for_programme"
