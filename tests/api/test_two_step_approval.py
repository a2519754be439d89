"""Approval of a visit in one step (the default) or two (verifier officer, then head of office; DOMAIN.md):
who may take which step, four eyes, both steps audited, figures counting only final approvals, the setting per
kab/kota and its validation.

Runs on the session's seeded city (tests/conftest.py `seeded`) through `api`; every write, the configuration and
the head-of-office grants included, is rolled back after each test.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.types.json import Jsonb

from core.config import load_config, validate_approval_steps, validate_kab_kota
from core.errors import InputError
from db import citus
from db.connect import with_database
from portal.app import create_app
from tests.conftest import _citus, _throwaway
from tests.hostile import RT, hostile_city

TODAY = date.today()
CAMPAIGN = {"name": "Verval dua tahap", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=30)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip


def _db(api, sql: str, *params):
    return api.db.execute(sql, params).fetchall()


def _steps(api, deployment: int, **kota: int) -> None:
    """Configure the deployment's approval steps and those of single kab/kota (as `peta rank apply` stores them)."""
    api.db.execute("UPDATE peta_config SET value = value || jsonb_build_object('approval_steps', %s::int)"
                   " WHERE key = 'verval'", (deployment,))  # fmt: skip
    own = {code.replace("_", "."): {"verval": {"approval_steps": n}} for code, n in kota.items()}
    api.db.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'", (Jsonb(own),))


def _head(api, *users: str) -> None:
    api.db.execute("UPDATE app_user SET head_of_office = true WHERE username = ANY (%s)", (list(users),))


