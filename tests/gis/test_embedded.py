"""The embedded cluster: missing binaries named, a real lifecycle through `peta db`, settings validation."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from core.errors import ConfigError
from core.settings import Settings, get_settings
from db.embedded import EmbeddedCluster, check_postgis, find_bindir
from peta.cli import app
from tests.conftest import HEAD_REVISION, REPO


def test_missing_postgresql_binaries_name_the_package(tmp_path):
    s = Settings(PETA_PG_BINDIR=str(tmp_path), PETA_HOME=str(tmp_path / "home"))
    with pytest.raises(ConfigError, match=r"apt-get install postgresql-15 postgresql-15-postgis-3"):
        find_bindir(s)
    with pytest.raises(ConfigError, match="were not found in"):
        EmbeddedCluster(s).start()


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_missing_postgis_names_the_package(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("initdb", "pg_ctl"):
        _script(bindir / tool, "exit 0")
    _script(bindir / "postgres", "echo 'postgres (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)'")
    _script(bindir / "pg_config", f"echo {tmp_path / 'share'}")
    assert find_bindir(Settings(PETA_PG_BINDIR=str(bindir))) == bindir
    with pytest.raises(ConfigError, match=r"apt-get install postgresql-15-postgis-3"):
        check_postgis(bindir)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "must be a postgresql:// URL"),
        ({"PETA_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"PETA_STATEMENT_TIMEOUT_MS": "-5"}, "greater than or equal to 0"),
    ],
)
def test_settings_are_validated(monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_bad_setting_gives_clean_cli_error(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/x")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output or "database_url" in result.output.lower()


@pytest.fixture
def fresh_home(monkeypatch):
    """A new PETA_HOME (under the repository, so the postgres account can reach it when we are root)."""
    home = REPO / ".peta-test" / f"lifecycle-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PETA_HOME", str(home))
    get_settings.cache_clear()
    yield home
    EmbeddedCluster(Settings(PETA_HOME=str(home))).stop()
    get_settings.cache_clear()
    shutil.rmtree(home, ignore_errors=True)


def test_db_up_status_down_lifecycle(fresh_home):
    runner = CliRunner()
    up = runner.invoke(app, ["db", "up"])
    assert up.exit_code == 0, up.output
    assert "database ready" in up.output
    state = json.loads((fresh_home / "embedded.json").read_text())
    assert oct((fresh_home / "embedded.json").stat().st_mode & 0o777) == "0o600"
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["reachable"] is True and status["revision"] == HEAD_REVISION
    assert status["embedded"]["running"] is True and status["embedded"]["port"] == state["port"]
    assert state["password"] not in json.dumps(status)
    app_url = f"postgresql://peta_app:{state['app_password']}@127.0.0.1:{state['port']}/peta"
    with psycopg.connect(app_url) as conn:  # the served app's least-privilege login works
        assert conn.execute("SELECT current_user").fetchone() == ("peta_app",)
    url = f"postgresql://peta:{state['password']}@127.0.0.1:{state['port']}/peta"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM area").fetchone() == (0,)
        conn.execute(
            "INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES "
            "('15.71', 'K', 'kota', ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.61, -1.61, 4326)), 1, 't', 'h')"
        )
    again = runner.invoke(app, ["db", "up"])
    assert again.exit_code == 0
    assert json.loads((fresh_home / "embedded.json").read_text())["port"] == state["port"]
    down = runner.invoke(app, ["db", "down"])
    assert (down.exit_code, down.output.strip()) == (0, "stopped")
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["reachable"] is False and status["embedded"]["running"] is False
    assert runner.invoke(app, ["db", "down"]).output.strip() == "the embedded cluster was not running"
    assert runner.invoke(app, ["db", "up"]).exit_code == 0  # data survives a restart
    with psycopg.connect(
        url.replace(str(state["port"]), str(json.loads((fresh_home / "embedded.json").read_text())["port"]))
    ) as conn:
        assert conn.execute("SELECT code FROM area").fetchall() == [("15.71",)]


def test_commands_without_a_database_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PETA_HOME", str(tmp_path / "nothing"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["boundaries", "check"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "set DATABASE_URL or run `peta db up`" in result.output
