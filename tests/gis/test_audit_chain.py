"""The audit chain's edges: sealing in batches, an empty or legacy chain, positions, anchors, and the statement
triggers' before/after images on both sides of 100 rows (issue 19: the mutants the first tests let through)."""

from __future__ import annotations

import asyncio
import inspect
import time
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

import gis.audit
from api import sealer
from core.errors import InputError
from db.acting import acting_as, acting_as_sync
from gis.audit import (
    Anchor,
    ChainReport,
    check_anchor,
    digest_v1,
    digest_v2,
    digest_v3,
    digest_v4,
    recent,
    seal,
    take_anchor,
    verify_chain,
)
from tests.bridge import bridge
from tests.worlds import tamper as _tamper

GENESIS = "0" * 64
BULK = {"rows": 101, "note": "bulk change: previous states are in the version tables"}
TAKEN = datetime(2026, 11, 30, 10, 15, tzinfo=UTC)
WHEN = "2026-11-30 10:15:00 UTC"


def _empty(conn) -> None:
    """No audit row and no head: a chain that starts now."""
    _tamper(conn, "DELETE FROM audit_log")
    _tamper(conn, "DELETE FROM audit_head")


def _read(conn, actor: str = "api:uji", ids: list[str] | None = None) -> int:
    """One audit row written as the application writes its read records (unsealed)."""
    return conn.execute(
        "INSERT INTO audit_log (id, actor, action, object_type, object_ids) VALUES (0, %s, 'read', 'household', %s)"
        " RETURNING id",
        (actor, ids if ids is not None else ["1"]),
    ).fetchone()[0]


def _sealed(conn, n: int) -> list[int]:
    ids = [_read(conn, f"user{i}") for i in range(n)]
    assert conn.execute("SELECT peta_audit_seal()").fetchone() == (n,)
    return ids


def _unsealed(conn) -> int:
    return conn.execute("SELECT count(*) FROM audit_log WHERE seq IS NULL").fetchone()[0]


@pytest.fixture
def empty(db):
    _empty(db)
    return db


@pytest.fixture
def committed_empty(clean_committed):
    """The committed database with an empty chain (left empty and intact for the other tests)."""
    with psycopg.connect(clean_committed) as c:
        _empty(c)
        c.commit()
    yield clean_committed
    with psycopg.connect(clean_committed) as c:
        _empty(c)
        c.commit()


# --- sealing -------------------------------------------------------------------------------------------


def test_seal_goes_on_batch_after_batch_until_a_batch_is_not_full(committed_empty, monkeypatch):
    monkeypatch.setattr(gis.audit, "SEAL_BATCH", 2)
    with bridge(committed_empty, keep=True) as c:
        for i in range(5):
            _read(c, f"a{i}")
        c.commit()
        assert c.call(seal) == 5  # 2 + 2 + 1
        assert _unsealed(c) == 0
        for i in range(4):
            _read(c, f"b{i}")
        c.commit()
        assert c.call(seal) == 4  # 2 + 2 + 0
        assert c.call(seal) == 0
        seqs = [r[0] for r in c.execute("SELECT seq FROM audit_log ORDER BY id").fetchall()]
        assert seqs == list(range(1, 10))


def test_the_served_sealer_goes_on_batch_after_batch_too(committed_empty, monkeypatch):
    monkeypatch.setattr(gis.audit, "SEAL_BATCH", 2)
    with psycopg.connect(committed_empty) as c:
        for i in range(5):
            _read(c, f"a{i}")
        c.commit()

    turns: list[int] = []

    async def counted(conn: psycopg.AsyncConnection) -> int:
        turns.append(await seal(conn))
        return turns[-1]

    monkeypatch.setattr(sealer, "seal", counted)

    async def served() -> None:  # the application's sealer task on its pool, as api/app.py starts it
        async with AsyncConnectionPool(committed_empty, min_size=1, max_size=1, open=False) as pool:
            task = sealer.start(pool, 0.05)
            try:
                deadline = time.monotonic() + 10
                while len(turns) < 2:
                    assert time.monotonic() < deadline, f"the served sealer turned {len(turns)} times in 10 s"
                    await asyncio.sleep(0.05)
            finally:
                await sealer.stop(task)

    asyncio.run(served())
    assert turns[:2] == [5, 0]  # all five in its first turn (2 + 2 + 1), nothing left for the next
    with bridge(committed_empty, keep=True) as c:
        assert c.call(seal) == 0  # nothing left for another sealer
        assert _unsealed(c) == 0 and c.call(verify_chain) == ChainReport(5, True, "5 audit rows, chain intact", 0)
        assert [r[0] for r in c.execute("SELECT seq FROM audit_log ORDER BY id").fetchall()] == [1, 2, 3, 4, 5]