def _visits(api, seeded, n: int) -> tuple[int, list[int], list[int]]:
    """A campaign with rt.satu assigned the first RT, and `n` visits of its families (no flags): campaign id, visit
    ids, family ids."""
    koor = seeded.auth("koor")
    r = api.post("/api/v1/campaigns", json=CAMPAIGN, headers=koor)
    assert r.status_code == 201, r.text
    cid, rt = r.json()["id"], seeded.rts[0]
    r = api.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                 json={"rt_codes": [rt], "verifier": "rt.satu", "due_on": str(TODAY + timedelta(days=10))})  # fmt: skip
    assert r.status_code == 201, r.text
    families = [i for (i,) in _db(api, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT %s", rt, n)]
    assert len(families) == n
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    batch = []
    for i, fam in enumerate(families):
        lon, lat = _db(api, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", fam)[0]
        batch.append({"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": fam, "result_code": 1,
                      "visited_at": (t0 + timedelta(minutes=20 * i)).isoformat(), "lon": lon, "lat": lat,
                      "accuracy_m": 5, "jumlah_anggota": 3 + i % 3,
                      "criteria": [j % (i + 2) == 0 for j in range(14)]})  # fmt: skip
    r = api.post("/api/v1/verifications/batch", json={"visits": batch}, headers=seeded.auth("rt.satu"))
    assert r.status_code == 200, r.text
    by_family = {x["household_id"]: x["client_id"] for x in batch}
    ids = {c: x["id"] for x in r.json()["results"] for c in [x["client_id"]]}
    assert {x["status"] for x in r.json()["results"]} == {"created"}
    return cid, [ids[by_family[f]] for f in families], families


def _decide(api, seeded, user: str, vid: int, decision: str = "approve", reason: str | None = None):
    body = {"decision": decision} | ({"reason": reason} if reason else {})
    return api.post(f"/api/v1/verifications/{vid}/decision", json=body, headers=seeded.auth(user))


def _photo(api, seeded, vid: int):
    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (16, 12), (90, 140, 60)).save(image, format="PNG")
    return api.post(f"/api/v1/verifications/{vid}/photos", content=image.getvalue(),
                    headers={**seeded.auth("rt.satu"), "Content-Type": "image/png"})  # fmt: skip


def _listed(api, seeded, user: str, cid: int, status: str) -> dict[int, dict]:
    r = api.get(f"/api/v1/campaigns/{cid}/verifications?status={status}", headers=seeded.auth(user))
    assert r.status_code == 200, r.text
    return {v["id"]: v for v in r.json()}


def _approved_in_progress(api, seeded, cid: int) -> int:
    r = api.get(f"/api/v1/campaigns/{cid}/progress?by=month", headers=seeded.auth("koor"))
    assert r.status_code == 200, r.text
    return sum(p["approved"] for p in r.json()["series"])


def test_one_step_is_the_default_and_approves_at_once(api, seeded):
    cid, (vid,), (fam,) = _visits(api, seeded, 1)
    pending = _listed(api, seeded, "koor", cid, "submitted")[vid]
    assert (pending["approval_steps"], pending["step"], pending["may_decide"], pending["refusal"]) == (1, 1, True, None)
    assert _listed(api, seeded, "rt.satu", cid, "submitted")[vid]["refusal"] == "not_staff"
    r = _decide(api, seeded, "koor", vid)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"], r.json()["checked_by"]) == ("approved", "user:koor", None)
    assert _db(api, "SELECT hasil_verval FROM household WHERE id = %s", fam) == [(1,)]


def test_two_steps_role_by_step_four_eyes_audit_and_figures(api, seeded):
    _steps(api, 2)
    cid, (a, b, c, d), families = _visits(api, seeded, 4)
    since = _db(api, "SELECT clock_timestamp()")[0][0]  # by time: on Citus ids are per node
    before = _db(api, "SELECT tgl_verval, version FROM household WHERE id = %s", families[0])[0]
    figures_before = _db(api, "SELECT verified_families FROM area_stats WHERE code = %s", seeded.rts[0])[0][0]

    # no verifier or planner takes either step
    for user in ("rt.satu", "plan"):
        assert _decide(api, seeded, user, a).status_code == 403
    # step 1: the verifier officer checks; nothing reaches the family's record or the figures yet
    r = _decide(api, seeded, "koor", a, reason="sesuai")
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["checked_by"], got["decided_by"], got["approval_steps"]) == \
        ("checked", "user:koor", None, 2)  # fmt: skip
    assert got["checked_at"] is not None
    assert _db(api, "SELECT tgl_verval, version FROM household WHERE id = %s", families[0])[0] == before
    assert _db(api, "SELECT verified_families FROM area_stats WHERE code = %s", seeded.rts[0])[0][0] == figures_before
    assert _approved_in_progress(api, seeded, cid) == 0
    # a checked visit still awaits its decision: the phone's queued photo still comes in
    assert _photo(api, seeded, a).status_code == 201
    # step 2 is a head of office's: a coordinator or an administrator without the permission is refused, with why
    for user in ("koor", "admin"):
        r = _decide(api, seeded, user, a)
        assert r.status_code == 403 and "head of office" in r.text, r.text
    checked = _listed(api, seeded, "koor", cid, "checked")
    assert list(checked) == [a]
    assert (checked[a]["step"], checked[a]["may_decide"], checked[a]["refusal"]) == (2, False, "not_head")
    _head(api, "admin")
    assert _listed(api, seeded, "admin", cid, "checked")[a]["may_decide"] is True
    r = _decide(api, seeded, "admin", a)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["checked_by"], r.json()["decided_by"]) == \
        ("approved", "user:koor", "user:admin")  # fmt: skip
    tgl, version = _db(api, "SELECT tgl_verval, version FROM household WHERE id = %s", families[0])[0]
    assert tgl is not None and version == before[1] + 1
    figures_after = _db(api, "SELECT verified_families FROM area_stats WHERE code = %s", seeded.rts[0])[0][0]
    assert figures_after == figures_before + (0 if before[0] is not None else 1)
    assert _approved_in_progress(api, seeded, cid) == 1
    assert _decide(api, seeded, "admin", a).status_code == 409  # final
    assert _photo(api, seeded, a).status_code == 409

    # four eyes: a head of office who checked a visit does not decide it, approving or returning
    _head(api, "koor")
    assert _decide(api, seeded, "koor", b).json()["status"] == "checked"
    for decision in ("approve", "return"):
        r = _decide(api, seeded, "koor", b, decision, reason="salah")
        assert r.status_code == 403 and "four eyes" in r.text, r.text
    assert _listed(api, seeded, "koor", cid, "checked")[b]["refusal"] == "four_eyes"
    assert _decide(api, seeded, "admin", b, "return").status_code == 400  # a return needs a reason
    r = _decide(api, seeded, "admin", b, "return", reason="foto tidak jelas")
    assert (r.json()["status"], r.json()["checked_by"], r.json()["decided_by"]) == \
        ("returned", "user:koor", "user:admin")  # fmt: skip
    # the first step may return too; a head of office may take the first step of another visit
    r = _decide(api, seeded, "koor", c, "return", reason="anggota kurang")
    assert (r.json()["status"], r.json()["checked_by"], r.json()["decided_by"]) == ("returned", None, "user:koor")
    assert _decide(api, seeded, "admin", d).json()["status"] == "checked"
    assert _decide(api, seeded, "admin", d).status_code == 403
    assert _decide(api, seeded, "koor", d).json()["status"] == "approved"
    assert _approved_in_progress(api, seeded, cid) == 2

    # both steps audited: who, when, and the visit before and after each
    rows = _db(api, "SELECT actor, at, before -> 0 ->> 'status', after -> 0 ->> 'status', after -> 0 ->> 'checked_by',"
                    " after -> 0 ->> 'decided_by' FROM audit_log WHERE at > %s AND object_type = 'verification'"
                    " AND action = 'update' AND object_ids = ARRAY[%s::text] ORDER BY id", since, a)  # fmt: skip
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("user:koor", "submitted", "checked", "user:koor", None),
        ("user:admin", "checked", "approved", "user:koor", "user:admin"),
    ]
    assert rows[0][1] <= rows[1][1]


