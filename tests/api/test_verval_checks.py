"""Verval, second part: configurable checks, back-checks with disagreement rates, the automatic proposal,
prelists, progress over time, members and photos, planners' suppressed coverage, berita acara as PDF.

Each test runs on the session's seeded city (tests/conftest.py `seeded`: rt.a, rt.b, rt.c and rt.d are the
verifiers of its four RTs) through `api`: its requests' writes, and its own changes to the settings, the
registry and the users, are rolled back after it, so no test sees another's, whatever the order. Ids come from
sequences, which are not rolled back: no test relies on an absolute id.
"""

from __future__ import annotations

import hashlib
import io
import math
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import verval.backchecks
from core.privacy import keyed_hash
from core.settings import Settings, get_settings, load_secret_key
from portal.app import create_app
from tests.bridge import Api

TODAY = date.today()
DUE = str(TODAY + timedelta(days=14))
JAMBI_TODAY = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # the periods are days in Jambi
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
CAMPAIGN = {"name": "Verval uji", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=30)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip


def _db(api, sql: str, *params):
    """Rows read in the test's transaction: they include what its requests wrote."""
    return api.db.execute(sql, params).fetchall()


@pytest.fixture
def cid(api, seeded):
    """This test's campaign, its first RT assigned to rt.a (rolled back with the test)."""
    r = api.post("/api/v1/campaigns", json=CAMPAIGN, headers=seeded.auth("koor"))
    assert r.status_code == 201, r.text
    a = api.post(f"/api/v1/campaigns/{r.json()['id']}/assignments", headers=seeded.auth("koor"),
                 json={"rt_codes": [seeded.rts[0]], "verifier": "rt.a", "due_on": DUE})  # fmt: skip
    assert a.status_code == 201, a.text
    return r.json()["id"]


def _families(api, rt: str, n: int) -> list[int]:
    return [i for (i,) in _db(api, "SELECT id FROM household WHERE rt_code = %s AND active ORDER BY id LIMIT %s",
                              rt, n)]  # fmt: skip


