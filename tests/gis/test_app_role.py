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
]


@pytest.fixture(scope="module")
def app_url(server_url):
    for url in _throwaway(server_url, "approle"):
        password = secrets.token_urlsafe(12)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER ROLE peta_app LOGIN PASSWORD {}").format(sql.Literal(password)))
        head, _, tail = url.partition("@")
        yield f"postgresql://peta_app:{password}@{tail}"


def test_the_app_role_is_not_a_superuser_and_writes_are_audited(app_url):
    with psycopg.connect(app_url) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            "peta_app",
            False,
        )
        conn.execute("SELECT set_config('peta.actor', 'api:tester', true)")
        conn.execute(
            "INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES ('15.71', 'K', 'kota',"
            " ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.61, -1.61, 4326)), 1, 't', 'h')"
        )
        assert conn.execute("SELECT actor, object_ids FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == (
            "api:tester",
            ["15.71"],
        )
        conn.rollback()


@pytest.mark.parametrize("statement", STATEMENTS_REFUSED)
def test_the_app_role_cannot(app_url, statement):
    with psycopg.connect(app_url) as conn:
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)):
            conn.execute(statement)
