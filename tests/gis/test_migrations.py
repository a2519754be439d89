"""Migrations go up, down and up again on a real database, leaving the same schema."""

from __future__ import annotations

import re

import psycopg
import pytest

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
            assert current_revision(conn) == HEAD_REVISION == "0037"
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
            assert keys == ["aggregates", "disclosure", "kab_kota", "placement", "programs", "ranking", "verval"]


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
        assert value == {"local": []}  # no family at all
        downgrade(url, "0017")
        with psycopg.connect(url) as conn:  # families receiving other programmes, none Kartu Bahagia
            insert_areas(conn, [(c, lv, p, (103.60, -1.62, 103.62, -1.60)) for c, lv, p in (
                ("15.71", "kota", None), ("15.71.01", "kecamatan", "15.71"), ("15.71.01.1001", "kelurahan", "15.71.01"),
                ("15.71.01.1001.001", "rw", "15.71.01.1001"), (RT, "rt", "15.71.01.1001.001"))])  # fmt: skip
            for kk, programs in (("p1", ["PKH"]), ("p2", ["KARTU-SEHAT", "BPNT"])):
                conn.execute(
                    "INSERT INTO household (kk_hash, kk_masked, rt_code, geom, jumlah_anggota, programs, source, "
                    + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ") VALUES (%s, 'x', %s,"
                    " ST_SetSRID(ST_MakePoint(103.61, -1.61), 4326), 3, %s, 'test', " + ", ".join(["false"] * 14) + ")",
                    (kk, RT, programs),
                )  # fmt: skip
        migrate(url)
        with psycopg.connect(url) as conn:
            value = conn.execute("SELECT value FROM peta_config WHERE key = 'programs'").fetchone()[0]
        assert value == {"local": []}


_TWO_CITIES = [  # code, level, parent: one RT in Kota Jambi (15.71) and one in Kota Medan (12.71)
    ("15.71", "kota", None), ("15.71.01", "kecamatan", "15.71"), ("15.71.01.1001", "kelurahan", "15.71.01"),
    ("15.71.01.1001.001", "rw", "15.71.01.1001"), ("15.71.01.1001.001.001", "rt", "15.71.01.1001.001"),
    ("12.71", "kota", None), ("12.71.01", "kecamatan", "12.71"), ("12.71.01.1001", "kelurahan", "12.71.01"),
    ("12.71.01.1001.001", "rw", "12.71.01.1001"), ("12.71.01.1001.001.001", "rt", "12.71.01.1001.001"),
]  # fmt: skip
_CHILDREN = ("household_rank", "household_version", "campaign_target", "assignment", "assignment_event",
             "verification", "verification_photo")  # fmt: skip


def _workflow_rows(conn: psycopg.Connection) -> None:
    """At 0018: a family in each city with an earlier version, a campaign per city targeting it, an RT assigned
    and visited with a photo, and a back-check of the visit."""
    insert_areas(conn, [(c, lv, p, (98.6, -1.7, 103.7, 3.6)) for c, lv, p in _TWO_CITIES])
    crit = ", ".join(f"k{i:02d}" for i in range(1, 15))
    uid = conn.execute(
        "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
        " VALUES ('v.satu', 'x', 'verifier', 'rt', '{15.71.01.1001.001.001,12.71.01.1001.001.001}') RETURNING id"
    ).fetchone()[0]
    for kota in ("15.71", "12.71"):
        rt = f"{kota}.01.1001.001.001"
        hid = conn.execute(
            f"INSERT INTO household (kk_hash, kk_masked, kode_rt, rt_code, geom, jumlah_anggota, source, {crit})"
            " VALUES (%s, 'x', %s, %s, ST_SetSRID(ST_MakePoint(100, 0), 4326), 3, 'test', "
            + ", ".join(["true"] * 10 + ["false"] * 4) + ") RETURNING id",
            (f"kk-{kota}", rt, rt),
        ).fetchone()[0]
        conn.execute("UPDATE household SET version = 2, jumlah_anggota = 4 WHERE id = %s", (hid,))
        cid = conn.execute(
            "INSERT INTO campaign (name, target_kind, starts_on, ends_on, created_by, kota_code)"
            " VALUES ('Verval', 'prelist', '2026-01-01', '2026-12-31', 'test', %s) RETURNING id", (kota,)
        ).fetchone()[0]
        conn.execute("INSERT INTO campaign_target VALUES (%s, %s, %s)", (cid, hid, rt))
        aid = conn.execute(
            "INSERT INTO assignment (campaign_id, rt_code, verifier_id, assigned_by, due_on)"
            " VALUES (%s, %s, %s, 'test', '2026-12-31') RETURNING id", (cid, rt, uid)
        ).fetchone()[0]
        vid = conn.execute(
            "INSERT INTO verification (client_id, campaign_id, assignment_id, household_id, verifier_id, result_code,"
            " visited_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, 1, now()) RETURNING id", (cid, aid, hid, uid)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO verification_photo (verification_id, sha256, content_type, size_bytes, data, uploaded_by)"
            " VALUES (%s, repeat('a', 64), 'image/png', 1, 'x', 'test')", (vid,)
        )
        conn.execute(
            "INSERT INTO assignment (campaign_id, kind, rt_code, household_id, backcheck_of, verifier_id, assigned_by,"
            " due_on) VALUES (%s, 'backcheck', %s, %s, %s, %s, 'test', '2026-12-31')", (cid, rt, hid, vid, uid)
        )