def _visit(api, family: int, cid: int, at: datetime, *, east_m: float = 0.0, **extra) -> dict:
    lon, lat = _db(api, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", family)[0]
    return {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
            "visited_at": at.isoformat(), "lon": lon + east_m / (111_320 * math.cos(math.radians(lat))), "lat": lat,
            "accuracy_m": 8, "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5, **extra}  # fmt: skip


def _post(api, seeded, user: str, *visits: dict) -> list[dict]:
    r = api.post("/api/v1/verifications/batch", json={"visits": list(visits)}, headers=seeded.auth(user))
    assert r.status_code == 200, r.text
    return r.json()["results"]


def _since(api) -> datetime:
    """The time now, on the database's clock: a test looks only at the audit rows it causes after it (by time, not
    id: on Citus each node draws ids from its own range)."""
    return _db(api, "SELECT clock_timestamp()")[0][0]


def _first_visits(api, seeded, cid: int) -> list[int]:
    """rt.a's first two visits in the first RT, as test_thresholds_come_from_the_settings makes them: the
    first 150 m from the family (flagged far_from_family), the second at the door; the two families."""
    fams = _families(api, seeded.rts[0], 2)
    _post(api, seeded, "rt.a", _visit(api, fams[0], cid, T0, east_m=150),
          _visit(api, fams[1], cid, T0 + timedelta(hours=1)))  # fmt: skip
    return fams


def _eight_visits(api, seeded, cid: int) -> list[int]:
    """rt.a's eight visits in the first RT (the first two as above); its first eight families."""
    _first_visits(api, seeded, cid)
    fams = _families(api, seeded.rts[0], 8)
    _post(api, seeded, "rt.a", *[_visit(api, f, cid, T0 + timedelta(hours=3 + i), jumlah_anggota=3 + i % 3)
                                 for i, f in enumerate(fams[2:8])])  # fmt: skip
    return fams


def _backchecked(api, seeded, cid: int) -> None:
    """The eight visits, half of them drawn for back-checks by rt.b and rt.c, and one checker's two
    back-check visits: one disagreeing with its first visit (which gets flagged), one agreeing."""
    _eight_visits(api, seeded, cid)
    pool = {"due_on": DUE, "pool": ["rt.b", "rt.c"], "seed": "uji", "rate": 0.5}
    drawn = api.post(f"/api/v1/campaigns/{cid}/backchecks", json=pool, headers=seeded.auth("koor"))
    assert drawn.status_code == 201, drawn.text
    checker = drawn.json()[0]["verifier"]
    differs, agrees = [a for a in drawn.json() if a["verifier"] == checker][:2]
    _post(api, seeded, checker, _visit(api, differs["household_id"], cid, T0 + timedelta(hours=20), result_code=2,
                                       jumlah_anggota=7))  # fmt: skip
    orig = _db(api, "SELECT result_code, jumlah_anggota FROM verification WHERE id = %s", agrees["backcheck_of"])[0]
    _post(api, seeded, checker, _visit(api, agrees["household_id"], cid, T0 + timedelta(hours=21),
                                       result_code=orig[0], jumlah_anggota=orig[1]))  # fmt: skip


def test_thresholds_come_from_the_settings(api, seeded, cid):
    fams = _families(api, seeded.rts[0], 2)
    first = _post(api, seeded, "rt.a", _visit(api, fams[0], cid, T0, east_m=150))[0]
    assert [f["code"] for f in first["flags"]] == ["far_from_family"]
    assert "(more than 100 m)" in first["flags"][0]["detail"]
    assert first["flags"][0]["max_distance_m"] == 100 and first["flags"][0]["distance_m"] == pytest.approx(150, abs=0.5)
    api.db.execute("UPDATE peta_config SET value = jsonb_set(value, '{max_distance_m}', '200') WHERE key = 'verval'")
    second = _post(api, seeded, "rt.a", _visit(api, fams[1], cid, T0 + timedelta(hours=1), east_m=150))[0]
    assert second["status"] == "created" and second["flags"] == []


def test_config_validation_names_each_bad_verval_setting():
    from core.config import load_config, shipped, validate_verval

    assert validate_verval(shipped("verval")) == []
    bad = shipped("verval") | {"max_distance_m": 0, "backcheck_rate": 2, "identical_run": True}
    bad["priority_weights"] = {"unverified_targets": 0.5, "poverty_density": 0.5, "staleness": 0.5,
                               "under_coverage": 0}  # fmt: skip
    bad["proposal"] = {"keep_head_off_own_rt": "yes", "default_capacity": 0, "balance_weight": -1}
    problems = validate_verval(bad)
    assert [p.split(":")[0] for p in problems] == [
        "verval.max_distance_m", "verval.identical_run", "verval.backcheck_rate", "verval.priority_weights",
        "verval.proposal.keep_head_off_own_rt", "verval.proposal.balance_weight", "verval.proposal.default_capacity",
    ]  # fmt: skip
    assert "must sum to 1, got 1.5" in problems[3]
    assert load_config()["verval"]["max_distance_m"] == 100


def _drawn_by_rule(visits: list[int], seed: str, rate: float) -> list[int]:
    """The visits a back-check draw picks, worked out here from their ids as verval/backchecks.py draws: one
    verifier's visits in the order of md5('<visit id>:<seed>'), the first ceil(rate x visits) of them; sorted."""
    order = sorted(visits, key=lambda i: hashlib.md5(f"{i}:{seed}".encode(), usedforsecurity=False).hexdigest())
    return sorted(order[: math.ceil(rate * len(order))])


def test_backchecks_are_drawn_reproducibly_and_disagreements_flag_the_first_visit(api, seeded, cid):
    rt = seeded.rts[0]
    fams = _eight_visits(api, seeded, cid)
    visits = _db(api, "SELECT count(*) FROM verification WHERE campaign_id = %s", cid)[0][0]
    assert visits == 8
    koor = seeded.auth("koor")
    # the campaign's only verifier is rt.a: no one else to re-check
    alone = api.post(f"/api/v1/campaigns/{cid}/backchecks", json={"due_on": DUE}, headers=koor)
    assert alone.status_code == 400 and "no other verifier" in alone.json()["detail"]

    ids = [i for (i,) in _db(api, "SELECT id FROM verification WHERE campaign_id = %s", cid)]

    async def sample(conn, seed: str) -> list[int]:
        """A draw in a savepoint of the test's transaction, rolled back at once: nothing stays drawn."""
        async with conn.transaction(force_rollback=True):
            drawn = await verval.backchecks.draw(conn, cid, due_on=TODAY + timedelta(days=3), actor="test", rate=0.5,
                                                 pool=["rt.b", "rt.c"], seed=seed)  # fmt: skip
        return sorted(a["backcheck_of"] for a in drawn)

    one, same = api.db.call(sample, "s1"), api.db.call(sample, "s1")
    # ceil(0.5 x 8); the same seed draws the same visits, the ones the rule picks from their ids
    assert len(one) == 4 and one == same == _drawn_by_rule(ids, "s1", 0.5)
    # another seed draws other visits: the first seed that does for these ids (they change with the test order)
    seed = next(s for s in (f"s{n}" for n in range(2, 100)) if _drawn_by_rule(ids, s, 0.5) != one)
    other = api.db.call(sample, seed)
    assert len(other) == 4 and other != one and other == _drawn_by_rule(ids, seed, 0.5)
    # 5 % of 8 visits: one back-check, for the pool verifier nearest to the family (both have none yet)
    pool = {"due_on": DUE, "pool": ["rt.b", "rt.c"], "seed": "uji"}
    first = api.post(f"/api/v1/campaigns/{cid}/backchecks", json=pool, headers=koor)
    assert first.status_code == 201, first.text
    [bc] = first.json()
    assert bc["kind"] == "backcheck" and bc["household_id"] is not None and bc["verifier"] in ("rt.b", "rt.c")
    nearest = _db(api, """SELECT u.username FROM app_user u JOIN area r ON r.code = u.scope_codes[1], household h
                          WHERE u.username IN ('rt.b', 'rt.c') AND h.id = %s
                          ORDER BY ST_Distance(ST_Transform(ST_PointOnSurface(r.geom), 32748),
                                               ST_Transform(h.geom, 32748)), u.username LIMIT 1""",
                  bc["household_id"])[0][0]  # fmt: skip
    assert bc["verifier"] == nearest and [bc["backcheck_of"]] == _drawn_by_rule(ids, "uji", 0.05)
    assert api.post(f"/api/v1/campaigns/{cid}/backchecks", json=pool, headers=koor).json() == []  # none due
    more = api.post(f"/api/v1/campaigns/{cid}/backchecks", json={**pool, "rate": 0.5}, headers=koor).json()
    assert len(more) == 3  # ceil(0.5 x 8) - 1; the fewest back-checks first: 2 each
    per = {}
    for a in [bc, *more]:
        per[a["verifier"]] = per.get(a["verifier"], 0) + 1
    assert sorted(per.values()) == [2, 2]
    assert len({a["backcheck_of"] for a in [bc, *more]}) == 4
    assert sorted(a["backcheck_of"] for a in [bc, *more]) == _drawn_by_rule(ids, "uji", 0.5)
    # the checker now sees that family (outside their own RT), and not its neighbours
    checker = bc["verifier"]
    assert api.get(f"/api/v1/households/{bc['household_id']}", headers=seeded.auth(checker)).status_code == 200
    drawn = {a["household_id"] for a in [bc, *more]}
    unseen = next(f for f in fams if f not in drawn)
    assert api.get(f"/api/v1/households/{unseen}", headers=seeded.auth(checker)).status_code == 404
    items = api.get("/ogc/collections/households/items", params={"limit": 1000},
                    headers=seeded.auth(checker)).json()  # fmt: skip
    assert {f["properties"]["rt_code"] for f in items["features"]} <= {rt, seeded.rts["bcd".index(checker[-1]) + 1]}
    assert bc["household_id"] in {f["properties"]["id"] for f in items["features"]}
    # the back-check disagrees (not found, other members): the first visit is flagged, the rate is 100 %
    first_visit = bc["backcheck_of"]
    diff = _visit(api, bc["household_id"], cid, T0 + timedelta(hours=20), result_code=2, jumlah_anggota=7)
    got = _post(api, seeded, checker, diff)[0]
    assert got["status"] == "created", got
    flags = _db(api, "SELECT flags FROM verification WHERE id = %s", first_visit)[0][0]
    assert flags[-1]["code"] == "backcheck_disagrees" and "result 2 (tidak ditemukan)" in flags[-1]["detail"]
    assert "7 members where" in flags[-1]["detail"]
    orig_rc, orig_n = _db(api, "SELECT result_code, jumlah_anggota FROM verification WHERE id = %s", first_visit)[0]
    bc_id = _db(api, "SELECT id FROM verification WHERE client_id = %s", diff["client_id"])[0][0]
    numbers = {k: flags[-1][k] for k in ("backcheck_id", "by", "result_code", "original_result_code", "members",
                                         "original_members")}  # fmt: skip
    assert numbers == {"backcheck_id": bc_id, "by": checker, "result_code": 2, "original_result_code": orig_rc,
                       "members": 7, "original_members": orig_n}  # fmt: skip
    rates = api.get(f"/api/v1/campaigns/{cid}/backchecks", headers=koor).json()
    assert [(r["verifier"], r["drawn"], r["checked"], r["disagreements"], r["disagreement_pct"]) for r in rates] == [
        ("rt.a", 4, 1, 1, 100.0)
    ]
    # a second back-check agreeing with the first visit halves the rate
    agree_bc = next(a for a in more if a["verifier"] == checker)
    orig = _db(api, "SELECT result_code, jumlah_anggota FROM verification WHERE id = %s", agree_bc["backcheck_of"])[0]
    _post(api, seeded, checker, _visit(api, agree_bc["household_id"], cid, T0 + timedelta(hours=21),
                                       result_code=orig[0], jumlah_anggota=orig[1]))  # fmt: skip
    rates = api.get(f"/api/v1/campaigns/{cid}/backchecks", headers=koor).json()
    assert (rates[0]["checked"], rates[0]["disagreements"], rates[0]["disagreement_pct"]) == (2, 1, 50.0)
    # the pairs in the order of the first visits, the disagreeing one and the agreeing one
    pairs = [(p["visit_id"], p["agrees"]) for p in rates[0]["pairs"]]
    assert pairs == sorted([(first_visit, False), (agree_bc["backcheck_of"], True)])
    assert api.get(f"/api/v1/campaigns/{cid}/backchecks", headers=seeded.auth("rt.a")).status_code == 403
    for bad in ({"due_on": str(TODAY - timedelta(days=1))}, {"due_on": DUE, "rate": 0}):
        assert api.post(f"/api/v1/campaigns/{cid}/backchecks", json=bad, headers=koor).status_code == 400, bad
    nobody = api.post(f"/api/v1/campaigns/{cid}/backchecks", json={"due_on": DUE, "pool": ["nobody"]}, headers=koor)
    assert (nobody.status_code, nobody.json()["detail"]) == (404, "no active verifiers nobody")


def test_the_proposal_respects_capacities_homes_and_own_rts_and_is_accepted_atomically(api, seeded, cid):
    koor = seeded.auth("koor")
    url = f"/api/v1/campaigns/{cid}/proposal"
    verifiers = [{"username": f"rt.{x}", "capacity": 2} for x in "bcd"]
    r = api.post(url, json={"verifiers": verifiers}, headers=koor)
    assert r.status_code == 200, r.text
    plan = r.json()
    cov = {c["code"]: c for c in api.get(f"/api/v1/campaigns/{cid}/coverage", params={"parent": seeded.kel},
                                         headers=koor).json()}  # fmt: skip
    candidates = {c for c, v in cov.items() if v["unassigned_targets"] > 0 and c != seeded.rts[0]}
    given = [c for v in plan["verifiers"] for c in v["rt_codes"]]
    left = [x["rt_code"] for x in plan["left_out"]]
    assert len(given) == len(set(given)) and set(given) | set(left) == candidates and not set(given) & set(left)
    for v in plan["verifiers"]:
        assert v["families"] == sum(cov[c]["unassigned_targets"] for c in v["rt_codes"]) <= v["capacity"] == 2
        own = seeded.rts["abcd".index(v["verifier"][-1])]
        assert own not in v["rt_codes"]  # an RT head never gets their own RT
    s = plan["summary"]
    loads = [v["families"] for v in plan["verifiers"]]
    assert (s["largest_workload"], s["smallest_workload"], s["families"]) == (max(loads), min(loads), sum(loads))
    assert s["rts"] == len(given) and s["rts_left_out"] == len(left) and s["own_rt_kept_off"] is True
    assert s["travel_km"] == pytest.approx(sum(v["travel_km"] for v in plan["verifiers"]), abs=0.05)
    # capacity 6 < the kelurahan's 8 families: the RTs left out for capacity are the least urgent
    prio = {p["code"]: p["priority"] for p in api.get(f"/api/v1/campaigns/{cid}/priorities",
                                                      params={"limit": 5000}, headers=koor).json()}  # fmt: skip
    for_capacity = [x["rt_code"] for x in plan["left_out"] if "more urgent" in x["reason"]]
    assert for_capacity and max(prio[c] for c in for_capacity) <= min(prio[c] for c in given)
    # an RT head alone with their own RT: kept off by default, allowed when asked
    own_rt = seeded.rts[1]
    alone = api.post(url, json={"verifiers": [{"username": "rt.b", "capacity": 500}], "rt_codes": [own_rt]},
                     headers=koor).json()  # fmt: skip
    assert alone["left_out"][0]["reason"] == "its only verifier is its own RT head" and alone["summary"]["rts"] == 0
    allowed = api.post(url, json={"verifiers": [{"username": "rt.b", "capacity": 500}], "rt_codes": [own_rt],
                                  "keep_head_off_own_rt": False}, headers=koor).json()  # fmt: skip
    assert allowed["verifiers"][0]["rt_codes"] == [own_rt]
    # accept, edited: one RT moved to another verifier; all or nothing when an RT was taken meanwhile
    items = [{"verifier": v["verifier"], "rt_codes": v["rt_codes"]} for v in plan["verifiers"] if v["rt_codes"]]
    assert len(items) >= 2
    moved = items[0]["rt_codes"].pop()
    items[1]["rt_codes"].append(moved)
    taken = items[1]["rt_codes"][0]
    api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
             json={"rt_codes": [taken], "verifier": "rt.d", "due_on": DUE})  # fmt: skip
    before = _db(api, "SELECT count(*) FROM assignment WHERE campaign_id = %s", cid)[0][0]
    clash = api.post(f"{url}/accept", json={"due_on": DUE, "plan": _rows(items)}, headers=koor)
    assert clash.status_code == 409 and taken in clash.json()["detail"]
    assert _db(api, "SELECT count(*) FROM assignment WHERE campaign_id = %s", cid)[0][0] == before
    items[1]["rt_codes"].remove(taken)
    ok = api.post(f"{url}/accept", json={"due_on": DUE, "plan": _rows(items)}, headers=koor)
    assert ok.status_code == 201, ok.text
    made = {(a["verifier"], a["rt_code"]) for a in ok.json()}
    assert made == {(i["verifier"], c) for i in items for c in i["rt_codes"]} and (items[1]["verifier"], moved) in made
    after = api.post(url, json={"verifiers": verifiers}, headers=koor).json()
    assert not {c for v in after["verifiers"] for c in v["rt_codes"]} & {c for _, c in made}
    for bad in ({"verifiers": [{"username": "rt.b", "lon": 103.6}]},
                {"verifiers": [{"username": "rt.b", "capacity": 0}]},
                {"rt_codes": ["15.71.99.9999.001.001"]}):  # fmt: skip
        assert api.post(url, json=bad, headers=koor).status_code == 400, bad
    assert api.post(url, json={"verifiers": [{"username": "nobody"}]}, headers=koor).status_code == 404
    double = {"due_on": DUE, "plan": [{"verifier": "rt.b", "rt_code": moved}, {"verifier": "rt.c", "rt_code": moved}]}
    assert api.post(f"{url}/accept", json=double, headers=koor).status_code == 400
    assert api.post(url, json={}, headers=seeded.auth("plan")).status_code == 403


def _rows(items: list[dict]) -> list[dict]:
    return [{"verifier": i["verifier"], "rt_code": c} for i in items for c in i["rt_codes"]]


def test_progress_over_time_by_campaign_area_and_verifier(api, seeded, cid):
    _backchecked(api, seeded, cid)  # visits of three verifiers to count
    koor = seeded.auth("koor")
    out = api.get(f"/api/v1/campaigns/{cid}/progress", params={"by": "day"}, headers=koor).json()
    visits = _db(api, "SELECT count(*) FROM verification WHERE campaign_id = %s", cid)[0][0]
    assert sum(p["visits"] for p in out["series"]) == visits == sum(v["visits"] for v in out["verifiers"])
    assert out["series"][0]["period"] == str(TODAY - timedelta(days=30)) and out["series"][-1]["period"] == str(
        JAMBI_TODAY
    )
    kota = api.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "kota"}, headers=koor).json()[0]
    assert out["series"][-1]["verified_cumulative"] == kota["verified"]
    assert out["series"][-1]["coverage_pct"] == kota["coverage_pct"]
    mine = api.get(f"/api/v1/campaigns/{cid}/progress", params={"verifier": "rt.a", "by": "month"},
                   headers=koor).json()  # fmt: skip
    rt_a = _db(api, """SELECT count(*) FROM verification v JOIN app_user u ON u.id = v.verifier_id
                       WHERE v.campaign_id = %s AND u.username = 'rt.a'""", cid)[0][0]  # fmt: skip
    assert sum(p["visits"] for p in mine["series"]) == rt_a
    area = api.get(f"/api/v1/campaigns/{cid}/progress", params={"area": seeded.rts[0]}, headers=koor).json()
    assert sum(p["visits"] for p in area["series"]) == _db(
        api, "SELECT count(*) FROM verification v JOIN household h ON h.kota_code = v.kota_code"
             " AND h.id = v.household_id WHERE v.campaign_id = %s AND h.rt_code = %s", cid, seeded.rts[0])[0][0]
    assert api.get(f"/api/v1/campaigns/{cid}/progress", params={"by": "year"}, headers=koor).status_code == 400
    assert api.get(f"/api/v1/campaigns/{cid}/progress", headers=seeded.auth("plan")).status_code == 403


