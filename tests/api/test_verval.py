"""Campaigns, coverage gaps, priorities and assignments: the workflow rules, the race, scopes and history."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

import verval.assignments
from core.errors import Conflict
from portal.app import create_app
from tests.people import PASSWORD, add_users, keep_registry, scope, verval_city

TODAY = date.today()


@pytest.fixture(scope="module")
def world(committed_url):
    from tests.conftest import truncate_all

    kel, rts = verval_city(committed_url, 3)
    add_users(committed_url, {
        "admin": ("admin", []), "koor": ("coordinator", scope("kelurahan", kel)),
        "rt.satu": ("verifier", scope("rt", rts[0])), "rt.dua": ("verifier", scope("rt", rts[1])),
        "plan": ("planner", []),
    })  # fmt: skip
    yield {"url": committed_url, "rts": rts, "kel": kel}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world["url"])) as c:
        yield c


def _as(client: TestClient, user: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _db(world, sql: str, *params):
    with psycopg.connect(world["url"]) as conn:
        return conn.execute(sql, params).fetchall()


def _assign(client: TestClient, cid: int, rt: str, verifier: str, due: str) -> None:
    r = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=_as(client, "koor"),
                    json={"rt_codes": [rt], "verifier": verifier, "due_on": due})  # fmt: skip
    assert r.status_code == 201, r.text


def _since(world) -> int:
    """The last audit row so far: a test counts only the rows it causes after it."""
    return _db(world, "SELECT COALESCE(max(id), 0) FROM audit_log")[0][0]


@pytest.fixture
def campaign(client, world):
    """A fresh campaign for each test: the campaigns of earlier tests (with their targets, assignments and
    visits) are emptied first, so no test sees another's, whatever the order."""
    with psycopg.connect(world["url"]) as conn:
        conn.execute("TRUNCATE campaign RESTART IDENTITY CASCADE")
    body = {"name": "Verval 2026 tahap 1", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=30)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip
    r = client.post("/api/v1/campaigns", json=body, headers=_as(client, "koor"))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_campaign_selects_its_targets(client, world, campaign):
    expected = _db(world, """SELECT count(*) FROM household h JOIN household_rank r ON r.household_id = h.id
                             WHERE h.active AND r.local_desil BETWEEN 1 AND 2""")[0][0]  # fmt: skip
    assert campaign["targets"] == expected > 0 and campaign["cutoff_day"] == 17
    same = {"name": "Verval 2026 tahap 1", "target_kind": "category", "categories": ["miskin"],
            "starts_on": str(TODAY), "ends_on": str(TODAY)}  # fmt: skip
    assert client.post("/api/v1/campaigns", json=same, headers=_as(client, "admin")).status_code == 409
    for bad in (
        {**same, "name": "x", "ends_on": str(TODAY - timedelta(days=1))},
        {**same, "name": "y", "target_kind": "desil"},
        {**same, "name": "z", "categories": []},
        {**same, "name": "w", "categories": ["kaya"]},
        {**same, "name": "v", "target_kind": "desil", "desil_min": 9, "desil_max": 1},
    ):
        assert client.post("/api/v1/campaigns", json=bad, headers=_as(client, "admin")).status_code == 400, bad
    assert client.post("/api/v1/campaigns", json=same, headers=_as(client, "plan")).status_code == 403
    options = client.options("/api/v1/campaigns")
    assert options.status_code == 405 and options.headers["allow"] == "GET, POST, HEAD"
    listed = client.get("/api/v1/campaigns", headers=_as(client, "admin")).json()
    assert [c["name"] for c in listed] == ["Verval 2026 tahap 1"]


def test_coverage_rolls_up_and_counts_verified_targets(client, world, campaign):
    cid = campaign["id"]
    rts = client.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "rt"}, headers=_as(client, "admin")).json()
    kec = client.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "kecamatan"},
                     headers=_as(client, "admin")).json()  # fmt: skip
    assert sum(r["targets"] for r in rts) == sum(k["targets"] for k in kec) == campaign["targets"]
    verified = _db(world, """SELECT count(*) FROM campaign_target t JOIN household h ON h.id = t.household_id
                             WHERE t.campaign_id = %s AND h.tgl_verval >= %s""",
                   cid, TODAY - timedelta(days=30))[0][0]  # fmt: skip
    assert sum(r["verified"] for r in rts) == verified
    for r in rts:
        assert r["pending"] == r["targets"] - r["verified"]
        assert r["unassigned_targets"] == r["pending"]  # nothing assigned yet


