"""`peta campaign` end to end: create, list, coverage, priorities, assign (with its refusal), workload."""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from gis.settings import get_settings
from peta.cli import app

runner = CliRunner()
PASSWORD = "rahasia-sekali-123"


@pytest.fixture
def env(clean_committed, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    with psycopg.connect(clean_committed) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.03, seed=4)))
    yield clean_committed
    get_settings.cache_clear()


def test_campaign_commands(env):
    start, end = date.today() - timedelta(days=10), date.today() + timedelta(days=50)
    made = runner.invoke(app, ["campaign", "create", "Verval CLI", "--starts", str(start), "--ends", str(end),
                               "--desil", "1-3"])  # fmt: skip
    assert made.exit_code == 0, made.output
    with psycopg.connect(env) as conn:
        expected = conn.execute("""SELECT count(*) FROM household h JOIN household_rank r ON r.household_id = h.id
                                   WHERE h.active AND r.local_desil BETWEEN 1 AND 3""").fetchone()[0]  # fmt: skip
        cid = conn.execute("SELECT id FROM campaign WHERE name = 'Verval CLI'").fetchone()[0]
    assert f"{expected:,} target families" in made.output
    listed = json.loads(runner.invoke(app, ["campaign", "list", "--json"]).output)
    assert [c["name"] for c in listed] == ["Verval CLI"]
    cov = json.loads(runner.invoke(app, ["campaign", "coverage", str(cid), "--level", "kecamatan", "--json"]).output)
    assert sum(r["targets"] for r in cov) == expected
    top = json.loads(runner.invoke(app, ["campaign", "priorities", str(cid), "--limit", "3", "--json"]).output)
    rt = top[0]["code"]
    out = runner.invoke(app, ["users", "add", "rt.cli", "--role", "verifier", "--scope-level", "rt", "--scope", rt,
                              "--kk", "1571010101700001"], input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert out.exit_code == 0, out.output
    with psycopg.connect(env) as conn:
        stored = conn.execute("SELECT kk_hash FROM app_user WHERE username = 'rt.cli'").fetchone()[0]
    assert len(stored) == 64 and "1571010101700001" not in stored
    short = runner.invoke(app, ["users", "add", "rt.kk", "--role", "verifier", "--scope-level", "rt", "--scope", rt,
                                "--kk", "123"], input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert short.exit_code == 2 and "--kk" in short.output
    due = str(date.today() + timedelta(days=7))
    ok = runner.invoke(app, ["campaign", "assign", str(cid), "--verifier", "rt.cli", "--due", due, "--rt", rt])
    assert ok.exit_code == 0 and "1 assignment(s) created for rt.cli" in ok.output, ok.output
    again = runner.invoke(app, ["campaign", "assign", str(cid), "--verifier", "rt.cli", "--due", due, "--rt", rt])
    assert again.exit_code == 1 and "already" in again.output
    load = json.loads(runner.invoke(app, ["campaign", "workload", str(cid), "--json"]).output)
    assert load[0]["verifier"] == "rt.cli" and load[0]["rts"] == 1
    bad = runner.invoke(app, ["campaign", "create", "X", "--starts", "kemarin", "--ends", str(end), "--desil", "1"])
    assert bad.exit_code == 2 and "--starts" in bad.output
    neither = runner.invoke(app, ["campaign", "create", "Y", "--starts", str(start), "--ends", str(end)])
    assert neither.exit_code == 2 and "either --desil or --category" in neither.output