def test_a_chain_started_from_nothing_begins_at_position_1_after_the_genesis_hash(empty):
    assert empty.execute("SELECT peta_audit_seal()").fetchone() == (0,)  # nothing to seal, no head yet: no error
    assert empty.execute("SELECT count(*) FROM audit_head").fetchone() == (0,)
    assert empty.call(verify_chain) == ChainReport(0, True, "0 audit rows, chain intact", 0)
    ids = _sealed(empty, 3)
    rows = empty.execute("SELECT id, seq, prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    assert rows[0][2] == GENESIS and rows[1][2] == rows[0][3] and rows[2][2] == rows[1][3]
    assert empty.execute("SELECT id, hash, seq FROM audit_head").fetchone() == (ids[2], rows[2][3], 3)
    assert empty.call(verify_chain) == ChainReport(3, True, "3 audit rows, chain intact", 0)


def test_verify_seals_first_within_a_read_committed_transaction(empty):
    _read(empty, "ani")
    _read(empty, "budi")
    assert empty.call(verify_chain, sealing=False) == ChainReport(
        0, True, "0 audit rows, chain intact; 2 newer not sealed yet", 2
    )
    assert _unsealed(empty) == 2
    assert empty.call(verify_chain) == ChainReport(2, True, "2 audit rows, chain intact", 0)
    assert _unsealed(empty) == 0


def _idle(c) -> bool:
    return c.ac.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_verify_without_sealing_on_an_idle_connection_only_counts(committed_empty):
    with bridge(committed_empty, keep=True) as c:
        _read(c, "ani")
        c.commit()
        assert _idle(c)
        assert c.call(verify_chain, sealing=False) == ChainReport(
            0, True, "0 audit rows, chain intact; 1 newer not sealed yet", 1
        )
        assert _unsealed(c) == 1
        c.commit()
        # a REPEATABLE READ snapshot cannot seal: it counts
        c.run(lambda a: a.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ))
        with c.transaction():
            assert not _idle(c) and c.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
            assert c.call(verify_chain).unsealed == 1
        c.run(lambda a: a.set_isolation_level(None))
        c.commit()
        assert _idle(c)
        assert c.call(verify_chain) == ChainReport(1, True, "1 audit rows, chain intact", 0)  # idle: sealed first
        assert _unsealed(c) == 0


def test_session_and_sealing_are_keyword_only():
    for fn, name in ((acting_as_sync, "session"), (acting_as, "session"), (verify_chain, "sealing")):
        assert inspect.signature(fn).parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):  # refused at the call, before any coroutine exists
        verify_chain(None, False)  # type: ignore[misc]
    assert all(inspect.iscoroutinefunction(fn) for fn in (seal, verify_chain, take_anchor, check_anchor, recent))


# --- verifying -----------------------------------------------------------------------------------------


def test_rows_removed_at_the_start_are_named(empty):
    ids = _sealed(empty, 3)
    _tamper(empty, "DELETE FROM audit_log WHERE id = %s", (ids[0],))
    assert empty.call(verify_chain) == ChainReport(
        1, False, f"audit rows before {ids[1]} were removed (the chain breaks at {ids[1]})", 0
    )


def test_every_row_removed_but_the_head_is_detected(empty):
    ids = _sealed(empty, 2)
    _tamper(empty, "DELETE FROM audit_log")
    assert empty.call(verify_chain) == ChainReport(
        0, False, f"audit rows after the start were removed (the chain head was {ids[1]})", 0
    )


def test_a_position_skipped_with_the_links_intact_is_detected(empty):
    ids = _sealed(empty, 3)
    # the third row moved one position on and re-hashed: its link to the second still holds
    _tamper(empty, "UPDATE audit_log SET seq = seq + 1 WHERE id = %s", (ids[2],))
    _tamper(empty, "UPDATE audit_log a SET hash = peta_audit_digest_v4(prev_hash, a) WHERE id = %s", (ids[2],))
    _tamper(empty, "UPDATE audit_head SET (hash, seq) = (SELECT hash, seq FROM audit_log WHERE id = %s)", (ids[2],))
    assert empty.call(verify_chain) == ChainReport(
        3, False, f"audit rows between {ids[1]} and {ids[2]} were removed (the chain breaks at {ids[2]})", 0
    )


