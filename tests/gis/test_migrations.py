"""Migrations go up, down and up again on a real database, leaving the same schema."""

from __future__ import annotations

import psycopg

from db.migrate import current_revision, downgrade, migrate
from tests.conftest import HEAD_REVISION, _throwaway

SCHEMA = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' AND table_name NOT IN ('spatial_ref_sys') ORDER BY 1, 2
"""


def test_upgrade_downgrade_upgrade(server_url):
    for url in _throwaway(server_url, "migrations"):
        with psycopg.connect(url) as conn:
            head = conn.execute(SCHEMA).fetchall()
            assert current_revision(conn) == HEAD_REVISION == "0017"
        downgrade(url, "0001")
        with psycopg.connect(url) as conn:
            tables = {t for t, _, _ in conn.execute(SCHEMA).fetchall()}
            assert "area_stats" not in tables and "household" in tables
        downgrade(url, "base")
        with psycopg.connect(url) as conn:
            assert {t for t, _, _ in conn.execute(SCHEMA).fetchall()} <= {
                "alembic_version",
                "geometry_columns",
                "geography_columns",
            }
        migrate(url)
        with psycopg.connect(url) as conn:
            assert conn.execute(SCHEMA).fetchall() == head
            keys = [k for (k,) in conn.execute("SELECT key FROM peta_config ORDER BY key").fetchall()]
            assert keys == ["aggregates", "disclosure", "placement", "ranking", "verval"]
