"""Campaigns, coverage gaps, priorities and assignments: the workflow rules, the race, scopes and history.

Each test runs on the session's seeded city (tests/conftest.py `seeded`) through `api`: its requests' writes
are rolled back after it, so no test sees another's campaigns, visits or registry changes, whatever the order.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import psycopg
import pytest

import verval.assignments
from core.errors import Conflict
from core.principal import CliPrincipal
from verval.campaigns import CampaignSpec, create_campaign

TODAY = date.today()
CAMPAIGN = {"name": "Verval 2026 tahap 1", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=30)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip


def _db(api, sql: str, *params):
    """Rows read in the test's transaction: they include what its requests wrote."""
    return api.db.execute(sql, params).fetchall()


def _assign(api, seeded, cid: int, rt: str, verifier: str, due: str) -> None:
    r = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=seeded.auth("koor"),
                 json={"rt_codes": [rt], "verifier": verifier, "due_on": due})  # fmt: skip
    assert r.status_code == 201, r.text


def _since(api) -> datetime:
    """The time now, on the database's clock: a test counts only the audit rows it causes after it (by time, not
    id: on Citus each node draws ids from its own range, so a newer row of one city can have a smaller id)."""
    return _db(api, "SELECT clock_timestamp()")[0][0]


@pytest.fixture
def campaign(api, seeded):
    """This test's campaign (rolled back with the test)."""
    r = api.post("/api/v1/campaigns", json=CAMPAIGN, headers=seeded.auth("koor"))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_campaign_selects_its_targets(api, seeded, campaign):
    expected = _db(api, """SELECT count(*) FROM household h
                             JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
                             WHERE h.active AND r.local_desil BETWEEN 1 AND 2""")[0][0]  # fmt: skip
    assert campaign["targets"] == expected > 0 and campaign["cutoff_day"] == 17
    same = {"name": "Verval 2026 tahap 1", "target_kind": "category", "categories": ["miskin"],
            "starts_on": str(TODAY), "ends_on": str(TODAY)}  # fmt: skip
    assert api.post("/api/v1/campaigns", json=same, headers=seeded.auth("admin")).status_code == 409
    for bad in (
        {**same, "name": "x", "ends_on": str(TODAY - timedelta(days=1))},
        {**same, "name": "y", "target_kind": "desil"},
        {**same, "name": "z", "categories": []},
        {**same, "name": "w", "categories": ["kaya"]},
        {**same, "name": "v", "target_kind": "desil", "desil_min": 9, "desil_max": 1},
    ):
        assert api.post("/api/v1/campaigns", json=bad, headers=seeded.auth("admin")).status_code == 400, bad
    assert api.post("/api/v1/campaigns", json=same, headers=seeded.auth("plan")).status_code == 403
    options = api.options("/api/v1/campaigns")
    assert options.status_code == 405 and options.headers["allow"] == "GET, POST, HEAD"
    listed = api.get("/api/v1/campaigns", headers=seeded.auth("admin")).json()
    assert [c["name"] for c in listed] == ["Verval 2026 tahap 1"]


def test_coverage_rolls_up_and_counts_verified_targets(api, seeded, campaign):
    cid = campaign["id"]
    rts = api.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "rt"}, headers=seeded.auth("admin")).json()
    kec = api.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "kecamatan"},
                     headers=seeded.auth("admin")).json()  # fmt: skip
    assert sum(r["targets"] for r in rts) == sum(k["targets"] for k in kec) == campaign["targets"]
    verified = _db(api, """SELECT count(*) FROM campaign_target t
                             JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id
                             WHERE t.campaign_id = %s AND h.tgl_verval >= %s""",
                   cid, TODAY - timedelta(days=30))[0][0]  # fmt: skip
    assert sum(r["verified"] for r in rts) == verified
    for r in rts:
        assert r["pending"] == r["targets"] - r["verified"]
        assert r["unassigned_targets"] == r["pending"]  # nothing assigned yet


