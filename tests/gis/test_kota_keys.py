"""Every family and every row hanging off it carry their kab/kota (migration 0019, issue 16): the keys include it,
a child row cannot point at a family of another kab/kota, and a family's kab/kota is its RT's."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.worlds import insert_kota_chains

BOX = (98.6, -1.7, 103.7, 3.6)
JAMBI_RT, MEDAN_RT = "15.71.01.1001.001.001", "12.71.01.1001.001.001"
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))


@pytest.fixture
def two_cities(conn):
    insert_kota_chains(conn, ("15.71", "12.71"), BOX)
    return conn


def _family(conn: psycopg.Connection, kk: str, rt: str, kota: str) -> int:
    return conn.execute(
        f"INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, source, {_CRIT})"
        " VALUES (%s, 'x', %s, %s, 3, 'test', " + ", ".join(["false"] * 14) + ") RETURNING id",
        (kk, rt, kota),
    ).fetchone()[0]


def test_a_family_is_in_the_kab_kota_of_its_rt(two_cities):
    conn = two_cities
    assert _family(conn, "kk-1", JAMBI_RT, "15.71") > 0
    for kota in ("12.71", "15.7", None):
        # (on Citus a NULL kab/kota is refused before any check: no shard to put the row on)
        refused = (psycopg.errors.CheckViolation, psycopg.errors.NotNullViolation, psycopg.errors.NullValueNotAllowed)
        with pytest.raises(refused), conn.transaction():
            _family(conn, f"kk-{kota}", JAMBI_RT, kota)


def test_a_kk_number_is_unique_within_a_kab_kota(two_cities):
    """The same KK in two kab/kota are two families (each city registers its own); twice in one is refused."""
    conn = two_cities
    jambi, medan = _family(conn, "kk-same", JAMBI_RT, "15.71"), _family(conn, "kk-same", MEDAN_RT, "12.71")
    assert jambi != medan
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
        _family(conn, "kk-same", JAMBI_RT, "15.71")


def test_the_identity_keys_are_kept_per_kab_kota_and_found_across_the_deployment(two_cities):
    """Migration 0036: the unique KK key leads with the kab/kota (a city's entries are one range of it, not spread
    over every city's), and a family is found by its KK or NIK hash alone, in any kab/kota, through an index of its
    own (a data subject's request, a roster, the registry's check of a head of family's NIK)."""
    conn = two_cities
    _family(conn, "kk-same", JAMBI_RT, "15.71")
    _family(conn, "kk-same", MEDAN_RT, "12.71")
    (key,) = conn.execute(
        "SELECT pg_get_indexdef(conindid) FROM pg_constraint WHERE conname = 'household_kk_hash_key'"
    ).fetchone()
    assert key.endswith("USING btree (kota_code, kk_hash)")
    assert conn.execute(
        "SELECT array_agg(kota_code ORDER BY kota_code) FROM household WHERE kk_hash = 'kk-same'"
    ).fetchone() == (["12.71", "15.71"],)
    conn.execute("SET LOCAL enable_seqscan = off")  # two rows: the planner would rather read the table
    for column, index in (("kk_hash", "household_kk_hash_idx"), ("nik_kepala_hash", "household_nik_kepala_hash_idx")):
        plan = "\n".join(r for (r,) in conn.execute(f"EXPLAIN SELECT id FROM household WHERE {column} = 'x'"))
        # (on Citus a shard's plan names the shard's copy of the index: household_kk_hash_idx_102008)
        assert re.search(rf"(Index Scan using|Bitmap Index Scan on) {index}(_\d+)? ", plan), plan


def test_rows_hanging_off_a_family_cannot_cross_into_another_kab_kota(two_cities):
    conn = two_cities
    hid = _family(conn, "kk-1", JAMBI_RT, "15.71")
    cid = conn.execute(
        "INSERT INTO campaign (name, target_kind, starts_on, ends_on, created_by, kota_code)"
        " VALUES ('Verval', 'prelist', '2026-01-01', '2026-12-31', 'test', '15.71') RETURNING id"
    ).fetchone()[0]
    uid = conn.execute(
        "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
        " VALUES ('v.satu', 'x', 'verifier', 'rt', %s) RETURNING id", ([JAMBI_RT],)
    ).fetchone()[0]
    target = "INSERT INTO campaign_target (campaign_id, household_id, rt_code, kota_code) VALUES (%s, %s, %s, %s)"
    conn.execute(target, (cid, hid, JAMBI_RT, "15.71"))
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():  # its RT says Jambi
        conn.execute(target, (cid, hid, JAMBI_RT, "12.71"))
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():  # no such family in Medan
        conn.execute(target, (cid, hid, MEDAN_RT, "12.71"))
    visit = ("INSERT INTO verification (client_id, campaign_id, household_id, verifier_id, result_code, visited_at,"
             " kota_code) VALUES (gen_random_uuid(), %s, %s, %s, 1, now(), %s) RETURNING id")  # fmt: skip
    vid = conn.execute(visit, (cid, hid, uid, "15.71")).fetchone()[0]
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        conn.execute(visit, (cid, hid, uid, "12.71"))
    photo = ("INSERT INTO verification_photo (verification_id, sha256, content_type, size_bytes, data, uploaded_by,"
             " kota_code) VALUES (%s, repeat('b', 64), 'image/png', 1, 'x', 'test', %s)")  # fmt: skip
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        conn.execute(photo, (vid, "12.71"))
    conn.execute(photo, (vid, "15.71"))
    aid = conn.execute(
        "INSERT INTO assignment (campaign_id, rt_code, kota_code, verifier_id, assigned_by, due_on)"
        " VALUES (%s, %s, '15.71', %s, 'test', '2026-12-31') RETURNING id", (cid, JAMBI_RT, uid)
    ).fetchone()[0]
    # the trigger writes the event in the assignment's kab/kota
    assert conn.execute("SELECT kota_code FROM assignment_event WHERE assignment_id = %s", (aid,)).fetchall() == [
        ("15.71",)
    ]
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():  # (cancelled: past the one-active rule)
        conn.execute(
            "INSERT INTO assignment (campaign_id, rt_code, kota_code, verifier_id, assigned_by, due_on, status)"
            " VALUES (%s, %s, '12.71', %s, 'test', '2026-12-31', 'cancelled')", (cid, JAMBI_RT, uid)
        )
    # a changed family keeps its earlier version in its own kab/kota
    conn.execute("UPDATE household SET version = 2, jumlah_anggota = 4 WHERE id = %s", (hid,))
    assert conn.execute("SELECT kota_code FROM household_version WHERE household_id = %s", (hid,)).fetchall() == [
        ("15.71",)
    ]
    assert conn.execute("SELECT kota_code FROM household_rank WHERE household_id = %s", (hid,)).fetchall() == [
        ("15.71",)
    ]


def test_the_application_cannot_move_a_family_to_another_kab_kota(conn):
    """peta_app updates the columns an approved visit changes, never the kab/kota (nor the RT it follows from)."""
    assert conn.execute(
        "SELECT has_column_privilege('peta_app', 'household', 'kota_code', 'UPDATE'),"
        " has_column_privilege('peta_app', 'household', 'rt_code', 'UPDATE'),"
        " has_column_privilege('peta_app', 'household', 'tgl_verval', 'UPDATE')"
    ).fetchone() == (False, False, True)
