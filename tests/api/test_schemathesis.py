"""Schemathesis against the app's own OpenAPI document: no 5xx, and every response as documented.

Runs the schemathesis CLI against a live server (the same app, a small demo city), anonymously and
as an admin. Logout routes are left out of the admin run (they would end the session it uses).
Every check runs except `positive_data_acceptance`: a CQL2 `filter` or a `bbox` can match its
documented type (a string) and still be refused with a 400 that names the mistake, which is right.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.live import serve

PASSWORD = "rahasia-sekali-123"
EXAMPLES = "12"
ST = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def live(committed_url):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.02, seed=5)))
        conn.commit()
    get_settings.cache_clear()
    out = CliRunner().invoke(cli, ["users", "add", "st.admin", "--role", "admin"],
                             input=f"{PASSWORD}\n{PASSWORD}\n", env={"DATABASE_URL": committed_url})  # fmt: skip
    assert out.exit_code == 0, out.output
    get_settings.cache_clear()
    os.environ["PETA_RATE_PER_MINUTE"] = "1000000"
    try:
        app = create_app(url=committed_url)
    finally:
        del os.environ["PETA_RATE_PER_MINUTE"]
    with serve(app) as base:
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "st.admin", "password": PASSWORD})
        yield base, token.json()["access_token"]
    truncate_all(committed_url)


def run(base: str, *extra: str, cwd: Path) -> None:
    cmd = [str(ST), "run", f"{base}/openapi.json", "--max-examples", EXAMPLES, "--no-color",
           "--seed", "2026", "--exclude-checks", "positive_data_acceptance", *extra]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=cwd)  # its cache stays out of the repo
    report = cwd / "schemathesis.txt"
    report.write_text(r.stdout + r.stderr)  # whole: a failing case's body can crowd the tail out
    failures = [line for line in r.stdout.splitlines() if line.lstrip().startswith(("_", "- ", "[", "❌"))]
    assert r.returncode == 0, f"full report: {report}\n" + "\n".join(failures[:80])[-6000:] + r.stdout[-3000:]


def test_anonymous_calls_follow_the_schema(live, tmp_path):
    run(live[0], cwd=tmp_path)


def test_admin_calls_follow_the_schema(live, tmp_path):
    run(live[0], "-H", f"Authorization: Bearer {live[1]}", "--exclude-path-regex", ".*/logout$", cwd=tmp_path)
