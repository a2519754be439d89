"""The portal in a real headless Chromium (Playwright), on the full demo city: each role logs in, each page
loads with no console error and no serious or critical axe-core finding, an RT is clicked and its figures
read, tables are sorted and RTs selected and assigned with the keyboard alone; screenshots, load times and
every axe finding are kept in tests/artifacts/ (timings are recorded, never asserted)."""

from __future__ import annotations

import io
import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from PIL import Image
from pyproj import Geod
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from portal.shell import PAGES
from tests.live import serve
from tests.people import PASSWORD, add_users, scope
from tests.portal.browser import (
    ARTIFACTS,
    BLANK_TILE,
    Session,
    blocking,
    browser,
    needs_chromium,
    record_axe,
    record_timing,
)

pytestmark = needs_chromium


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
    add_users(committed_url, {"admin": ("admin", []), "koor": ("coordinator", scope("kecamatan", kec)),
                              "koor.kel": ("coordinator", scope("kelurahan", rt[:13])),
                              "plan": ("planner", []), "rt.satu": ("verifier", scope("rt", rt))})  # fmt: skip
    runner = CliRunner()
    env = {"DATABASE_URL": committed_url}
    start, end = date.today() - timedelta(days=20), date.today() + timedelta(days=60)
    made = runner.invoke(cli, ["campaign", "create", "Verval uji", "--starts", str(start), "--ends", str(end),
                               "--desil", "1-2"], env=env)  # fmt: skip
    assert made.exit_code == 0, made.output
    get_settings.cache_clear()
    yield {"url": committed_url, "kec": kec, "rt": rt}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def site(city):
    for kept in ("portal-timings.json", "axe.json"):  # this run's figures only
        (ARTIFACTS / kept).unlink(missing_ok=True)
    with serve(create_app(url=city["url"])) as base, browser() as b:
        yield base, b


def _rt_count(city) -> int:
    with psycopg.connect(city["url"]) as conn:
        return conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()[0]


def _kelurahan_names(city) -> dict[str, str]:
    with psycopg.connect(city["url"]) as conn:
        return dict(conn.execute("SELECT code, name FROM area WHERE level = 'kelurahan'").fetchall())


# a table's columns as shown: the table no wider than its panel (nothing to scroll sideways to), each area's name
# ("RT 001") on one line
FITS = """() => { const box = document.getElementById('table');
  const names = [...box.querySelectorAll('tbody tr')].slice(0, 40).map(r => r.querySelector('.nowrap')).filter(Boolean);
  return {scroll: box.scrollWidth, width: box.clientWidth,
          wrapped: names.filter(n => n.getClientRects().length !== 1).map(n => n.textContent)}; }"""


def _fits(s: Session) -> None:
    got = s.page.evaluate(FITS)
    assert got["scroll"] <= got["width"] + 1 and got["wrapped"] == [], got


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
    # the classification is named, and by default zero is a class of its own
    assert "Klasifikasi: Nol tersendiri, lalu jeda alami" in s.page.inner_text("#legend")
    # an RT's name ("RT 007") repeats in every kelurahan: each row names its kelurahan, under the RT's name
    kelurahan = _kelurahan_names(city)
    shown = s.page.locator("#table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.code, r.cells[1].querySelector('.sub.kel').textContent])")
    assert len(shown) == rts and all(name == kelurahan[code[:13]] for code, name in shown)
    # the legend names the classification in the selector's words
    method = s.page.eval_on_selector("#method", "e => e.options[e.selectedIndex].text")
    assert f"Klasifikasi: {method}" in s.page.inner_text("#legend")
    _fits(s)
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
    labels = s.page.locator("#info th").all_inner_texts()
    assert len(labels) == len(set(labels)) and labels.count("Angka kemiskinan (%)") == 1, labels  # each figure once
    scale = s.page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scale) == 1 and scale[0].endswith(" m"), scale  # metres only: no miles or feet on the map
    found = s.axe()
    record_axe("portal, every RT, as planner", found)
    assert blocking(found) == []
    s.shot("portal-poverty-rt")
    assert s.errors == []
    s.close()


def test_drill_down_classes_table_and_language(site, city):
    base, b = site
    s = Session(b, base)  # anonymous: published figures only
    s.page.goto(f"{base}/portal")
    s.ready("ready-kecamatan")
    # no kecamatan at 0: the legend names the method chosen, in the selector's words, and says what it came to
    legend = s.page.inner_text("#legend")
    assert "Klasifikasi: Nol tersendiri, lalu jeda alami" in legend and "Tidak ada nilai 0 di sini" in legend
    assert "Jeda alami (Jenks)" not in legend
    _fits(s)
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


