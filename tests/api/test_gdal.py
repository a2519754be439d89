"""GDAL (Debian's gdal-bin) reads the OGC API as an agency's QGIS would: layers, every feature, a CQL2 filter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import psycopg
import pytest

from boundaries.demo import DemoConfig, generate_city, load_city
from portal.app import create_app
from tests.live import Recorder, serve

OGRINFO = shutil.which("ogrinfo")
pytestmark = pytest.mark.skipif(
    OGRINFO is None and not os.environ.get("CI"), reason="gdal-bin is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def city(committed_url):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.05, seed=3)))
        conn.commit()
    yield committed_url
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def server(city):
    app = Recorder(create_app(url=city))
    with serve(app) as base:
        yield base, app


def ogrinfo(*args: str) -> str:
    assert OGRINFO, "ogrinfo (gdal-bin) is required in CI"
    r = subprocess.run([OGRINFO, "-ro", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_gdal_lists_the_collections(server):
    out = ogrinfo("-so", f"OAPIF:{server[0]}/ogc")
    layers = re.findall(r"^\d+: (\w+) ", out, re.M)
    assert layers == ["kecamatan", "kelurahan", "rw", "rt"]  # no households for an anonymous client


def test_gdal_reads_every_rt_with_its_figures(server, city):
    with psycopg.connect(city) as conn:
        total = conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()[0]
    out = ogrinfo("-al", "-q", "-oo", "PAGE_SIZE=1000", f"OAPIF:{server[0]}/ogc", "rt")
    assert len(re.findall(r"^OGRFeature\(rt\):", out, re.M)) == total
    assert "poverty_rate_pct (Real)" in out and "MULTIPOLYGON" in out


def test_gdal_sends_a_cql2_filter_to_the_server(server, city):
    base, app = server
    with psycopg.connect(city) as conn:
        expected = conn.execute(
            "SELECT count(*) FROM area_stats_public WHERE level = 'rt' AND families > 30"
        ).fetchone()[0]
    before = len(app.requests)
    out = ogrinfo("-al", "-q", "-where", "families > 30", f"OAPIF:{base}/ogc", "rt")
    assert len(re.findall(r"^OGRFeature\(rt\):", out, re.M)) == expected > 0
    sent = [r for r in app.requests[before:] if "/ogc/collections/rt/items" in r]
    filtered = [r for r in sent if "filter=families" in r]
    # evaluated by the server, not by GDAL (its first request only reads the layer's fields)
    assert filtered and len(sent) - len(filtered) <= 1, sent