def _upload(api, seeded, cid: int, who: str, name: str, content: bytes, partial: bool = False):
    return api.post(f"/api/v1/campaigns/{cid}/prelist", headers=seeded.auth(who),
                    files={"file": (name, content, "text/csv")},
                    data={"partial": "true" if partial else "false"})  # fmt: skip


def test_a_prelist_is_imported_all_or_nothing_or_partially(api, seeded, cid):
    koor = seeded.auth("koor")
    made = api.post("/api/v1/campaigns", headers=koor, json={
        "name": "Prelist Dinsos", "target_kind": "prelist", "starts_on": str(TODAY), "ends_on": DUE})  # fmt: skip
    assert made.status_code == 201 and made.json()["targets"] == 0
    pid = made.json()["id"]
    f1, f2, f3 = _families(api, seeded.rts[2], 3)
    kk = "1571019999000001"
    api.db.execute("UPDATE household SET kk_hash = %s WHERE id = %s",
                   (keyed_hash(load_secret_key(get_settings()), kk), f1))  # fmt: skip
    bad = f"no_kk,household_id\n{kk},\n,{f2}\nabc,\n,99999999\n,{f2}\n".encode()
    refused = _upload(api, seeded, pid, "koor", "prelist.csv", bad)
    assert refused.status_code == 400, refused.text
    problems = refused.json()["problems"]
    assert [p.split(":")[0] for p in problems] == ["row 4", "row 5", "row 6"]
    assert "is not 16 digits" in problems[0] and "no family" in problems[1] and "same family as row 3" in problems[2]
    assert api.get(f"/api/v1/campaigns/{pid}", headers=koor).json()["targets"] == 0  # nothing added
    partial = _upload(api, seeded, pid, "koor", "prelist.csv", bad, partial=True).json()
    assert (partial["added"], partial["refused"], partial["targets"]) == (2, 3, 2)
    targets = {i for (i,) in _db(api, "SELECT household_id FROM campaign_target WHERE campaign_id = %s", pid)}
    assert targets == {f1, f2}
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["household_id"])
    book.active.append([f3])
    book.active.append([f2])
    buf = io.BytesIO()
    book.save(buf)
    xlsx = api.post(f"/api/v1/campaigns/{pid}/prelist", headers=koor,
                    files={"file": ("prelist.xlsx", buf.getvalue(), "application/octet-stream")}).json()  # fmt: skip
    assert (xlsx["added"], xlsx["already_targets"], xlsx["targets"]) == (1, 1, 3)
    assert _upload(api, seeded, cid, "koor", "p.csv", b"household_id\n1\n").status_code == 400  # a desil campaign
    nohead = _upload(api, seeded, pid, "koor", "p.csv", b"nama\nBudi\n")
    assert nohead.status_code == 400 and "no column no_kk or household_id" in nohead.json()["detail"]
    assert "p.csv" in nohead.json()["detail"]
    assert api.post(f"/api/v1/campaigns/{pid}/prelist", headers=koor, data={"partial": "true"}).status_code == 400