def _codes(s: Session) -> list[str]:
    return s.page.locator("#table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def test_the_poverty_table_sorts_and_drills_down_by_keyboard_alone(site, city):
    """Tab reaches a sortable header (a button: Enter and Space sort, aria-sort says how) and the rows (one Tab
    stop: the arrow keys move, Enter opens the area); the focus stays in the table as it is drawn again."""
    base, b = site
    s = Session(b, base)
    s.page.goto(f"{base}/portal")
    s.ready("ready-kecamatan")
    names = s.page.locator("#table tbody tr td:nth-child(2)").all_inner_texts()
    assert len(names) == 11
    # the table scrolls in a named region that takes the focus (to scroll by keyboard); the map is a region too
    assert s.page.get_by_role("region", name="Tabel wilayah", exact=True).get_attribute("tabindex") == "0"
    assert s.page.get_by_role("region", name="Peta", exact=True).count() == 1
    assert s.page.get_by_role("button", name="Perbesar", exact=True).count() == 1  # Leaflet's, in Indonesian
    s.tab_to("#table th button[data-sort='name']")
    s.page.keyboard.press("Enter")
    assert s.page.locator("#table tbody tr td:nth-child(2)").all_inner_texts() == sorted(names)
    assert s.page.get_attribute("#table th:nth-child(2)", "aria-sort") == "ascending"
    assert s.focused("data-sort") == "name"  # the header keeps the focus: Space sorts again, the other way
    s.page.keyboard.press(" ")
    assert s.page.locator("#table tbody tr td:nth-child(2)").all_inner_texts() == sorted(names, reverse=True)
    assert s.page.get_attribute("#table th:nth-child(2)", "aria-sort") == "descending"
    assert s.page.locator("#table th[aria-sort]").count() == 1
    codes = _codes(s)
    s.tab_to("#table tbody tr")
    assert s.focused("data-code") == codes[0] and s.page.locator("#table tbody tr[tabindex='0']").count() == 1
    for _ in range(2):
        s.page.keyboard.press("ArrowDown")
    assert s.focused("data-code") == codes[2]
    s.page.keyboard.press("Enter")
    s.ready("ready-kelurahan")
    assert s.page.get_attribute("body", "data-selected") == codes[2]
    kelurahan = _codes(s)
    assert kelurahan and all(c.startswith(codes[2] + ".") for c in kelurahan)
    assert s.focused("data-code") in kelurahan  # still in the table, on the new level's rows
    s.page.keyboard.press("End")
    assert s.focused("data-code") == kelurahan[-1]
    s.page.keyboard.press("Enter")
    s.ready("ready-rt")
    rts = _codes(s)
    assert rts and all(c.startswith(kelurahan[-1] + ".") for c in rts)
    found = s.axe()  # the RT level: suppressed rows, a focused row
    record_axe("portal, RTs of a kelurahan by keyboard, as anonymous", found)
    assert blocking(found) == []
    s.shot("portal-poverty-keyboard")
    assert s.errors == []
    s.close()


# skewed figures as RTs have them: most at 0, many low, a few high, one very high (the RT at 87.9 %)
SKEWED = [0.0] * 60 + [round(1 + i / 10, 1) for i in range(30)]
SKEWED += [5.0, 6.0, 7.5, 8.0, 9.0, 10.0, 11.0, 12.3, 13.0, 87.9]


def test_the_default_classes_keep_zero_apart_and_the_highest_values_on_top(site, city):
    base, b = site
    s = Session(b, base)
    s.page.goto(f"{base}/portal")
    s.ready("ready-kecamatan")
    assert s.page.eval_on_selector("#method", "e => e.value") == "zero_jenks"  # the default
    breaks, classes = s.page.evaluate(
        "values => { const b = P.classify(values); return [b, values.map(v => P.classOf(v, b))]; }", SKEWED)
    assert len(SKEWED) == 100 and len(breaks) == 4  # five classes
    top = len(breaks)
    by_class = {k: sorted(v for v, c in zip(SKEWED, classes, strict=True) if c == k) for k in range(top + 1)}
    assert by_class[0] == [0.0] * 60  # zero is a class of its own
    assert by_class[top] == [87.9]  # the highest value alone on top, apart from 13
    assert all(by_class[k] for k in range(top + 1))  # no class is empty
    assert all(max(by_class[k]) < min(by_class[k + 1]) for k in range(top))  # classes are ordered
    s.page.evaluate("values => P.legend(document.getElementById('legend'), 'uji', P.classify(values), 1, [],"
                    " {method: 'zero_jenks'})", SKEWED)  # fmt: skip
    rows = s.page.locator("#legend div:not(.method)").all_inner_texts()
    assert rows[0] == "0" and rows[1].startswith("> 0 – ") and rows[-1].startswith("> ") and len(rows) == 5
    assert "Klasifikasi: Nol tersendiri, lalu jeda alami" in s.page.inner_text("#legend")
    # every value the same, more values than classes: no error, one class, and the legend says why
    for method in ("zero_jenks", "jenks", "quantile", "equal"):
        got = s.page.evaluate(
            "m => { try { return P.classify([5, 5, 5, 5, 5, 5], m, 5); } catch (e) { return String(e); } }", method)
        assert got == [], (method, got)
    assert s.page.evaluate("() => P.jenks([1, 1, 1, 1, 1, 1], 5)") == []
    assert s.page.evaluate("() => P.jenks([0, 0, 2, 2, 2, 9, 9, 9], 5)") == [0, 2]  # fewer values than classes
    s.page.evaluate("() => P.legend(document.getElementById('legend'), 'uji',"
                    " P.classify([0, 0, 0, 0, 0, 0, 0], 'zero_jenks'), 0, [], {method: 'zero_jenks'})")  # fmt: skip
    legend = s.page.inner_text("#legend")
    assert "Semua" not in legend and "Satu kelas: semua wilayah bernilai sama." in legend
    assert s.page.locator("#legend div:not(.method)").all_inner_texts() == ["0"]
    assert s.errors == []
    s.close()


@pytest.mark.parametrize("tiles", ["none", "https://{s}.tiles.example.org/peta/{z}/{x}/{y}.png"])
def test_the_base_map_comes_from_the_configured_tile_server_or_none(site, city, tiles):
    """PETA_BASEMAP_URL: a city's own tile server (its attribution shown, allowed by the page's policy) or no base
    map at all; the page never asks OpenStreetMap and works the same."""
    _, b = site
    settings = Settings(PETA_BASEMAP_URL=tiles, PETA_BASEMAP_ATTRIBUTION="Peta dasar Kota Uji")
    with serve(create_app(settings, url=city["url"])) as base:
        s = Session(b, base)
        asked: list[str] = []
        osm: list[str] = []

        def own_tile(route):
            asked.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)

        s.context.route("https://*.tiles.example.org/**", own_tile)
        s.context.on("request", lambda r: osm.append(r.url) if "openstreetmap" in r.url else None)
        s.page.goto(f"{base}/portal")
        s.ready("ready-kecamatan")
        assert int(s.page.get_attribute("body", "data-features")) > 0
        s.page.wait_for_load_state("networkidle")
        assert osm == []
        attribution = s.page.inner_text(".leaflet-control-attribution")
        if tiles == "none":
            assert asked == [] and s.page.locator("img.leaflet-tile").count() == 0
            assert "Peta dasar" not in attribution
        else:
            own = re.compile(r"https://[abc]\.tiles\.example\.org/peta/\d+/\d+/\d+\.png$")
            assert asked and all(own.match(u) for u in asked)
            assert s.page.locator("img.leaflet-tile").count() > 0 and "Peta dasar Kota Uji" in attribution
        s.page.locator("#table tbody tr").first.click()
        s.ready("ready-kelurahan")
        assert s.errors == []  # a tile refused by the page's policy would be logged here
        s.shot("portal-basemap-" + ("none" if tiles == "none" else "own"))
        s.close()


def test_pages_send_people_where_their_role_belongs(site, city):
    base, b = site
    s = Session(b, base)
    s.page.goto(f"{base}/portal/penugasan")
    assert "/portal/login" in s.page.url and "next=/portal/penugasan" in s.page.url
    s.page.fill("input[name=username]", "plan")
    s.page.fill("input[name=password]", PASSWORD)
    with s.page.expect_navigation():
        s.page.click("button[type=submit]")
    s.page.wait_for_load_state()
    assert "/portal/cakupan" in s.page.url or s.page.url.startswith(f"{base}/portal?")  # not the assignment page
    assert "/portal/penugasan" not in s.page.url
    s.close()


