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
def test_the_schema_is_distributed_by_kab_kota_and_one_city_is_one_shard_group(citus_home):
    """Migration 0027 on the embedded cluster: every table with a kab/kota key distributed by it and co-located
    with the families, every other table of the schema a reference table; a city's families written through the
    coordinator get their figures, audit rows (in the city's chain) and data version on that city's shard group,
    by the shards' own triggers; one city's bbox query and its chain's sealing are one task each; the roll-up of
    every city runs on every shard; and the whole log verifies."""
    import asyncio

    from gis.audit import verify_chain
    from tests.worlds import insert_kota_chains

    up = CliRunner().invoke(app, ["db", "up", "--citus", "2"])
    assert up.exit_code == 0, up.output
    url = _url(citus_home, "coordinator")
    with psycopg.connect(url, autocommit=True) as conn:
        kinds = dict(conn.execute(
            "SELECT logicalrelid::text, CASE WHEN partmethod = 'h' THEN 'distributed:' || column_to_column_name("
            "logicalrelid, partkey) ELSE 'reference' END FROM pg_dist_partition"
        ).fetchall())  # fmt: skip
        keyed = {t for (t,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'kota_code'"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'")}  # fmt: skip
        assert {"household", "household_rank", "verification", "audit_log", "area_stats"} <= keyed
        assert {t for t, k in kinds.items() if k == "distributed:kota_code"} == keyed - {"campaign"}
        assert {"area", "app_user", "api_key", "peta_config", "campaign"} <= {t for t, k in kinds.items()
                                                                             if k == "reference"}  # fmt: skip
        groups = conn.execute("SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = 'h'")
        assert groups.fetchone() == (1,)  # one shard group per kab/kota for all of them
        insert_kota_chains(conn, ("15.71", "73.71"), (103.5, -1.7, 103.7, -1.5))
        for kota in ("15.71", "73.71"):
            conn.execute(
                "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, source, "
                + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ") SELECT %s || g, 'x', %s, %s, 3, 'test', "
                + ", ".join("g %% 2 = 0" for _ in range(14)) + " FROM generate_series(1, 10) g",
                (kota, f"{kota}.01.1001.001.001", kota),
            )
        figures = conn.execute("SELECT kota_code, families FROM area_stats WHERE level = 'kota' ORDER BY 1")
        assert figures.fetchall() == [("15.71", 10), ("73.71", 10)]
        chains = conn.execute("SELECT kota_code, object_ids FROM audit_log WHERE object_type = 'household'"
                              " AND action = 'insert' ORDER BY 1").fetchall()  # fmt: skip
        assert [k for k, _ in chains] == ["15.71", "73.71"] and all(len(ids) == 10 for _, ids in chains)
        versions = conn.execute("SELECT count(*) FROM data_version WHERE kota_code IN ('15.71', '73.71')")
        assert versions.fetchone() == (2,)
        for kota in ("15.71", "73.71"):  # each city's rows of every table on one worker
            ports = {p for (p,) in conn.execute(
                "SELECT nodeport FROM citus_shards WHERE shardid IN (SELECT get_shard_id_for_distribution_column("
                "t, %s::text) FROM unnest(%s::regclass[]) t)", (kota, ["household", "audit_log", "area_stats"]))}
            assert len(ports) == 1  # fmt: skip
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT count(*) FROM household WHERE kota_code = '73.71'"
            " AND geom && ST_MakeEnvelope(101, -3, 104, 0, 4326)"))  # fmt: skip
        assert "Task Count: 1" in plan, plan
        everywhere = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT kota_code, count(*) FROM household GROUP BY 1"))  # fmt: skip
        assert "Task Count: 32" in everywhere
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT peta_audit_seal_chain('15.71', 100)"))
        assert "Task Count: 1" in plan, plan  # one city's chain is sealed on its worker
        assert conn.execute("SELECT peta_audit_seal_chain('15.71', 100)").fetchone()[0] >= 1

    async def verify() -> str:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            report = await verify_chain(aconn)
            assert report.ok, report.message
            return report.message

    assert asyncio.run(verify()).endswith("in 3 chains, chain intact")
