"""Campaigns belong to one kab/kota (issue 16): with Kota Jambi and Kota Medan side by side in one database, a
campaign's targets, coverage and prelist are its own kab/kota's; names are unique per kab/kota; a coordinator of one
city neither sees nor makes the other city's campaigns; campaigns made before the rule get the kab/kota of their
targets (migration 0017). Expected figures are counted here from the tables, never through the product's SQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from db.connect import create_database, drop_database
from db.migrate import downgrade, migrate
from portal.app import create_app
from tests.boundaries.test_demo_cities import MEDAN, write_kota
from tests.conftest import _throwaway
from tests.people import PASSWORD, add_users, scope
from tests.worlds import insert_areas

START, END = str(date.today() - timedelta(days=30)), str(date.today() + timedelta(days=60))


@pytest.fixture(scope="module")
def cities(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    medan_file = write_kota(tmp_path_factory.mktemp("medan"), MEDAN)
    with contextmanager(_throwaway)(server_url, "kota") as url:
        with psycopg.connect(url) as conn:
            load_city(conn, generate_city(DemoConfig(scale=0.02, seed=3)))
            load_city(conn, generate_city(DemoConfig(boundaries=medan_file, scale=0.02, seed=3)), keep_others=True)
            conn.commit()
            medan_kel = conn.execute("SELECT min(code) FROM area WHERE level = 'kelurahan' AND code LIKE '12.71.%'"
                                     ).fetchone()[0]  # fmt: skip
        add_users(url, {"admin": ("admin", scope("kota", "15.71")),
                        "koor.medan": ("coordinator", scope("kelurahan", medan_kel))})  # fmt: skip
        get_settings.cache_clear()
        with TestClient(create_app(url=url)) as client:
            tokens = {u: client.post("/api/v1/auth/token", data={"username": u, "password": PASSWORD}).json()
                      for u in ("admin", "koor.medan")}  # fmt: skip
            auth = {u: {"Authorization": f"Bearer {t['access_token']}"} for u, t in tokens.items()}
            yield {"url": url, "client": client, "medan_kel": medan_kel, "auth": auth}


def _count(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def _desil_targets(url: str, kota: str) -> int:
    """The rule, from the tables: active families of the kab/kota in local desil 1-2."""
    query = ("SELECT count(*) FROM household h JOIN household_rank r ON r.household_id = h.id"
             " WHERE h.active AND h.rt_code LIKE %s AND r.local_desil BETWEEN 1 AND 2")  # fmt: skip
    return _count(url, query, kota + ".%")


def _new(client: TestClient, auth: dict[str, str], name: str, **extra: Any) -> Any:
    body = {"name": name, "target_kind": "desil", "desil_min": 1, "desil_max": 2, "starts_on": START, "ends_on": END}
    return client.post("/api/v1/campaigns", json=body | extra, headers=auth)


def test_a_campaign_is_one_kab_kotas(cities):
    client, admin, url = cities["client"], cities["auth"]["admin"], cities["url"]
    unnamed = _new(client, admin, "Verval tahap 1")
    assert unnamed.status_code == 400
    assert "several kab/kota are loaded (12.71, 15.71): name the campaign's kab/kota" in unnamed.json()["detail"]
    jambi = _new(client, admin, "Verval tahap 1", kota="15.71")
    assert jambi.status_code == 201, jambi.text
    expected = _desil_targets(url, "15.71")
    assert jambi.json()["kota_code"] == "15.71" and jambi.json()["targets"] == expected > 0
    cid = jambi.json()["id"]
    assert _count(url, "SELECT count(*) FROM campaign_target WHERE campaign_id = %s AND rt_code NOT LIKE '15.71.%%'",
                  cid) == 0  # fmt: skip
    medan = _new(client, admin, "Verval tahap 1", kota="12.71")  # the same name in another kab/kota
    assert medan.status_code == 201 and medan.json()["targets"] == _desil_targets(url, "12.71") > 0
    again = _new(client, admin, "Verval tahap 1", kota="15.71")
    assert again.status_code == 409
    assert again.json()["detail"] == "a campaign named 'Verval tahap 1' already exists in 15.71"
    nowhere = _new(client, admin, "Verval tahap 2", kota="73.71")
    assert nowhere.status_code == 404 and nowhere.json()["detail"] == "no kab/kota 73.71; loaded: 12.71, 15.71"
    assert _new(client, admin, "Verval tahap 2", kota="1571").status_code == 400
    # coverage lists the campaign's own kab/kota only, whatever else is loaded
    kec = client.get(f"/api/v1/campaigns/{cid}/coverage", params={"level": "kecamatan"}, headers=admin).json()
    codes = {r["code"] for r in kec}
    expected_kec = {c for (c,) in psycopg.connect(url).execute(
        "SELECT code FROM area WHERE level = 'kecamatan' AND code LIKE '15.71.%%'").fetchall()}  # fmt: skip
    assert codes == expected_kec and sum(r["targets"] for r in kec) == expected


def test_a_coordinator_sees_and_makes_only_their_own_citys_campaigns(cities):
    client, admin, koor = cities["client"], cities["auth"]["admin"], cities["auth"]["koor.medan"]
    jambi = _new(client, admin, "Hanya Jambi", kota="15.71").json()["id"]
    medan = _new(client, admin, "Hanya Medan", kota="12.71").json()["id"]
    listed = {c["name"]: c["kota_code"] for c in client.get("/api/v1/campaigns", headers=koor).json()}
    assert listed and set(listed.values()) == {"12.71"} and "Hanya Medan" in listed and "Hanya Jambi" not in listed
    assert {c["kota_code"] for c in client.get("/api/v1/campaigns", headers=admin).json()} == {"12.71", "15.71"}
    for path in ("", "/coverage", "/priorities", "/progress", "/verifications", "/workload", "/backchecks"):
        hidden = client.get(f"/api/v1/campaigns/{jambi}{path}", headers=koor)
        assert hidden.status_code == 404 and hidden.json()["detail"] == f"no campaign {jambi}", path
        assert client.get(f"/api/v1/campaigns/{medan}{path}", headers=koor).status_code == 200, path
    absent = client.get("/api/v1/campaigns/999999", headers=koor)
    assert absent.status_code == 404 and absent.json()["detail"] == "no campaign 999999"  # the same answer
    assert client.get(f"/api/v1/campaigns/{jambi}").status_code == 401  # the role check comes first
    refused = _new(client, koor, "Koor di Jambi", kota="15.71")
    assert refused.status_code == 404 and refused.json()["detail"] == "no kab/kota 15.71; loaded: 12.71"
    own = _new(client, koor, "Koor di Medan")  # the one kab/kota of their ground, without naming it
    assert own.status_code == 201 and own.json()["kota_code"] == "12.71"


def test_a_prelist_names_only_the_campaigns_kab_kota(cities):
    client, admin, url = cities["client"], cities["auth"]["admin"], cities["url"]
    body_in = {"name": "Usulan", "target_kind": "prelist", "starts_on": START, "ends_on": END, "kota": "15.71"}
    cid = client.post("/api/v1/campaigns", json=body_in, headers=admin).json()["id"]
    with psycopg.connect(url) as conn:
        (own,) = conn.execute("SELECT min(id) FROM household WHERE active AND rt_code LIKE '15.71.%'").fetchone()
        (other,) = conn.execute("SELECT min(id) FROM household WHERE active AND rt_code LIKE '12.71.%'").fetchone()
    body = f"household_id\n{own}\n{other}\n".encode()
    prelist = f"/api/v1/campaigns/{cid}/prelist"
    refused = client.post(prelist, files={"file": ("p.csv", body, "text/csv")}, headers=admin)
    unknown = client.post(prelist, files={"file": ("p.csv", b"household_id\n999999999\n", "text/csv")}, headers=admin)
    assert refused.status_code == unknown.status_code == 400
    # Medan's family reads exactly as one that does not exist
    assert refused.json()["detail"].split("row 3: ")[1] == unknown.json()["detail"].split("row 2: ")[1].replace(
        "999999999", str(other))  # fmt: skip
    added = client.post(f"/api/v1/campaigns/{cid}/prelist", files={"file": ("p.csv", body, "text/csv")},
                        data={"partial": "true"}, headers=admin)  # fmt: skip
    assert added.status_code == 200 and added.json()["added"] == 1


def _throwaway_at(server_url: str, tag: str, revision: str) -> Iterator[str]:
    """A throwaway database migrated up to `revision` only."""
    name = f"peta_test_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(server_url, name, drop_first=True)
    migrate(url, revision)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def test_campaigns_made_before_the_rule_get_their_kab_kota(server_url: str, tmp_path: Path):
    # up to 0022 and back only: the per-kab/kota audit chains (0023) are not undone once written to
    with contextmanager(_throwaway_at)(server_url, "kotamig", "0016") as url:
        with psycopg.connect(url) as conn:
            for code in ("15.71", "12.71"):
                conn.execute("INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES (%s, %s,"
                             " 'kota', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)), 1, 't', %s)",
                             (code, code, code))  # fmt: skip
            conn.execute("INSERT INTO campaign (name, target_kind, starts_on, ends_on, created_by) VALUES"
                         " ('Lama', 'prelist', %s, %s, 't'), ('Lama juga', 'prelist', %s, %s, 't')",
                         (START, END, START, END))  # fmt: skip
            conn.commit()
        migrate(url, "0022")
        with psycopg.connect(url) as conn:  # two kab/kota and no target: nothing to tell, NULL
            assert conn.execute("SELECT DISTINCT kota_code FROM campaign").fetchall() == [(None,)]
        downgrade(url, "0016")
        with psycopg.connect(url) as conn:  # a target in Medan: Medan's, though two kab/kota are loaded
            box = (98.6, 3.5, 98.7, 3.6)
            insert_areas(conn, [("12.71.01", "kecamatan", "12.71", box),
                                ("12.71.01.1001", "kelurahan", "12.71.01", box),
                                ("12.71.01.1001.001", "rw", "12.71.01.1001", box),
                                ("12.71.01.1001.001.001", "rt", "12.71.01.1001.001", box)])  # fmt: skip
            criteria = ", ".join(f"k{i:02d}" for i in range(1, 15))
            hid = conn.execute(f"INSERT INTO household (kk_hash, kk_masked, rt_code, geom, jumlah_anggota, source,"
                               f" {criteria}) VALUES ('kk-1', '127101******0001', '12.71.01.1001.001.001',"
                               f" ST_SetSRID(ST_MakePoint(98.65, 3.55), 4326), 3, 't', {', '.join(['false'] * 14)})"
                               " RETURNING id").fetchone()[0]  # fmt: skip
            conn.execute("INSERT INTO campaign_target (campaign_id, household_id, rt_code)"
                         " SELECT id, %s, '12.71.01.1001.001.001' FROM campaign WHERE name = 'Lama'",
                         (hid,))  # fmt: skip
            conn.commit()
        migrate(url, "0022")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name, kota_code FROM campaign ORDER BY name").fetchall() == [
                ("Lama", "12.71"), ("Lama juga", None)]  # fmt: skip
            conn.execute("DELETE FROM campaign_target")
            conn.execute("DELETE FROM household")
            conn.execute("DELETE FROM area WHERE level <> 'kota'")
            conn.commit()
        downgrade(url, "0016")
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM area WHERE code = '12.71'")
            conn.commit()
        migrate(url, "0022")
        with psycopg.connect(url) as conn:  # one kab/kota loaded: theirs
            assert conn.execute("SELECT DISTINCT kota_code FROM campaign").fetchall() == [("15.71",)]