def _png(shade: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 120, 40)).save(buf, format="PNG")
    return buf.getvalue()


def test_members_and_photos_of_a_visit(api, seeded, cid):
    since = _since(api)
    fam = _families(api, seeded.rts[0], 12)[10]
    members = [{"nama": "Siti", "hubungan": "kepala", "jenis_kelamin": "P", "tahun_lahir": 1980,
                "nik": "1571015003800001"}, {"nama": "Andi", "hubungan": "anak", "jenis_kelamin": "L"}]  # fmt: skip
    visit = _visit(api, fam, cid, T0 + timedelta(hours=30), members=members)
    del visit["jumlah_anggota"]
    got = _post(api, seeded, "rt.a", visit)[0]
    assert got["status"] == "created", got
    stored = _db(api, "SELECT members::text FROM verification WHERE id = %s", got["id"])[0][0]
    assert "1571015003800001" not in stored and "157101******0001" in stored
    leaked = _db(api, "SELECT count(*) FROM audit_log WHERE after::text LIKE '%%1571015003800001%%'")[0][0]
    assert leaked == 0
    bad_nik = _visit(api, fam, cid, T0 + timedelta(hours=31), members=[{"nama": "X", "nik": "123"}])
    assert api.post("/api/v1/verifications/batch", json={"visits": [bad_nik]},
                    headers=seeded.auth("rt.a")).status_code == 400  # fmt: skip
    # photos: the verifier's own visit, real images only, the same photo once, staff in the area read them
    url = f"/api/v1/verifications/{got['id']}/photos"
    png = _png(10)
    up = api.post(url, content=png, headers={**seeded.auth("rt.a"), "content-type": "image/png"})
    assert up.status_code == 201 and up.json()["sha256"] == hashlib.sha256(png).hexdigest(), up.text
    assert up.json()["created"] is True
    again = api.post(url, content=png, headers={**seeded.auth("rt.a"), "content-type": "image/png"}).json()
    assert again["created"] is False
    assert api.post(url, content=b"GIF89a not really", headers=seeded.auth("rt.a")).status_code == 400
    assert api.post(url, content=png, headers=seeded.auth("rt.b")).status_code == 404
    assert api.post(url, content=b"\0" * (5 * 1024 * 1024 + 1), headers=seeded.auth("rt.a")).status_code == 400
    for i in range(4):
        assert api.post(url, content=_png(20 + i), headers=seeded.auth("rt.a")).status_code == 201
    assert api.post(url, content=_png(99), headers=seeded.auth("rt.a")).status_code == 409  # five at most
    sha = up.json()["sha256"]
    read = api.get(f"{url}/{sha}", headers=seeded.auth("koor"))
    assert read.status_code == 200 and read.content == png and read.headers["content-type"] == "image/png"
    assert api.get(f"{url}/{sha}", headers=seeded.auth("rt.b")).status_code == 404
    assert api.get(f"{url}/{sha}", headers=seeded.auth("plan")).status_code == 403
    audit = _db(api, "SELECT after::text FROM audit_log WHERE object_type = 'verification_photo'"
                     " AND action = 'insert' AND %s = ANY (object_ids) AND at > %s",
                f"{got['id']}:{sha}", since)[0][0]  # fmt: skip
    assert sha in audit and '"data"' not in audit
    listed = api.get(f"/api/v1/campaigns/{cid}/verifications", headers=seeded.auth("koor")).json()
    mine = next(v for v in listed if v["id"] == got["id"])
    assert len(mine["photos"]) == 5 and mine["members"][0]["nik_masked"] == "157101******0001"
    # approval takes the member count from the list; then no more photos
    ok = api.post(f"/api/v1/verifications/{got['id']}/decision", json={"decision": "approve"},
                  headers=seeded.auth("koor"))  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert _db(api, "SELECT jumlah_anggota FROM household WHERE id = %s", fam)[0][0] == 2
    assert api.post(url, content=_png(50), headers=seeded.auth("rt.a")).status_code == 409


