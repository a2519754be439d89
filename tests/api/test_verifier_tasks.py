"""Tugas Saya's data: a verifier's open assignments carry their target families and the status of each one's
latest visit, and the verifier's families are read from the indexes (the RT codes and family ids of their scope and
assignments), never by testing every family of the kab/kota in turn.

Runs on the session's seeded city through `api` (tests/conftest.py): everything is rolled back after each test."""

from __future__ import annotations

import json
from datetime import timedelta

from psycopg import sql

import gis.features as fx
from core.principal import User
from gis.scope_sql import assigned_sql, scoped
from tests.api.test_verval_checks import DUE, T0, _db, _post, _visit, cid  # noqa: F401  (cid: a fixture)


def _mine(api, seeded, user: str) -> list[dict]:
    r = api.get("/api/v1/assignments/mine", headers=seeded.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def _targets(api, campaign: int, rt: str) -> list[int]:
    return [i for (i,) in _db(api, "SELECT household_id FROM campaign_target WHERE campaign_id = %s AND rt_code = %s"
                                   " ORDER BY household_id", campaign, rt)]  # fmt: skip


def test_a_verifiers_tasks_carry_their_targets_and_each_ones_latest_visit(api, seeded, cid):  # noqa: F811
    rt, other = seeded.rts[0], seeded.rts[2]
    targets = _targets(api, cid, rt)
    assert len(targets) >= 3
    # a family of another RT (rt.c's) given to rt.a on its own: its task's one target is that family
    family = _targets(api, cid, other)[0]
    made = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=seeded.auth("koor"),
                    json={"household_ids": [family], "verifier": "rt.a", "due_on": DUE})  # fmt: skip
    assert made.status_code == 201, made.text
    tasks = {a["rt_code"]: a for a in _mine(api, seeded, "rt.a")}
    assert set(tasks) == {rt, other}
    assert [x["id"] for x in tasks[rt]["targets"]] == targets
    assert tasks[other]["targets"] == [{"id": family, "visit": None}]
    assert all(x["visit"] is None for x in tasks[rt]["targets"])
    # a visit: submitted; returned by the coordinator: to visit again; visited again: submitted
    got = _post(api, seeded, "rt.a", _visit(api, targets[1], cid, T0))[0]
    assert got["status"] == "created", got

    def status() -> dict[int, str | None]:
        task = next(a for a in _mine(api, seeded, "rt.a") if a["rt_code"] == rt)
        return {x["id"]: x["visit"] for x in task["targets"]}

    assert status() == {t: ("submitted" if t == targets[1] else None) for t in targets}
    back = api.post(f"/api/v1/verifications/{got['id']}/decision", headers=seeded.auth("koor"),
                    json={"decision": "return", "reason": "foto rumah kurang jelas"})  # fmt: skip
    assert back.status_code == 200, back.text
    assert status()[targets[1]] == "returned"
    _post(api, seeded, "rt.a", _visit(api, targets[1], cid, T0 + timedelta(hours=1)))
    assert status()[targets[1]] == "submitted"
    # another verifier's tasks hold none of these
    assert not any(x["id"] in targets or x["id"] == family for a in _mine(api, seeded, "rt.b") for x in a["targets"])


def _verifier(api, username: str) -> User:
    uid, level, codes = _db(api, "SELECT id, scope_level, scope_codes FROM app_user WHERE username = %s", username)[0]
    return User(uid, username, "verifier", level, tuple(codes))


def _plan_nodes(plan: dict) -> list[dict]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(_plan_nodes(child))
    return out


def test_a_verifiers_families_come_from_the_indexes_and_are_those_of_the_scope_rule(api, seeded, cid):  # noqa: F811
    """Their RT and assigned RTs by the RT code index, an assigned family of another RT by its id; the same rows as
    the rule written as a per-row EXISTS (the form that scanned every family of the kab/kota, ~0.8 s for 95,000)."""
    family = _targets(api, cid, seeded.rts[2])[0]
    made = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=seeded.auth("koor"),
                    json={"household_ids": [family], "verifier": "rt.a", "due_on": DUE})  # fmt: skip
    assert made.status_code == 201, made.text
    principal = _verifier(api, "rt.a")
    compiled = fx.compile_items(fx.COLLECTIONS["households"], principal, fx.ItemsQuery(limit=5000))
    plan = api.db.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(fx.feature_sql(compiled))).fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes = _plan_nodes(plan[0]["Plan"])
    scanned = [n["Node Type"] for n in nodes if n.get("Relation Name") == "household"]
    assert scanned and "Seq Scan" not in scanned, scanned
    assert {n.get("Index Name") for n in nodes} >= {"household_rt_code_idx", "household_pkey"}
    # the rows: those of the rule as written before, with the scope and the assignments tested row by row
    old = sql.SQL("SELECT h.id FROM household h WHERE {} OR {} ORDER BY h.id").format(
        sql.SQL(scoped("IN_SCOPE(h.rt_code)")), assigned_sql(sql.Literal(principal.id))
    )
    expected = [i for (i,) in api.db.execute(old, {"scope": list(principal.scope_codes)}).fetchall()]
    items = api.get("/ogc/collections/households/items", params={"limit": 5000}, headers=seeded.auth("rt.a")).json()
    got = [f["id"] for f in items["features"]]
    assert got == expected and family in got and items["numberMatched"] == len(expected)
    rts = {r for (r,) in _db(api, "SELECT DISTINCT rt_code FROM household WHERE id = ANY(%s)", got)}
    assert rts == {seeded.rts[0], seeded.rts[2]}