def test_coverage_gaps_for_a_coordinator_and_a_planner(site, city):
    base, b = site
    s = Session(b, base)
    s.login("koor", PASSWORD)
    assert "/portal/cakupan" in s.page.url  # a coordinator's home
    record_timing("coverage gaps of a kecamatan, interactive (ms)", s.ready("ready-campaign"))
    all_rts = int(s.page.get_attribute("body", "data-features"))
    assert all_rts > 50
    codes = s.page.locator("#table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes and all(c.startswith(city["kec"] + ".") for c in codes)
    # the full code (a cut one repeats across the city) and the kelurahan's name
    kelurahan = _kelurahan_names(city)
    cells = s.page.locator("#table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.code, r.cells[0].querySelector('.sub.code').textContent,"
        " r.cells[0].querySelector('.sub.kel').textContent])")
    assert len(cells) == len(codes)
    assert all(shown == code and name == kelurahan[code[:13]] for code, shown, name in cells)
    # the columns fit the panel at 1280 px: nothing to scroll sideways to
    s.page.set_viewport_size({"width": 1280, "height": 800})
    _fits(s)
    # the legend says what the outlines mean, as the map draws them
    legend = s.page.inner_text("#legend")
    assert "Cakupan (%)" in legend and "Garis tepi" in legend
    assert "RT prioritas belum ditugaskan" in legend and "Sudah ditugaskan" in legend
    outlines = s.page.locator("#legend i").evaluate_all("i => i.map(e => e.style.border)")
    assert "2px solid rgb(21, 101, 192)" in outlines and "2px dashed rgb(46, 125, 50)" in outlines
    s.page.select_option("#colour", "priority")
    assert "Prioritas" in s.page.inner_text("#legend")
    # natural breaks, zero apart where some RT's priority is 0
    legend = s.page.inner_text("#legend")
    assert re.search(r"Klasifikasi: (Nol tersendiri, lalu jeda alami|Jeda alami \(Jenks\))", legend)
    assert "RT prioritas belum ditugaskan" in s.page.inner_text("#legend")
    s.page.check("#only")
    assert 0 < int(s.page.get_attribute("body", "data-features")) <= all_rts
    s.shot("portal-coverage-coordinator")
    assert s.errors == []
    s.close()
    p = Session(b, base)
    p.login("plan", PASSWORD)
    p.page.goto(f"{base}/portal/cakupan")
    p.ready("ready-campaign")
    assert p.page.locator("#colour option").count() == 1  # no priorities for planners
    assert p.errors == []
    p.close()


def _id(x: float) -> str:
    """A number written the Indonesian way, to one decimal at most: 1.234,5 (thousands point, decimal comma)."""
    text = f"{x:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return text[:-2] if text.endswith(",0") else text


def _token(base: str, user: str) -> str:
    return httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()["access_token"]


def test_assigning_rts_on_the_map_with_conflicts_and_the_proposal(site, city):
    base, b = site
    s = Session(b, base)
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/penugasan")
    s.ready("ready-campaign")
    rows = s.page.locator("#table tbody tr")
    first, second, third = (rows.nth(i).get_attribute("data-code") for i in range(3))
    rows.nth(0).click()
    assert s.page.get_attribute("body", "data-selected-count") == "1"
    s.page.select_option("#verifier", "rt.satu")
    s.page.click("#assign")
    assert "Ditugaskan" in s.status("ok")
    s.page.wait_for_selector(f"#table tbody tr.assigned[data-code='{first}']")  # after the data reload
    assert "rt.satu" in s.page.locator(f"#table tbody tr[data-code='{first}']").inner_text()
    s.shot("portal-assign-done")
    # someone else assigns the next RT meanwhile: the page says so plainly
    cid = httpx.get(f"{base}/api/v1/campaigns", headers={"Authorization": f"Bearer {_token(base, 'admin')}"}).json()[0][
        "id"
    ]
    other = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", json={
        "rt_codes": [second], "verifier": "rt.satu", "due_on": str(date.today() + timedelta(days=7))},
        headers={"Authorization": f"Bearer {_token(base, 'admin')}"})  # fmt: skip
    assert other.status_code == 201, other.text
    s.page.locator(f"#table tbody tr[data-code='{second}']").click()
    s.page.click("#assign")
    said = s.status("error")
    assert "Sudah ditugaskan orang lain" in said and f"{second} → rt.satu (admin)" in said
    assert "Sudah Anda tugaskan" not in said
    s.shot("portal-assign-conflict")
    # the coordinator assigned the next RT themselves (another tab): the page says it was them, not someone else
    mine = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", json={
        "rt_codes": [third], "verifier": "rt.satu", "due_on": str(date.today() + timedelta(days=7))},
        headers={"Authorization": f"Bearer {_token(base, 'koor')}"})  # fmt: skip
    assert mine.status_code == 201, mine.text
    s.page.locator(f"#table tbody tr[data-code='{third}']").click()
    s.page.click("#assign")
    s.page.wait_for_function("() => document.body.dataset.conflict === 'self'")
    said = s.page.inner_text("#status")
    assert said == f"Sudah Anda tugaskan sebelumnya: {third} → rt.satu"
    # Shift-drag a box over the map: every RT inside is selected
    s.page.click("#clear")
    box = s.page.locator(".folium-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    s.page.keyboard.down("Shift")
    s.page.mouse.move(cx - 120, cy - 120)
    s.page.mouse.down()
    s.page.mouse.move(cx, cy, steps=5)
    s.page.mouse.move(cx + 120, cy + 120, steps=5)
    s.page.mouse.up()
    s.page.keyboard.up("Shift")
    assert int(s.page.get_attribute("body", "data-selected-count")) > 0
    # the automatic proposal for the selected RTs, previewed then accepted
    with s.page.expect_response(lambda r: r.url.endswith("/proposal") and r.request.method == "POST") as answered:
        s.page.click("#propose")
    plan = answered.value.json()
    said = s.status("ok")
    # a sentence in Indonesian, numbers written the Indonesian way (decimal comma, thousands point)
    sm = plan["summary"]
    expected = (f"Usulan otomatis: {_id(sm['rts'])} RT dengan {_id(sm['families'])} keluarga untuk "
                f"{_id(sm['verifiers_used'])} dari {_id(sm['verifiers'])} verifikator; beban kerja "
                f"{_id(sm['smallest_used_workload'])} sampai {_id(sm['largest_workload'])} keluarga per verifikator; "
                f"jarak tempuh {_id(sm['travel_km'])} km.")
    assert said.startswith(expected), (said, expected)
    # the legend explains the verifiers' colours while the proposal is shown
    legend = s.page.inner_text("#legend")
    proposed = {v["verifier"]: len(v["rt_codes"]) for v in plan["verifiers"] if v["rt_codes"]}
    assert proposed and "Usulan otomatis: warna per verifikator" in legend and "RT lain: Cakupan (%)" in legend
    assert all(f"{name}: {_id(n)} RT" in legend for name, n in proposed.items())
    found = s.axe()
    record_axe("portal-penugasan, the proposal previewed, as coordinator", found)
    assert blocking(found) == []
    s.shot("portal-assign-proposal")
    if s.page.is_enabled("#accept"):
        s.page.click("#accept")
        s.page.wait_for_function("() => /Ditugaskan: \\d+ RT/.test(document.getElementById('status').textContent)")
    # 409 responses are expected above; nothing else may be logged
    assert [e for e in s.errors if "409" not in e] == []
    s.close()


def test_a_coordinator_sorts_selects_and_assigns_rts_by_keyboard_alone(site, city):
    """The assignment page with the keyboard only: sort the RT table, move along its rows and select two with
    Space and Enter (again: unselect), then Shift+Tab back to the verifier and Assign. The sort, the selection and
    the focus survive each redraw of the table."""
    base, b = site
    s = Session(b, base)
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/penugasan")
    s.ready("ready-campaign")
    assert s.page.get_attribute("#table th:nth-child(5)", "aria-sort") == "descending"  # priority, highest first
    s.tab_to("#table th button[data-sort='priority']")
    s.page.keyboard.press("Enter")  # lowest priority first: RTs the other tests leave alone
    assert s.page.get_attribute("#table th:nth-child(5)", "aria-sort") == "ascending"
    shown = s.page.locator("#table tbody tr td:nth-child(5)").all_inner_texts()
    priorities = [float(v.replace(".", "").replace(",", ".")) for v in shown if v != "–"]
    assert len(priorities) > 50 and priorities == sorted(priorities)
    rows = s.page.locator("#table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.code, r.className, r.cells[3].textContent])"
    )
    free = [i for i, (_, cls, unassigned) in enumerate(rows) if "assigned" not in cls and unassigned not in ("0", "–")]
    first, second = free[0], free[1]
    codes = [rows[first][0], rows[second][0]]
    s.tab_to("#table tbody tr")
    assert s.focused("data-code") == rows[0][0]
    for _ in range(first):
        s.page.keyboard.press("ArrowDown")
    s.page.keyboard.press(" ")
    assert s.page.get_attribute("body", "data-selected-count") == "1"
    assert s.page.get_attribute(f"#table tr[data-code='{codes[0]}']", "aria-selected") == "true"
    assert s.focused("data-code") == codes[0]  # the table was drawn again around the focused row
    for _ in range(second - first):
        s.page.keyboard.press("ArrowDown")
    s.page.keyboard.press("Enter")
    assert s.page.get_attribute("body", "data-selected-count") == "2"
    s.page.keyboard.press("Enter")  # again: unselected
    assert s.page.get_attribute("body", "data-selected-count") == "1"
    assert s.page.get_attribute(f"#table tr[data-code='{codes[1]}']", "aria-selected") == "false"
    s.page.keyboard.press("Enter")
    assert s.page.get_attribute("body", "data-selected-count") == "2"
    assert s.page.get_attribute("#table th:nth-child(5)", "aria-sort") == "ascending"  # the sort is kept
    assert s.page.locator("#table tbody tr[aria-selected='true']").evaluate_all(
        "rows => rows.map(r => r.dataset.code)") == codes  # fmt: skip
    # the focused row shows what it is: its first column (the RT) in view, the table not scrolled sideways
    seen = s.page.evaluate("""() => { const box = document.getElementById('table');
        const b = box.getBoundingClientRect(), r = document.activeElement.cells[0].getBoundingClientRect();
        return [box.scrollLeft, r.left >= b.left - 1 && r.right <= b.right + 1]; }""")
    assert seen == [0, True], seen
    _fits(s)
    found = s.axe()
    record_axe("portal-penugasan, two RTs selected by keyboard, as coordinator", found)
    assert blocking(found) == []
    s.shot("portal-assign-keyboard")
    s.tab_to("#verifier", back=True)
    assert s.page.eval_on_selector("#verifier", "e => e.value") == "rt.satu"
    s.tab_to("#assign")
    s.page.keyboard.press("Enter")
    assert s.status("ok") == "Ditugaskan: 2 RT → rt.satu"
    with psycopg.connect(city["url"]) as conn:
        made = conn.execute("SELECT a.rt_code, u.username FROM assignment a JOIN app_user u ON u.id = a.verifier_id"
                            " WHERE a.rt_code = ANY(%s) AND a.household_id IS NULL AND a.status = 'assigned'"
                            " ORDER BY 1", (codes,)).fetchall()  # fmt: skip
    assert made == sorted((c, "rt.satu") for c in codes)
    assert s.errors == []
    s.close()


def test_a_verifier_records_a_visit_offline_on_a_phone_and_it_is_sent_later(site, city):
    base, b = site
    admin = {"Authorization": f"Bearer {_token(base, 'admin')}"}
    cid = httpx.get(f"{base}/api/v1/campaigns", headers=admin).json()[0]["id"]
    with psycopg.connect(city["url"]) as conn:
        family = conn.execute("""SELECT t.household_id FROM campaign_target t WHERE t.campaign_id = %s
                                 AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.campaign_id = t.campaign_id
                                                 AND a.rt_code = t.rt_code AND a.status = 'assigned')
                                 ORDER BY t.household_id LIMIT 1""", (cid,)).fetchone()[0]  # fmt: skip
    made = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", headers=admin, json={
        "household_ids": [family], "verifier": "rt.satu", "due_on": str(date.today() + timedelta(days=7))})  # fmt: skip
    assert made.status_code == 201, made.text
    s = Session(b, base, phone=True)
    s.login("rt.satu", PASSWORD)
    assert "/portal/verifikator" in s.page.url  # a verifier's home
    record_timing("verifier's tasks on a phone, interactive (ms)", s.ready("ready-verifier"))
    assert int(s.page.get_attribute("body", "data-families")) >= 1
    # the service worker keeps the page and the tasks: with no connection at all, the page opens again
    s.page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller", timeout=15_000)
    s.page.reload()
    s.ready("ready-verifier")
    s.context.set_offline(True)
    s.page.reload()
    s.ready("ready-verifier")
    assert int(s.page.get_attribute("body", "data-families")) >= 1
    s.context.set_offline(False)
    s.page.reload()
    s.ready("ready-verifier")
    s.page.click(f"#families li[data-id='{family}'] button")
    s.page.wait_for_function("() => !document.getElementById('visit').hidden")
    s.page.wait_for_function("() => /±/.test(document.getElementById('gps').textContent)")  # the phone's GPS
    s.page.select_option("#result", "1")
    s.page.fill("#members", "5")
    s.page.check("#ck05")
    found = s.axe()
    record_axe("portal-verifikator, the visit form on a phone, as verifier", found)
    assert blocking(found) == []
    s.shot("portal-verifier-form-phone")
    s.context.set_offline(True)
    s.page.click("#save")
    s.page.wait_for_function("() => document.body.dataset.queued === '1'")
    with psycopg.connect(city["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM verification WHERE household_id = %s", (family,)).fetchone()[0] == 0
    s.context.set_offline(False)
    s.page.wait_for_function("() => document.body.dataset.queued === '0'", timeout=30_000)
    with psycopg.connect(city["url"]) as conn:
        got = conn.execute("SELECT result_code, jumlah_anggota, criteria[5], visit_geom IS NOT NULL FROM verification"
                           " WHERE household_id = %s", (family,)).fetchall()  # fmt: skip
    assert got == [(1, 5, True, True)]
    s.shot("portal-verifier-sent-phone")
    assert [e for e in s.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    s.close()


def _submitted_visit(base: str, city) -> int:
    """A visit of its own for the review test (whatever ran before): rt.satu records it 1,250 m east of
    the family's point, so that it is flagged far_from_family, with one photo of the house."""
    admin = {"Authorization": f"Bearer {_token(base, 'admin')}"}
    cid = httpx.get(f"{base}/api/v1/campaigns", headers=admin).json()[0]["id"]
    with psycopg.connect(city["url"]) as conn:
        family, lon, lat = conn.execute(
            """SELECT h.id, ST_X(h.geom), ST_Y(h.geom) FROM campaign_target t JOIN household h ON h.id = t.household_id
               WHERE t.campaign_id = %s AND NOT EXISTS (SELECT 1 FROM verification v WHERE v.household_id = h.id)
               ORDER BY t.household_id DESC LIMIT 1""",
            (cid,),
        ).fetchone()
    made = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", headers=admin, json={
        "household_ids": [family], "verifier": "rt.satu", "due_on": str(date.today() + timedelta(days=7))})  # fmt: skip
    assert made.status_code == 201, made.text
    visit = {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
             "visited_at": datetime.now(UTC).isoformat(), "lon": lon + 1250 / (111_320 * math.cos(math.radians(lat))),
             "lat": lat, "accuracy_m": 8, "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5}  # fmt: skip
    sent = httpx.post(f"{base}/api/v1/verifications/batch", json={"visits": [visit]},
                      headers={"Authorization": f"Bearer {_token(base, 'rt.satu')}"})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["results"][0]["status"] == "created", sent.text
    with psycopg.connect(city["url"]) as conn:
        vid = conn.execute("SELECT id FROM verification WHERE household_id = %s AND status = 'submitted'",
                           (family,)).fetchone()[0]  # fmt: skip
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(image, format="PNG")
    photo = httpx.post(f"{base}/api/v1/verifications/{vid}/photos", content=image.getvalue(),
                       headers={"Authorization": f"Bearer {_token(base, 'rt.satu')}", "Content-Type": "image/png"})
    assert photo.status_code == 201, photo.text
    return vid


# the map's vector layers as the browser holds them: circle markers (centre, fill), lines and polygons (vertices)
MAP_LAYERS = """() => { const out = {circles: [], lines: [], polygons: []};
  window[window.PETA.map].eachLayer(l => {
    if (l instanceof L.CircleMarker) { out.circles.push({lat: l.getLatLng().lat, lon: l.getLatLng().lng,
                                                         fill: l.options.fillColor}); }
    else if (l instanceof L.Polygon) { out.polygons.push(l.getLatLngs().flat(3).length); }
    else if (l instanceof L.Polyline) { out.lines.push(l.getLatLngs().map(p => [p.lat, p.lng])); }
  });
  return out; }"""


def test_tugas_saya_speaks_plain_indonesian_and_opens_the_form_under_the_header(site, city):
    """The queue reads "Belum terkirim: 0", a back-check task reads "pemeriksaan ulang", and a family opened from
    the bottom of the list scrolls its form's title to just under the fixed header on a phone. The task list is
    the API's own with one back-check task of the verifier's RT added (the service worker is off so that the
    test answers the request)."""
    import json

    base, b = site
    task = {"id": 999_999, "campaign": "Verval uji", "household_id": None, "rt_code": city["rt"], "rt_name": "RT uji",
            "due_on": str(date.today() + timedelta(days=7)), "kind": "backcheck", "status": "assigned"}  # fmt: skip

    def answer(route):
        tasks = route.fetch().json()
        route.fulfill(status=200, content_type="application/json", body=json.dumps([*tasks, task]))

    s = Session(b, base, phone=True, service_workers="block")
    s.context.route("**/api/v1/assignments/mine", answer)
    s.login("rt.satu", PASSWORD)
    s.ready("ready-verifier")
    assert s.page.inner_text("#queue") == "Belum terkirim: 0"
    tasks = s.page.locator("#tasks li").all_inner_texts()
    assert tasks and tasks[-1].endswith(" · pemeriksaan ulang") and not any("back-check" in t for t in tasks)
    if s.page.locator("#others summary").count():  # the families that are not targets: folded away at first
        s.page.click("#others summary")
    buttons = s.page.locator("#families li button")
    assert buttons.count() >= 2
    buttons.last.click()
    s.page.wait_for_function("() => !document.getElementById('visit').hidden")
    gap = s.page.evaluate("""() => document.getElementById('visit-title').getBoundingClientRect().top
                                   - document.getElementById('header').getBoundingClientRect().bottom""")
    assert 0 <= gap <= 40, gap
    assert s.page.inner_text("#visit-title") != ""
    s.shot("portal-verifier-form-under-header-phone")
    assert s.errors == []
    s.close()

def test_a_visit_is_reviewed_and_approved_into_the_registry(site, city):
    """The visit 1,250 m from its family, opened: both points on the map (told apart in the legend), the line
    between them with its length in the interface's numbers, the family's RT outline, the photo of the house."""
    base, b = site
    vid = _submitted_visit(base, city)
    with psycopg.connect(city["url"]) as conn:
        flon, flat, vlon, vlat = conn.execute(
            "SELECT ST_X(h.geom), ST_Y(h.geom), ST_X(v.visit_geom), ST_Y(v.visit_geom) FROM verification v"
            " JOIN household h ON h.id = v.household_id WHERE v.id = %s", (vid,)).fetchone()  # fmt: skip
    metres = Geod(ellps="WGS84").inv(flon, flat, vlon, vlat)[2]
    assert 1240 < metres < 1260
    s = Session(b, base)
    s.login("admin", PASSWORD)
    s.page.goto(f"{base}/portal/tinjau")
    record_timing("visit review, interactive (ms)", s.ready("ready-review"))
    assert int(s.page.get_attribute("body", "data-visits")) >= 1
    s.page.locator(f"#table tr[data-code='{vid}']").click()
    s.ready("ready-visit")
    assert s.page.locator("#info li[data-flag='far_from_family']").count() == 1  # the phone's test position
    far = f"Jauh dari titik keluarga: kunjungan {round(metres):,} m dari titik keluarga (lebih dari 100 m)"
    assert s.page.inner_text("#info li[data-flag='far_from_family']") == far.replace(",", ".")  # 100: the default
    drawn = s.page.evaluate(MAP_LAYERS)
    near = [c for c in drawn["circles"] if abs(c["lat"] - flat) < 1e-6 and abs(c["lon"] - flon) < 1e-6]
    at = [c for c in drawn["circles"] if abs(c["lat"] - vlat) < 1e-6 and abs(c["lon"] - vlon) < 1e-6]
    assert len(near) == 1 and at and near[0]["fill"] not in {c["fill"] for c in at}  # told apart
    ends = [flat, flon, vlat, vlon]

    def joins(line: list[list[float]]) -> bool:  # from the family's point to the visit's, either way
        got = [x for point in sorted(line) for x in point] if len(line) == 2 else []
        ordered = [x for point in sorted([ends[:2], ends[2:]]) for x in point]
        return len(got) == 4 and all(abs(a - b) < 1e-6 for a, b in zip(got, ordered, strict=True))

    assert [line for line in drawn["lines"] if joins(line)]
    assert len(drawn["polygons"]) == 1 and drawn["polygons"][0] >= 4  # the family's RT outline
    length = f"{round(metres):,} m".replace(",", ".")  # Indonesian thousands: 1.250 m
    assert length in s.page.inner_text(".leaflet-tooltip.distance")
    assert length in s.page.inner_text("#info")
    legend = s.page.inner_text("#legend")
    for words in ("Titik kunjungan (bertanda)", "Titik keluarga terdaftar", "Garis kunjungan", "Batas RT keluarga"):
        assert words in legend
    photos = s.page.locator("#info .photos img")
    assert photos.count() == 1 and s.page.get_attribute("#info .photos img", "alt") == "Foto rumah 1 dari 1"
    photos.first.scroll_into_view_if_needed()
    s.page.wait_for_function("() => document.querySelector('#info .photos img').naturalWidth === 64")
    found = s.axe()
    record_axe("portal-tinjau, a visit open, as admin", found)
    assert blocking(found) == []
    s.shot("portal-review")
    # in English: the same length with English numbers, the legend in English
    s.page.goto(f"{base}/portal/tinjau?lang=en")
    s.ready("ready-review")
    s.page.locator(f"#table tr[data-code='{vid}']").click()
    s.ready("ready-visit")
    assert f"{round(metres):,} m" in s.page.inner_text(".leaflet-tooltip.distance")
    assert "Family's registered point" in s.page.inner_text("#legend")
    far = f"Far from the family's point: visit {round(metres):,} m from the family's point (more than 100 m)"
    assert s.page.inner_text("#info li[data-flag='far_from_family']") == far
    assert s.page.get_attribute("#info .photos img", "alt") == "Photo of the house 1 of 1"
    s.shot("portal-review-en")
    s.page.click(f"button[data-approve='{vid}']")
    assert "Approved" in s.status("ok")
    with psycopg.connect(city["url"]) as conn:
        status, result = conn.execute("SELECT v.status, h.hasil_verval FROM verification v JOIN household h"
                                      " ON h.id = v.household_id WHERE v.id = %s", (vid,)).fetchone()  # fmt: skip
    assert (status, result) == ("approved", 1)
    assert s.errors == []
    s.close()


# every flag as the API stores it (code, English detail, numbers), and its words on the review page
FLAGS = [
    ({"code": "own_family", "detail": "the verifier is a member of this family (same KK)"},
     "Keluarga sendiri: verifikator adalah anggota keluarga ini (KK sama)",
     "Own family: the verifier is a member of this family (same KK)"),
    ({"code": "far_from_family", "detail": "-", "distance_m": 2345.6, "max_distance_m": 100},
     "Jauh dari titik keluarga: kunjungan 2.346 m dari titik keluarga (lebih dari 100 m)",
     "Far from the family's point: visit 2,346 m from the family's point (more than 100 m)"),
    ({"code": "imprecise_gps", "detail": "-", "accuracy_m": 1250.0, "max_accuracy_m": 100},
     "GPS tidak akurat: akurasi GPS 1.250 m (lebih dari 100 m)",
     "Imprecise GPS: GPS accuracy 1,250 m (more than 100 m)"),
    ({"code": "implausible_speed", "detail": "-", "distance_m": 3000.0, "seconds": 90.0, "speed_kmh": 120.0,
      "max_speed_kmh": 60},
     "Kecepatan tidak wajar: 3.000 m dalam 90 detik sejak kunjungan sebelumnya: 120 km/jam (lebih dari 60 km/jam)",
     "Implausible speed: 3,000 m in 90 s since the previous visit: 120 km/h (more than 60 km/h)"),
    ({"code": "too_many_visits", "detail": "-", "visits": 8, "minutes": 10, "max_visits": 6},
     "Terlalu banyak kunjungan dalam waktu singkat: 8 kunjungan dalam 10 menit (lebih dari 6)",
     "Too many visits in a short time: 8 visits within 10 minutes (more than 6)"),
    ({"code": "identical_answers", "detail": "-", "visits": 4},
     "Jawaban sama berulang: jawaban sama dengan 4 kunjungan sebelumnya",
     "Identical answers in a row: the same answers as the previous 4 visits"),
    ({"code": "backcheck_disagrees", "detail": "-", "backcheck_id": 77, "by": "rt.cek", "result_code": 2,
      "original_result_code": 1, "members": 7, "original_members": 4, "criteria_differ": 2},
     "Pemeriksaan ulang tidak sepakat: pemeriksaan ulang #77 oleh rt.cek: hasil 2 · tidak ditemukan, padahal"
     " tercatat 1 · terverifikasi; 7 anggota, padahal tercatat 4; 2 dari 14 kriteria dijawab berbeda",
     "Back-check disagrees: back-check #77 by rt.cek: result 2 · not found where 1 · verified was recorded;"
     " 7 members where 4 were recorded; 2 of the 14 criteria answered differently"),
    ({"code": "no_position", "detail": "the visit has no GPS position"},
     "Tanpa posisi GPS: kunjungan tanpa posisi GPS", "No GPS position: the visit has no GPS position"),
]  # fmt: skip


def test_each_flag_is_worded_in_the_interface_language_from_its_numbers(site, city):
    """A visit bearing every flag (written here as the API stores them, the English detail replaced by a dash):
    the review page words each from its code and numbers, in Indonesian and in English; a flag stored before
    flags had numbers is named only."""
    import json

    base, b = site
    flags = [f for f, _, _ in FLAGS] + [{"code": "imprecise_gps", "detail": "GPS accuracy 250 m"}]
    assert len(flags) == 9
    with psycopg.connect(city["url"]) as conn:
        vid = conn.execute(
            """INSERT INTO verification (client_id, campaign_id, household_id, verifier_id, result_code, visited_at,
                                         kota_code, flags)
               SELECT %s, t.campaign_id, h.id, (SELECT id FROM app_user WHERE username = 'rt.satu'), 1, now(),
                      h.kota_code, %s::jsonb
               FROM campaign_target t JOIN household h ON h.id = t.household_id
               WHERE NOT EXISTS (SELECT 1 FROM verification v WHERE v.household_id = h.id)
               ORDER BY h.id LIMIT 1 RETURNING id""",
            (uuid.uuid4(), json.dumps(flags)),
        ).fetchone()[0]
        conn.commit()
    s = Session(b, base)
    s.login("admin", PASSWORD)
    for lang, column in (("id", 1), ("en", 2)):
        s.page.goto(f"{base}/portal/tinjau?lang={lang}")
        s.ready("ready-review")
        s.page.locator(f"#table tr[data-code='{vid}']").click()
        s.ready("ready-visit")
        words = s.page.locator("#info ul.flags li").all_inner_texts()
        named, no_photos = {"id": ("GPS tidak akurat", "Belum ada foto."),
                            "en": ("Imprecise GPS", "No photos yet.")}[lang]  # fmt: skip
        assert words == [row[column] for row in FLAGS]  # each flag once, with its words (not also bare)
        assert words.count(next(w for w in words if w.startswith(named))) == 1
        assert s.page.locator("#info [data-photos='0']").inner_text() == no_photos
        assert s.page.locator("#legend div").count() == 2  # no position: the family's point and its RT only
        s.shot(f"portal-review-flags-{lang}")
    assert s.errors == []
    s.close()


def test_empty_lists_say_there_is_nothing_yet_in_the_interface_language(site, city):
    """A family never changed nor visited: its history and its visits say there are none yet; the review list
    with nothing returned says so (Indonesian, then English)."""
    with psycopg.connect(city["url"]) as conn:
        family = conn.execute(
            """SELECT h.id FROM household h JOIN household_rank r ON r.household_id = h.id
               WHERE NOT EXISTS (SELECT 1 FROM household_version x WHERE x.household_id = h.id)
                 AND NOT EXISTS (SELECT 1 FROM verification v WHERE v.household_id = h.id) ORDER BY h.id LIMIT 1"""
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM verification WHERE status = 'returned'").fetchone() == (0,)
    base, b = site
    s = Session(b, base)
    s.login("admin", PASSWORD)
    words = {"id": ("Belum ada riwayat data", "Belum ada kunjungan ke keluarga ini",
                    "Tidak ada kunjungan berstatus dikembalikan di kampanye ini."),
             "en": ("No record history yet", "No visits to this family yet",
                    "No visits in this campaign with the status returned.")}  # fmt: skip
    for lang, (history, visits, review) in words.items():
        s.page.goto(f"{base}/portal/keluarga/{family}?lang={lang}")
        s.ready("ready-family")
        assert history in s.page.inner_text("#history") and visits in s.page.inner_text("#visits")
        assert s.page.locator("#history tr, #visits tr").count() == 0
        s.shot(f"portal-keluarga-empty-{lang}")
        s.page.goto(f"{base}/portal/tinjau?lang={lang}&status=returned")
        s.ready("ready-review")
        assert s.page.get_attribute("body", "data-visits") == "0"
        assert s.page.inner_text("#table .empty") == review
        nothing, no_points = {"id": ("Belum ada kunjungan untuk ditinjau di sini.", "Belum ada kunjungan di peta."),
                              "en": ("Nothing to review here yet.", "No visits on the map yet.")}[lang]  # fmt: skip
        assert s.page.inner_text("#info") == nothing  # the box that shows a visit is never blank
        assert no_points in s.page.inner_text("#legend")
    s.shot("portal-review-empty-en")
    found = s.axe()
    record_axe("portal-tinjau, nothing returned, as admin", found)
    assert blocking(found) == []
    assert s.errors == []
    s.close()


def test_the_dashboard_charts_say_what_they_show_in_the_interface_language(site, city):
    """Each SVG chart is an image named by its title and described, figure by figure, in words (English here):
    what the browser gives a screen reader, read through Chromium's accessibility tree."""
    from playwright.sync_api import expect

    base, b = site
    admin = {"Authorization": f"Bearer {_token(base, 'admin')}"}
    cid = httpx.get(f"{base}/api/v1/campaigns", headers=admin).json()[0]["id"]
    s = Session(b, base)
    s.login("admin", PASSWORD)
    s.page.goto(f"{base}/portal/dasbor?lang=en&campaign={cid}")
    s.ready("ready-dashboard")
    assert s.page.get_attribute("html", "lang") == "en"
    coverage = httpx.get(f"{base}/api/v1/campaigns/{cid}/coverage?level=kecamatan", headers=admin).json()
    progress = httpx.get(f"{base}/api/v1/campaigns/{cid}/progress?by=week", headers=admin).json()
    assert len(coverage) == 11
    figure = r"(\d{1,3}(,\d{3})*(\.\d)?|–)"  # en-GB, at most one decimal; – where there is none
    areas = "; ".join(re.escape(f"{r['name']}: Verified {r['verified']:,}, Coverage (%) ") + figure for r in coverage)
    by_area = s.page.get_by_role("img", name="Coverage by kecamatan", exact=True)
    expect(by_area).to_have_accessible_description(re.compile(f"^{areas}$"))
    people = "; ".join(f"{v['verifier']}: Visits {v['visits']:,}" for v in progress["verifiers"]) or "No visits yet."
    expect(s.page.get_by_role("img", name="Visits by verifier", exact=True)).to_have_accessible_description(people)
    # a chart with nothing to draw says so where its bars would be
    empty = s.page.locator("#charts section.chart").nth(2).locator("text.empty")
    assert empty.count() == (0 if progress["verifiers"] else 1)
    if not progress["verifiers"]:
        assert empty.text_content() == "No visits yet."
    # a campaign nobody has visited yet (the API's answer without its visits): the chart says so, in words and as
    # its description, where it would draw its bars

    def unvisited(route):
        body = route.fetch().json()
        body["verifiers"] = []
        route.fulfill(json=body)

    s.page.route("**/progress?**", unvisited)
    s.page.reload()
    s.ready("ready-dashboard")
    chart = s.page.locator("#charts section.chart").nth(2)
    assert chart.locator("rect").count() == 0 and chart.locator("text.empty").text_content() == "No visits yet."
    expect(s.page.get_by_role("img", name="Visits by verifier", exact=True)).to_have_accessible_description(
        "No visits yet.")
    chart.scroll_into_view_if_needed()
    s.shot("portal-dasbor-no-visits-en")
    weeks = s.page.get_by_role("img", name="Verification progress", exact=True)
    expect(weeks).to_have_accessible_description(re.compile(f"^{re.escape(progress['series'][0]['period'])}: Visits "))
    assert s.errors == []
    s.close()



# the texts of the dashboard's charts that reach outside their drawing (cut off on the screen)
CLIPPED = """() => [...document.querySelectorAll('#charts svg')].flatMap(svg => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll('text')].filter(t => { const r = t.getBoundingClientRect();
      return r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
         || r.bottom > box.bottom + 0.5; }).map(t => t.textContent); })"""


def _chart_csv(s: Session, title: str) -> list[list[str]]:
    """The rows of the CSV a chart's button downloads (header first)."""
    import csv

    with s.page.expect_download() as dl:
        s.page.get_by_role("button", name=f"Unduh CSV: {title}", exact=True).click()
    with open(dl.value.path(), encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_dashboard_of_a_kelurahan_coordinator_shows_their_rts_on_readable_axes_downloadable(site, city):
    """A kelurahan coordinator's coverage chart holds the RTs of their kelurahan only (from the database), never the
    kab/kota; the value axes tick in Indonesian numbers from 0 up past the highest bar, every axis is named, no label
    reaches outside its drawing, and each chart's CSV holds exactly the figures its bars draw."""
    base, b = site
    kelurahan = city["rt"][:13]
    with psycopg.connect(city["url"]) as conn:
        rts = {r[0] for r in conn.execute("SELECT code FROM area WHERE level = 'rt' AND code LIKE %s",
                                          (kelurahan + ".%",)).fetchall()}  # fmt: skip
    assert rts
    s = Session(b, base)
    s.login("koor.kel", PASSWORD)
    s.page.goto(f"{base}/portal/dasbor")
    s.ready("ready-dashboard")
    titles = ("Kemajuan verifikasi", "Cakupan per RT", "Kunjungan per verifikator")
    for title in titles:
        assert s.page.get_by_role("img", name=title, exact=True).count() == 1
    # the RTs of the kelurahan, each named by its RW and RT; not a kecamatan of the city
    coverage = _chart_csv(s, "Cakupan per RT")
    assert coverage[0] == ["code", "name", "verified", "coverage_pct"]
    assert {r[0] for r in coverage[1:]} == rts
    charts = s.page.locator("#charts section.chart")
    assert charts.count() == 3
    for i, title in enumerate(titles):
        chart = charts.nth(i)
        bars = chart.locator("rect").evaluate_all("rs => rs.map(r => Number(r.dataset.value))")
        rows = _chart_csv(s, title)[1:]
        figure = 2 if i == 1 else 1  # the bar's column: verified (by RT), visits (by period, by verifier)
        assert len(rows) == len(bars) and [float(r[figure]) for r in rows] == bars, title
        if i == 1:
            ticks = chart.locator("text.tick-x").all_text_contents()
            assert ticks and all(re.fullmatch(r"RW \d{3} RT \d{3}", t) for t in ticks)
            assert len(bars) == len(rts)
        # the left axis: whole numbers in Indonesian format, evenly spaced from 0 past the highest bar
        left = chart.locator("text.tick-y").all_text_contents()
        assert len(left) >= 4 and all(re.fullmatch(r"\d{1,3}(\.\d{3})*", t) for t in left), left
        values = [int(t.replace(".", "")) for t in left]
        steps = {high - low for low, high in zip(values, values[1:], strict=False)}
        assert values[0] == 0 and values[-1] >= max(bars + [0]) and len(steps) == 1
        assert chart.locator("text.axis-x").count() == chart.locator("text.axis-y").count() == 1
        if i < 2:
            assert chart.locator("text.tick-y2").all_text_contents() == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    # nothing drawn reaches outside its drawing (a rotated first label used to be cut off on the left)
    outside = s.page.evaluate(CLIPPED)
    assert outside == []
    s.shot("portal-dasbor-kelurahan-coordinator")
    found = s.axe()
    record_axe("portal-dasbor, a kelurahan coordinator", found)
    assert blocking(found) == []
    assert s.errors == []
    s.close()


def test_no_dashboard_label_is_clipped_for_the_whole_kab_kota(site, city):
    """The admin's charts (every kecamatan, long names, rotated) keep every label inside the drawing, in English
    numbers when the interface is English."""
    base, b = site
    s = Session(b, base)
    s.login("admin", PASSWORD)
    s.page.goto(f"{base}/portal/dasbor?lang=en")
    s.ready("ready-dashboard")
    with psycopg.connect(city["url"]) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM area WHERE level = 'kecamatan' ORDER BY code")]
    assert len(names) == 11
    chart = s.page.locator("#charts section.chart").nth(1)
    assert chart.locator("text.tick-x").all_text_contents() == names
    assert chart.locator("text.axis-x").text_content() == "Kecamatan"
    left = chart.locator("text.tick-y").all_text_contents()
    assert len(left) >= 4 and all(re.fullmatch(r"\d{1,3}(,\d{3})*", t) for t in left), left
    clipped = s.page.evaluate(CLIPPED)
    assert clipped == []
    # each category axis is named below its rotated labels, not across them
    gaps = s.page.evaluate("""() => [...document.querySelectorAll('#charts svg')].map(svg =>
        svg.querySelector('text.axis-x').getBoundingClientRect().top
        - Math.max(...[...svg.querySelectorAll('text.tick-x')].map(t => t.getBoundingClientRect().bottom), 0))""")
    assert len(gaps) == 3 and all(g >= 0 for g in gaps), gaps
    s.shot("portal-dasbor-admin-en")
    assert s.errors == []
    s.close()

# the flag each page marks on its body once it has drawn its data (every page of portal.shell.PAGES has one)
READY = {"/portal": "ready-kecamatan", "/portal/cakupan": "ready-campaign", "/portal/penugasan": "ready-campaign",
         "/portal/verifikator": "ready-verifier", "/portal/tinjau": "ready-review", "/portal/dasbor": "ready-dashboard",
         "/portal/program": "ready-programme"}
PEOPLE = {"anonymous": None, "admin": "admin", "coordinator": "koor", "planner": "plan", "verifier": "rt.satu"}
FAMILY_ROLES = ("admin", "coordinator", "verifier")  # portal.routes.family_page


def _families(city) -> dict[str, int]:
    """A ranked family each role may open (the verifier's in their RT, the coordinator's in their kecamatan),
    and one outside the coordinator's kecamatan."""
    ranked = ("SELECT id FROM household JOIN household_rank r ON r.household_id = id"
              " WHERE rt_code {} %s ORDER BY id LIMIT 1")
    with psycopg.connect(city["url"]) as conn:

        def one(op: str, value: str) -> int:
            row = conn.execute(ranked.format(op), (value,)).fetchone()
            assert row is not None, (op, value)
            return int(row[0])

        outside = one("NOT LIKE", city["kec"] + ".%")
        return {"admin": outside, "coordinator": one("LIKE", city["kec"] + ".%"), "verifier": one("=", city["rt"]),
                "outside": outside}


def _walks(city) -> dict[str, list[tuple[str, str]]]:
    """Every page each role may open (portal.shell.PAGES and a family), with the flag it marks when ready."""
    assert set(READY) == {path for path, _, _ in PAGES}
    families = _families(city)
    walks = {role: [(path, READY[path]) for path, _, roles in PAGES if role in roles] for role in PEOPLE}
    for role in FAMILY_ROLES:
        walks[role].append((f"/portal/keluarga/{families[role]}", "ready-family"))
    return walks


def test_every_page_of_each_role_loads_without_console_errors_or_accessibility_faults(site, city):
    """Each role opens every page it may (the verifier on a phone): no console error, the interface language on
    <html>, and no serious or critical axe-core finding; a screenshot of each and every finding in artifacts."""
    base, b = site
    walks = _walks(city)
    assert [len(walks[r]) for r in PEOPLE] == [2, 7, 7, 3, 3]  # anonymous, admin, coordinator, planner, verifier
    faults: dict[str, list[str]] = {}
    anonymous = Session(b, base)
    anonymous.page.goto(f"{base}/portal/login")
    assert anonymous.page.get_attribute("html", "lang") == "id"
    found = anonymous.axe()
    record_axe("login", found)
    faults["login"] = blocking(found)
    anonymous.shot("portal-login")
    anonymous.close()
    for role, user in PEOPLE.items():
        s = Session(b, base, phone=role == "verifier")
        if user:
            s.login(user, PASSWORD)
        for path, flag in walks[role]:
            s.page.goto(f"{base}{path}")
            ms = s.ready(flag)
            name = "portal-keluarga" if "keluarga" in path else path.strip("/").replace("/", "-")
            record_timing(f"{name} as {role}, interactive (ms)", ms)
            assert s.page.get_attribute("html", "lang") == "id", path
            if "keluarga" in path:
                assert s.page.locator("#explain tr[data-indicator]").count() == 14
                # the family's point inside its RT's outline, both named on the map
                assert s.page.get_attribute("body", "data-outline") == "1"
                assert "Batas RT keluarga" in s.page.inner_text("#flegend")
            if "tinjau" in path:  # the box that shows a visit is never blank
                assert s.page.inner_text("#info").strip() != ""
                assert s.page.inner_text("#legend").startswith("Di peta")
            if "dasbor" in path:
                assert s.page.locator("#charts svg").count() == 3
                # koor's scope is a kecamatan: its kelurahan
                areas = "Cakupan per kelurahan" if role == "coordinator" else "Cakupan per kecamatan"
                for title in ("Kemajuan verifikasi", areas, "Kunjungan per verifikator"):
                    assert s.page.get_by_role("img", name=title, exact=True).count() == 1
                # no visits yet: the chart of visits per verifier says so rather than standing empty
                third = s.page.locator("#charts section.chart").nth(2)
                if third.locator("rect").count() == 0:
                    assert third.locator("text.empty").text_content() == "Belum ada kunjungan."
                else:
                    assert third.locator("text.empty").count() == 0
            found = s.axe()
            record_axe(f"{name} as {role}", found)
            faults[f"{name} as {role}"] = blocking(found)
            s.shot(f"{name}-{role}")
        assert s.errors == [], (role, s.errors)
        s.close()
    assert len(faults) == 1 + sum(len(w) for w in walks.values()) == 23
    assert {page: f for page, f in faults.items() if f} == {}
    # out of its scope, a family does not exist for a coordinator: the page says so, nothing leaks
    s = Session(b, base)
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/keluarga/{_families(city)['outside']}")
    s.ready("ready-family")
    assert "tidak dapat dibuka" in s.page.inner_text("#status") and s.page.inner_text("#family") == ""
    s.close()