def _legacy(conn, version: int, row_id: int, prev: str) -> str:
    """A row hashed before 0013 (encoding 1 or 2): its position is its id, ids may skip (rolled-back writes)."""
    row = {"id": row_id, "seq": row_id, "at": datetime(2026, 11, 1, 8, 0, row_id % 60, 123456, tzinfo=UTC),
           "actor": "ani", "role": "admin", "action": "update", "object_type": "area", "object_ids": ["15.71", "x|y"],
           "before": None, "after": None, "reason": f"v{version}"}  # fmt: skip
    digest = {1: digest_v1, 2: digest_v2}[version](prev, row)
    _tamper(
        conn,
        "INSERT INTO audit_log (id, seq, at, actor, role, action, object_type, object_ids, reason, prev_hash, hash,"
        " hash_version) VALUES (%(id)s, %(seq)s, %(at)s, %(actor)s, %(role)s, %(action)s, %(object_type)s,"
        " %(object_ids)s, %(reason)s, %(prev)s, %(hash)s, %(version)s)",
        {**row, "prev": prev, "hash": digest, "version": version},
    )
    return digest


def test_an_upgraded_chain_with_skipped_ids_before_0013_verifies(empty):
    # ids past any the sequence has handed out in this database (whatever ran before: a fresh database's
    # sequence would hand out 3 again), and the sequence moved past them, as it was when they were written
    base = empty.execute("SELECT nextval('audit_log_id_seq')").fetchone()[0]
    h3 = _legacy(empty, 1, base + 3, GENESIS)
    h5 = _legacy(empty, 2, base + 5, h3)
    h8 = _legacy(empty, 2, base + 8, h5)
    _tamper(empty, "INSERT INTO audit_head (id, hash, seq) VALUES (%s, %s, %s)", (base + 8, h8, base + 8))
    empty.execute("SELECT setval('audit_log_id_seq', %s)", (base + 8,))
    new = _read(empty, "budi")
    assert empty.execute("SELECT peta_audit_seal()").fetchone() == (1,)
    assert empty.execute("SELECT seq, prev_hash, hash_version FROM audit_log WHERE id = %s", (new,)).fetchone() == (
        base + 9,
        h8,
        4,
    )
    assert empty.call(verify_chain) == ChainReport(4, True, "4 audit rows, chain intact", 0)


def test_the_sql_and_python_encodings_agree_on_awkward_rows(conn):
    row = {"id": 41, "seq": 17, "at": datetime(2026, 11, 30, 8, 1, 2, 345678, tzinfo=UTC), "actor": "ani|budi",
           "role": None, "action": "read", "object_type": "household", "object_ids": ["1,2", None, "ü€", ""],
           "before": '[{"a": 1}]', "after": None, "reason": "N", "kota_code": "15.71"}  # fmt: skip
    sql = conn.execute(
        "SELECT peta_audit_digest(%(p)s, r), peta_audit_digest_v2(%(p)s, r), peta_audit_digest_v3(%(p)s, r),"
        " peta_audit_digest_v4(%(p)s, r) FROM"
        " (SELECT ROW(41, %(at)s, 'ani|budi', NULL, 'read', 'household', ARRAY['1,2', NULL, 'ü€', ''],"
        " '[{\"a\": 1}]'::jsonb, NULL, 'N', '', '', 3, 17, '15.71')::audit_log AS r) q",
        {"p": "ab" * 32, "at": row["at"]},
    ).fetchone()
    p = "ab" * 32
    assert sql == (digest_v1(p, row), digest_v2(p, row), digest_v3(p, row), digest_v4(p, row))
    assert digest_v4(p, row) != digest_v4(p, {**row, "kota_code": ""})  # the chain is part of the content


# --- what the log refuses ------------------------------------------------------------------------------


def test_a_sealed_row_is_never_re_sealed_or_touched(empty):
    sealed, unsealed = _sealed(empty, 1)[0], _read(empty, "later")
    for statement, row in [
        ("UPDATE audit_log SET hash = repeat('f', 64) WHERE id = %s", sealed),
        ("UPDATE audit_log SET seq = seq + 100, prev_hash = repeat('e', 64) WHERE id = %s", sealed),
        ("UPDATE audit_log SET reason = reason WHERE id = %s", unsealed),  # even a change to nothing
    ]:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"), empty.transaction():
            empty.execute(statement, (row,))


@pytest.mark.parametrize("column", ["hash", "prev_hash"])
def test_a_sealed_row_is_never_half_sealed(empty, column):
    row = _sealed(empty, 1)[0]
    with pytest.raises(psycopg.errors.CheckViolation, match="audit_log_sealed"):
        _tamper(empty, f"UPDATE audit_log SET {column} = NULL WHERE id = %s", (row,))


