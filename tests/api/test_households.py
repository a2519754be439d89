"""A family's record: only admins, coordinators and verifiers, only inside their scope, every read audited."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.derive import derive_rt
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.layers import KELURAHAN, load_sample_city

PASSWORD = "rahasia-sekali-123"
RT_A = f"{KELURAHAN[0][0]}.001.001"  # kecamatan 15.71.01
RT_B = f"{KELURAHAN[2][0]}.001.001"  # kecamatan 15.71.02


@pytest.fixture(scope="module")
def world(committed_url, tmp_path_factory):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_sample_city(conn, tmp_path_factory.mktemp("hh"))
        a, b = KELURAHAN[0][2].centroid, KELURAHAN[2][2].centroid
        derive_rt(conn, [(0, RT_A, a.x, a.y), (1, RT_B, b.x, b.y)])
        ids = {}
        for rt, pt, kk in ((RT_A, a, "a"), (RT_B, b, "b")):
            ids[rt] = conn.execute(
                "INSERT INTO household (kk_hash, kk_masked, nik_kepala_hash, nik_kepala_masked, nama_kepala, kode_rt,"
                " rt_code, kota_code, geom, jumlah_anggota, "
                + ", ".join(f"k{i:02d}" for i in range(1, 15))
                + ", source)"
                " VALUES (%s, '157101******0001', %s, '157101******0002', 'Siti Aminah', %s, %s, left(%s, 5),"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326), 4, " + ", ".join(["true"] * 9 + ["false"] * 5) + ", 'test')"
                " RETURNING id",
                (f"hash-{kk}", f"nik-{kk}", rt, rt, rt, pt.x, pt.y),
            ).fetchone()[0]
    runner = CliRunner()
    env = {"DATABASE_URL": committed_url}
    get_settings.cache_clear()
    users = {
        "admin": [], "planner": [],
        "verifier": ["--scope-level", "rt", "--scope", RT_A],
        "coordinator": ["--scope-level", "kecamatan", "--scope", "15.71.02"],
    }  # fmt: skip
    for role, scope in users.items():
        out = runner.invoke(
            cli, ["users", "add", f"u.{role}", "--role", role, *scope], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
        )
        assert out.exit_code == 0, out.output
    key = runner.invoke(cli, ["keys", "create", "BPS"], env=env).stdout.strip().splitlines()[-1]
    get_settings.cache_clear()
    yield committed_url, ids, key
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world[0])) as c:
        yield c


def _as(client: TestClient, role: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": f"u.{role}", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.mark.parametrize("role,a,b", [
    ("admin", 200, 200), ("verifier", 200, 404), ("coordinator", 404, 200), ("planner", 403, 403),
])  # fmt: skip
def test_scope_decides_who_sees_which_family(client, world, role, a, b):
    headers = _as(client, role)
    ids = world[1]
    assert client.get(f"/api/v1/households/{ids[RT_A]}", headers=headers).status_code == a
    assert client.get(f"/api/v1/households/{ids[RT_B]}", headers=headers).status_code == b


def test_agencies_and_strangers_get_nothing(client, world):
    ids = world[1]
    assert client.get(f"/api/v1/households/{ids[RT_A]}", headers={"X-API-Key": world[2]}).status_code == 403
    assert client.get(f"/api/v1/households/{ids[RT_A]}").status_code == 401
    assert client.get("/api/v1/households/0", headers=_as(client, "admin")).status_code == 400
    assert client.get("/api/v1/households/999999", headers=_as(client, "admin")).status_code == 404


def test_the_record_is_masked_and_every_read_is_audited(client, world):
    ids = world[1]
    body = client.get(f"/api/v1/households/{ids[RT_A]}", headers=_as(client, "verifier")).json()
    assert body["kk_masked"] == "157101******0001" and body["nama_kepala"] == "Siti Aminah"
    assert "kk_hash" not in body and "nik_kepala_hash" not in body
    assert body["bps_count"] == 9 and body["criteria"]["k01"] is True and body["rt_code"] == RT_A
    with psycopg.connect(world[0]) as conn:
        row = conn.execute(
            "SELECT actor, role, action, object_type, object_ids FROM audit_log "
            "WHERE action = 'read' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row == ("user:u.verifier", "verifier", "read", "household", [str(ids[RT_A])])
