"""The application's database role: least privilege, and it cannot rewrite the audit trail."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql

from tests.conftest import _throwaway

STATEMENTS_REFUSED = [
    "UPDATE audit_log SET actor = 'x'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "SELECT * FROM audit_head",
    "UPDATE peta_config SET value = '{}'",
    "CREATE TABLE intruder (id int)",
    "DROP TABLE household",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_append_only",
    # escalation: users, keys and sessions change only through `peta` (the owner)
    "UPDATE app_user SET role = 'admin'",
    "UPDATE app_user SET scope_level = 'kota', scope_codes = '{15.71}'",
    "UPDATE app_user SET password_hash = 'x', disabled_at = NULL",
    "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
    " VALUES ('mallory', 'x', 'admin', 'kota', '{15.71}')",
    "DELETE FROM app_user",
    "INSERT INTO api_key (name, prefix, key_hash, scope_level, scope_codes) VALUES ('x', 'p', 'h', 'kota', '{15.71}')",
    "UPDATE api_key SET revoked_at = NULL",
    "UPDATE api_key SET scope_codes = '{15.71}', points_agreement = true",
    "UPDATE auth_session SET expires_at = now() + interval '1 year'",
    "UPDATE auth_session SET user_id = 1",
    "DELETE FROM auth_session",
    # the trail is written, never read back or rewritten; the registry and areas only through approvals/imports
    "SELECT * FROM audit_log",
    "SELECT * FROM login_attempt",
    "UPDATE household SET nama_kepala = 'x'",
    "INSERT INTO household (kk_hash, rt_code, geom, source) VALUES ('x', 'x', NULL, 'x')",
    "DELETE FROM household",
    "UPDATE household_version SET data = '{}'",
    "UPDATE area SET name = 'x'",
    "INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES ('15.71', 'K', 'kota',"
    " ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.61, -1.61, 4326)), 1, 't', 'h')",
    "UPDATE campaign SET name = 'x'",
    "DELETE FROM campaign",
    "UPDATE verification SET verifier_id = 1, result_code = 1",
    "DELETE FROM verification",
    "UPDATE assignment SET verifier_id = 1",
    "DELETE FROM verification_photo",
    "SELECT * FROM app_meta",
    "INSERT INTO peta_config (key, value) VALUES ('x', '{}')",
]


@pytest.fixture(scope="module")
def urls(server_url):
    """(the owner's URL, peta_app's URL) of a throwaway database."""
    for url in _throwaway(server_url, "approle"):
        password = secrets.token_urlsafe(12)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER ROLE peta_app LOGIN PASSWORD {}").format(sql.Literal(password)))
        head, _, tail = url.partition("@")
        yield url, f"postgresql://peta_app:{password}@{tail}"


@pytest.fixture(scope="module")
def app_url(urls):
    return urls[1]


def test_the_app_role_is_not_a_superuser_and_writes_are_audited(urls, app_url):
    with psycopg.connect(app_url) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            "peta_app",
            False,
        )
        conn.execute("SELECT set_config('peta.actor', 'api:tester', true)")
        conn.execute(
            "INSERT INTO campaign (name, target_kind, categories, starts_on, ends_on, created_by)"
            " VALUES ('audited', 'category', '{miskin}', '2026-01-01', '2026-02-01', 'api:tester')"
        )
        conn.commit()
        assert conn.execute("SELECT peta_audit_seal()").fetchone()[0] >= 1  # the app's sealer runs as the app
        conn.commit()
    with psycopg.connect(urls[0]) as owner:
        assert owner.execute(
            "SELECT actor, action, object_type, hash_version, hash IS NOT NULL FROM audit_log ORDER BY id DESC LIMIT 1"
        ).fetchone() == ("api:tester", "insert", "campaign", 4, True)
        owner.execute("DELETE FROM campaign WHERE name = 'audited'")


@pytest.mark.parametrize("statement", STATEMENTS_REFUSED)
def test_the_app_role_cannot(app_url, statement):
    with psycopg.connect(app_url) as conn:
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)):
            conn.execute(statement)


def test_the_served_app_does_its_whole_job_as_peta_app(urls, app_url, tmp_path):
    """Logins, sessions, keys, reads (audited), a verification round from campaign to approval (the registry,
    ranking and published figures follow), documents and exports: all with peta_app's rights alone."""
    import io
    from datetime import UTC, date, datetime, timedelta

    from fastapi.testclient import TestClient
    from PIL import Image

    from gis.audit import verify_chain
    from portal.app import create_app
    from tests.bridge import bridge
    from tests.hostile import RT, hostile_city

    world = hostile_city(urls[0], tmp_path)
    family = world["families"][0]
    with TestClient(create_app(url=app_url)) as client:

        def login(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": world["password"]})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        bad = client.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong-password!"})
        assert bad.status_code == 401
        admin, koor, verifier = login("admin"), login("koor"), login("rt.satu")
        assert client.get("/api/v1/auth/me", headers=koor).json()["role"] == "coordinator"
        agency = {"X-API-Key": world["key"]}
        assert client.get("/ogc/collections/households/items", headers=agency).json()["numberReturned"] == 3
        assert client.get(f"/api/v1/households/{family}", headers=admin).status_code == 200
        today = date.today()
        body = {"name": "Verval peta_app", "target_kind": "desil", "desil_min": 1, "desil_max": 10,
                "starts_on": str(today - timedelta(days=5)), "ends_on": str(today + timedelta(days=5))}  # fmt: skip
        campaign = client.post("/api/v1/campaigns", json=body, headers=koor)
        assert campaign.status_code == 201 and campaign.json()["targets"] == 3, campaign.text
        cid = campaign.json()["id"]
        assigned = client.post(f"/api/v1/campaigns/{cid}/assignments", headers=koor,
                               json={"rt_codes": [RT], "verifier": "rt.satu", "due_on": str(today)})  # fmt: skip
        assert assigned.status_code == 201, assigned.text
        moved = client.post(f"/api/v1/assignments/{assigned.json()[0]['id']}/status", headers=verifier,
                            json={"status": "in_progress"})  # fmt: skip
        assert moved.status_code == 200, moved.text
        with psycopg.connect(urls[0]) as owner:
            lon, lat = owner.execute("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", (family,)).fetchone()
        visit = {"client_id": "6f1c1f0e-2b1a-4c55-9f1e-0a6f3e2d9b01", "campaign_id": cid, "household_id": family,
                 "result_code": 1, "visited_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "lon": lon,
                 "lat": lat, "accuracy_m": 5, "jumlah_anggota": 5, "criteria": [True] * 10 + [False] * 4}  # fmt: skip
        sent = client.post("/api/v1/verifications/batch", json={"visits": [visit]}, headers=verifier)
        assert sent.status_code == 200 and sent.json()["results"][0]["status"] == "created", sent.text
        vid = sent.json()["results"][0]["id"]
        photo = io.BytesIO()
        Image.new("RGB", (8, 8), "white").save(photo, format="PNG")
        added = client.post(f"/api/v1/verifications/{vid}/photos", content=photo.getvalue(),
                            headers={**verifier, "Content-Type": "image/png"})  # fmt: skip
        assert added.status_code == 201, added.text
        near = client.get("/api/v1/spatial/households", params={"lon": lon, "lat": lat, "radius_m": 100}, headers=koor)
        assert near.status_code == 200, near.text
        decided = client.post(f"/api/v1/verifications/{vid}/decision", json={"decision": "approve"}, headers=koor)
        assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
        kel = RT[:13]
        for f in ("pdf", "csv", "html"):
            doc = client.get(f"/api/v1/campaigns/{cid}/berita-acara/{kel}", params={"f": f}, headers=koor)
            assert doc.status_code == 200, (f, doc.text)
        assert client.get("/api/v1/exports/households.csv", headers=admin).status_code == 200
        assert client.get("/api/v1/stats/kelurahan", params={"f": "csv"}).status_code == 200
        assert client.get(f"/api/v1/households/{family}/trail", headers=admin).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=admin).status_code == 204
        assert client.get("/api/v1/auth/me", headers=admin).status_code == 401
    with bridge(urls[0], keep=True) as owner:
        assert owner.execute(
            "SELECT h.version, h.jumlah_anggota, h.bps_count, v.version FROM household h"
            " JOIN household_version v ON v.household_id = h.id WHERE h.id = %s",
            (family,),
        ).fetchone() == (2, 5, 10, 1)  # approved into the registry, the previous state kept
        assert owner.execute("SELECT last_used_at IS NOT NULL FROM api_key").fetchone() == (True,)
        assert owner.execute("SELECT count(*) FROM audit_log WHERE actor LIKE 'key:%%'").fetchone() == (1,)
        assert owner.call(verify_chain).ok
