"""The portal opens on the person's own kab/kota and switches between the kab/kota in their scope (issue 16):
the page's view, title and the kab/kota its scripts ask for follow the choice; a kab/kota outside the scope is
never shown or offered; a deployment of one kab/kota shows no switch."""

from __future__ import annotations

import json
import re

import pytest

from tests.worlds import insert_kota_chains

SECOND = "15.72"
BOX = (104.0, -1.2, 104.2, -1.0)  # away from the seeded city
PETA = re.compile(r"window\.PETA = (\{.*?\}); document")


def _settings(html: str) -> dict:
    found = PETA.search(html)
    assert found, html[:500]
    return json.loads(found.group(1).replace("<\\/", "</"))


def _options(html: str) -> list[tuple[str, str]]:
    form = re.search(r"<form method='get' class='city'.*?</form>", html)
    return re.findall(r"<option value='([^']*)'[^>]*>([^<]*)</option>", form.group(0)) if form else []


def _login(api, username: str) -> None:
    from tests.people import PASSWORD

    page = api.get("/portal/login").text
    csrf = re.search(r"name=['\"]csrf['\"] value=['\"]([^'\"]+)", page).group(1)
    out = api.post("/portal/login", data={"username": username, "password": PASSWORD, "csrf": csrf},
                   follow_redirects=False)  # fmt: skip
    assert out.status_code == 303, out.text


@pytest.fixture
def two(api, seeded):
    insert_kota_chains(api.db, (SECOND,), BOX)
    first = seeded.kel[:5]
    (name,) = api.db.execute("SELECT name FROM area WHERE code = %s", (first,)).fetchone()
    return api, first, name


def test_everyone_may_switch_between_the_cities_and_the_page_follows(two):
    api, first, name = two
    html = api.get("/portal").text
    assert _options(html) == [(first, name), (SECOND, SECOND)]  # every kab/kota loaded, by code
    opened = _settings(html)
    assert opened["kota"] == first and f"<b class='brand'>Peta Verval {name}</b>" in html
    other = api.get(f"/portal?kota={SECOND}&lang=en").text
    chosen = _settings(other)
    assert chosen["kota"] == SECOND and chosen["bbox"] == pytest.approx(list(BOX))
    assert "<option value='15.72' selected>" in other and f"Peta Verval {SECOND}" in other
    # the links keep the choice; an unknown kab/kota falls back to the first
    assert f"href='?lang=id&amp;kota={SECOND}'" in other
    assert _settings(api.get("/portal?kota=99.99").text)["kota"] == first


def test_a_scoped_person_sees_only_their_own_city_and_no_switch(two):
    api, first, _ = two
    _login(api, "koor")  # a kelurahan coordinator of the seeded city
    html = api.get(f"/portal/cakupan?kota={SECOND}").text
    assert _settings(html)["kota"] == first  # the other city is not theirs: their own is shown
    assert _options(html) == [] and SECOND not in html.split("window.PETA")[0]


def test_an_administrator_opens_on_the_first_city_and_may_switch(two):
    api, first, _ = two
    _login(api, "admin")
    html = api.get(f"/portal/dasbor?kota={SECOND}").text
    assert _settings(html)["kota"] == SECOND and [c for c, _ in _options(html)] == [first, SECOND]


def test_one_city_shows_no_switch(api, seeded):
    html = api.get("/portal").text
    assert _settings(html)["kota"] == seeded.kel[:5] and _options(html) == []
    assert "kota=" not in html.split("<main")[0]  # the links are as they were
