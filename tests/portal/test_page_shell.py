"""The page shell's document (no database, no browser): the interface language on <html>, one viewport that lets
people zoom, one main landmark with one heading, on every page in both languages (issue 17, accessibility)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from core.principal import User
from core.settings import Settings
from portal.i18n import STRINGS
from portal.shell import PAGES, base_map, page_policy, render

PANELS = {"/portal": "poverty.html.j2", "/portal/cakupan": "coverage.html.j2", "/portal/penugasan": "assign.html.j2",
          "/portal/verifikator": "verifier.html.j2", "/portal/tinjau": "review.html.j2",
          "/portal/dasbor": "dashboard.html.j2", "/portal/keluarga/1": "family.html.j2",
          "/portal/program": "programme.html.j2"}  # fmt: skip
TITLES = {"/portal": "nav_poverty", "/portal/cakupan": "nav_coverage", "/portal/penugasan": "nav_assign",
          "/portal/verifikator": "nav_verifier", "/portal/tinjau": "nav_review", "/portal/dasbor": "nav_dashboard",
          "/portal/keluarga/1": "family", "/portal/program": "nav_programme"}  # fmt: skip
VIEWPORT = re.compile(r"<meta name=['\"]viewport['\"] content=['\"]([^'\"]*)['\"]")


def _page(path: str, lang: str) -> str:
    app = SimpleNamespace(state=SimpleNamespace())  # render reads app.state.cookie_secure, if set
    request = Request({"type": "http", "scheme": "http", "method": "GET", "path": path, "query_string": b"",
                       "headers": [], "server": ("test", 80), "app": app})  # fmt: skip
    user = User(id=1, username="koor", role="coordinator", scope_level="kecamatan", scope_codes=("15.71.01",))
    bbox = (103.5, -1.7, 103.7, -1.5)
    response = render(request, base_map(bbox), lang=lang, user=user, active=path, script="poverty.js",
                      panel=PANELS[path], config={})  # fmt: skip
    return bytes(response.body).decode()


def test_the_pages_walked_here_are_every_page_of_the_portal():
    assert {p for p, _, _ in PAGES} | {"/portal/keluarga/1"} == set(PANELS) == set(TITLES)


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("path", sorted(PANELS))
def test_a_page_says_its_language_lets_people_zoom_and_has_one_main_and_one_heading(path, lang):
    html = _page(path, lang)
    assert html.startswith("<!DOCTYPE html>\n") and f'<html lang="{lang}">' in html
    assert "<html>" not in html
    # Folium's own viewport (maximum-scale=1.0, user-scalable=no) is gone: the page's own is the only one
    assert VIEWPORT.findall(html) == ["width=device-width, initial-scale=1"]
    assert "user-scalable" not in html and "maximum-scale" not in html
    assert html.count("<main") == 1 and html.count("</main>") == 1 and "<aside" not in html
    assert re.findall(r"<h1>([^<]*)</h1>", html) == [STRINGS[lang][TITLES[path]]]
    # the main landmark holds the heading and then the panel, tables included
    main = html[html.index("<main id='panel'>") : html.index("</main>")]
    assert main.startswith("<main id='panel'><h1>")
    assert ("<div id='table'></div>" in main) == (path in ("/portal", "/portal/cakupan", "/portal/penugasan",
                                                            "/portal/tinjau", "/portal/program"))  # fmt: skip
    # the link to the other language is marked as being in it
    other = "en" if lang == "id" else "id"
    assert f"class='lang' lang='{other}' hreflang='{other}'>{STRINGS[lang]['other_lang']}</a>" in html


def test_the_base_map_is_the_configured_tile_server_or_none_and_the_policy_allows_only_it():
    bbox = (103.5, -1.7, 103.7, -1.5)
    osm = base_map(bbox).get_root().render()
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in osm
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in osm
    own = base_map(bbox, tiles="https://{s}.peta.jambikota.go.id/{z}/{x}/{y}.png", attribution="Pemkot").get_root()
    html = own.render()
    assert "https://{s}.peta.jambikota.go.id/{z}/{x}/{y}.png" in html and "openstreetmap" not in html
    none = base_map(bbox, tiles="").get_root().render()
    assert "tileLayer" not in none and "openstreetmap" not in none
    assert "tileLayer" in html  # the same check finds the layer where there is one
    policies = {t: dict(d.split(" ", 1) for d in page_policy(t).split("; "))["img-src"] for t in (
        "https://{s}.peta.jambikota.go.id/{z}/{x}/{y}.png", "http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png",
        "/tiles/{z}/{x}/{y}.png", "")}  # fmt: skip
    assert policies == {
        "https://{s}.peta.jambikota.go.id/{z}/{x}/{y}.png": "'self' data: blob: https://*.peta.jambikota.go.id",
        "http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png": "'self' data: blob: http://10.0.0.5:8080",
        "/tiles/{z}/{x}/{y}.png": "'self' data: blob:",
        "": "'self' data: blob:",
    }
    assert "frame-ancestors 'none'" in page_policy("")  # the rest of the app's policy is kept


@pytest.mark.parametrize("value", ["ftp://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/{z}/{x}.png",
                                   "tiles.example.org/{z}/{x}/{y}.png"])  # fmt: skip
def test_a_base_map_that_is_no_tile_url_template_is_refused_naming_the_variable(value):
    with pytest.raises(ValidationError, match="PETA_BASEMAP_URL"):
        Settings(PETA_BASEMAP_URL=value)


@pytest.mark.parametrize("value", ["none", "NONE", " ", ""])
def test_none_means_no_base_map(value):
    assert Settings(PETA_BASEMAP_URL=value).basemap_url == ""