def test_priorities_are_ranked_and_explained(client, campaign):
    cid = campaign["id"]
    top = client.get(f"/api/v1/campaigns/{cid}/priorities", params={"limit": 20}, headers=_as(client, "admin")).json()
    assert len(top) == 20 and all(t["pending"] > 0 for t in top)
    scores = [t["priority"] for t in top]
    assert scores == sorted(scores, reverse=True)
    for t in top:
        assert abs(sum(t["explanation"].values()) - t["priority"]) <= 0.3, t


def test_assigning_an_rt_twice_conflicts_and_scopes_hold(client, world, campaign):
    cid, (rt1, rt2, _) = campaign["id"], world["rts"]
    since = _since(world)
    due = str(TODAY + timedelta(days=14))
    koor = _as(client, "koor")
    r = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                    json={"rt_codes": [rt1], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert r.status_code == 201 and r.json()[0]["status"] == "assigned", r.text
    again = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt1], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert again.status_code == 409 and rt1 in again.json()["detail"]
    family = _db(world, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 1", rt1)[0][0]
    one = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                      json={"household_ids": [family], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert one.status_code == 409  # the family's RT is already assigned as a whole
    outside = _db(world, "SELECT code FROM area WHERE level = 'rt' AND code NOT LIKE %s LIMIT 1", world["kel"] + "%")
    r = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                    json={"rt_codes": [outside[0][0]], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert (r.status_code, r.json()["detail"]) == (404, f"no RT {outside[0][0]}")  # as if it did not exist
    unknown = client.post(
        f"/api/v1/campaigns/{cid}/assignments",
        headers=koor,
        json={"rt_codes": ["15.71.99.9999.001.001"], "verifier": "rt.dua", "due_on": due},
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no RT 15.71.99.9999.001.001")
    for bad in ({"rt_codes": [], "verifier": "rt.dua", "due_on": due},
                {"rt_codes": [rt2], "verifier": "koor", "due_on": due},
                {"rt_codes": [rt2], "verifier": "rt.dua", "due_on": str(TODAY - timedelta(days=1))},
                {"rt_codes": [rt2], "verifier": "rt.dua", "due_on": str(TODAY + timedelta(days=365))}):  # fmt: skip
        assert client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor, json=bad).status_code == 400, bad
    audited = _db(world, "SELECT count(*) FROM audit_log WHERE object_type = 'assignment' AND actor = 'user:koor'"
                         " AND after->0->>'campaign_id' = %s::text AND action = 'insert' AND id > %s",
                 cid, since)  # fmt: skip
    assert audited[0][0] == 1


def test_two_coordinators_racing_for_one_rt_exactly_one_wins(world, campaign):
    cid, rt = campaign["id"], world["rts"][2]

    async def attempt(verifier: str) -> str:
        async with await psycopg.AsyncConnection.connect(world["url"], autocommit=True) as conn:
            try:
                await verval.assignments.assign(conn, cid, rt_codes=[rt], household_ids=[], verifier=verifier,
                                    due_on=TODAY + timedelta(days=7), actor=f"race:{verifier}")  # fmt: skip
                return "won"
            except Conflict:
                return "409"

    async def race() -> list[str]:
        return await asyncio.gather(*(attempt(v) for v in ("rt.satu", "rt.dua", "rt.satu", "rt.dua")))

    outcome = asyncio.run(race())
    assert sorted(outcome) == ["409", "409", "409", "won"]
    active = _db(world, "SELECT count(*) FROM assignment WHERE campaign_id = %s AND rt_code = %s"
                 " AND status IN ('assigned', 'in_progress', 'submitted', 'returned')", cid, rt)  # fmt: skip
    assert active[0][0] == 1


def test_statuses_follow_the_workflow_with_history(client, world, campaign):
    cid, rt1, rt2 = campaign["id"], world["rts"][0], world["rts"][1]
    _assign(client, cid, rt1, "rt.satu", str(TODAY + timedelta(days=14)))
    a = next(x for x in client.get(f"/api/v1/campaigns/{cid}/assignments", headers=_as(client, "koor")).json()
             if x["rt_code"] == rt1)  # fmt: skip
    url = f"/api/v1/assignments/{a['id']}/status"
    v1, v2, koor = _as(client, "rt.satu"), _as(client, "rt.dua"), _as(client, "koor")
    assert client.post(url, json={"status": "in_progress"}, headers=v2).status_code == 404  # not theirs
    assert client.post(url, json={"status": "approved"}, headers=v1).status_code == 403
    assert client.post(url, json={"status": "in_progress"}, headers=v1).json()["status"] == "in_progress"
    assert client.post(url, json={"status": "declined"}, headers=v1).status_code == 400  # needs a reason
    assert client.post(url, json={"status": "submitted"}, headers=v1).json()["status"] == "submitted"
    assert client.post(url, json={"status": "returned"}, headers=koor).status_code == 400
    back = client.post(url, json={"status": "returned", "reason": "foto rumah kurang"}, headers=koor).json()
    assert back["status"] == "returned"
    client.post(url, json={"status": "submitted"}, headers=v1)
    done = client.post(url, json={"status": "approved"}, headers=koor).json()
    assert [h["status"] for h in done["history"]] == ["assigned", "in_progress", "submitted", "returned",
                                                      "submitted", "approved"]  # fmt: skip
    assert done["history"][3]["reason"] == "foto rumah kurang" and done["history"][3]["actor"] == "user:koor"
    final = client.post(url, json={"status": "in_progress"}, headers=v1)
    assert final.status_code == 409  # approved is final
    # reassignment: cancel with a reason, assign to someone else; both stay in the history
    due = str(TODAY + timedelta(days=10))
    first = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt2], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert first.status_code == 201, first.text
    first = first.json()[0]
    cancel = client.post(f"/api/v1/assignments/{first['id']}/status", headers=koor,
                         json={"status": "cancelled", "reason": "dialihkan ke rt.dua"})  # fmt: skip
    assert cancel.json()["status"] == "cancelled"
    second = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                         json={"rt_codes": [rt2], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert second.status_code == 201
    mine = client.get(f"/api/v1/campaigns/{cid}/assignments", headers=_as(client, "rt.dua")).json()
    assert {m["verifier"] for m in mine} == {"rt.dua"}
    load = {w["verifier"]: w for w in client.get(f"/api/v1/campaigns/{cid}/workload", headers=koor).json()}
    pending = _db(world, """SELECT count(*) FROM campaign_target t JOIN household h ON h.id = t.household_id
                            WHERE t.campaign_id = %s AND t.rt_code = %s
                              AND (h.tgl_verval IS NULL OR h.tgl_verval < %s)""",
                  cid, rt2, TODAY - timedelta(days=30))[0][0]  # fmt: skip
    assert load["rt.dua"]["rts"] >= 1 and load["rt.dua"]["families_to_verify"] >= pending
    cov = {r["code"]: r for r in client.get(f"/api/v1/campaigns/{cid}/coverage", headers=koor).json()}
    assert cov[rt2]["unassigned_targets"] == 0 and cov[rt2]["assigned_pending"] == cov[rt2]["pending"]


# --- field results -------------------------------------------------------------------------------


def _visit(world, family: int, cid: int, at, *, offset_m: float = 0.0, **extra) -> dict:
    import uuid

    lon, lat = _db(world, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", family)[0]
    return {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
            "visited_at": at.isoformat(), "lon": lon + offset_m / 111_320, "lat": lat, "accuracy_m": 8,
            "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5, **extra}  # fmt: skip


def test_visits_are_idempotent_flagged_and_approved_into_the_registry(client, world, campaign, request):
    from datetime import UTC, datetime

    cid, rt = campaign["id"], world["rts"][0]
    koor, v1, v2 = _as(client, "koor"), _as(client, "rt.satu"), _as(client, "rt.dua")
    due = str(TODAY + timedelta(days=10))
    # an RT assignment for rt.satu in this test's own campaign
    fresh = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert fresh.status_code == 201, fresh.text
    families = [i for (i,) in _db(world, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 8", rt)]
    keep_registry(world["url"], families[0], request)  # approved below
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    near = _visit(world, families[0], cid, t0, offset_m=20)
    far = _visit(world, families[1], cid, t0 + timedelta(minutes=30), offset_m=450)
    batch = client.post("/api/v1/verifications/batch", json={"visits": [far, near]}, headers=v1)
    assert batch.status_code == 200, batch.text
    res = {r["client_id"]: r for r in batch.json()["results"]}
    assert res[near["client_id"]]["status"] == "created" and res[near["client_id"]]["flags"] == []
    assert [f["code"] for f in res[far["client_id"]]["flags"]] == ["far_from_family"]
    # the phone sends the same batch again after losing its connection: nothing is inserted twice
    again = client.post("/api/v1/verifications/batch", json={"visits": [near, far]}, headers=v1).json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}
    count = _db(world, "SELECT count(*) FROM verification WHERE client_id IN (%s, %s)",
                near["client_id"], far["client_id"])[0][0]  # fmt: skip
    assert count == 2
    # someone else's family, or not assigned: rejected with the reason; a verifier's own speed and bursts
    other = _visit(world, families[2], cid, t0 + timedelta(minutes=40))
    assert client.post("/api/v1/verifications/batch", json={"visits": [other]}, headers=v2).json()["results"][0][
        "status"] == "rejected"  # fmt: skip
    jump = _visit(world, families[2], cid, t0 + timedelta(minutes=31), offset_m=0)
    jump["lon"] += 0.2  # 22 km away one minute later
    flags = client.post("/api/v1/verifications/batch", json={"visits": [jump]}, headers=v1).json()["results"][0]
    assert {"implausible_speed", "far_from_family"} <= {f["code"] for f in flags["flags"]}
    burst = [_visit(world, f, cid, t0 + timedelta(hours=1, minutes=i)) for i, f in enumerate(families[3:8])]
    out = client.post("/api/v1/verifications/batch", json={"visits": burst}, headers=v1).json()["results"]
    codes = [{f["code"] for f in r["flags"]} for r in sorted(out, key=lambda r: r["id"])]
    assert "identical_answers" in codes[-1] and "identical_answers" not in codes[0]
    # a verifier visiting their own family (same KK) is flagged (rt.satu's KK put back after: users stay as made)
    kk = _db(world, "SELECT kk_hash FROM app_user WHERE username = 'rt.satu'")[0][0]
    with psycopg.connect(world["url"]) as conn:
        conn.execute("UPDATE app_user SET kk_hash = (SELECT kk_hash FROM household WHERE id = %s)"
                     " WHERE username = 'rt.satu'", (families[2],))  # fmt: skip
    try:
        own = _visit(world, families[2], cid, t0 + timedelta(hours=5))
        got = client.post("/api/v1/verifications/batch", json={"visits": [own]}, headers=v1).json()["results"][0]
    finally:
        with psycopg.connect(world["url"]) as conn:
            conn.execute("UPDATE app_user SET kk_hash = %s WHERE username = 'rt.satu'", (kk,))
    assert "own_family" in {f["code"] for f in got["flags"]}, got
    # approval updates the family, its ranking and its RT's figures on the next read
    before = _db(world, "SELECT verified_families FROM area_stats WHERE code = %s", rt)[0][0]
    fam_before = _db(world, "SELECT tgl_verval, version FROM household WHERE id = %s", families[0])[0]
    decided = client.post(f"/api/v1/verifications/{res[near['client_id']]['id']}/decision",
                          json={"decision": "approve"}, headers=koor)  # fmt: skip
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    tgl, version, hasil, k10, members = _db(
        world, "SELECT tgl_verval, version, hasil_verval, k10, jumlah_anggota FROM household WHERE id = %s",
        families[0])[0]  # fmt: skip
    assert (hasil, k10, members, version) == (1, False, 4, fam_before[1] + 1)
    assert tgl >= t0.date()  # the visit's date in Jambi (UTC+7)
    after = _db(world, "SELECT verified_families FROM area_stats WHERE code = %s", rt)[0][0]
    assert after == before + (0 if fam_before[0] is not None else 1)
    history = _db(world, "SELECT count(*) FROM household_version WHERE household_id = %s", families[0])[0][0]
    assert history >= 1
    assert client.post(f"/api/v1/verifications/{res[near['client_id']]['id']}/decision",
                       json={"decision": "approve"}, headers=koor).status_code == 409  # fmt: skip
    back = client.post(f"/api/v1/verifications/{res[far['client_id']]['id']}/decision",
                       json={"decision": "return"}, headers=koor)  # fmt: skip
    assert back.status_code == 400  # needs a reason
    assert client.post(f"/api/v1/verifications/{res[far['client_id']]['id']}/decision", headers=v1,
                       json={"decision": "approve"}).status_code == 403  # fmt: skip


@pytest.mark.parametrize("bad", [
    {"visits": []},
    {"visits": [{"client_id": "not-a-uuid", "campaign_id": 1, "household_id": 1, "result_code": 1,
                 "visited_at": "2026-11-01T10:00:00+07:00"}]},
    {"visits": [{"client_id": "3f0c6f55-54c4-4e4e-9d1c-5a7b2f4c1a10", "campaign_id": 1, "household_id": 1,
                 "result_code": 9, "visited_at": "2026-11-01T10:00:00+07:00"}]},
    {"visits": [{"client_id": "3f0c6f55-54c4-4e4e-9d1c-5a7b2f4c1a10", "campaign_id": 1, "household_id": 1,
                 "result_code": 1, "visited_at": "2026-11-01T10:00:00"}]},
    {"visits": [{"client_id": "3f0c6f55-54c4-4e4e-9d1c-5a7b2f4c1a10", "campaign_id": 1, "household_id": 1,
                 "result_code": 1, "visited_at": "2026-11-01T10:00:00+07:00", "lon": 103.6}]},
    {"visits": [{"client_id": "3f0c6f55-54c4-4e4e-9d1c-5a7b2f4c1a10", "campaign_id": 1, "household_id": 1,
                 "result_code": 1, "visited_at": "2026-11-01T10:00:00+07:00", "criteria": [True]}]},
])  # fmt: skip
def test_bad_visit_batches_are_400(client, bad):
    assert client.post("/api/v1/verifications/batch", json=bad, headers=_as(client, "rt.satu")).status_code == 400


def test_berita_acara_lists_the_kelurahan_results(client, world, campaign):
    from datetime import UTC, datetime

    cid, kel, rt = campaign["id"], world["kel"], world["rts"][0]
    _assign(client, cid, rt, "rt.satu", str(TODAY + timedelta(days=10)))  # this test's own visits to list
    families = [i for (i,) in _db(world, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 2", rt)]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    visits = [_visit(world, f, cid, t0 + timedelta(minutes=30 * i), result_code=1 + i) for i, f in enumerate(families)]
    posted = client.post("/api/v1/verifications/batch", json={"visits": visits}, headers=_as(client, "rt.satu"))
    assert posted.status_code == 200 and {r["status"] for r in posted.json()["results"]} == {"created"}, posted.text
    since = _since(world)
    url = f"/api/v1/campaigns/{cid}/berita-acara/{kel}"
    rows = client.get(url, headers=_as(client, "koor")).text.splitlines()
    visited = _db(world, """SELECT count(DISTINCT v.household_id) FROM verification v
                            JOIN household h ON h.id = v.household_id
                            WHERE v.campaign_id = %s AND h.rt_code LIKE %s""", cid, kel + ".%")[0][0]  # fmt: skip
    assert rows[0].startswith("rt_code,kk_masked,nama_kepala") and len(rows) == visited + 1 > 1
    assert "terverifikasi" in rows[1] or any("terverifikasi" in r for r in rows[1:])
    page = client.get(url, params={"f": "html"}, headers=_as(client, "koor"))
    assert page.headers["content-type"].startswith("text/html") and "Berita Acara Musyawarah" in page.text
    assert "window.print()" in page.text
    other = _db(world, "SELECT code FROM area WHERE level = 'kelurahan' AND code <> %s LIMIT 1", kel)[0][0]
    assert client.get(f"/api/v1/campaigns/{cid}/berita-acara/{other}", headers=_as(client, "koor")).status_code == 404
    assert client.get(url, headers=_as(client, "rt.satu")).status_code == 403
    reads = _db(world, "SELECT count(*) FROM audit_log WHERE object_type = 'verification' AND action = 'read'"
                       " AND id > %s", since)  # fmt: skip
    assert reads[0][0] >= 2