def test_the_visit_list_for_review(api, seeded, cid):
    _backchecked(api, seeded, cid)
    flagged = api.get(f"/api/v1/campaigns/{cid}/verifications", params={"flagged": True},
                      headers=seeded.auth("koor")).json()  # fmt: skip
    assert flagged and all(v["flags"] for v in flagged)
    codes = {f["code"] for v in flagged for f in v["flags"]}
    assert {"far_from_family", "backcheck_disagrees"} <= codes
    seen = 0
    for who in ("rt.b", "rt.c"):  # the back-checkers: each sees only their own visits
        own = api.get(f"/api/v1/campaigns/{cid}/verifications", headers=seeded.auth(who)).json()
        assert {v["verifier"] for v in own} <= {who}
        seen += len(own)
    assert seen == 2
    assert api.get(f"/api/v1/campaigns/{cid}/verifications", headers=seeded.auth("plan")).status_code == 403


def test_each_listed_visit_carries_the_familys_point_and_its_distance(api, seeded, cid):
    """The review map draws the family's registered point and the line to the visit: the list gives both points
    and the geodesic distance between them (here 150 m east, measured again with pyproj)."""
    from pyproj import Geod

    fams = _first_visits(api, seeded, cid)
    listed = {v["household_id"]: v for v in api.get(f"/api/v1/campaigns/{cid}/verifications",
                                                    headers=seeded.auth("koor")).json()}  # fmt: skip
    assert sorted(listed) == sorted(fams)
    for family, east_m in ((fams[0], 150), (fams[1], 0)):
        v = listed[family]
        lon, lat = _db(api, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", family)[0]
        assert (v["family_lon"], v["family_lat"]) == pytest.approx((lon, lat), abs=1e-6)
        assert v["lon"] == pytest.approx(lon + east_m / (111_320 * math.cos(math.radians(lat))), abs=1e-6)
        metres = Geod(ellps="WGS84").inv(lon, lat, v["lon"], v["lat"])[2]
        assert v["family_distance_m"] == pytest.approx(metres, abs=0.2)
    assert listed[fams[0]]["family_distance_m"] == pytest.approx(150, abs=0.5)


def test_planners_see_coverage_with_small_cells_suppressed(api, seeded, cid):
    staff = api.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "rt"}, headers=seeded.auth("admin"))
    public = api.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "rt"}, headers=seeded.auth("plan"))
    assert staff.status_code == public.status_code == 200
    full = {r["code"]: r for r in staff.json()}
    shown = public.json()
    assert all(r["targets"] is None or not 1 <= r["targets"] <= 4 for r in shown)
    assert all(r["verified"] is None or not 1 <= r["verified"] <= 4 for r in shown)
    hidden = [r for r in shown if "targets" in r["suppressed"]]
    assert hidden and all(r["targets"] is None and r["coverage_pct"] is None for r in hidden)
    assert any(1 <= full[r["code"]]["targets"] <= 4 for r in hidden)
    assert api.get(f"/api/v1/campaigns/{cid}/priorities", headers=seeded.auth("plan")).status_code == 403


