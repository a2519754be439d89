"""`peta households import`, `peta stats`, `peta rank` and `peta demo --export-csv` end to end (committed database)."""

from __future__ import annotations

import csv
import json

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app

runner = CliRunner()
KEY = "cli-registry-test-key-0123456789abcdef"  # varied: production refuses a key like "k" * 40


@pytest.fixture
def env(clean_committed, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    monkeypatch.setenv("PETA_SECRET_KEY", KEY)
    get_settings.cache_clear()
    with psycopg.connect(clean_committed) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.03, seed=3, secret_key=KEY.encode())))
        conn.execute("DELETE FROM household")
    yield clean_committed
    get_settings.cache_clear()


def test_export_import_stats_and_rank(env, tmp_path):
    exported = tmp_path / "families.csv"
    out = runner.invoke(app, ["demo", "--scale", "0.03", "--seed", "3", "--export-csv", str(exported)])
    assert out.exit_code == 0, out.output
    with exported.open() as f:
        rows = list(csv.DictReader(f))
    assert f"wrote {len(rows):,} families" in out.output
    first = runner.invoke(app, ["households", "import", str(exported)])
    assert first.exit_code == 0, first.output
    assert f"{len(rows):,} rows: {len(rows):,} new, 0 updated, 0 unchanged, 0 rejected" in first.output
    again = runner.invoke(app, ["households", "import", str(exported)])
    assert f"0 new, 0 updated, {len(rows):,} unchanged" in again.output

    stats = json.loads(runner.invoke(app, ["stats", "kota", "--json"]).stdout)
    assert stats[0]["families"] == len(rows)
    assert stats[0]["people"] == sum(int(r["jumlah_anggota"]) for r in rows)
    table = runner.invoke(app, ["stats", "kecamatan"])
    assert table.exit_code == 0 and "% cakupan" in table.output
    public = json.loads(runner.invoke(app, ["stats", "rt", "--public", "--json"]).stdout)
    cells = [r["poor_bps_families"] for r in public]
    assert None in cells and not any(c is not None and 1 <= c <= 4 for c in cells)
    hidden = next(r for r in public if r["poor_bps_people"] is None)
    assert hidden["poverty_rate_pct"] is None and "poor_bps_people" in hidden["suppressed"]
    as_csv = runner.invoke(app, ["stats", "rt", "--csv"]).stdout.splitlines()
    assert as_csv[0].startswith("code,name,level,parent_code,population,families")

    shown = runner.invoke(app, ["rank", "show", "--limit", "3"])
    assert shown.exit_code == 0 and "desil lokal" in shown.output
    with psycopg.connect(env) as conn:
        top = conn.execute(
            "SELECT household_id FROM household_rank ORDER BY score DESC, household_id LIMIT 1"
        ).fetchone()
    explained = runner.invoke(app, ["rank", "explain", str(top[0])])
    assert explained.exit_code == 0 and "k01" in explained.output
    assert runner.invoke(app, ["rank", "explain", "999999999"]).exit_code == 1
    assert runner.invoke(app, ["rank", "desil"]).exit_code == 0


def test_bad_file_exits_non_zero_and_writes_nothing(env, tmp_path):
    exported = tmp_path / "families.csv"
    runner.invoke(app, ["demo", "--scale", "0.03", "--seed", "3", "--export-csv", str(exported)])
    with exported.open() as f:
        rows = list(csv.DictReader(f))
    rows[1]["jumlah_anggota"] = "abc"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["households", "import", str(bad)])
    assert result.exit_code == 1
    assert "row 3, jumlah_anggota" in result.output and "nothing imported" in result.output
    with psycopg.connect(env) as conn:
        assert conn.execute("SELECT count(*) FROM household").fetchone() == (0,)
    skipped = runner.invoke(app, ["households", "import", str(bad), "--skip-invalid"])
    assert skipped.exit_code == 0
    assert f"{len(rows) - 1:,} new" in skipped.output and "1 rejected" in skipped.output
    assert (tmp_path / "bad.report.csv").read_text().splitlines()[1].startswith("3,jumlah_anggota,")
    assert runner.invoke(app, ["households", "import", str(bad), "--trust", "both"]).exit_code == 2
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("ranking: {bps_poor_min: 20}\n")
    refused = runner.invoke(app, ["rank", "apply", "--config", str(cfg)])
    assert refused.exit_code == 1 and "ranking.bps_poor_min: 1..14 expected" in refused.output
    cfg.write_text("ranking: {desil_over: kecamatan}\n")
    refused = runner.invoke(app, ["rank", "apply", "--config", str(cfg)])
    assert refused.exit_code == 1 and "ranking.desil_over: one of kota, provinsi, all expected, got 'kecamatan'" in (
        refused.output
    )


def test_subject_access_export(env, tmp_path):
    exported = tmp_path / "families.csv"
    runner.invoke(app, ["demo", "--scale", "0.03", "--seed", "3", "--export-csv", str(exported)])
    assert runner.invoke(app, ["households", "import", str(exported)]).exit_code == 0
    with exported.open() as f:
        first = next(csv.DictReader(f))
    out = tmp_path / "subject.json"
    result = runner.invoke(app, ["audit", "subject", "--output", str(out)], input=first["no_kk"] + "\n")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["family"]["nama_kepala"] == first["nama_kepala"]
    assert doc["family"]["kk_masked"] == first["no_kk"][:6] + "******" + first["no_kk"][-4:]
    assert first["no_kk"] not in out.read_text() and "kk_hash" not in out.read_text()
    assert [p["action"] for p in doc["processing"]] == ["insert"]  # imported once, never changed
    assert doc["ranking"]["bps_count"] == sum(int(first[f"k{i:02d}"]) for i in range(1, 15))
    with psycopg.connect(env) as conn:
        assert conn.execute("SELECT reason FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == (
            "subject access export",
        )
    missing = runner.invoke(app, ["audit", "subject", "--output", str(out)], input="1571019999999999\n")
    assert missing.exit_code == 1 and "no family with that KK number" in missing.output