def test_the_number_of_steps_is_set_per_kab_kota(api, seeded):
    kota = seeded.kel[:5]
    _steps(api, 1, **{kota.replace(".", "_"): 2})
    cid, (a, b), _ = _visits(api, seeded, 2)
    assert _listed(api, seeded, "koor", cid, "submitted")[a]["approval_steps"] == 2
    assert _decide(api, seeded, "koor", a).json()["status"] == "checked"
    _steps(api, 2, **{kota.replace(".", "_"): 1})
    assert _decide(api, seeded, "koor", b).json()["status"] == "approved"
    # a visit checked while two steps were in force is still finished by a head of office
    r = _decide(api, seeded, "koor", a)
    assert r.status_code == 403 and "head of office" in r.text


def test_the_command_line_takes_either_step_but_not_both(api, seeded):
    """`peta campaign decide` acts with the administrator's rights and counts as a head of office; four eyes hold."""
    from core.errors import Forbidden
    from core.principal import CliPrincipal
    from verval.visits import decide

    _steps(api, 2)
    _, (a, b), _ = _visits(api, seeded, 2)
    cli = CliPrincipal.current()
    assert _decide(api, seeded, "koor", a).json()["status"] == "checked"
    done = api.db.call(decide, a, True, None, cli)
    assert (done["status"], done["checked_by"], done["decided_by"]) == ("approved", "user:koor", cli.actor)
    assert api.db.call(decide, b, True, None, cli)["status"] == "checked"
    with pytest.raises(Forbidden, match="four eyes"):
        api.db.call(decide, b, True, None, cli)


def test_a_head_of_office_permission_is_refused_to_other_roles(api, seeded):
    from access.users import set_head_of_office, set_role

    with pytest.raises(psycopg.errors.CheckViolation):
        with api.db.transaction():
            api.db.execute("UPDATE app_user SET head_of_office = true WHERE username = 'rt.satu'")
    with pytest.raises(InputError, match="only a coordinator or administrator"):
        api.db.call(set_head_of_office, "rt.satu", True)
    api.db.call(set_head_of_office, "koor", True)
    assert _db(api, "SELECT head_of_office FROM app_user WHERE username = 'koor'") == [(True,)]
    audited = _db(api, "SELECT after -> 0 ->> 'head_of_office' FROM audit_log WHERE object_type = 'app_user'"
                       " AND object_ids = '{koor}' ORDER BY id DESC LIMIT 1")  # fmt: skip
    assert audited == [("true",)]
    api.db.call(set_role, "koor", "planner", "kelurahan", [seeded.kel])  # no longer staff: no longer head
    assert _db(api, "SELECT role, head_of_office FROM app_user WHERE username = 'koor'") == [("planner", False)]


@pytest.mark.parametrize("bad", [0, 3, "2", True, 2.0, None])
def test_a_bad_number_of_steps_is_named(bad):
    assert validate_approval_steps(bad) == [
        f"verval.approval_steps: 1 (verifier officer) or 2 (verifier officer, then head of office) expected, "
        f"got {bad!r}"]  # fmt: skip
    assert validate_kab_kota({"15.71": {"verval": {"approval_steps": bad}}}) == [
        f"kab_kota.15.71.verval.approval_steps: 1 (verifier officer) or 2 (verifier officer, then head of office) "
        f"expected, got {bad!r}"]  # fmt: skip