# --- anchors -------------------------------------------------------------------------------------------


def test_anchors_on_an_empty_or_broken_chain(empty):
    with pytest.raises(InputError, match="^the audit log is empty: nothing to anchor yet$"):
        empty.call(take_anchor)
    assert empty.call(check_anchor, Anchor(12, "ab" * 32, TAKEN)) == ChainReport(
        0, False, f"the audit log was truncated: it is empty, before row 12 anchored on {WHEN}", 0
    )
    ids = _sealed(empty, 2)
    _tamper(empty, "UPDATE audit_log SET actor = 'x' WHERE id = %s", (ids[0],))
    with pytest.raises(InputError) as err:
        empty.call(take_anchor)
    assert str(err.value) == (
        f"the audit chain is broken, nothing to anchor: audit row {ids[0]} was changed"
        " (its hash no longer matches its content)"
    )


def test_an_anchor_names_a_row_gone_or_rehashed(empty):
    ids = _sealed(empty, 3)
    anchor = empty.call(take_anchor)
    head = empty.execute("SELECT hash FROM audit_log WHERE id = %s", (ids[2],)).fetchone()[0]
    assert (anchor.id, anchor.hash, anchor.taken.microsecond) == (ids[2], head, 0)
    held = Anchor(ids[1], empty.execute("SELECT hash FROM audit_log WHERE id = %s", (ids[1],)).fetchone()[0], TAKEN)
    assert empty.call(check_anchor, held) == ChainReport(
        0, True, f"row {ids[1]} still has the hash anchored on {WHEN}", 0
    )
    _tamper(empty, "UPDATE audit_log SET hash = repeat('f', 64) WHERE id = %s", (ids[1],))
    assert empty.call(check_anchor, Anchor(ids[1], "0123456789abcdef" + "9" * 48, TAKEN)) == ChainReport(
        0,
        False,
        f"the audit log was rewritten: row {ids[1]} now hashes to ffffffffffffffff…, anchored on {WHEN}"
        " as 0123456789abcdef…",
        0,
    )
    _tamper(empty, "DELETE FROM audit_log WHERE id = %s", (ids[1],))  # newer rows remain: not a truncation
    assert empty.call(check_anchor, held) == ChainReport(
        0, False, f"the audit log was rewritten: row {ids[1]} anchored on {WHEN} is gone", 0
    )


def test_a_long_wrong_anchor_is_shown_cut_at_100_characters():
    text = "peta-audit-anchor:" + "x" * 200
    with pytest.raises(InputError) as err:
        Anchor.parse(f"  {text}  ")
    assert str(err.value) == (
        f"--anchor {text[:100]!r} is not an anchor printed by `peta audit anchor`"
        " (peta-audit-anchor:<row id>:<sha-256 hex>:<YYYYMMDDTHHMMSSZ>)"
    )


# --- who acts, what is shown ---------------------------------------------------------------------------


WHO = "SELECT current_setting('peta.actor', true), current_setting('peta.role', true)"


def _who(c) -> tuple[str, str]:
    return c.execute(WHO).fetchone()


def test_acting_as_names_the_actor_for_the_session_or_for_one_transaction(database_url):
    with psycopg.connect(database_url) as c:
        acting_as_sync(c, "ani", "admin", session=True)
        c.commit()
        assert _who(c) == ("ani", "admin")  # the session's: still there after the transaction
        acting_as_sync(c, "budi", "planner")
        assert _who(c) == ("budi", "planner")
        c.rollback()
        assert _who(c) == ("ani", "admin")  # the transaction's: gone with it
        acting_as_sync(c, "siti", session=True)
        c.commit()
        assert _who(c) == ("siti", "admin")  # no role named: the role stays
        acting_as_sync(c, "siti", "", session=True)
        assert _who(c) == ("siti", "")


def test_acting_as_on_an_async_connection_names_the_same(database_url):
    async def who_acts() -> list[tuple[str, str]]:
        async with await psycopg.AsyncConnection.connect(database_url) as c:
            seen = []
            await acting_as(c, "ani", "admin", session=True)
            await c.commit()
            await acting_as(c, "budi")  # the transaction's, role untouched
            seen.append(await (await c.execute(WHO)).fetchone())
            await c.rollback()
            seen.append(await (await c.execute(WHO)).fetchone())
            return seen

    assert asyncio.run(who_acts()) == [("budi", "admin"), ("ani", "admin")]


