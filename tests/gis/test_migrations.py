"""Migrations go up, down and up again on a real database, leaving the same schema."""

from __future__ import annotations

import psycopg

from db.migrate import current_revision, downgrade, migrate
from tests.conftest import HEAD_REVISION, _throwaway
from tests.worlds import insert_areas

SCHEMA = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' AND table_name NOT IN ('spatial_ref_sys') ORDER BY 1, 2
"""


def test_upgrade_downgrade_upgrade(server_url):
    for url in _throwaway(server_url, "migrations"):
        with psycopg.connect(url) as conn:
            head = conn.execute(SCHEMA).fetchall()
            assert current_revision(conn) == HEAD_REVISION == "0018"
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
            assert keys == ["aggregates", "disclosure", "placement", "programs", "ranking", "verval"]


RT = "15.71.01.1001.001.001"
_FAMILIES = [  # kk, programmes, criteria met: poor from 9
    ("m1", ["KARTU-BAHAGIA", "PKH"], 10),
    ("m2", ["KARTU-BAHAGIA"], 3),
    ("m3", [], 12),
    ("m4", ["PKH"], 9),
]


def _local_cells(conn: psycopg.Connection, recipients: str, without: str) -> list[tuple[str, int, int]]:
    return conn.execute(f"SELECT code, {recipients}, {without} FROM area_stats ORDER BY code").fetchall()


def test_0018_keeps_counting_the_local_programme_a_database_already_holds(server_url):
    """A database of 0017 whose families receive KARTU-BAHAGIA comes out of 0018 with it listed as a local
    programme and the same figures under the new names; back down, the old columns hold them again."""
    for url in _throwaway(server_url, "m0018"):
        downgrade(url, "0017")
        with psycopg.connect(url) as conn:
            insert_areas(conn, [(c, lv, p, (103.60, -1.62, 103.62, -1.60)) for c, lv, p in (
                ("15.71", "kota", None), ("15.71.01", "kecamatan", "15.71"), ("15.71.01.1001", "kelurahan", "15.71.01"),
                ("15.71.01.1001.001", "rw", "15.71.01.1001"), (RT, "rt", "15.71.01.1001.001"))])  # fmt: skip
            for kk, programs, met in _FAMILIES:
                conn.execute(
                    "INSERT INTO household (kk_hash, kk_masked, rt_code, geom, jumlah_anggota, programs, source, "
                    + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ") VALUES (%s, '157101******0001', %s,"
                    " ST_SetSRID(ST_MakePoint(103.61, -1.61), 4326), 3, %s, 'test', " + ", ".join(["%s"] * 14) + ")",
                    (kk, RT, programs, *([True] * met + [False] * (14 - met))),
                )  # fmt: skip
            before = _local_cells(conn, "recipients_kartu_bahagia", "poor_without_kartu_bahagia")
        # two recipients; of the three poor families (m1, m3, m4) two receive no Kartu Bahagia
        assert [row[1:] for row in before] == [(2, 2)] * 5
        migrate(url)
        with psycopg.connect(url) as conn:
            assert _local_cells(conn, "recipients_local", "poor_without_local") == before
            local = conn.execute("SELECT value FROM peta_config WHERE key = 'programs'").fetchone()[0]
            assert local == {"local": [{"code": "KARTU-BAHAGIA", "name": "Kartu Bahagia"}]}
            published = conn.execute("SELECT recipients_local FROM area_stats_public WHERE code = %s", (RT,)).fetchone()
            assert published is not None
        downgrade(url, "0017")
        with psycopg.connect(url) as conn:
            assert _local_cells(conn, "recipients_kartu_bahagia", "poor_without_kartu_bahagia") == before
            assert conn.execute("SELECT count(*) FROM peta_config WHERE key = 'programs'").fetchone()[0] == 0


def test_0018_on_a_database_without_the_programme_lists_no_local_programme(server_url):
    for url in _throwaway(server_url, "m0018e"):
        with psycopg.connect(url) as conn:
            value = conn.execute("SELECT value FROM peta_config WHERE key = 'programs'").fetchone()[0]
        assert value == {"local": []}
