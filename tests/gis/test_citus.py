"""The embedded Citus cluster (issue 16): `peta db up --citus N` starts a coordinator and N workers on loopback,
each with citus and PostGIS, the workers registered; the schema's migrations run on the coordinator; a table
distributed by the kab/kota code answers one city's spatial query from one shard; `peta db down` stops every node.

Needs Citus built into this machine's PostgreSQL (`make citus`); `make test` builds it where the vendored source
is present (../shared/vendor/citus). Without it the tests say so and skip: Citus is not part of a plain install.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings, get_settings
from db import citus
from db.embedded import find_bindir, sharedir
from peta.cli import app
from tests.conftest import HEAD_REVISION, REPO

HAVE_CITUS = (sharedir(find_bindir(Settings())) / "extension" / "citus.control").exists()
needs_citus = pytest.mark.skipif(not HAVE_CITUS, reason="Citus is not installed here (make citus builds it)")


def test_without_citus_the_error_says_how_to_get_it(tmp_path):
    share = tmp_path / "share"
    (share / "extension").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pg_config").write_text(f"#!/bin/sh\necho {share}\n")
    (bindir / "pg_config").chmod(0o755)
    (bindir / "postgres").write_text("#!/bin/sh\necho 'postgres (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)'\n")
    (bindir / "postgres").chmod(0o755)
    with pytest.raises(ConfigError, match=r"Citus is not installed for PostgreSQL 15 .*make citus"):
        citus.check_citus(bindir)


def test_the_number_of_workers_is_bounded(tmp_path):
    s = Settings(PETA_HOME=str(tmp_path / "home"))
    for n in (0, citus.MAX_WORKERS + 1):
        with pytest.raises(ConfigError, match="--citus takes 1 to 8 workers"):
            citus.up(s, n)


@pytest.fixture
def citus_home(monkeypatch):
    """A new PETA_HOME under the repository (the postgres account must reach it when we are root)."""
    home = REPO / ".peta-test" / f"citus-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PETA_HOME", str(home))
    get_settings.cache_clear()
    yield home
    citus.down(Settings(PETA_HOME=str(home)))
    get_settings.cache_clear()
    shutil.rmtree(home, ignore_errors=True)


def _url(home: Path, name: str) -> str:
    state = json.loads((home / "citus" / name / "embedded.json").read_text())
    return f"postgresql://peta:{state['password']}@127.0.0.1:{state['port']}/peta"


@needs_citus
def test_db_up_citus_runs_a_coordinator_and_workers(citus_home):
    runner = CliRunner()
    up = runner.invoke(app, ["db", "up", "--citus", "2"])
    assert up.exit_code == 0, up.output
    assert "embedded Citus cluster" in up.output and "2 workers" in up.output
    coordinator, workers = _url(citus_home, "coordinator"), [_url(citus_home, f"worker{i}") for i in (1, 2)]
    ports = sorted(int(u.rsplit(":", 1)[1].split("/")[0]) for u in workers)
    assert len(set(ports)) == 2 and len({coordinator, *workers}) == 3
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["reachable"] is True and status["revision"] == HEAD_REVISION
    assert status["citus"]["mode"] == "citus"
    assert status["citus"]["active_workers"] == [f"127.0.0.1:{p}" for p in ports]
    assert all(n["running"] for n in status["citus"]["nodes"].values()) and len(status["citus"]["nodes"]) == 3
    for url in (coordinator, *workers):  # every node: citus and PostGIS, loopback only
        with psycopg.connect(url) as conn:
            extensions = dict(conn.execute("SELECT extname, extversion FROM pg_extension").fetchall())
            assert extensions["citus"].startswith("13.2") and "postgis" in extensions
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    with psycopg.connect(coordinator, autocommit=True) as conn:
        # a table distributed by the kab/kota code: one city's spatial query is one task, on one shard
        conn.execute("CREATE TABLE probe (kota text NOT NULL, id bigint, geom geometry(Point, 4326))")
        conn.execute("SELECT create_distributed_table('probe', 'kota')")
        conn.execute(
            "INSERT INTO probe SELECT k, g, ST_SetSRID(ST_MakePoint(100 + g % 10, -g % 5), 4326)"
            " FROM unnest(ARRAY['15.71', '12.71', '73.71']) k, generate_series(1, 200) g"
        )
        assert conn.execute("SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'probe'::regclass"
                            ).fetchone() == (2,)  # fmt: skip
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT count(*) FROM probe WHERE kota = '12.71' AND geom && ST_MakeEnvelope(101, -3, 104, 0, 4326)"
        ))  # fmt: skip
        assert "Task Count: 1" in plan, plan
        everywhere = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT kota, count(*) FROM probe GROUP BY kota"))
        assert "Task Count: 32" in everywhere  # a roll-up runs on every shard, in parallel across the workers
        assert conn.execute("SELECT count(*) FROM probe WHERE kota = '12.71'").fetchone() == (200,)
    state = json.loads((citus_home / "citus" / "coordinator" / "embedded.json").read_text())
    app_url = f"postgresql://peta_app:{state['app_password']}@127.0.0.1:{state['port']}/peta"
    with psycopg.connect(app_url) as conn:  # the app's least-privilege login works on the coordinator
        assert conn.execute("SELECT current_user").fetchone() == ("peta_app",)
    shrink = runner.invoke(app, ["db", "up", "--citus", "1"])
    assert shrink.exit_code == 1 and "cannot shrink to 1" in shrink.output
    down = runner.invoke(app, ["db", "down"])
    assert down.exit_code == 0 and "stopped the Citus nodes: worker2, worker1, coordinator" in down.output
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["reachable"] is False and not any(n["running"] for n in status["citus"]["nodes"].values())
    again = runner.invoke(app, ["db", "up", "--citus", "2"])  # the nodes come back with their data
    assert again.exit_code == 0, again.output
    with psycopg.connect(_url(citus_home, "coordinator")) as conn:
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (600,)
    # every other command uses the cluster the last `peta db up` chose: the demo loads into the coordinator
    demo = runner.invoke(app, ["demo", "--scale", "0.02"])
    assert demo.exit_code == 0, demo.output
    with psycopg.connect(_url(citus_home, "coordinator")) as conn:
        assert conn.execute("SELECT count(*) > 0 FROM household").fetchone() == (True,)
    assert not (citus_home / "pgdata").exists()  # the single embedded cluster was never made
    assert json.loads(runner.invoke(app, ["db", "status", "--json"]).output)["citus"]["mode"] == "citus"


@needs_citus
def test_the_per_kab_kota_audit_chains_work_distributed(citus_home):
    """The audit design of migration 0023 on Citus: the log and its heads distributed by kab/kota beside a family
    table, each statement's audit rows written by the shard's own triggers on the family's shard, a chain sealed
    by one task on its worker, the deployment's chain kept as it was, and the whole log verifying."""
    import asyncio

    from gis.audit import verify_chain

    up = CliRunner().invoke(app, ["db", "up", "--citus", "2"])
    assert up.exit_code == 0, up.output
    url = _url(citus_home, "coordinator")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT peta_audit_seal()")
        before = conn.execute("SELECT id, seq, hash FROM audit_log ORDER BY seq").fetchall()
        assert before and {k for (k,) in conn.execute("SELECT kota_code FROM audit_log")} == {""}
        conn.execute("SET citus.enable_unsafe_triggers = on")
        # the rows are moved to the shards, not written anew: without the log's own triggers while they move
        # (the copy runs on the workers' sessions, where the chain trigger would give them new ids)
        triggers = [d for (d,) in conn.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal"
        )]  # fmt: skip
        assert len(triggers) == 3
        conn.execute("DROP TRIGGER audit_chain ON audit_log; DROP TRIGGER audit_append_only ON audit_log;"
                     " DROP TRIGGER audit_no_truncate ON audit_log")  # fmt: skip
        conn.execute("SELECT create_distributed_table('audit_log', 'kota_code')")
        conn.execute("SELECT create_distributed_table('audit_head', 'kota_code', colocate_with => 'audit_log')")
        for definition in triggers:
            conn.execute(definition)
        conn.execute("CREATE TABLE fam (id bigint, kota_code text, x int, PRIMARY KEY (id, kota_code))")
        conn.execute("SELECT create_distributed_table('fam', 'kota_code', colocate_with => 'audit_log')")
        for op, tables in (("INSERT", "NEW TABLE AS new_rows"),
                           ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):  # fmt: skip
            conn.execute(f"CREATE TRIGGER audit_{op.lower()} AFTER {op} ON fam REFERENCING {tables}"
                         f" FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_{op.lower()}('fam', 'id')")  # fmt: skip
        for helper in ("peta_audit_field(text)", "peta_audit_digest_v3(text, audit_log)",
                       "peta_audit_digest_v4(text, audit_log)"):  # fmt: skip
            conn.execute("SELECT create_distributed_function(%s)", (helper,))  # on every node
        conn.execute("SELECT create_distributed_function('peta_audit_seal_chain(text, integer)', 'chain',"
                     " colocate_with := 'audit_log')")  # fmt: skip
        assert conn.execute("SELECT id, seq, hash FROM audit_log ORDER BY seq").fetchall() == before
        conn.execute("INSERT INTO fam SELECT g, CASE WHEN g % 2 = 0 THEN '15.71' ELSE '73.71' END, g"
                     " FROM generate_series(1, 10) g")  # fmt: skip
        conn.execute("UPDATE fam SET x = x + 1")
        rows = conn.execute("SELECT kota_code, action, object_ids FROM audit_log WHERE object_type = 'fam'"
                            " ORDER BY kota_code, id").fetchall()  # fmt: skip
        even, odd = [str(i) for i in range(2, 11, 2)], [str(i) for i in range(1, 10, 2)]
        assert rows == [("15.71", "insert", even), ("15.71", "update", even),
                        ("73.71", "insert", odd), ("73.71", "update", odd)]  # fmt: skip
        for kota in ("15.71", "73.71"):  # each city's audit rows live on its families' shard group
            shards = conn.execute(
                "SELECT get_shard_id_for_distribution_column('fam', %s::text),"
                " get_shard_id_for_distribution_column('audit_log', %s::text)", (kota, kota)).fetchone()  # fmt: skip
            placed = conn.execute("SELECT nodeport FROM citus_shards WHERE shardid = ANY (%s)",
                                  (list(shards),)).fetchall()  # fmt: skip
            assert len(placed) == 2 and placed[0] == placed[1]
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT peta_audit_seal_chain('15.71', 100)"))
        assert "Task Count: 1" in plan, plan  # one city's chain is sealed on its worker
        assert conn.execute("SELECT peta_audit_seal_chain('15.71', 100)").fetchone() == (2,)
        assert conn.execute("SELECT peta_audit_seal()").fetchone() == (2,)  # 73.71's two
        heads = conn.execute("SELECT kota_code, seq FROM audit_head ORDER BY kota_code").fetchall()
        assert heads == [("", before[-1][1]), ("15.71", 2), ("73.71", 2)]

    async def verify() -> str:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            report = await verify_chain(aconn)
            assert report.ok, report.message
            return report.message

    assert asyncio.run(verify()) == f"{len(before) + 4} audit rows in 3 chains, chain intact"
