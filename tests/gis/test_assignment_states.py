"""The states of an assignment are named once in Python and once in SQL (db/sql/0014), and the two agree."""

from __future__ import annotations

from tests.worlds import insert_areas
from verval.assignments import ACTIVE, LIVE, STATUSES, VISITABLE

# written out by hand: a change to either definition must show here
EXPECTED = {
    "active": ("assigned", "in_progress", "submitted", "returned"),
    "visitable": ("assigned", "in_progress", "returned"),
    "live": ("assigned", "in_progress", "submitted", "returned", "approved"),
}


def test_python_sets_are_the_documented_ones():
    assert (ACTIVE, VISITABLE, LIVE) == (EXPECTED["active"], EXPECTED["visitable"], EXPECTED["live"])
    assert set(STATUSES) == {"assigned", "in_progress", "submitted", "returned", "approved", "declined", "cancelled"}


def test_sql_functions_give_the_same_sets(conn):
    for name, expected in EXPECTED.items():
        (got,) = conn.execute(
            "SELECT array_agg(s ORDER BY n) FROM unnest(%s::text[]) WITH ORDINALITY u(s, n)"
            f" WHERE peta_assignment_{name}(s)",
            (list(STATUSES),),
        ).fetchone()
        assert tuple(got) == expected, name


def test_the_table_accepts_exactly_the_python_statuses(conn):
    (check,) = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'assignment'::regclass"
        " AND pg_get_constraintdef(oid) LIKE '%status%'"
    ).fetchone()
    assert sorted(s for s in STATUSES if f"'{s}'" in check) == sorted(STATUSES)
    assert check.count("'") == 2 * len(STATUSES)


def test_open_assignment_holds_the_active_ones_only(conn):
    box = (103.6, -1.6, 103.61, -1.59)
    chain = [("15.71", "kota", None), ("15.71.01", "kecamatan", "15.71"), ("15.71.01.1001", "kelurahan", "15.71.01"),
             ("15.71.01.1001.001", "rw", "15.71.01.1001")]  # fmt: skip
    rts = [(f"15.71.01.1001.001.{i:03d}", "rt", "15.71.01.1001.001") for i in range(len(STATUSES))]
    insert_areas(conn, [(code, level, parent, box) for code, level, parent in chain + rts])
    conn.execute("INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes) VALUES"
                 " ('v.states', 'x', 'verifier', 'rt', '{15.71.01.1001.001.000}')")  # fmt: skip
    cid = conn.execute(
        "INSERT INTO campaign (name, target_kind, starts_on, ends_on, created_by) VALUES"
        " ('states', 'prelist', '2026-01-01', '2026-12-31', 'test') RETURNING id"
    ).fetchone()[0]
    uid = conn.execute("SELECT id FROM app_user WHERE username = 'v.states'").fetchone()[0]
    for i, status in enumerate(STATUSES):
        conn.execute(
            "INSERT INTO assignment (campaign_id, rt_code, kota_code, verifier_id, assigned_by, due_on, status)"
            " VALUES (%s, %s, '15.71', %s, 'test', '2026-12-31', %s)",
            (cid, f"15.71.01.1001.001.{i:03d}", uid, status),
        )
    rows = conn.execute("SELECT status FROM open_assignment WHERE campaign_id = %s ORDER BY id", (cid,)).fetchall()
    assert tuple(r[0] for r in rows) == EXPECTED["active"]