def test_a_configuration_file_with_a_bad_number_of_steps_is_refused_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PETA_CONFIG", raising=False)
    good = tmp_path / "good.yaml"
    good.write_text('verval: {approval_steps: 2}\nkab_kota: {"15.71": {verval: {approval_steps: 1}}}\n')
    cfg = load_config(good)
    assert cfg["verval"]["approval_steps"] == 2 and cfg["kab_kota"]["15.71"]["verval"] == {"approval_steps": 1}
    assert load_config()["verval"]["approval_steps"] == 1  # the shipped default: one step
    bad = tmp_path / "bad.yaml"
    bad.write_text('verval: {approval_steps: 3}\nkab_kota: {"15.71": {verval: {approval_steps: dua, other: 1}}}\n')
    with pytest.raises(InputError) as err:
        load_config(bad)
    assert [p for p in err.value.problems if "verval" in p] == [
        "kab_kota.15.71.verval: a kab/kota may set only aggregates: city_poverty_rate; programs: local; "
        "verval: approval_steps",
        "kab_kota.15.71.verval.approval_steps: 1 (verifier officer) or 2 (verifier officer, then head of office) "
        "expected, got 'dua'",
        "verval.approval_steps: 1 (verifier officer) or 2 (verifier officer, then head of office) expected, got 3",
    ]


def test_both_steps_work_with_the_application_role_alone(server_url, tmp_path):
    """The served application with peta_app's rights alone (which may write only the columns granted to it) takes
    both steps; the owner configures two steps and names the head of office. The app logs in as a role of this test
    holding nothing but membership of peta_app, so the shared role's password is left alone."""
    login, password = f"peta_app_twostep_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    admin = with_database(server_url, "postgres")  # the server's own database (the embedded one has no `peta`)
    on_citus = _citus()
    if on_citus is None:
        with psycopg.connect(admin, autocommit=True) as su:
            su.execute(sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {} IN ROLE peta_app").format(
                sql.Identifier(login), sql.Literal(password)))  # fmt: skip
    try:
        for url in _throwaway(server_url, "twostep"):
            if on_citus is not None:  # the login on every node, and how the nodes reach each other as it
                citus.add_login(on_citus, url.rsplit("/", 1)[1], login, password, "peta_app")
            app_url = f"postgresql://{login}:{password}@" + url.partition("@")[2]
            with psycopg.connect(app_url) as app:  # peta_app's rights and nothing else
                rights = "SELECT has_table_privilege('verification', 'UPDATE'), pg_has_role('peta_app', 'USAGE')"
                assert app.execute(rights).fetchone() == (False, True)
            _both_steps_as(url, app_url, tmp_path)
    finally:
        if on_citus is not None:
            citus.drop_login(on_citus, login)
        else:
            with psycopg.connect(admin, autocommit=True) as su:
                su.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def _both_steps_as(url: str, app_url: str, tmp_path) -> None:
    """A visit checked by the officer, then approved by the head of office, served from `app_url`."""
    world = hostile_city(url, tmp_path)
    family = world["families"][0]
    with psycopg.connect(url) as owner:
        owner.execute("UPDATE peta_config SET value = value || '{\"approval_steps\": 2}' WHERE key = 'verval'")
        owner.execute("UPDATE app_user SET head_of_office = true WHERE username = 'admin'")
        lon, lat = owner.execute("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", (family,)).fetchone()
    with TestClient(create_app(url=app_url)) as client:
        auth = {
            u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", data={
                "username": u, "password": world["password"]}).json()["access_token"]}
            for u in ("admin", "koor", "rt.satu")
        }  # fmt: skip
        body = dict(CAMPAIGN, desil_max=10)
        cid = client.post("/api/v1/campaigns", json=body, headers=auth["koor"]).json()["id"]
        assigned = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=auth["koor"],
                               json={"rt_codes": [RT], "verifier": "rt.satu", "due_on": str(TODAY)})  # fmt: skip
        assert assigned.status_code == 201, assigned.text
        visit = {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
                 "visited_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "lon": lon, "lat": lat,
                 "accuracy_m": 5, "jumlah_anggota": 5, "criteria": [True] * 10 + [False] * 4}  # fmt: skip
        sent = client.post("/api/v1/verifications/batch", json={"visits": [visit]}, headers=auth["rt.satu"])
        vid = sent.json()["results"][0]["id"]
        checked = client.post(f"/api/v1/verifications/{vid}/decision", json={"decision": "approve"},
                              headers=auth["koor"])  # fmt: skip
        assert checked.status_code == 200 and checked.json()["status"] == "checked", checked.text
        decided = client.post(f"/api/v1/verifications/{vid}/decision", json={"decision": "approve"},
                              headers=auth["admin"])  # fmt: skip
        assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    with psycopg.connect(url) as owner:
        assert owner.execute(
            "SELECT v.checked_by, v.decided_by, h.version FROM verification v JOIN household h"
            " ON h.kota_code = v.kota_code AND h.id = v.household_id WHERE v.id = %s", (vid,)
        ).fetchone() == ("user:koor", "user:admin", 2)  # fmt: skip


