"""Users, sessions, keys and throttling against real PostGIS, through the CLI and the HTTP app."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from access.users import MAX_FAILURES
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.layers import load_sample_city

runner = CliRunner()
PASSWORD = "rahasia-sekali-123"


@pytest.fixture
def env(clean_committed, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    with psycopg.connect(clean_committed) as conn:
        load_sample_city(conn, tmp_path)
    yield clean_committed
    get_settings.cache_clear()


@pytest.fixture
def client(env):
    with TestClient(create_app(url=env)) as c:
        yield c


def add(username: str, *args: str) -> None:
    result = runner.invoke(cli, ["users", "add", username, *args], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_users_cli_and_errors(env):
    add("koordinator.barat", "--role", "coordinator", "--scope-level", "kecamatan", "--scope", "15.71.01")
    listed = runner.invoke(cli, ["users", "list"])
    assert "koordinator.barat" in listed.output and "kecamatan 15.71.01" in listed.output
    cases = [
        (["users", "add", "x1y", "--role", "boss"], "unknown role 'boss'"),
        (["users", "add", "ver", "--role", "verifier"], "a verifier's scope is a set of RTs"),
        (["users", "add", "koordinator.barat", "--role", "planner"], "the username 'koordinator.barat' is taken"),
        (
            ["users", "add", "p1", "--role", "planner", "--scope-level", "kecamatan", "--scope", "15.71.09"],
            "no kecamatan area with code(s) 15.71.09",
        ),
        (["users", "disable", "nobody"], "no user 'nobody'"),
    ]
    for argv, message in cases:
        result = runner.invoke(cli, argv, input=f"{PASSWORD}\n{PASSWORD}\n")
        assert result.exit_code == 1 and message in result.output, (argv, result.output)
    short = runner.invoke(cli, ["users", "add", "p2", "--role", "planner"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    with psycopg.connect(env) as conn:
        hashed = conn.execute("SELECT password_hash FROM app_user WHERE username = 'koordinator.barat'").fetchone()[0]
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_token_me_logout(client):
    add("perencana", "--role", "planner")
    r = login(client, "perencana")
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json() == {
        "name": "perencana",
        "role": "planner",
        "scope_level": "kota",
        "scope_codes": ["15.71"],
    }
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    gone = client.get("/api/v1/auth/me", headers=headers)
    assert gone.status_code == 401 and gone.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer forged-token"},
        {"X-API-Key": "pv_000000000000_nope"},
        {"X-API-Key": "garbage"},
    ],
)
def test_missing_and_forged_credentials_get_401(client, headers):
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and "detail" in r.json()


def test_disable_and_role_change_end_sessions_at_once(client):
    add("operator", "--role", "coordinator")
    first = {"Authorization": f"Bearer {login(client, 'operator').json()['access_token']}"}
    second = {"Authorization": f"Bearer {login(client, 'operator').json()['access_token']}"}
    assert runner.invoke(cli, ["users", "role", "operator", "--role", "planner"]).exit_code == 0
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401
    assert client.get("/api/v1/auth/me", headers=second).status_code == 401
    third = {"Authorization": f"Bearer {login(client, 'operator').json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=third).json()["role"] == "planner"
    assert runner.invoke(cli, ["users", "disable", "operator"]).exit_code == 0
    assert client.get("/api/v1/auth/me", headers=third).status_code == 401
    assert login(client, "operator").status_code == 401


def test_expired_session_is_refused(client, env):
    add("analis", "--role", "planner")
    headers = {"Authorization": f"Bearer {login(client, 'analis').json()['access_token']}"}
    with psycopg.connect(env) as conn:
        conn.execute("UPDATE auth_session SET expires_at = now() - interval '1 second'")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_failed_logins_are_throttled(client):
    add("target", "--role", "planner")
    for _ in range(MAX_FAILURES):
        assert login(client, "target", "wrong-password!").status_code == 401
    locked = login(client, "target")  # even the right password is refused while locked out
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert login(client, "someone-else", "whatever-pass").status_code == 401
    unknown = login(client, "nobody", "whatever-pass")
    assert unknown.json() == {"detail": "wrong username or password", "error_code": "wrong_credentials"}


def test_concurrent_wrong_passwords_from_one_address_evaluate_exactly_five(env):
    import asyncio

    import httpx

    add("sasaran", "--role", "planner")
    app = create_app(url=env)

    async def attempt(address: str, password: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://peta") as c:
            r = await c.post("/api/v1/auth/token", data={"username": "sasaran", "password": password})
            assert r.status_code in (401, 429) or r.status_code == 200, r.text
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) > 0
            return r.status_code

    async def run() -> tuple[list[int], int, int]:
        async with app.router.lifespan_context(app):
            codes = await asyncio.gather(*(attempt("198.51.100.7", "wrong-password!") for _ in range(24)))
            right_same = await attempt("198.51.100.7", PASSWORD)
            right_other = await attempt("203.0.113.9", PASSWORD)
        return list(codes), right_same, right_other

    codes, right_same, right_other = asyncio.run(run())
    assert sorted(codes) == [401] * MAX_FAILURES + [429] * (24 - MAX_FAILURES)
    assert right_same == 429  # this address is locked out of this account for the window
    assert right_other == 200  # the account itself is not: someone elsewhere logs in
    with psycopg.connect(env) as conn:
        evaluated = conn.execute(
            "SELECT client, ok, count(*) FROM login_attempt WHERE username = 'sasaran' GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
    assert evaluated == [("198.51.100.7", False, MAX_FAILURES), ("203.0.113.9", True, 1)]


def test_anonymous_requests_are_rate_limited_per_address(env, monkeypatch):
    monkeypatch.setenv("PETA_RATE_PER_MINUTE", "3")
    from core.settings import Settings

    app = create_app(Settings(), url=env)
    with (
        TestClient(app, client=("192.0.2.10", 5000)) as one,
        TestClient(app, client=("192.0.2.11", 5000)) as two,
        TestClient(app, client=("2001:db8:1:2::10", 5000)) as six,
        TestClient(app, client=("2001:db8:1:2::99", 5000)) as same_64,
    ):
        codes = [one.get("/api/v1/areas", params={"level": "kota"}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = one.get("/api/v1/areas", params={"level": "kota"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json() == {"detail": "too many requests; at most 3 a minute", "error_code": "throttled"}
        # any credential, valid or not, does not escape the address's bucket
        forged = one.get("/api/v1/areas", params={"level": "kota"}, headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 429
        assert one.post("/api/v1/auth/token", data={"username": "x", "password": "y"}).status_code == 429
        assert two.get("/api/v1/areas", params={"level": "kota"}).status_code == 200  # per address
        assert [six.get("/ogc/conformance").status_code for _ in range(3)] == [200, 200, 200]
        assert same_64.get("/ogc/conformance").status_code == 429  # one IPv6 /64 is one party


def _one_family(url: str) -> int:
    """An RT in the first kelurahan with one family; its id."""
    from boundaries.derive import derive_rt
    from tests.layers import KELURAHAN

    rt, point = f"{KELURAHAN[0][0]}.001.001", KELURAHAN[0][2].centroid
    with psycopg.connect(url) as conn:
        derive_rt(conn, [(0, rt, point.x, point.y)])
        return conn.execute(
            "INSERT INTO household (kk_hash, kk_masked, nik_kepala_hash, nik_kepala_masked, nama_kepala, kode_rt,"
            " rt_code, kota_code, geom, jumlah_anggota, " + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ", source)"
            " VALUES ('hash-a', '157101******0001', 'nik-a', '157101******0002', 'Siti Aminah', %s, %s, left(%s, 5),"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326), 4, " + ", ".join(["true"] * 9 + ["false"] * 5) + ", 'test')"
            " RETURNING id",
            (rt, rt, rt, point.x, point.y),
        ).fetchone()[0]


def test_an_agency_read_is_audited_as_personal_data_only(client, env):
    family = _one_family(env)
    with psycopg.connect(env) as conn:  # the audit log outlives the emptied tables: count only this test's rows
        before = conn.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]
    key = runner.invoke(cli, ["keys", "create", "BPJS Kesehatan", "--points-agreement"]).stdout.strip().splitlines()[-1]
    with psycopg.connect(env) as conn:
        key_id, created = conn.execute(
            "SELECT k.id, (SELECT count(*) FROM audit_log a WHERE a.object_type = 'api_key' AND a.action = 'insert'"
            " AND a.id > %s) FROM api_key k",
            (before,),
        ).fetchone()
        since = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    assert created == 1  # creating a key is audited
    r = client.get("/ogc/collections/households/items", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["numberReturned"] == 1
    with psycopg.connect(env) as conn:
        rows = conn.execute(
            "SELECT actor, role, action, object_type, object_ids FROM audit_log WHERE id > %s ORDER BY id", (since,)
        ).fetchall()
        used = conn.execute("SELECT last_used_at IS NOT NULL FROM api_key").fetchone()[0]
    assert rows == [(f"key:{key_id}", "agency", "read", "household", [str(family)])]
    assert used  # the bookkeeping is still kept, only not audited
    assert runner.invoke(cli, ["keys", "revoke", key.split("_")[1]]).exit_code == 0
    with psycopg.connect(env) as conn:
        revoked = conn.execute(
            "SELECT action, after->0->>'revoked_at' IS NOT NULL FROM audit_log"
            " WHERE id > %s AND object_type = 'api_key'",
            (since,),
        ).fetchall()
    assert revoked == [("update", True)]  # revocation still is


def test_agency_keys(client, env):
    created = runner.invoke(
        cli,
        ["keys", "create", "BPJS Kesehatan", "--scope-level", "kecamatan", "--scope", "15.71.02", "--points-agreement"],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("pv_")
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.json() == {
        "name": "BPJS Kesehatan",
        "role": "agency",
        "scope_level": "kecamatan",
        "scope_codes": ["15.71.02"],
    }
    with psycopg.connect(env) as conn:
        stored = conn.execute("SELECT key_hash, last_used_at IS NOT NULL, points_agreement FROM api_key").fetchone()
    assert stored[2] is True
    assert key.split("_", 2)[2] not in stored[0] and stored[1]
    assert "BPJS Kesehatan" in runner.invoke(cli, ["keys", "list"]).output
    assert runner.invoke(cli, ["keys", "revoke", key.split("_")[1]]).exit_code == 0
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert runner.invoke(cli, ["keys", "revoke", key.split("_")[1]]).exit_code == 1
    refused = runner.invoke(cli, ["keys", "create", "Dinkes", "--scope-level", "rt", "--scope", "x"])
    assert refused.exit_code == 1 and "city, kecamatan or kelurahan" in refused.output


def test_requests_are_rate_limited_per_key(env, monkeypatch):
    monkeypatch.setenv("PETA_RATE_PER_MINUTE", "3")
    from core.settings import Settings

    key = runner.invoke(cli, ["keys", "create", "Dinkes"]).stdout.strip().splitlines()[-1]
    other = runner.invoke(cli, ["keys", "create", "BPS"]).stdout.strip().splitlines()[-1]
    with TestClient(create_app(Settings(), url=env)) as c:
        codes = [c.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/v1/auth/me", headers={"X-API-Key": key})
        assert int(limited.headers["retry-after"]) >= 1
        assert c.get("/api/v1/auth/me", headers={"X-API-Key": other}).status_code == 200  # per key
    third = runner.invoke(cli, ["keys", "create", "BPJS", "--points-agreement"]).stdout.strip().splitlines()[-1]
    with TestClient(create_app(Settings(), url=env)) as c:  # one request is one hit, however many rules read the key
        codes = [c.get("/ogc/collections/households/items", headers={"X-API-Key": third}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
