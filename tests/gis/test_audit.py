"""The audit trail: written in the changing transaction, append-only, and tampering is detected by row."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.importer import import_boundaries
from core.errors import InputError
from core.settings import get_settings
from db.acting import acting_as_sync, with_reason
from gis.audit import (
    Anchor,
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
from peta.cli import app
from tests.bridge import bridge
from tests.layers import KECAMATAN, KOTA, load_sample_city, write_layer
from tests.worlds import tamper as _tamper


def test_writes_are_audited_with_actor_role_and_reason(db, tmp_path):
    since = db.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]  # the migrations' own rows
    acting_as_sync(db, "ani.dinsos", "admin")
    with_reason(db, "batas baru 2025")
    import_boundaries(db, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    import_boundaries(db, write_layer(tmp_path / "kec.geojson", KECAMATAN), "kecamatan")
    rows = db.execute(
        "SELECT actor, role, action, object_type, object_ids, reason, after->0->>'name' FROM audit_log"
        " WHERE id > %s ORDER BY id",
        (since,),
    ).fetchall()
    assert [r[:6] for r in rows] == [
        ("ani.dinsos", "admin", "insert", "area", ["15.71"], "batas baru 2025"),
        ("ani.dinsos", "admin", "insert", "area", ["15.71.01", "15.71.02"], "batas baru 2025"),
    ]
    assert rows[0][6] == "Kota Uji"
    assert db.call(verify_chain).ok


def test_an_update_keeps_before_and_after(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    conn.execute("UPDATE area SET name = 'Kecamatan Baru' WHERE code = '15.71.01'")
    before, after, actor = conn.execute(
        "SELECT before->0->>'name', after->0->>'name', actor FROM audit_log WHERE action = 'update' ORDER BY id DESC"
    ).fetchone()
    assert (before, after) == ("Kecamatan Barat", "Kecamatan Baru")
    assert actor.startswith("db:")  # no actor named: the database role is recorded


def test_a_rolled_back_change_leaves_no_audit_row(database_url, tmp_path):
    with psycopg.connect(database_url) as conn:
        start = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        with pytest.raises(RuntimeError), conn.transaction():
            import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
            raise RuntimeError("interrupted")
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == start


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_the_log_is_append_only(conn, tmp_path, statement):
    load_sample_city(conn, tmp_path)
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute(statement)


# each chain's head moved to that chain's newest remaining row (other files' kab/kota chains may be in the database)
HEAD_TO_NEWEST = (
    "UPDATE audit_head h SET (id, hash, seq) = (SELECT l.id, l.hash, l.seq FROM audit_log l"
    " WHERE l.kota_code = h.kota_code ORDER BY l.seq DESC LIMIT 1)"
    " WHERE EXISTS (SELECT 1 FROM audit_log l WHERE l.kota_code = h.kota_code)"
)


def _ids(conn) -> list[int]:
    """The rows' ids in chain order, every row sealed first (as the served app does within a second)."""
    conn.execute("SELECT peta_audit_seal()")
    return [r[0] for r in conn.execute("SELECT id FROM audit_log ORDER BY seq").fetchall()]


def test_changed_row_is_named(db, tmp_path):
    load_sample_city(db, tmp_path)
    ids = _ids(db)
    _tamper(db, f"UPDATE audit_log SET reason = 'nothing to see' WHERE id = {ids[1]}")
    report = db.call(verify_chain)
    assert not report.ok and report.message.startswith(f"audit row {ids[1]} was changed")