def test_0019_gives_every_family_and_its_rows_their_kab_kota(server_url):
    """An 0018 database with families, targets, assignments, events, visits and photos in two cities comes out of
    0019 with each row in its family's kab/kota, its keys and foreign keys over it; back down, the columns go."""
    for url in _throwaway(server_url, "m0019"):
        downgrade(url, "0018")
        with psycopg.connect(url) as conn:
            _workflow_rows(conn)
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("household", *_CHILDREN)}
        assert counts == {"household": 2, "household_rank": 2, "household_version": 2, "campaign_target": 2,
                          "assignment": 4, "assignment_event": 4, "verification": 2,
                          "verification_photo": 2}  # fmt: skip
        migrate(url)
        with psycopg.connect(url) as conn:
            for table in ("household", *_CHILDREN):
                rows = conn.execute(f"SELECT kota_code, count(*) FROM {table} GROUP BY 1 ORDER BY 1").fetchall()
                assert rows == [("12.71", counts[table] // 2), ("15.71", counts[table] // 2)], table
            # every child agrees with its family (the foreign keys hold them to it now)
            assert conn.execute(
                "SELECT count(*) FROM verification v JOIN household h ON h.id = v.household_id"
                " WHERE h.kota_code <> v.kota_code"
            ).fetchone() == (0,)
            keys = dict(conn.execute(
                "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'p' AND conrelid::regclass::text = ANY (%s)", (["household", *_CHILDREN],)
            ).fetchall())  # fmt: skip
            assert len(keys) == 8 and all("kota_code" in k for k in keys.values()), keys
            migration = conn.execute(
                "SELECT after FROM audit_log WHERE action = 'migrate' AND object_type = 'household' ORDER BY id DESC"
            ).fetchone()[0]  # the last of the two: the throwaway database was migrated once before, empty
            assert migration == {"families": 2, "kab_kota": ["12.71", "15.71"]}
            assert conn.execute("SELECT count(*) FROM audit_log WHERE hash IS NULL").fetchone() == (0,)  # sealed
        downgrade(url, "0018")
        with psycopg.connect(url) as conn:
            for table in ("household", *_CHILDREN):
                assert conn.execute(
                    "SELECT count(*) FROM information_schema.columns"
                    " WHERE table_name = %s AND column_name = 'kota_code'",
                    (table,),
                ).fetchone() == (0,), table
            assert conn.execute("SELECT count(*) FROM verification_photo").fetchone() == (2,)


def test_0019_refuses_a_family_without_an_rt_code(server_url):
    for url in _throwaway(server_url, "m0019r"):
        downgrade(url, "0018")
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO household (kk_hash, kk_masked, jumlah_anggota, source, "
                + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ") VALUES ('kk-x', 'x', 1, 'test', "
                + ", ".join(["false"] * 14) + ")"
            )  # fmt: skip
        try:
            migrate(url)
        except Exception as exc:  # noqa: BLE001 - alembic wraps the database's error
            assert "1 families have no RT code to take their kab/kota from" in str(exc)
        else:
            raise AssertionError("0019 applied over a family without an RT code")
        with psycopg.connect(url) as conn:  # the whole migration rolled back: still 0018, nothing half-done
            assert current_revision(conn) == "0018"
            assert conn.execute(
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'kota_code'"
                " AND table_name = 'household'"
            ).fetchone() == (0,)


def test_a_patch_that_does_not_apply_exactly_once_stops_the_migration():
    """A migration that rewrites an earlier function's text (0026, 0033, 0034) refuses to guess: a patch found
    nowhere, or more than once, stops it, naming the migration, the function and the text it looked for."""
    from db.migrations import patched

    text = "ANALYZE area;\nANALYZE area_stats;\n"
    assert patched(text, [("ANALYZE area;", "ANALYZE area (code);")], "0034") == (
        "ANALYZE area (code);\nANALYZE area_stats;\n")  # fmt: skip
    for old in ("ANALYZE household;", "ANALYZE area"):  # nowhere; twice (a prefix of both lines)
        said = f"0034 cannot rewrite peta_refresh(bigint[],text[]): {old!r} is not in it exactly once"
        with pytest.raises(RuntimeError, match=f"^{re.escape(said)}$"):
            patched(text, [(old, "x")], "0034 cannot rewrite peta_refresh(bigint[],text[])")
