"""The lasso on Penugasan in a real headless Chromium: a free polygon drawn with the mouse (dragged, or corner by
corner) selects exactly the RTs whose centre lies inside it, computed here with shapely from the stored RT
geometries; the selection is assigned and read back from the database; Escape cancels; the tool is a named,
keyboard-reachable toggle; a finger draws it too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from shapely import wkb
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.live import serve
from tests.people import PASSWORD, add_users, scope
from tests.portal.browser import Session, blocking, browser, needs_chromium, record_axe

pytestmark = needs_chromium

# a "C" open to the east, in pixels from the map's centre: concave, so a box around it would take more
C_SHAPE = [(-170, -130), (170, -130), (170, -55), (-60, -55), (-60, 55), (170, 55), (170, 130), (-170, 130)]
MARGIN_PX = 2  # an RT centre this close to the lasso's edge is for the pointer's whole pixels to decide


@pytest.fixture(scope="module")
def city(committed_url):
    """The demo city, a coordinator of one kecamatan and a verifier there, one campaign."""
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=1.0, seed=11)))
        conn.commit()
        kec = conn.execute("SELECT code FROM area WHERE level = 'kecamatan' ORDER BY code LIMIT 1").fetchone()[0]
        rt = conn.execute("SELECT min(code) FROM area WHERE level = 'rt' AND code LIKE %s", (kec + ".%",)).fetchone()[0]
    add_users(committed_url, {"koor": ("coordinator", scope("kecamatan", kec)),
                              "rt.satu": ("verifier", scope("rt", rt))})  # fmt: skip
    start, end = date.today() - timedelta(days=20), date.today() + timedelta(days=60)
    made = CliRunner().invoke(cli, ["campaign", "create", "Verval laso", "--starts", str(start), "--ends", str(end),
                                    "--desil", "1-2"], env={"DATABASE_URL": committed_url})  # fmt: skip
    assert made.exit_code == 0, made.output
    get_settings.cache_clear()
    yield {"url": committed_url, "kec": kec}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def site(city):
    with serve(create_app(url=city["url"])) as base, browser() as b:
        yield base, b


def _centres(city) -> dict[str, Point]:
    """Each RT of the kecamatan: the centre of its bounding box (the rule of the box and the lasso), by shapely."""
    with psycopg.connect(city["url"]) as conn:
        rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM area WHERE level = 'rt' AND code LIKE %s",
                            (city["kec"] + ".%",)).fetchall()  # fmt: skip
    out = {}
    for code, geom in rows:
        x0, y0, x1, y1 = wkb.loads(bytes(geom)).bounds
        out[code] = Point((x0 + x1) / 2, (y0 + y1) / 2)
    return out


def _open(s: Session, base: str) -> dict[str, Any]:
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/penugasan")
    s.ready("ready-campaign")
    # a level closer than the whole kecamatan (RTs a coordinator can tell apart), once the map has settled
    s.page.wait_for_function("() => { const m = window[window.PETA.map]; return !m._animatingZoom && !m._panAnim; }")
    s.page.wait_for_timeout(300)
    zoom = s.page.evaluate("() => { const m = window[window.PETA.map], z = m.getZoom() + 1;"
                           " m.setView(m.getCenter(), z, {animate: false}); return z; }")  # fmt: skip
    s.page.wait_for_function("z => window[window.PETA.map].getZoom() === z", arg=zoom)
    box = s.page.locator(".folium-map").bounding_box()
    assert box is not None
    return box


def _plan(s: Session, centres: dict[str, Point], shape: list[tuple[int, int]], box: dict[str, Any]):
    """The lasso's corners on the screen (integer pixels), moved over the map to the placement with the fewest RT
    centres within MARGIN_PX of its edge (where the pointer's sampling decides; none, usually); the RTs inside it
    by shapely, and those too near its edge to call."""
    w, h = box["width"], box["height"]
    px_deg = s.page.evaluate("() => { const m = window[window.PETA.map], a = m.containerPointToLatLng([0, 0]);"
                             " return Math.abs(m.containerPointToLatLng([1, 0]).lng - a.lng); }")  # fmt: skip
    shifts = sorted(((5 * i, 7 * j) for i in range(-8, 9) for j in range(-8, 9)), key=lambda d: abs(d[0]) + abs(d[1]))
    best = None
    for dx, dy in shifts:
        pts = [(round(w / 2 + x + dx), round(h / 2 + y + dy)) for x, y in shape]
        ll = s.page.evaluate(
            "pts => { const m = window[window.PETA.map];"
            " return pts.map(p => { const l = m.containerPointToLatLng(L.point(p[0], p[1])); return [l.lng, l.lat]; });"
            " }", pts)  # fmt: skip
        poly = Polygon(ll)
        unsure = {code for code, c in centres.items() if poly.exterior.distance(c) <= MARGIN_PX * px_deg}
        if best is None or len(unsure) < len(best[2]):
            best = (pts, poly, unsure)
        if not unsure:
            break
    assert best is not None and len(best[2]) <= 2, (best and best[2], px_deg)
    pts, poly, unsure = best
    inside = sorted(code for code, c in centres.items() if poly.contains(c) and code not in unsure)
    hollow = [code for code, c in centres.items() if poly.envelope.contains(c) and not poly.contains(c)]
    assert hollow, "the lasso's hollow holds no RT: the test would not tell it from a box"
    return [(box["x"] + x, box["y"] + y) for x, y in pts], inside, unsure


def _selected(s: Session, unsure: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The RTs the table marks selected, but those too near the lasso's edge to call."""
    rows = s.page.locator("#table tbody tr[aria-selected='true']")
    return sorted(c for c in rows.evaluate_all("rs => rs.map(r => r.dataset.code)") if c not in unsure)


def test_a_lasso_dragged_with_the_mouse_selects_exactly_the_rts_inside_and_they_are_assigned(site, city):
    base, b = site
    s = Session(b, base)
    box = _open(s, base)
    centres = _centres(city)
    screen, expected, unsure = _plan(s, centres, C_SHAPE, box)
    assert len(expected) >= 5, expected
    assert s.page.get_attribute("#lasso", "aria-pressed") == "false"
    s.page.click("#lasso")
    assert s.page.get_attribute("#lasso", "aria-pressed") == "true"
    assert s.page.get_attribute("body", "data-lasso") == "on"
    s.page.mouse.move(*screen[0])
    s.page.mouse.down()
    for x, y in screen[1:] + screen[:1]:
        s.page.mouse.move(x, y, steps=12)
    s.shot("portal-assign-lasso-drawing")
    s.page.mouse.up()
    assert s.page.get_attribute("body", "data-lasso") == "off"
    assert _selected(s, unsure) == expected
    n = len(_selected(s))  # with any of `unsure` the pointer took
    assert s.page.get_attribute("body", "data-selected-count") == str(n)
    assert s.status("ok") == f"Laso: {n} RT ditambahkan ke pilihan"
    found = s.axe()
    record_axe("portal-penugasan, RTs selected with the lasso, as coordinator", found)
    assert blocking(found) == []
    s.shot("portal-assign-lasso")
    s.page.select_option("#verifier", "rt.satu")
    s.page.click("#assign")
    s.page.wait_for_function("() => /^Ditugaskan/.test(document.getElementById('status').textContent)")
    assert s.status("ok") == f"Ditugaskan: {n} RT → rt.satu"
    with psycopg.connect(city["url"]) as conn:
        made = conn.execute("SELECT a.rt_code FROM assignment a JOIN app_user u ON u.id = a.verifier_id"
                            " WHERE u.username = 'rt.satu' AND a.household_id IS NULL AND a.status = 'assigned'"
                            " ORDER BY 1").fetchall()  # fmt: skip
    assert [r[0] for r in made if r[0] not in unsure] == expected and len(made) == n
    assert s.errors == []
    s.close()


def test_a_lasso_clicked_corner_by_corner_closes_on_its_first_corner_and_escape_cancels(site, city):
    base, b = site
    s = Session(b, base)
    box = _open(s, base)
    centres = _centres(city)
    shape = [(-120, -100), (110, -90), (40, 20), (130, 110), (-110, 100)]  # concave at its third corner
    screen, expected, unsure = _plan(s, centres, shape, box)
    # Escape cancels a lasso half drawn: nothing selected, the map pans again
    s.tab_to("#lasso")
    assert s.page.evaluate("() => document.activeElement.id") == "lasso"
    name = s.page.evaluate("() => document.activeElement.textContent")
    assert name == "Laso (pilih area bebas)"
    assert "Esc membatalkan" in s.page.inner_text("#" + s.page.get_attribute("#lasso", "aria-describedby"))
    s.page.keyboard.press("Enter")
    assert s.page.get_attribute("#lasso", "aria-pressed") == "true"
    assert s.page.inner_text("#status") == "Laso aktif: seret di peta, atau klik titik-titik sudutnya; Esc membatalkan."
    s.page.mouse.click(*screen[0])
    s.page.mouse.click(*screen[1])
    s.page.keyboard.press("Escape")
    assert s.page.get_attribute("body", "data-lasso") == "off"
    assert s.page.get_attribute("body", "data-selected-count") == "0"
    assert s.page.inner_text("#status") == "Laso dibatalkan"
    # corner by corner, closed by clicking the first corner again
    s.page.click("#lasso")
    for x, y in screen:
        s.page.mouse.click(x, y)
    s.page.mouse.click(*screen[0])
    assert s.page.get_attribute("body", "data-lasso") == "off"
    assert _selected(s, unsure) == expected
    assert s.errors == []
    s.close()


def test_a_finger_draws_the_lasso_on_a_touch_screen(site, city):
    base, b = site
    s = Session(b, base)
    box = _open(s, base)
    screen, expected, unsure = _plan(s, _centres(city), C_SHAPE, box)
    s.page.click("#lasso")
    cdp = s.context.new_cdp_session(s.page)
    touch = lambda kind, pts: cdp.send("Input.dispatchTouchEvent", {  # noqa: E731
        "type": kind, "touchPoints": [{"x": x, "y": y} for x, y in pts]})
    touch("touchStart", [screen[0]])
    path = screen[1:] + screen[:1]
    last = screen[0]
    for x, y in path:
        for i in range(1, 9):
            touch("touchMove", [(last[0] + (x - last[0]) * i / 8, last[1] + (y - last[1]) * i / 8)])
        last = (x, y)
    touch("touchEnd", [])
    s.page.wait_for_function("() => document.body.dataset.lasso === 'off'")
    assert _selected(s, unsure) == expected
    assert s.errors == []
    s.close()



@pytest.mark.parametrize(("lang", "said"), [("id", "Tenggat {due} sudah lewat"), ("en", "due_on {due} is in the past")])
def test_api_errors_reach_the_coordinator_in_the_interface_language(site, city, lang, said):
    """The portal sends its language with each API call: the API's refusal is read in it."""
    base, b = site
    s = Session(b, base)
    s.login("koor", PASSWORD, lang=lang)
    s.page.goto(f"{base}/portal/penugasan?lang={lang}")
    s.ready("ready-campaign")
    s.page.locator("#table tbody tr").first.click()
    due = str(date.today() - timedelta(days=1))
    s.page.fill("#due", due)
    with s.page.expect_response(lambda r: r.url.endswith("/assignments") and r.request.method == "POST") as answered:
        s.page.click("#assign")
    assert answered.value.request.headers["accept-language"] == lang
    assert answered.value.json()["error_code"] == "due_in_past"
    assert s.status("error") == said.format(due=due)
    assert [e for e in s.errors if "400" not in e] == []
    s.close()


@pytest.mark.parametrize(("width", "height", "name"), [(1280, 800, "desktop"), (390, 844, "phone")])
def test_penugasan_says_each_thing_once_under_its_controls_and_fits_a_phone(site, city, width, height, name):
    """The lasso's status line sits under the buttons it answers (not above the title), the selection hint is said
    once, the figures box says what it is for, and the verifier list shows the chosen verifier whole inside the
    panel, on a desktop and on a 390 px phone."""
    base, b = site
    s = Session(b, base, phone=width < 700)
    s.page.set_viewport_size({"width": width, "height": height})
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/penugasan")
    s.ready("ready-campaign")
    s.page.click("#lasso")
    assert s.page.inner_text("#status") == "Laso aktif: seret di peta, atau klik titik-titik sudutnya; Esc membatalkan."
    h1, buttons, status = (s.page.locator(sel).bounding_box() for sel in ("#panel h1", "#panel .buttons", "#status"))
    assert h1 and buttons and status
    under = buttons["y"] + buttons["height"]
    assert h1["y"] < buttons["y"] and under <= status["y"] <= under + 12
    assert s.page.evaluate("() => document.querySelectorAll('#status').length") == 1
    assert s.page.inner_text("#panel").count("Klik RT di peta atau di tabel (papan ketik") == 1
    assert s.page.inner_text("#info") == "Angka RT yang Anda klik tampil di sini."
    fit = s.page.evaluate("""() => {
      const v = document.getElementById('verifier'), r = v.getBoundingClientRect(), st = getComputedStyle(v);
      const c = document.createElement('canvas').getContext('2d');
      c.font = st.fontSize + ' ' + st.fontFamily;
      return {right: r.right, panel: document.getElementById('panel').getBoundingClientRect().right,
              room: v.clientWidth - 28, text: c.measureText(v.options[v.selectedIndex].text).width,
              page: document.documentElement.scrollWidth, viewport: innerWidth}; }""")  # 28 px: the arrow, padding
    assert fit["right"] <= fit["panel"] and fit["text"] <= fit["room"], fit
    assert fit["page"] <= fit["viewport"], fit  # nothing pushes the page sideways
    found = s.axe()
    record_axe(f"portal-penugasan, the lasso on, {name}, as coordinator", found)
    assert blocking(found) == []
    s.shot(f"portal-penugasan-{name}-coordinator")
    if width >= 1280:  # the RT table's columns fit the panel: nothing cut off, nothing to scroll sideways to
        table = s.page.eval_on_selector("#table", "t => [t.scrollWidth, t.clientWidth]")
        widths = s.page.eval_on_selector_all("#table thead th", "ths => ths.map(t => [t.textContent, t.offsetWidth])")
        assert table[0] <= table[1] + 1, (table, widths)
        s.page.locator("#table thead").scroll_into_view_if_needed()
        s.shot(f"portal-penugasan-table-{name}-coordinator")
    assert s.errors == []
    s.close()