def test_removed_rows_are_named(db, tmp_path):
    load_sample_city(db, tmp_path)
    ids = _ids(db)
    _tamper(db, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    report = db.call(verify_chain)
    assert report.message == f"audit rows between {ids[0]} and {ids[2]} were removed (the chain breaks at {ids[2]})"


def test_removed_newest_rows_are_detected(db, tmp_path):
    load_sample_city(db, tmp_path)
    ids = _ids(db)
    _tamper(db, f"DELETE FROM audit_log WHERE id = {ids[-1]}")
    report = db.call(verify_chain)
    assert not report.ok and report.message == f"audit rows after {ids[-2]} were removed (the chain head was {ids[-1]})"


def _append(conn, **values) -> int:
    """One audit row written through the chain trigger (as the application writes its read records)."""
    row = {"actor": "api:uji", "role": None, "action": "read", "object_type": "household", "object_ids": [],
           "reason": None, **values}  # fmt: skip
    new = conn.execute(
        "INSERT INTO audit_log (id, actor, role, action, object_type, object_ids, reason, prev_hash, hash)"
        " VALUES (0, %(actor)s, %(role)s, %(action)s, %(object_type)s, %(object_ids)s, %(reason)s, '', '')"
        " RETURNING id, hash",
        row,
    ).fetchone()
    assert new[1] is None  # inserted unsealed, whatever the writer sent
    assert conn.execute("SELECT peta_audit_seal()").fetchone()[0] >= 1
    return new[0]


def _row(conn, row_id: int) -> dict:
    cur = conn.execute(
        "SELECT id, at, actor, role, action, object_type, object_ids, before::text AS before, after::text AS after,"
        " reason, prev_hash, hash, hash_version, seq, kota_code FROM audit_log WHERE id = %s",
        (row_id,),
    )
    return dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True))


def test_rows_before_the_migration_keep_encoding_1_and_new_rows_use_4(db):
    versions = [v for (v,) in db.execute("SELECT hash_version FROM audit_log ORDER BY kota_code, seq").fetchall()]
    old, three = versions.count(1), versions.count(3)
    # the rows of the migrations before 0013 keep encoding 1 (nothing was re-chained); those from 0013 to 0023
    # (0018's and 0020's settings) use 3, each sealed by its migration; rows written since use 4 (below)
    assert old >= 2 and three >= 1 and versions == [1] * old + [3] * three
    awkward = [
        {"actor": "ani|budi", "role": None, "reason": "a,b|c"},
        {"actor": "siti", "role": "", "object_ids": ["1,2", None, "ü€𝄞", "x|y"], "reason": ""},
        {"actor": "ℕ", "action": "export", "object_ids": ["1"] * 3, "reason": "N"},
    ]
    ids = [_append(db, **values) for values in awkward]
    row = _row(db, ids[1])
    assert row["hash_version"] == 4 and row["hash"] == digest_v4(row["prev_hash"], row)  # SQL and Python agree
    assert db.execute("SELECT peta_audit_digest_v4(prev_hash, a) FROM audit_log a WHERE id = %s",
                      (ids[1],)).fetchone()[0] == row["hash"]  # fmt: skip
    assert row["prev_hash"] == _row(db, ids[0])["hash"] and row["seq"] == _row(db, ids[0])["seq"] + 1
    assert digest_v4(row["prev_hash"], {**row, "seq": row["seq"] + 1}) != row["hash"]  # the position is covered
    assert digest_v4(row["prev_hash"], {**row, "kota_code": "15.71"}) != row["hash"]  # and so is the chain
    assert digest_v3(row["prev_hash"], row) != row["hash"]
    # an inserted version is ignored: the trigger writes the current encoding
    forced = db.execute(
        "INSERT INTO audit_log (id, actor, action, object_type, prev_hash, hash, hash_version)"
        " VALUES (0, 'x', 'read', 'household', '', '', 1) RETURNING hash_version"
    ).fetchone()
    assert forced == (4,)
    assert db.call(verify_chain).ok


def test_rows_that_collided_under_encoding_1_differ_under_encoding_2(conn):
    original = {"id": 7, "at": datetime(2026, 11, 30, 8, tzinfo=UTC), "actor": "ani", "role": None,
                "action": "read|export", "object_type": "household", "object_ids": ["1,2"], "before": None,
                "after": None, "reason": "x"}  # fmt: skip
    forged = {**original, "role": "read", "action": "export", "object_ids": ["1", "2"]}
    assert digest_v1("0" * 64, original) == digest_v1("0" * 64, forged)  # the old encoding: one hash, two rows
    assert digest_v2("0" * 64, original) != digest_v2("0" * 64, forged)
    sql_v1 = conn.execute(
        "SELECT peta_audit_digest(%(p)s, ROW(7, %(at)s, 'ani', NULL, 'read|export', 'household', '{\"1,2\"}',"
        " NULL, NULL, 'x', '', '', 1, NULL, '')::audit_log),"
        " peta_audit_digest(%(p)s, ROW(7, %(at)s, 'ani', 'read', 'export', 'household', '{1,2}',"
        " NULL, NULL, 'x', '', '', 1, NULL, '')::audit_log)",
        {"p": "0" * 64, "at": original["at"]},
    ).fetchone()
    assert sql_v1[0] == sql_v1[1] == digest_v1("0" * 64, original)