def test_recent_shows_the_newest_20_by_default(empty):
    ids = [_read(empty, f"u{i}", [str(j) for j in range(i % 3)]) for i in range(23)]
    shown = empty.call(recent)
    assert [r["id"] for r in shown] == ids[::-1][:20]
    assert {k: shown[0][k] for k in ("actor", "role", "action", "object_type", "objects", "reason")} == {
        "actor": "u22", "role": None, "action": "read", "object_type": "household", "objects": 1, "reason": None
    }  # fmt: skip


# --- the statement triggers ----------------------------------------------------------------------------


def _config_rows(conn, n: int) -> None:
    conn.execute(
        "INSERT INTO peta_config (key, value) SELECT 'mut.k' || lpad(i::text, 3, '0'), to_jsonb(i)"
        " FROM generate_series(1, %s) i",
        (n,),
    )


def _newest(conn) -> tuple:
    return conn.execute(
        "SELECT action, object_type, object_ids, jsonb_array_length(CASE WHEN jsonb_typeof(before) = 'array'"
        " THEN before END), before IS NULL, jsonb_array_length(CASE WHEN jsonb_typeof(after) = 'array' THEN after"
        " END), CASE WHEN jsonb_typeof(after) = 'object' THEN after END FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()


def _keys(n: int) -> list[str]:
    return [f"mut.k{i:03d}" for i in range(1, n + 1)]


@pytest.mark.parametrize("n", [100, 101])
def test_statements_up_to_100_rows_keep_their_images(conn, n):
    small = n <= 100
    _config_rows(conn, n)
    action, kind, ids, _, no_before, after_rows, note = _newest(conn)
    assert (action, kind, sorted(ids), no_before) == ("insert", "peta_config", _keys(n), True)
    assert (after_rows, note) == ((100, None) if small else (None, BULK))

    conn.execute("UPDATE peta_config SET value = to_jsonb('x'::text) WHERE key LIKE 'mut.k%'")
    action, kind, ids, before_rows, no_before, after_rows, note = _newest(conn)
    assert (action, kind, sorted(ids)) == ("update", "peta_config", _keys(n))
    assert (before_rows, no_before, after_rows, note) == (
        (100, False, 100, None) if small else (None, True, None, BULK)
    )

    conn.execute("DELETE FROM peta_config WHERE key LIKE 'mut.k%'")
    action, kind, ids, before_rows, no_before, after_rows, note = _newest(conn)
    assert (action, kind, sorted(ids)) == ("delete", "peta_config", _keys(n))
    assert (before_rows, no_before, after_rows, note) == (
        (100, False, None, None) if small else (None, True, None, BULK)
    )


def test_a_small_change_keeps_exactly_its_rows(conn):
    _config_rows(conn, 2)
    conn.execute("UPDATE peta_config SET value = '7' WHERE key = 'mut.k002'")
    before, after = conn.execute("SELECT before, after FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert [(r["key"], r["value"]) for r in before] == [("mut.k002", 2)]
    assert [(r["key"], r["value"]) for r in after] == [("mut.k002", 7)]
    conn.execute("DELETE FROM peta_config WHERE key = 'mut.k001'")
    before, after = conn.execute("SELECT before, after FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert [(r["key"], r["value"]) for r in before] == [("mut.k001", 1)] and after is None


def test_an_agency_key_used_writes_no_audit_row_but_its_revocation_does(conn):
    conn.execute(
        "INSERT INTO api_key (name, prefix, key_hash, scope_level, scope_codes) VALUES"
        " ('BPS', 'pv_mut1', 'secret-hash', 'kota', '{15.71}'),"
        " ('Dukcapil', 'pv_mut2', 'secret-hash', 'kota', '{15.71}')"
    )
    count = "SELECT count(*) FROM audit_log"
    start = conn.execute(count).fetchone()[0]
    conn.execute("UPDATE api_key SET last_used_at = now() WHERE prefix LIKE 'pv_mut%'")
    assert conn.execute(count).fetchone()[0] == start  # bookkeeping only: no row
    conn.execute("UPDATE api_key SET revoked_at = now(), last_used_at = now() WHERE prefix = 'pv_mut2'")
    assert conn.execute(count).fetchone()[0] == start + 1
    kind, ids, before, after = conn.execute(
        "SELECT object_type, object_ids, before, after FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (kind, ids, [r["name"] for r in before], [r["revoked_at"] is None for r in after]) == (
        "api_key",
        ["pv_mut2"],
        ["Dukcapil"],
        [False],
    )
    assert "key_hash" not in before[0] and "key_hash" not in after[0]
