"""Portal login: CSRF-checked forms, HttpOnly SameSite session cookies, logout ending the session."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.layers import load_sample_city

PASSWORD = "rahasia-sekali-123"


@pytest.fixture
def client(clean_committed, monkeypatch, tmp_path):
    import psycopg

    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    with psycopg.connect(clean_committed) as conn:
        load_sample_city(conn, tmp_path)
    result = CliRunner().invoke(
        cli, ["users", "add", "koordinator", "--role", "coordinator"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0
    get_settings.cache_clear()
    with TestClient(create_app(url=clean_committed)) as c:
        yield c


def _form(client: TestClient) -> str:
    page = client.get("/portal/login")
    assert page.status_code == 200 and "Kata sandi" in page.text
    assert "httponly" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_login_sets_a_safe_cookie_and_logout_ends_it(client):
    csrf = _form(client)
    r = client.post(
        "/portal/login", data={"username": "koordinator", "password": PASSWORD, "csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/portal/cakupan?lang=id"  # a coordinator's home
    cookie = [h for k, h in r.headers.multi_items() if k == "set-cookie" and h.startswith("peta_session=")][0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert client.get("/api/v1/auth/me").json()["role"] == "coordinator"  # the cookie authenticates
    # a state-changing API call from a cookie session needs the CSRF header too
    assert client.post("/api/v1/auth/logout").status_code == 401
    out = client.post("/portal/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/portal/login"
    assert client.get("/api/v1/auth/me").status_code == 401


def test_forms_without_the_csrf_token_are_refused(client):
    _form(client)
    r = client.post("/portal/login", data={"username": "koordinator", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 400 and "reload the login page" in r.json()["detail"]
    fresh = TestClient(client.app)  # no CSRF cookie at all: a cross-site post
    r2 = fresh.post("/portal/login", data={"username": "koordinator", "password": PASSWORD, "csrf": "anything"})
    assert r2.status_code == 400


def test_wrong_password_shows_the_form_again(client):
    csrf = _form(client)
    r = client.post("/portal/login?lang=en", data={"username": "koordinator", "password": "wrong-pass!", "csrf": csrf})
    assert r.status_code == 401 and "Wrong username or password." in r.text


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client):
    csrf = _form(client)
    r = client.post("/portal/login?next=/portal/penugasan", follow_redirects=False,
                    data={"username": "koordinator", "password": PASSWORD, "csrf": csrf})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/portal/penugasan?lang=id"
    for bad in ("https://evil.example/portal", "//evil.example/portal", "/portal//evil", "/api/v1/auth/me"):
        csrf = _form(client)
        r = client.post("/portal/login", params={"next": bad}, follow_redirects=False,
                        data={"username": "koordinator", "password": PASSWORD, "csrf": csrf})  # fmt: skip
        assert r.headers["location"] == "/portal/cakupan?lang=id", bad


def test_the_api_logout_ends_a_cookie_session_too(client):
    csrf = _form(client)
    client.post("/portal/login", data={"username": "koordinator", "password": PASSWORD, "csrf": csrf})
    session = client.cookies["peta_session"]
    assert client.get("/api/v1/auth/me").json()["role"] == "coordinator"
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": client.cookies["peta_csrf"]})  # 500 before
    assert (out.status_code, out.content) == (204, b"")
    cleared = [h for k, h in out.headers.multi_items() if k == "set-cookie" and h.startswith("peta_session=")]
    assert len(cleared) == 1 and "max-age=0" in cleared[0].lower()
    assert client.get("/api/v1/auth/me").status_code == 401
    replay = TestClient(client.app, cookies={"peta_session": session})  # ended on the server, not only forgotten
    assert replay.get("/api/v1/auth/me").status_code == 401