def test_a_row_changed_into_its_old_collision_is_detected_now(db):
    # a row written before the migration (encoding 1): the collision goes unnoticed there, as it always did
    # (the chain as it stood then: without the rows later migrations wrote in encodings 3 and 4)
    _tamper(db, "DELETE FROM audit_log WHERE hash_version >= 3")
    _tamper(db, HEAD_TO_NEWEST)
    assert db.call(verify_chain).ok
    legacy_prev, seq = db.execute("SELECT hash, seq FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    _tamper(db, f"""INSERT INTO audit_log (id, at, actor, role, action, object_type, object_ids, prev_hash, hash,
                      hash_version, seq) VALUES (nextval('audit_log_id_seq'), now(), 'ani', NULL, 'read|export',
                      'household', '{{"1,2"}}', '{legacy_prev}', '', 1, {seq + 1})""")  # fmt: skip
    _tamper(db, "UPDATE audit_log a SET hash = peta_audit_digest(prev_hash, a) WHERE hash = ''")
    _tamper(db, HEAD_TO_NEWEST)
    assert db.call(verify_chain).ok
    legacy = _ids(db)[-1]
    _tamper(db, f"UPDATE audit_log SET role = 'read', action = 'export', object_ids = '{{1,2}}' WHERE id = {legacy}")
    assert db.call(verify_chain).ok  # the hole of encoding 1 (rows before 0010 keep it)
    # the same change to a row written now
    row = _append(db, actor="ani", action="read|export", object_ids=["1,2"])
    _tamper(db, f"UPDATE audit_log SET role = 'read', action = 'export', object_ids = '{{1,2}}' WHERE id = {row}")
    report = db.call(verify_chain)
    assert not report.ok and report.message.startswith(f"audit row {row} was changed")


def test_a_row_moved_back_to_the_old_encoding_is_detected(db):
    _append(db, actor="ani")
    row = _append(db, actor="budi")
    # re-hashed with the ambiguous encoding, head and all: the hash matches, the version does not
    _tamper(db, f"UPDATE audit_log a SET hash_version = 1 WHERE id = {row}")
    _tamper(db, f"UPDATE audit_log a SET hash = peta_audit_digest(prev_hash, a) WHERE id = {row}")
    _tamper(db, f"UPDATE audit_head SET hash = (SELECT hash FROM audit_log WHERE id = {row})")
    report = db.call(verify_chain)
    assert not report.ok and report.message == (
        f"audit row {row} was changed (it claims hash encoding 1, superseded by encoding 4 in the rows before it)"
    )


REWRITE = """
DO $$
DECLARE
    r record;
    prev text := COALESCE((SELECT hash FROM audit_log WHERE seq < (SELECT seq FROM audit_log WHERE id = {first})
                           ORDER BY seq DESC LIMIT 1), repeat('0', 64));
BEGIN
    FOR r IN SELECT id FROM audit_log WHERE seq >= (SELECT seq FROM audit_log WHERE id = {first}) ORDER BY seq LOOP
        UPDATE audit_log a SET prev_hash = prev WHERE id = r.id;
        UPDATE audit_log a SET hash = CASE a.hash_version WHEN 1 THEN peta_audit_digest(a.prev_hash, a)
                                           WHEN 2 THEN peta_audit_digest_v2(a.prev_hash, a)
                                           WHEN 3 THEN peta_audit_digest_v3(a.prev_hash, a)
                                           ELSE peta_audit_digest_v4(a.prev_hash, a) END
         WHERE id = r.id RETURNING hash INTO prev;
    END LOOP;
    UPDATE audit_head SET (id, hash, seq) = (SELECT id, hash, seq FROM audit_log ORDER BY seq DESC LIMIT 1);
END $$
"""


@pytest.fixture
def anchored(db, tmp_path):
    load_sample_city(db, tmp_path)
    anchor = db.call(take_anchor)
    assert anchor.id == _ids(db)[-1] and db.call(check_anchor, anchor).ok
    db.execute("UPDATE area SET name = 'Kecamatan Baru' WHERE code = '15.71.01'")  # later rows are fine
    assert db.call(verify_chain).ok and db.call(check_anchor, anchor).ok
    assert Anchor.parse(str(anchor)) == anchor
    return anchor


def test_an_anchor_detects_a_chain_rewritten_by_a_superuser(db, anchored):
    first = _ids(db)[1]
    _tamper(db, f"UPDATE audit_log SET reason = 'nothing to see' WHERE id = {first}")
    _tamper(db, REWRITE.format(first=first))
    assert db.call(verify_chain).ok  # consistent again: only the anchor kept elsewhere tells
    report = db.call(check_anchor, anchored)
    assert not report.ok and report.message.startswith(f"the audit log was rewritten: row {anchored.id} now hashes to")


def test_an_anchor_detects_a_chain_truncated_before_it(db, anchored):
    _tamper(db, f"DELETE FROM audit_log WHERE id >= {anchored.id - 1}")
    _tamper(db, HEAD_TO_NEWEST)
    assert db.call(verify_chain).ok
    report = db.call(check_anchor, anchored)
    last = _ids(db)[-1]
    assert not report.ok and report.message == (
        f"the audit log was truncated: it ends at row {last}, before row {anchored.id}"
        f" anchored on {anchored.taken:%Y-%m-%d %H:%M:%S} UTC"
    )


def test_an_anchor_cannot_be_changed_once_taken():
    import dataclasses

    anchor = Anchor.parse("peta-audit-anchor:12:" + "ab" * 32 + ":20261130T101500Z")
    with pytest.raises(dataclasses.FrozenInstanceError):
        anchor.id = 13  # type: ignore[misc]
    printed = "peta-audit-anchor:12:" + "ab" * 32 + ":20261130T101500Z"
    assert (anchor.id, anchor.hash, str(anchor)) == (12, "ab" * 32, printed)


def test_anchor_parsing_refuses_anything_else():
    with pytest.raises(InputError, match="is not an anchor printed by `peta audit anchor`"):
        Anchor.parse("peta-audit-anchor:12:abc:20261130T101500Z")


def test_secrets_never_reach_the_log(db):
    db.execute(
        "INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES ('15.71', 'K', 'kota',"
        " ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.61, -1.61, 4326)), 1, 't', 'h')"
    )
    db.execute(
        "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
        " VALUES ('ani', '$argon2id$secret', 'planner', 'kota', '{15.71}')"
    )
    after = db.execute("SELECT after::text FROM audit_log WHERE object_type = 'app_user'").fetchone()[0]
    assert "argon2" not in after and '"username": "ani"' in after
    assert db.call(recent, 1)[0]["object_type"] == "app_user"


def test_cli_verify(clean_committed, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        with psycopg.connect(clean_committed) as conn:  # a row before the import's, whatever ran before
            _insert_read(conn, "api:before")
            # and a kab/kota's chain beside the deployment's (other files leave some): tampering with one chain
            # and truncating it must be told apart from the other, which stays intact
            conn.execute("INSERT INTO audit_log (id, kota_code, actor, action, object_type, object_ids)"
                         " VALUES (0, '15.71', 'api:other', 'read', 'household', '{1}')")  # fmt: skip
        path = write_layer(tmp_path / "kota.geojson", KOTA)
        assert runner.invoke(app, ["boundaries", "import", str(path), "--level", "kota"]).exit_code == 0
        with psycopg.connect(clean_committed) as conn:
            waiting = conn.execute("SELECT count(*) FROM audit_log WHERE seq IS NULL").fetchone()[0]
        assert waiting >= 1  # the import's rows, not sealed yet (no server runs here)
        sealed = runner.invoke(app, ["audit", "seal"])
        assert sealed.exit_code == 0 and f"sealed {waiting:,} audit rows" in sealed.output, sealed.output
        with psycopg.connect(clean_committed) as conn:
            assert conn.execute("SELECT count(*) FROM audit_log WHERE seq IS NULL").fetchone() == (0,)
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "chain intact" in ok.output
        shown = runner.invoke(app, ["audit", "show"])
        assert "cli:" in shown.output and "area" in shown.output
        with psycopg.connect(clean_committed) as conn:
            newest, actor = conn.execute("SELECT id, actor FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
            _tamper(conn, f"UPDATE audit_log SET actor = 'x' WHERE id = {newest}")
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and f"audit row {newest} was changed" in bad.output
        with psycopg.connect(clean_committed) as conn:  # repaired, then anchored
            _tamper(conn, f"UPDATE audit_log SET actor = '{actor}' WHERE id = {newest}")
        anchor = runner.invoke(app, ["audit", "anchor"])
        # one line per chain (the other files' kab/kota chains may be there too): the newest row's chain's
        lines = [line for line in anchor.stdout.split() if line.startswith(f"peta-audit-anchor:{newest}:")]
        assert anchor.exit_code == 0 and len(lines) == 1, anchor.output
        value = lines[0]
        held = runner.invoke(app, ["audit", "verify", "--anchor", value])
        assert held.exit_code == 0 and f"row {newest} still has the hash anchored on" in held.output
        with psycopg.connect(clean_committed) as conn:  # the superuser truncates the chain, head and all
            kept = conn.execute("SELECT max(id) FROM audit_log WHERE id < %s", (newest,)).fetchone()[0]
            _tamper(conn, f"DELETE FROM audit_log WHERE id >= {newest}")
            _tamper(conn, HEAD_TO_NEWEST)
        gone = runner.invoke(app, ["audit", "verify", "--anchor", value])
        assert gone.exit_code == 1 and "chain intact" in gone.output
        assert f"the audit log was truncated: it ends at row {kept}, before row {newest}" in gone.output
        wrong = runner.invoke(app, ["audit", "verify", "--anchor", "pv_123"])
        assert wrong.exit_code == 1 and "is not an anchor printed by `peta audit anchor`" in wrong.output
    finally:
        with psycopg.connect(clean_committed) as conn:  # leave a clean chain for the other tests
            _tamper(conn, "DELETE FROM audit_log")
            _tamper(conn, "DELETE FROM audit_head")
        get_settings.cache_clear()


def _insert_read(conn, actor: str) -> int:
    return conn.execute(
        "INSERT INTO audit_log (id, actor, action, object_type, object_ids) VALUES (0, %s, 'read', 'household', '{1}')"
        " RETURNING id",
        (actor,),
    ).fetchone()[0]


def test_audit_rows_are_appended_without_waiting_on_each_other(clean_committed):
    # an open transaction holding an audit row (a slow request) does not hold up anyone else's audit row
    with psycopg.connect(clean_committed) as slow, bridge(clean_committed, keep=True) as quick:
        quick.call(seal)  # what earlier tests left
        first = _insert_read(slow, "slow")
        quick.execute("SET lock_timeout = '500ms'")  # the chain lock of old would fail this
        second = _insert_read(quick, "quick")
        quick.commit()
        assert second > first
        # sealed in the order they became visible: the later id first, the earlier once committed
        assert quick.execute("SELECT peta_audit_seal()").fetchone() == (1,)
        quick.commit()
        slow.commit()
        assert quick.execute("SELECT peta_audit_seal()").fetchone() == (1,)
        quick.commit()
        order = quick.execute("SELECT id FROM audit_log WHERE id IN (%s, %s) ORDER BY seq", (first, second)).fetchall()
        assert order == [(second,), (first,)]
        report = quick.call(verify_chain)
        assert report.ok and report.unsealed == 0, report.message


def test_one_sealer_at_a_time_and_never_from_an_old_snapshot(clean_committed):
    with bridge(clean_committed, keep=True) as a, psycopg.connect(clean_committed) as b:
        _insert_read(a, "ani")
        a.commit()
        a.execute("SELECT pg_advisory_xact_lock(hashtext('peta_audit_seal:'))")  # a sealer of that chain at work
        assert b.execute("SELECT peta_audit_seal()").fetchone() == (0,)  # the second one does not wait
        b.rollback()
        a.rollback()
        b.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with pytest.raises(psycopg.errors.RaiseException, match="READ COMMITTED"):
            b.execute("SELECT peta_audit_seal()")
        b.rollback()
        assert a.call(verify_chain).ok
        assert a.execute("SELECT count(*) FROM audit_log WHERE seq IS NULL").fetchone() == (0,)


def test_an_unsealed_row_can_only_be_sealed_not_changed(clean_committed):
    with psycopg.connect(clean_committed) as conn:
        row = _insert_read(conn, "ani")
        conn.commit()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'budi', seq = 99, hash = 'x', prev_hash = 'y' WHERE id = %s",
                         (row,))  # fmt: skip
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log WHERE id = %s", (row,))
        conn.rollback()