def test_priorities_are_ranked_and_explained(api, seeded, campaign):
    cid = campaign["id"]
    top = api.get(f"/api/v1/campaigns/{cid}/priorities", params={"limit": 20}, headers=seeded.auth("admin")).json()
    assert len(top) == 20 and all(t["pending"] > 0 for t in top)
    scores = [t["priority"] for t in top]
    assert scores == sorted(scores, reverse=True)
    for t in top:
        assert abs(sum(t["explanation"].values()) - t["priority"]) <= 0.3, t


def test_assigning_an_rt_twice_conflicts_and_scopes_hold(api, seeded, campaign):
    cid, (rt1, rt2) = campaign["id"], seeded.rts[:2]
    since = _since(api)
    due = str(TODAY + timedelta(days=14))
    koor = seeded.auth("koor")
    r = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                    json={"rt_codes": [rt1], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert r.status_code == 201 and r.json()[0]["status"] == "assigned", r.text
    again = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt1], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert again.status_code == 409 and rt1 in again.json()["detail"]
    family = _db(api, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 1", rt1)[0][0]
    one = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                      json={"household_ids": [family], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert one.status_code == 409  # the family's RT is already assigned as a whole
    outside = _db(api, "SELECT code FROM area WHERE level = 'rt' AND code NOT LIKE %s LIMIT 1", seeded.kel + "%")
    r = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                    json={"rt_codes": [outside[0][0]], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert (r.status_code, r.json()["detail"]) == (404, f"no RT {outside[0][0]}")  # as if it did not exist
    unknown = api.post(
        f"/api/v1/campaigns/{cid}/assignments",
        headers=koor,
        json={"rt_codes": ["15.71.99.9999.001.001"], "verifier": "rt.dua", "due_on": due},
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no RT 15.71.99.9999.001.001")
    for bad in ({"rt_codes": [], "verifier": "rt.dua", "due_on": due},
                {"rt_codes": [rt2], "verifier": "koor", "due_on": due},
                {"rt_codes": [rt2], "verifier": "rt.dua", "due_on": str(TODAY - timedelta(days=1))},
                {"rt_codes": [rt2], "verifier": "rt.dua", "due_on": str(TODAY + timedelta(days=365))}):  # fmt: skip
        assert api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor, json=bad).status_code == 400, bad
    audited = _db(api, "SELECT count(*) FROM audit_log WHERE object_type = 'assignment' AND actor = 'user:koor'"
                         " AND after->0->>'campaign_id' = %s::text AND action = 'insert' AND at > %s",
                 cid, since)  # fmt: skip
    assert audited[0][0] == 1


def test_two_coordinators_racing_for_one_rt_exactly_one_wins(seeded):
    """Real concurrent connections, so on committed data: the campaign is removed again after the race."""
    rt = seeded.rts[2]
    spec = CampaignSpec("Verval balapan", "desil", TODAY - timedelta(days=30), TODAY + timedelta(days=60), 1, 2)

    async def attempt(cid: int, verifier: str) -> str:
        async with await psycopg.AsyncConnection.connect(seeded.url, autocommit=True) as conn:
            try:
                await verval.assignments.assign(conn, cid, rt_codes=[rt], household_ids=[], verifier=verifier,
                                                due_on=TODAY + timedelta(days=7), actor=f"race:{verifier}")  # fmt: skip
                return "won"
            except Conflict:
                return "409"

    async def race() -> tuple[list[str], int]:
        async with await psycopg.AsyncConnection.connect(seeded.url, autocommit=True) as conn:
            cid = (await create_campaign(conn, spec, CliPrincipal.current().actor))["id"]
        try:
            outcome = await asyncio.gather(*(attempt(cid, v) for v in ("rt.satu", "rt.dua", "rt.satu", "rt.dua")))
            async with await psycopg.AsyncConnection.connect(seeded.url) as conn:
                cur = await conn.execute("SELECT count(*) FROM assignment WHERE campaign_id = %s AND rt_code = %s"
                                         " AND status IN ('assigned', 'in_progress', 'submitted', 'returned')",
                                         (cid, rt))  # fmt: skip
                active = (await cur.fetchone())[0]
            return outcome, active
        finally:
            async with await psycopg.AsyncConnection.connect(seeded.url, autocommit=True) as conn:
                await conn.execute("DELETE FROM campaign WHERE id = %s", (cid,))

    outcome, active = asyncio.run(race())
    assert sorted(outcome) == ["409", "409", "409", "won"]
    assert active == 1


def test_statuses_follow_the_workflow_with_history(api, seeded, campaign):
    cid, rt1, rt2 = campaign["id"], seeded.rts[0], seeded.rts[1]
    _assign(api, seeded, cid, rt1, "rt.satu", str(TODAY + timedelta(days=14)))
    a = next(x for x in api.get(f"/api/v1/campaigns/{cid}/assignments", headers=seeded.auth("koor")).json()
             if x["rt_code"] == rt1)  # fmt: skip
    url = f"/api/v1/assignments/{a['id']}/status"
    v1, v2, koor = seeded.auth("rt.satu"), seeded.auth("rt.dua"), seeded.auth("koor")
    assert api.post(url, json={"status": "in_progress"}, headers=v2).status_code == 404  # not theirs
    assert api.post(url, json={"status": "approved"}, headers=v1).status_code == 403
    assert api.post(url, json={"status": "in_progress"}, headers=v1).json()["status"] == "in_progress"
    assert api.post(url, json={"status": "declined"}, headers=v1).status_code == 400  # needs a reason
    assert api.post(url, json={"status": "submitted"}, headers=v1).json()["status"] == "submitted"
    assert api.post(url, json={"status": "returned"}, headers=koor).status_code == 400
    back = api.post(url, json={"status": "returned", "reason": "foto rumah kurang"}, headers=koor).json()
    assert back["status"] == "returned"
    api.post(url, json={"status": "submitted"}, headers=v1)
    done = api.post(url, json={"status": "approved"}, headers=koor).json()
    assert [h["status"] for h in done["history"]] == ["assigned", "in_progress", "submitted", "returned",
                                                      "submitted", "approved"]  # fmt: skip
    assert done["history"][3]["reason"] == "foto rumah kurang" and done["history"][3]["actor"] == "user:koor"
    final = api.post(url, json={"status": "in_progress"}, headers=v1)
    assert final.status_code == 409  # approved is final
    # reassignment: cancel with a reason, assign to someone else; both stay in the history
    due = str(TODAY + timedelta(days=10))
    first = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt2], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert first.status_code == 201, first.text
    first = first.json()[0]
    cancel = api.post(f"/api/v1/assignments/{first['id']}/status", headers=koor,
                         json={"status": "cancelled", "reason": "dialihkan ke rt.dua"})  # fmt: skip
    assert cancel.json()["status"] == "cancelled"
    second = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                         json={"rt_codes": [rt2], "verifier": "rt.dua", "due_on": due})  # fmt: skip
    assert second.status_code == 201
    mine = api.get(f"/api/v1/campaigns/{cid}/assignments", headers=seeded.auth("rt.dua")).json()
    assert {m["verifier"] for m in mine} == {"rt.dua"}
    load = {w["verifier"]: w for w in api.get(f"/api/v1/campaigns/{cid}/workload", headers=koor).json()}
    pending = _db(api, """SELECT count(*) FROM campaign_target t
                          JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id
                            WHERE t.campaign_id = %s AND t.rt_code = %s
                              AND (h.tgl_verval IS NULL OR h.tgl_verval < %s)""",
                  cid, rt2, TODAY - timedelta(days=30))[0][0]  # fmt: skip
    assert load["rt.dua"]["rts"] >= 1 and load["rt.dua"]["families_to_verify"] >= pending
    cov = {r["code"]: r for r in api.get(f"/api/v1/campaigns/{cid}/coverage", headers=koor).json()}
    assert cov[rt2]["unassigned_targets"] == 0 and cov[rt2]["assigned_pending"] == cov[rt2]["pending"]


# --- field results -------------------------------------------------------------------------------


def _visit(api, family: int, cid: int, at, *, offset_m: float = 0.0, **extra) -> dict:
    import uuid

    lon, lat = _db(api, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", family)[0]
    return {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
            "visited_at": at.isoformat(), "lon": lon + offset_m / 111_320, "lat": lat, "accuracy_m": 8,
            "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5, **extra}  # fmt: skip


def test_visits_are_idempotent_flagged_and_approved_into_the_registry(api, seeded, campaign):
    from datetime import UTC, datetime

    cid, rt = campaign["id"], seeded.rts[0]
    koor, v1, v2 = seeded.auth("koor"), seeded.auth("rt.satu"), seeded.auth("rt.dua")
    due = str(TODAY + timedelta(days=10))
    # an RT assignment for rt.satu in this test's own campaign
    fresh = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                        json={"rt_codes": [rt], "verifier": "rt.satu", "due_on": due})  # fmt: skip
    assert fresh.status_code == 201, fresh.text
    families = [i for (i,) in _db(api, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 8", rt)]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    near = _visit(api, families[0], cid, t0, offset_m=20)
    far = _visit(api, families[1], cid, t0 + timedelta(minutes=30), offset_m=450)
    batch = api.post("/api/v1/verifications/batch", json={"visits": [far, near]}, headers=v1)
    assert batch.status_code == 200, batch.text
    res = {r["client_id"]: r for r in batch.json()["results"]}
    assert res[near["client_id"]]["status"] == "created" and res[near["client_id"]]["flags"] == []
    assert [f["code"] for f in res[far["client_id"]]["flags"]] == ["far_from_family"]
    # the phone sends the same batch again after losing its connection: nothing is inserted twice
    again = api.post("/api/v1/verifications/batch", json={"visits": [near, far]}, headers=v1).json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}
    count = _db(api, "SELECT count(*) FROM verification WHERE client_id IN (%s, %s)",
                near["client_id"], far["client_id"])[0][0]  # fmt: skip
    assert count == 2
    # someone else's family, or not assigned: rejected with the reason; a verifier's own speed and bursts
    other = _visit(api, families[2], cid, t0 + timedelta(minutes=40))
    assert api.post("/api/v1/verifications/batch", json={"visits": [other]}, headers=v2).json()["results"][0][
        "status"] == "rejected"  # fmt: skip
    jump = _visit(api, families[2], cid, t0 + timedelta(minutes=31), offset_m=0)
    jump["lon"] += 0.2  # 22 km away one minute later
    flags = api.post("/api/v1/verifications/batch", json={"visits": [jump]}, headers=v1).json()["results"][0]
    assert {"implausible_speed", "far_from_family"} <= {f["code"] for f in flags["flags"]}
    burst = [_visit(api, f, cid, t0 + timedelta(hours=1, minutes=i)) for i, f in enumerate(families[3:8])]
    out = api.post("/api/v1/verifications/batch", json={"visits": burst}, headers=v1).json()["results"]
    codes = [{f["code"] for f in r["flags"]} for r in sorted(out, key=lambda r: r["id"])]
    assert "identical_answers" in codes[-1] and "identical_answers" not in codes[0]
    # a verifier visiting their own family (same KK) is flagged
    api.db.execute("UPDATE app_user SET kk_hash = (SELECT kk_hash FROM household WHERE id = %s)"
                   " WHERE username = 'rt.satu'", (families[2],))  # fmt: skip
    own = _visit(api, families[2], cid, t0 + timedelta(hours=5))
    got = api.post("/api/v1/verifications/batch", json={"visits": [own]}, headers=v1).json()["results"][0]
    assert "own_family" in {f["code"] for f in got["flags"]}, got
    # approval updates the family, its ranking and its RT's figures on the next read
    before = _db(api, "SELECT verified_families FROM area_stats WHERE code = %s", rt)[0][0]
    fam_before = _db(api, "SELECT tgl_verval, version FROM household WHERE id = %s", families[0])[0]
    decided = api.post(f"/api/v1/verifications/{res[near['client_id']]['id']}/decision",
                          json={"decision": "approve"}, headers=koor)  # fmt: skip
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    tgl, version, hasil, k10, members = _db(
        api, "SELECT tgl_verval, version, hasil_verval, k10, jumlah_anggota FROM household WHERE id = %s",
        families[0])[0]  # fmt: skip
    assert (hasil, k10, members, version) == (1, False, 4, fam_before[1] + 1)
    assert tgl >= t0.date()  # the visit's date in Jambi (UTC+7)
    after = _db(api, "SELECT verified_families FROM area_stats WHERE code = %s", rt)[0][0]
    assert after == before + (0 if fam_before[0] is not None else 1)
    history = _db(api, "SELECT count(*) FROM household_version WHERE household_id = %s", families[0])[0][0]
    assert history >= 1
    assert api.post(f"/api/v1/verifications/{res[near['client_id']]['id']}/decision",
                       json={"decision": "approve"}, headers=koor).status_code == 409  # fmt: skip
    back = api.post(f"/api/v1/verifications/{res[far['client_id']]['id']}/decision",
                       json={"decision": "return"}, headers=koor)  # fmt: skip
    assert back.status_code == 400  # needs a reason
    assert api.post(f"/api/v1/verifications/{res[far['client_id']]['id']}/decision", headers=v1,
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
def test_bad_visit_batches_are_400(api, seeded, bad):
    assert api.post("/api/v1/verifications/batch", json=bad, headers=seeded.auth("rt.satu")).status_code == 400


def test_berita_acara_lists_the_kelurahan_results(api, seeded, campaign):
    from datetime import UTC, datetime

    cid, kel, rt = campaign["id"], seeded.kel, seeded.rts[0]
    _assign(api, seeded, cid, rt, "rt.satu", str(TODAY + timedelta(days=10)))  # this test's own visits to list
    families = [i for (i,) in _db(api, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 2", rt)]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    visits = [_visit(api, f, cid, t0 + timedelta(minutes=30 * i), result_code=1 + i) for i, f in enumerate(families)]
    posted = api.post("/api/v1/verifications/batch", json={"visits": visits}, headers=seeded.auth("rt.satu"))
    assert posted.status_code == 200 and {r["status"] for r in posted.json()["results"]} == {"created"}, posted.text
    since = _since(api)
    url = f"/api/v1/campaigns/{cid}/berita-acara/{kel}"
    rows = api.get(url, headers=seeded.auth("koor")).text.splitlines()
    visited = _db(api, """SELECT count(DISTINCT v.household_id) FROM verification v
                            JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
                            WHERE v.campaign_id = %s AND h.rt_code LIKE %s""", cid, kel + ".%")[0][0]  # fmt: skip
    assert rows[0].startswith("rt_code,kk_masked,nama_kepala") and len(rows) == visited + 1 > 1
    assert "terverifikasi" in rows[1] or any("terverifikasi" in r for r in rows[1:])
    page = api.get(url, params={"f": "html"}, headers=seeded.auth("koor"))
    assert page.headers["content-type"].startswith("text/html") and "Berita Acara Musyawarah" in page.text
    assert "window.print()" in page.text
    other = _db(api, "SELECT code FROM area WHERE level = 'kelurahan' AND code <> %s LIMIT 1", kel)[0][0]
    assert api.get(f"/api/v1/campaigns/{cid}/berita-acara/{other}", headers=seeded.auth("koor")).status_code == 404
    assert api.get(url, headers=seeded.auth("rt.satu")).status_code == 403
    reads = _db(api, "SELECT count(*) FROM audit_log WHERE object_type = 'verification' AND action = 'read'"
                       " AND at > %s", since)  # fmt: skip
    assert reads[0][0] >= 2


def test_a_nul_character_anywhere_is_a_400_not_a_500(api, seeded, campaign):
    nul = "a text value holds a NUL character (0x00), which no field can store"
    listed = api.get(f"/api/v1/campaigns/{campaign['id']}/assignments", params={"verifier": "a\x00b"},
                     headers=seeded.auth("admin"))  # fmt: skip
    assert (listed.status_code, listed.json()) == (400, {"detail": nul, "error_code": "bad_text"})
    named = api.post("/api/v1/campaigns", json={**CAMPAIGN, "name": "Verval\x00 2"}, headers=seeded.auth("koor"))
    assert (named.status_code, named.json()) == (400, {"detail": nul, "error_code": "bad_text"})
    assert _db(api, "SELECT count(*) FROM campaign WHERE name LIKE 'Verval%%'") == [(1,)]  # the fixture's only
