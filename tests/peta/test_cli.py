"""The `peta` commands: help everywhere, exit statuses, messages, and what they write (committed database)."""

from __future__ import annotations

import csv
import json

import click
import psycopg
import pytest
import typer
from typer.testing import CliRunner

from core.settings import get_settings
from peta.cli import app
from tests.conftest import JAMBI, needs_jambi
from tests.layers import BOWTIE, KECAMATAN, KELURAHAN, KOTA, write_layer

runner = CliRunner()


@pytest.fixture
def env(clean_committed, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    yield clean_committed
    get_settings.cache_clear()


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    out = [prefix]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _commands(cmd, prefix + [name])
        else:
            out.append(prefix + [name])
    return out


@pytest.mark.parametrize("argv", _commands(typer.main.get_command(app), []), ids=" ".join)
def test_every_command_has_help(argv):
    result = runner.invoke(app, [*argv, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 200


def _areas(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as c:
        return c.execute("SELECT level, code FROM area ORDER BY code").fetchall()


def test_import_check_and_errors(env, tmp_path):
    for rows, level in ((KOTA, "kota"), (KECAMATAN, "kecamatan")):
        ok = runner.invoke(
            app,
            [
                "boundaries",
                "import",
                str(write_layer(tmp_path / f"{level}.gpkg", rows, driver="GPKG")),
                "--level",
                level,
            ],
        )
        assert ok.exit_code == 0, ok.output
    assert f"{len(KECAMATAN)} new, 0 updated, 0 unchanged, 0 repaired" in ok.output.replace("\n", " ")
    bad = write_layer(tmp_path / "bad.geojson", KELURAHAN[:3] + [("15.71.02.1002", "x", BOWTIE)])
    failed = runner.invoke(app, ["boundaries", "import", str(bad), "--level", "kelurahan"])
    assert failed.exit_code == 1
    assert "feature 3 (code 15.71.02.1002): invalid geometry: Self-intersection" in failed.output
    assert len(_areas(env)) == 3
    repaired = runner.invoke(app, ["boundaries", "import", str(bad), "--level", "kelurahan", "--repair"])
    assert repaired.exit_code == 0
    assert "repaired feature 3 (code 15.71.02.1002): Self-intersection" in repaired.output
    assert len(_areas(env)) == 7
    report = runner.invoke(app, ["boundaries", "check", "--json"])
    assert report.exit_code == 0
    data = json.loads(report.stdout)
    assert [o["level"] for o in data["overlaps"]] == ["kota", "kecamatan", "kelurahan"]
    table = runner.invoke(app, ["boundaries", "check"])
    assert "Parent layer against its children" in table.output
    wrong_level = runner.invoke(app, ["boundaries", "import", str(bad), "--level", "desa"])
    assert wrong_level.exit_code == 2 and "unknown level 'desa'" in wrong_level.output


def test_import_with_derived_parents_and_derive_rt_from_csv(env, tmp_path):
    kel = write_layer(tmp_path / "kel.zip", KELURAHAN)
    result = runner.invoke(app, ["boundaries", "import", str(kel), "--level", "kelurahan", "--derive-parents"])
    assert result.exit_code == 0, result.output
    assert "derived 3 missing parent area(s): 15.71.01, 15.71.02, 15.71" in result.output.replace("\n", " ")
    path = tmp_path / "points.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kode_rt", "lon", "lat"])
        for code, _, geom in KELURAHAN:
            c = geom.centroid
            w.writerow([f"{code}.001.001", c.x - 0.001, c.y])
            w.writerow([f"{code}.001.002", c.x + 0.001, c.y])
    derived = runner.invoke(app, ["boundaries", "derive-rt", str(path)])
    assert derived.exit_code == 0, derived.output
    assert "rt: 8 new, 0 updated, 0 unchanged" in derived.output
    levels = [lv for lv, _ in _areas(env)]
    assert (levels.count("rw"), levels.count("rt")) == (4, 8)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert runner.invoke(app, ["boundaries", "derive-rt", str(empty)]).exit_code == 1
    parents = runner.invoke(app, ["boundaries", "derive-parents", "--level", "kecamatan", "--replace"])
    assert parents.exit_code == 0 and "kecamatan: 0 new, 0 updated, 2 unchanged" in parents.output


@needs_jambi
def test_real_kota_jambi_via_cli(env):
    for level in ("kota", "kecamatan", "kelurahan"):
        r = runner.invoke(app, ["boundaries", "import", str(JAMBI / f"{level}.geojson"), "--level", level])
        assert r.exit_code == 0, r.output
    data = json.loads(runner.invoke(app, ["boundaries", "check", "--json"]).stdout)
    kel = next(o for o in data["overlaps"] if o["level"] == "kelurahan")
    assert kel["pairs"] == 113
