"""The portal in a real headless Chromium (Playwright), on the full demo city: each role logs in, each page
loads with no console error, an RT is clicked and its figures read; screenshots and load times are kept
in tests/artifacts/ (timings are recorded, never asserted)."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from gis.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.live import serve
from tests.portal.browser import Session, browser, needs_chromium, record_timing

pytestmark = needs_chromium
PASSWORD = "rahasia-sekali-123"


@pytest.fixture(scope="module")
def city(committed_url):
    """The full demo city (3,103 RTs) and one person per role."""
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=1.0, seed=11)))
        conn.commit()
        kec = conn.execute("SELECT code FROM area WHERE level = 'kecamatan' ORDER BY code LIMIT 1").fetchone()[0]
        rt = conn.execute("SELECT rt_code FROM household WHERE rt_code LIKE %s GROUP BY 1 ORDER BY count(*) DESC"
                          " LIMIT 1", (kec + ".%",)).fetchone()[0]  # fmt: skip
    runner = CliRunner()
    env = {"DATABASE_URL": committed_url}
    get_settings.cache_clear()
    users = {"admin": ("admin", []), "koor": ("coordinator", ["--scope-level", "kecamatan", "--scope", kec]),
             "plan": ("planner", []), "rt.satu": ("verifier", ["--scope-level", "rt", "--scope", rt])}  # fmt: skip
    for name, (role, scope) in users.items():
        out = runner.invoke(cli, ["users", "add", name, "--role", role, *scope],
                            input=f"{PASSWORD}\n{PASSWORD}\n", env=env)  # fmt: skip
        assert out.exit_code == 0, out.output
    get_settings.cache_clear()
    yield {"url": committed_url, "kec": kec, "rt": rt}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def site(city):
    with serve(create_app(url=city["url"])) as base, browser() as b:
        yield base, b


def _rt_count(city) -> int:
    with psycopg.connect(city["url"]) as conn:
        return conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()[0]


def test_the_poverty_map_of_every_rt_as_a_planner(site, city):
    base, b = site
    s = Session(b, base)
    s.login("plan", PASSWORD)
    assert s.page.url.startswith(f"{base}/portal?")  # a planner's home is the poverty map
    s.page.goto(f"{base}/portal?level=rt")
    record_timing("poverty map, all RTs, interactive after navigation (ms)", s.ready("ready-rt"))
    rts = _rt_count(city)
    assert int(s.page.get_attribute("body", "data-features")) == rts > 3000
    rows = s.page.locator("#table tbody tr")
    assert rows.count() == rts
    # suppressed cells are shown as such, in the table and the legend
    assert s.page.locator("#table tbody tr.suppressed").count() > 0
    assert "disembunyikan" in s.page.inner_text("#legend")
    # click an RT on the map (the centre of the first table row's RT) and read its figures
    code = rows.first.get_attribute("data-code")
    point = s.page.evaluate(
        """code => { const m = P.map(); let hit = null;
             m.eachLayer(l => { if (l.feature && l.feature.properties.code === code) hit = l; });
             const c = hit.getBounds().getCenter(); m.setView(c, 17, {animate: false});
             const p = m.latLngToContainerPoint(c); const r = m.getContainer().getBoundingClientRect();
             return [r.left + p.x, r.top + p.y]; }""",
        code,
    )
    s.page.mouse.click(*point)
    s.page.wait_for_function("code => document.body.dataset.selected === code", arg=code)
    text = s.page.inner_text("#info")
    assert code in text and "Keluarga" in text and "Angka kemiskinan (%)" in text
    s.shot("portal-poverty-rt")
    assert s.errors == []
    s.close()


def test_drill_down_classes_table_and_language(site, city):
    base, b = site
    s = Session(b, base)  # anonymous: published figures only
    s.page.goto(f"{base}/portal")
    s.ready("ready-kecamatan")
    first = s.page.locator("#table tbody tr").first
    kec = first.get_attribute("data-code")
    first.click()
    s.ready("ready-kelurahan")
    assert s.page.get_attribute("body", "data-level") == "kelurahan"
    codes = s.page.locator("#table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes and all(c.startswith(kec + ".") for c in codes)
    assert kec in s.page.inner_text("#crumbs") or "›" in s.page.inner_text("#crumbs")
    for method in ("jenks", "equal", "quantile"):
        s.page.select_option("#method", method)
        assert s.page.locator("#legend div").count() >= 3
    s.page.select_option("#indicator", "poor_without_pkh")
    assert "Miskin tanpa PKH" in s.page.inner_text("#legend")
    with s.page.expect_download() as dl:
        s.page.click("#csv")
    assert dl.value.suggested_filename == "peta-kemiskinan-kelurahan.csv"
    header = open(dl.value.path(), encoding="utf-8").readline().strip()
    assert header == "code,name,value,families,people,poor_bps_families,poverty_rate_pct"
    with s.page.expect_download() as img:
        s.page.click("#image")
    assert img.value.suggested_filename == "peta-kemiskinan.png"
    s.page.click("a.lang")
    s.ready("ready-kelurahan")
    assert "Poverty map" in s.page.inner_text("#header") and "Log in" in s.page.inner_text("#header")
    s.shot("portal-poverty-kelurahan-en")
    assert s.errors == []
    s.close()


def test_pages_send_people_where_their_role_belongs(site, city):
    base, b = site
    s = Session(b, base)
    s.page.goto(f"{base}/portal/penugasan")
    assert "/portal/login" in s.page.url and "next=/portal/penugasan" in s.page.url
    s.close()
