"""The audit trail: written in the changing transaction, append-only, and tampering is detected by row."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.importer import import_boundaries
from gis.audit import act_as, recent, verify_chain, with_reason
from gis.settings import get_settings
from peta.cli import app
from tests.layers import KECAMATAN, KOTA, load_sample_city, write_layer


def test_writes_are_audited_with_actor_role_and_reason(conn, tmp_path):
    since = conn.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]  # the migrations' own rows
    act_as(conn, "ani.dinsos", "admin", session=False)
    with_reason(conn, "batas baru 2025")
    import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    import_boundaries(conn, write_layer(tmp_path / "kec.geojson", KECAMATAN), "kecamatan")
    rows = conn.execute(
        "SELECT actor, role, action, object_type, object_ids, reason, after->0->>'name' FROM audit_log"
        " WHERE id > %s ORDER BY id",
        (since,),
    ).fetchall()
    assert [r[:6] for r in rows] == [
        ("ani.dinsos", "admin", "insert", "area", ["15.71"], "batas baru 2025"),
        ("ani.dinsos", "admin", "insert", "area", ["15.71.01", "15.71.02"], "batas baru 2025"),
    ]
    assert rows[0][6] == "Kota Uji"
    assert verify_chain(conn).ok


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


def _tamper(conn, sql: str) -> None:
    """What an intruder with superuser rights would do: bypass the triggers."""
    conn.execute("SET LOCAL session_replication_role = replica")
    conn.execute(sql)
    conn.execute("SET LOCAL session_replication_role = origin")


def _ids(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM audit_log ORDER BY id").fetchall()]


def test_changed_row_is_named(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    ids = _ids(conn)
    _tamper(conn, f"UPDATE audit_log SET reason = 'nothing to see' WHERE id = {ids[1]}")
    report = verify_chain(conn)
    assert not report.ok and report.message.startswith(f"audit row {ids[1]} was changed")


def test_removed_rows_are_named(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    ids = _ids(conn)
    _tamper(conn, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    report = verify_chain(conn)
    assert report.message == f"audit rows between {ids[0]} and {ids[2]} were removed (the chain breaks at {ids[2]})"


def test_removed_newest_rows_are_detected(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    ids = _ids(conn)
    _tamper(conn, f"DELETE FROM audit_log WHERE id = {ids[-1]}")
    report = verify_chain(conn)
    assert not report.ok and report.message == f"audit rows after {ids[-2]} were removed (the chain head was {ids[-1]})"


def test_secrets_never_reach_the_log(conn):
    conn.execute(
        "INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES ('15.71', 'K', 'kota',"
        " ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.61, -1.61, 4326)), 1, 't', 'h')"
    )
    conn.execute(
        "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
        " VALUES ('ani', '$argon2id$secret', 'planner', 'kota', '{15.71}')"
    )
    after = conn.execute("SELECT after::text FROM audit_log WHERE object_type = 'app_user'").fetchone()[0]
    assert "argon2" not in after and '"username": "ani"' in after
    assert recent(conn, 1)[0]["object_type"] == "app_user"


def test_cli_verify(clean_committed, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        path = write_layer(tmp_path / "kota.geojson", KOTA)
        assert runner.invoke(app, ["boundaries", "import", str(path), "--level", "kota"]).exit_code == 0
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "chain intact" in ok.output
        shown = runner.invoke(app, ["audit", "show"])
        assert "cli:" in shown.output and "area" in shown.output
        with psycopg.connect(clean_committed) as conn:
            newest = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            _tamper(conn, f"UPDATE audit_log SET actor = 'x' WHERE id = {newest}")
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and f"audit row {newest} was changed" in bad.output
    finally:
        with psycopg.connect(clean_committed) as conn:  # leave a clean chain for the other tests
            _tamper(conn, "DELETE FROM audit_log")
            _tamper(conn, "DELETE FROM audit_head")
        get_settings.cache_clear()