def test_berita_acara_as_pdf(api, seeded, cid):
    from pypdf import PdfReader

    from verval.records import RESULTS

    _backchecked(api, seeded, cid)  # visits with two results to print
    url = f"/api/v1/campaigns/{cid}/berita-acara/{seeded.kel}"
    pdf = api.get(url, params={"f": "pdf"}, headers=seeded.auth("koor"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"/Type /Page" in pdf.content
    assert pdf.headers["content-disposition"].endswith('.pdf"')
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = "".join(text.split())  # long names wrap inside their cells
    kel_name = _db(api, "SELECT name FROM area WHERE code = %s", seeded.kel)[0][0]
    visited = _db(api, """SELECT DISTINCT ON (v.household_id) h.nama_kepala, v.result_code FROM verification v
                          JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
                          WHERE v.campaign_id = %s AND h.rt_code LIKE %s
                          ORDER BY v.household_id, v.visited_at DESC""", cid, seeded.kel + ".%")  # fmt: skip
    assert visited and "".join(f"Berita Acara Musyawarah Kelurahan {kel_name} ({seeded.kel})".split()) in flat
    assert text.splitlines()[1].startswith("Verval uji — dicetak ")
    assert f"{len(visited)} keluarga dikunjungi" in text
    for name, result in visited:
        assert "".join(name.split()) in flat and "".join(RESULTS[result].split()) in flat


# --- issue 12: files that declare far more than they carry ------------------------------------------


def _png_declaring(width: int, height: int) -> bytes:
    """A black 1-bit PNG: a few KB on the wire that would decode to width x height pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then 8 pixels a byte
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_photos_declaring_too_many_pixels_are_refused_before_decoding(api, seeded, cid):
    fam = _families(api, seeded.rts[0], 12)[11]
    got = _post(api, seeded, "rt.a", _visit(api, fam, cid, T0 + timedelta(hours=40)))[0]
    url = f"/api/v1/verifications/{got['id']}/photos"
    headers = {**seeded.auth("rt.a"), "content-type": "image/png"}
    bomb = _png_declaring(10_000, 10_000)  # 100 megapixels in 30 KB: stored before
    assert len(bomb) < 40_000
    r = api.post(url, content=bomb, headers=headers)
    reason = "the photo declares 10,000 x 10,000 pixels (100,000,000); at most 40,000,000 pixels"
    assert (r.status_code, r.json()["detail"]) == (400, f"{reason} (PETA_PHOTO_MAX_PIXELS)")
    bomb = _png_declaring(30_000, 30_000)  # 900 megapixels in 110 KB: a 500 before (Pillow refuses to open it)
    r = api.post(url, content=bomb, headers=headers)
    reason = "the photo declares more than 178,956,970 pixels; at most 40,000,000 pixels (PETA_PHOTO_MAX_PIXELS)"
    assert (r.status_code, r.json()["detail"]) == (400, reason)
    fine = api.post(url, content=_png_declaring(6_000, 6_000), headers=headers)
    assert fine.status_code == 201, fine.text  # 36 megapixels: under the limit, stored as sent
    assert _db(api, "SELECT count(*) FROM verification_photo WHERE verification_id = %s", got["id"]) == [(1,)]
    # the same app with a lower limit, on the test's transaction (it sees the visit)
    strict = Api(api.db, create_app(Settings(PETA_PHOTO_MAX_PIXELS="30000000", PETA_AUDIT_SEAL_SECONDS="0"),
                                    url=seeded.url))  # fmt: skip
    try:
        r = strict.post(url, content=_png_declaring(6_000, 6_000), headers=headers)
    finally:
        strict.close()
    reason = "the photo declares 6,000 x 6,000 pixels (36,000,000); at most 30,000,000 pixels"
    assert (r.status_code, r.json()["detail"]) == (400, f"{reason} (PETA_PHOTO_MAX_PIXELS)")


def _far_row_xlsx(tmp_path, hide_at: int | None = None) -> bytes:
    """A 5 KB prelist whose last cell is a million rows down; `hide_at` moves that cell further down (past
    what openpyxl writes) and makes the sheet's dimension claim two rows."""
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["household_id"])
    book.active.append([1])
    book.active.cell(row=1_000_000, column=1, value=2)
    path = tmp_path / "far.xlsx"
    book.save(path)
    if hide_at is None:
        return path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for old, new in (('ref="A1:A1000000"', 'ref="A1:A2"'), ('r="1000000"', f'r="{hide_at}"'),
                                 ('r="A1000000"', f'r="A{hide_at}"')):  # fmt: skip
                    assert old.encode() in data
                    data = data.replace(old.encode(), new.encode())
            dst.writestr(item, data)
    return out.getvalue()


def test_a_prelist_declaring_a_far_row_is_refused_at_once(api, seeded, tmp_path):
    koor = seeded.auth("koor")
    made = api.post("/api/v1/campaigns", headers=koor, json={
        "name": "Prelist jauh", "target_kind": "prelist", "starts_on": str(TODAY), "ends_on": DUE})  # fmt: skip
    pid = made.json()["id"]
    declared = _far_row_xlsx(tmp_path)
    assert len(declared) < 6_000
    limit = "at most 200,000 rows under the header are read (blank rows count too)"
    r = _upload(api, seeded, pid, "koor", "daftar.xlsx", declared)
    reason = f"daftar.xlsx: sheet 'Sheet' declares cells down to row 1,000,000; {limit}"
    assert (r.status_code, r.json()["detail"]) == (400, reason)
    hidden = _far_row_xlsx(tmp_path, hide_at=1_000_000_000)  # a billion rows down, the sheet says two
    r = _upload(api, seeded, pid, "koor", "daftar.xlsx", hidden)
    assert (r.status_code, r.json()["detail"]) == (400, f"daftar.xlsx: more than 200,001 rows in all; {limit}")
    assert api.get(f"/api/v1/campaigns/{pid}", headers=koor).json()["targets"] == 0
