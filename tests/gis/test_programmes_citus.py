"""Programme rosters and eligibility lists on Citus (issue 18 over migration 0027): the recipients and the fixed
lists are distributed by kab/kota beside the families, the roster versions are a reference table; an upload, a
provisional pull and a fixed pull work through the app as peta_app on the coordinator.

Needs Citus built into this machine's PostgreSQL (`make citus`); without it the test skips."""

from __future__ import annotations

import json

import psycopg
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.privacy import keyed_hash
from core.settings import Settings, get_settings
from peta.cli import app
from portal.app import create_app
from tests.gis.test_citus import _url, citus_home, needs_citus  # noqa: F401  (the fixture)

SECRET = "programme-citus-test-key-abcdefghijklmnop012"
KK = "1571010303030001"


@needs_citus
def test_rosters_and_lists_work_distributed(citus_home, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PETA_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    runner = CliRunner()
    assert (up := runner.invoke(app, ["db", "up", "--citus", "1"])).exit_code == 0, up.output
    assert (demo := runner.invoke(app, ["demo", "--scale", "0.02"])).exit_code == 0, demo.output
    url = _url(citus_home, "coordinator")
    with psycopg.connect(url) as conn:
        kinds = dict(conn.execute("SELECT logicalrelid::text, partmethod FROM pg_dist_partition"
                                  " WHERE logicalrelid::text LIKE 'programme%%'").fetchall())  # fmt: skip
        assert kinds == {"programme_roster": "n", "programme_recipient": "h", "programme_list": "h",
                         "programme_eligible": "h"}  # fmt: skip
        family, kota = conn.execute("SELECT id, kota_code FROM household WHERE active ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE household SET kk_hash = %s, desil_resmi = 1 WHERE id = %s AND kota_code = %s",
                     (keyed_hash(SECRET.encode(), KK), family, kota))  # fmt: skip
        expected = conn.execute("SELECT count(*) FROM household WHERE active AND desil_resmi BETWEEN 1 AND 4"
                                ).fetchone()[0]  # fmt: skip
    made = runner.invoke(app, ["programmes", "key", "Dinsos PKH", "--programme", "PKH"])
    assert made.exit_code == 0, made.output
    key = {"X-API-Key": made.stdout.strip().splitlines()[-1]}
    state = json.loads((citus_home / "citus" / "coordinator" / "embedded.json").read_text())
    app_url = f"postgresql://peta_app:{state['app_password']}@127.0.0.1:{state['port']}/peta"
    get_settings.cache_clear()
    with TestClient(create_app(Settings(PETA_SECRET_KEY=SECRET), url=app_url)) as client:
        sent = client.post("/api/v1/programmes/PKH/rosters", headers=key, data={"period": "2026-11"},
                           files={"file": ("pkh.csv", f"no_kk\n{KK}\n".encode(), "text/csv")})  # fmt: skip
        assert sent.status_code == 201 and sent.json()["matched"] == 1, sent.text
        for period in ("2026-11", "2030-01"):  # fixed (its cut-off passed), provisional
            pulled = client.get("/api/v1/programmes/PKH/eligible", headers=key, params={"period": period})
            assert pulled.status_code == 200, pulled.text
            assert pulled.json()["total"] == expected > 0 and pulled.json()["fixed"] == (period == "2026-11")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT household_id FROM programme_recipient").fetchall() == [(family,)]
        assert conn.execute("SELECT sum(families) FROM programme_list WHERE period = '2026-11'").fetchone() == (
            expected,)
