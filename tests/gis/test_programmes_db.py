"""Programme rosters in the database (migration 0025): the tables hang off families by (id, kota_code), the
application role appends versions and never rewrites them, and the migration goes down and up (refusing to drop
rosters once any was kept)."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from typer.testing import CliRunner

from core.privacy import keyed_hash
from core.settings import Settings, get_settings
from db.connect import create_database, drop_database
from db.migrate import downgrade, migrate
from peta.cli import app as cli
from portal.app import create_app
from tests.conftest import _throwaway
from tests.hostile import hostile_city

SECRET = "programme-role-test-key-abcdefghijklmnop0123"
KK = "1571010101010001"
TABLES = ("programme_roster", "programme_recipient")


@pytest.fixture(scope="module")
def urls(server_url):
    """(the owner's URL, peta_app's URL) of a throwaway database."""
    for url in _throwaway(server_url, "progrole"):
        password = secrets.token_urlsafe(12)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER ROLE peta_app LOGIN PASSWORD {}").format(sql.Literal(password)))
        _, _, tail = url.partition("@")
        yield url, f"postgresql://peta_app:{password}@{tail}"


@pytest.mark.parametrize("statement", [
    "UPDATE programme_roster SET matched = 0",
    "DELETE FROM programme_roster",
    "TRUNCATE programme_roster",
    "UPDATE programme_recipient SET household_id = 1",
    "DELETE FROM programme_recipient",
    "UPDATE api_key SET programme = NULL",
    "UPDATE api_key SET programme_names = true",
    "UPDATE programme_eligible SET desil_resmi = 1",
    "DELETE FROM programme_eligible",
    "UPDATE programme_list SET families = 0",
    "DELETE FROM programme_list",
])  # fmt: skip
def test_the_app_role_cannot_rewrite_a_version(urls, statement):
    with psycopg.connect(urls[1]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_served_app_takes_a_roster_as_peta_app(urls, tmp_path):
    world = hostile_city(urls[0], tmp_path)
    family = world["families"][0]
    with psycopg.connect(urls[0]) as owner:
        owner.execute("UPDATE household SET kk_hash = %s WHERE id = %s", (keyed_hash(SECRET.encode(), KK), family))
    get_settings.cache_clear()
    made = CliRunner().invoke(cli, ["programmes", "key", "Dinsos PKH", "--programme", "PKH"],
                              env={"DATABASE_URL": urls[0]})  # fmt: skip
    get_settings.cache_clear()
    assert made.exit_code == 0, made.output
    key = {"X-API-Key": made.stdout.strip().splitlines()[-1]}
    with TestClient(create_app(Settings(PETA_SECRET_KEY=SECRET), url=urls[1])) as client:
        sent = client.post("/api/v1/programmes/PKH/rosters", headers=key, data={"period": "2026-12"},
                           files={"file": ("pkh.csv", f"no_kk\n{KK}\n".encode(), "text/csv")})  # fmt: skip
        assert sent.status_code == 201, sent.text
        assert (sent.json()["matched"], sent.json()["version"]) == (1, 1)
        listed = client.get("/api/v1/programmes/PKH/rosters", headers=key)
        assert [v["id"] for v in listed.json()] == [sent.json()["roster_id"]]
        with psycopg.connect(urls[0]) as owner:
            owner.execute("UPDATE household SET desil_resmi = CASE WHEN id = %s THEN 2 ELSE 9 END", (family,))
        pulled = client.get("/api/v1/programmes/PKH/eligible", headers=key, params={"period": "2026-01"})
        assert pulled.status_code == 200, pulled.text
        assert [i["kk_hash"] for i in pulled.json()["items"]] == [keyed_hash(SECRET.encode(), KK)]
    with psycopg.connect(urls[0]) as owner:
        assert owner.execute("SELECT household_id, kota_code FROM programme_recipient").fetchall() == [
            (family, "15.71")]
        kinds = owner.execute("SELECT object_type, kota_code FROM audit_log WHERE object_type LIKE 'programme%%'"
                              " ORDER BY id").fetchall()  # fmt: skip
        assert kinds == [("programme_roster", ""), ("programme_recipient", "15.71"), ("programme_list", "15.71"),
                         ("programme_eligible", "15.71")]  # fmt: skip


def test_a_recipient_points_at_a_family_of_its_own_kab_kota(urls):
    with psycopg.connect(urls[0]) as conn:
        family, kota = conn.execute("SELECT id, kota_code FROM household ORDER BY id LIMIT 1").fetchone()
        rid = conn.execute("INSERT INTO programme_roster (programme, period, uploaded_by, file_sha256, rows, matched,"
                           " unmatched) VALUES ('PKH', '2026-10', 'cli:test', %s, 1, 1, 0) RETURNING id",
                           ("0" * 64,)).fetchone()[0]  # fmt: skip
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO programme_recipient (roster_id, household_id, kota_code, row)"
                         " VALUES (%s, %s, '12.71', 2)", (rid, family))  # fmt: skip
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO programme_roster (programme, period, uploaded_by, file_sha256, rows, matched,"
                         " unmatched) VALUES ('PKH', '2026-13', 'cli:test', %s, 1, 1, 0)", ("0" * 64,))  # fmt: skip
        conn.rollback()
        assert kota == "15.71"


def test_0025_goes_down_and_up_and_keeps_rosters(server_url):
    name = f"peta_test_m0025_{secrets.token_hex(3)}"
    url = create_database(server_url, name, drop_first=True)
    try:
        migrate(url, "0025")
        downgrade(url, "0024")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('programme_roster'), to_regclass('programme_recipient')"
                                ).fetchone() == (None, None)  # fmt: skip
            assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'api_key'"
                                " AND column_name = 'programme'").fetchone()[0] == 0  # fmt: skip
        migrate(url, "0025")
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO programme_roster (programme, period, uploaded_by, file_sha256, rows, matched,"
                         " unmatched) VALUES ('PKH', '2026-12', 'cli:test', %s, 0, 0, 0)", ("0" * 64,))  # fmt: skip
        with pytest.raises(Exception, match="programme rosters were uploaded"):
            downgrade(url, "0024")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM programme_roster").fetchone()[0] == 1
    finally:
        drop_database(server_url, name)


def test_a_programme_key_holds_no_points_agreement_and_names_need_a_programme(db):
    from access.keys import create_key
    from core.errors import InputError

    with pytest.raises(InputError, match="a programme key exchanges its programme's lists only; it holds no points"):
        db.call(create_key, "Dinsos PKH", "kota", ["15.71"], True, programme="PKH")
    with pytest.raises(InputError, match="only a programme key's lists may carry names and addresses"):
        db.call(create_key, "Dinkes", "kota", ["15.71"], programme_names=True)