def _checked_visit(conn: psycopg.Connection) -> int:
    """A family of one RT in 15.71 visited and checked by the verifier officer: the visit's id."""
    from tests.worlds import insert_kota_chains

    rt = "15.71.01.1001.001.001"
    insert_kota_chains(conn, ("15.71",), (103.60, -1.62, 103.62, -1.60))
    uid = conn.execute("INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
                       " VALUES ('v.satu', 'x', 'verifier', 'rt', %s) RETURNING id", ([rt],)).fetchone()[0]  # fmt: skip
    hid = conn.execute(
        "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, geom, jumlah_anggota, source, "
        + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ") VALUES ('kk-1', 'x', %s, '15.71',"
        " ST_SetSRID(ST_MakePoint(103.61, -1.61), 4326), 3, 'test', " + ", ".join(["false"] * 14) + ") RETURNING id",
        (rt,),
    ).fetchone()[0]  # fmt: skip
    cid = conn.execute("INSERT INTO campaign (name, target_kind, starts_on, ends_on, created_by, kota_code)"
                       " VALUES ('Verval', 'prelist', '2026-01-01', '2026-12-31', 'test', '15.71') RETURNING id"
                       ).fetchone()[0]  # fmt: skip
    aid = conn.execute("INSERT INTO assignment (campaign_id, rt_code, verifier_id, assigned_by, due_on, kota_code)"
                       " VALUES (%s, %s, %s, 'test', '2026-12-31', '15.71') RETURNING id", (cid, rt, uid)
                       ).fetchone()[0]  # fmt: skip
    return int(conn.execute(
        "INSERT INTO verification (client_id, campaign_id, assignment_id, household_id, verifier_id, result_code,"
        " visited_at, kota_code, status, checked_by, checked_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, 1, now(),"
        " '15.71', 'checked', 'user:koor', now()) RETURNING id", (cid, aid, hid, uid)
    ).fetchone()[0])  # fmt: skip


def test_the_migration_goes_down_only_when_no_visit_waits_for_its_second_step(server_url, tmp_path):
    """At 0024 (later migrations left out): a checked visit stops the downgrade, naming why; decided, it goes down
    (the columns and the permission go) and up again."""
    from db.connect import create_database, drop_database
    from db.migrate import current_revision, downgrade, migrate

    name = f"peta_test_m0024_{secrets.token_hex(3)}"
    url = create_database(server_url, name, drop_first=True)
    try:
        migrate(url, "0024")
        with psycopg.connect(url) as conn:
            vid = _checked_visit(conn)
        with pytest.raises(Exception, match="visits are checked and wait for a head of office"):
            downgrade(url, "0023")
        with psycopg.connect(url) as conn:
            assert current_revision(conn) == "0024"
            conn.execute("UPDATE verification SET status = 'returned', decided_by = 'user:admin', decided_at = now(),"
                         " decision_reason = 'x' WHERE id = %s", (vid,))  # fmt: skip
        downgrade(url, "0023")
        with psycopg.connect(url) as conn:
            columns = ("SELECT count(*) FROM information_schema.columns"
                       " WHERE column_name IN ('checked_by', 'checked_at', 'head_of_office')")  # fmt: skip
            assert conn.execute(columns).fetchone() == (0,)
            assert conn.execute("SELECT status FROM verification WHERE id = %s", (vid,)).fetchone() == ("returned",)
        migrate(url, "0024")
        with psycopg.connect(url) as conn:
            assert current_revision(conn) == "0024"
            assert conn.execute("SELECT checked_by FROM verification WHERE id = %s", (vid,)).fetchone() == (None,)
    finally:
        drop_database(server_url, name)
