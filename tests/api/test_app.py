"""The HTTP app against a real committed database: health, areas as GeoJSON, the error map."""

from __future__ import annotations

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.middleware import SECURITY_HEADERS
from core.errors import DatabaseUnavailable, InputError, NotFound
from core.settings import Settings
from portal.app import create_app
from tests.conftest import HEAD_REVISION
from tests.layers import load_sample_city
from tests.people import PASSWORD, add_users


@pytest.fixture
def loaded(clean_committed, tmp_path):
    with psycopg.connect(clean_committed) as conn:
        load_sample_city(conn, tmp_path, population_step=1000)
        conn.commit()
    return clean_committed


@pytest.fixture
def client(loaded):
    with TestClient(create_app(url=loaded)) as c:
        yield c


def test_healthz_tells_only_administrators_the_versions(client, loaded):
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})  # anonymous: no versions to look up flaws by
    add_users(loaded, {"u.admin": ("admin", []), "u.planner": ("planner", [])})
    for user in ("u.admin", "u.planner"):
        token = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()
        body = client.get("/healthz", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
        if user == "u.admin":
            assert body["status"] == "ok" and body["revision"] == HEAD_REVISION and body["postgis"].startswith("3.")
        else:
            assert body == {"status": "ok"}
    wrong = client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})
    assert (wrong.status_code, wrong.json()) == (200, {"status": "ok"})  # a probe with bad credentials is no 401


def test_healthz_503_when_database_unreachable():
    app = create_app(url="postgresql://peta:nope@127.0.0.1:1/peta")
    with TestClient(app) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "database": "unreachable"}


def test_areas_geojson(client):
    r = client.get("/api/v1/areas", params={"level": "kelurahan"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert (fc["type"], fc["numberMatched"], fc["numberReturned"]) == ("FeatureCollection", 4, 4)
    first = fc["features"][0]
    assert first["id"] == "15.71.01.1001"
    assert first["properties"]["name"] == "Kel Barat Daya"
    assert first["properties"]["population"] == 1000
    assert first["properties"]["parent_code"] == "15.71.01"
    assert "crs" not in fc
    ring = first["geometry"]["coordinates"][0][0]
    # RFC 7946: exterior rings counter-clockwise (positive shoelace sum), 6 decimals at most
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
    assert area2 > 0
    assert all(len(str(v).split(".")[-1]) <= 6 for pt in ring for v in pt)


def test_areas_filters_and_paging(client):
    fc = client.get("/api/v1/areas", params={"level": "kelurahan", "parent": "15.71.02"}).json()
    assert [f["id"] for f in fc["features"]] == ["15.71.02.1001", "15.71.02.1002"]
    page = client.get("/api/v1/areas", params={"level": "kelurahan", "limit": 1, "offset": 3}).json()
    assert (page["numberMatched"], page["numberReturned"], page["features"][0]["id"]) == (4, 1, "15.71.02.1002")
    simple = client.get("/api/v1/areas", params={"level": "kota", "simplify": 50}).json()
    assert simple["numberReturned"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"level": "desa"},
        {},
        {"level": "rt", "limit": 0},
        {"level": "rt", "limit": 10_001},
        {"level": "rt", "offset": -1},
        {"level": "rt", "parent": "15.71'; drop table area; --"},
        {"level": "rt", "simplify": "x"},
    ],
)
def test_bad_area_requests_get_400_with_reason(client, params):
    r = client.get("/api/v1/areas", params=params)
    assert r.status_code == 400
    named = r.json()["detail"].split(":")[0]
    assert named in params or (named == "level" and "level" not in params), r.json()


def test_portal_page_and_redirect(client):
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/portal")
    page = client.get("/portal")
    assert page.status_code == 200 and page.headers["content-language"] == "id"
    html = page.text
    assert "<title>Peta Kemiskinan · Peta Verval Kota Uji</title>" in html  # the loaded city's own name
    assert "<b class='brand'>Peta Verval Kota Uji</b>" in html
    assert client.get("/ogc").json()["title"] == "Peta Verval – Kota Uji"
    assert "/static/portal/poverty.js" in html and "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "Kel Barat Daya" not in html and len(html) < 40_000  # layers load by URL, not inline
    assert "peta_csrf=" in page.headers["set-cookie"]  # the page's scripts write with this token
    en = client.get("/portal", params={"lang": "en"}).text
    assert "Poverty map" in en and "Log in" in en
    for path in ("/portal/cakupan", "/portal/penugasan", "/portal/verifikator"):  # staff pages: log in first
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/portal/login?lang=id&next={path}"


def test_error_map_hides_internal_messages():
    app = FastAPI()
    errors.register(app)

    @app.get("/bad")
    async def bad() -> None:
        raise InputError("kode 15.71.99 tidak dikenal")

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no such area")

    @app.get("/down")
    async def down() -> None:
        raise DatabaseUnavailable("password authentication failed for user peta")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/ogc/boom")
    async def ogc_boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        ogc = c.get("/ogc/boom")  # an OGC API path's 500 carries the standard exception fields too
        assert (ogc.status_code, ogc.json()) == (
            500, {"code": "ServerError", "description": "internal error", "detail": "internal error",
                  "error_code": "internal_error"}
        )  # fmt: skip
        assert (c.get("/bad").status_code, c.get("/bad").json()) == (
            400, {"detail": "kode 15.71.99 tidak dikenal", "error_code": "invalid_request"})  # fmt: skip
        assert c.get("/missing").status_code == 404
        assert c.get("/down").json() == {"detail": "the database is not reachable",
                                         "error_code": "database_unreachable"}  # fmt: skip
        r = c.get("/boom")
        assert (r.status_code, r.json()) == (500, {"detail": "internal error", "error_code": "internal_error"})


def test_every_response_has_the_security_headers_even_an_unhandled_500():
    app = create_app(Settings(PETA_MAX_BODY_BYTES="2048"), url="postgresql://peta:nope@127.0.0.1:1/peta")

    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/boom", boom)
    expected = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
    with TestClient(app, raise_server_exceptions=False) as c:
        answers = {500: c.get("/boom"), 404: c.get("/nope"), 405: c.delete("/boom"),
                   413: c.post("/api/v1/auth/token", content=b"x" * 5000)}  # fmt: skip
        for status, r in answers.items():
            assert r.status_code == status
            assert {k: r.headers.get(k) for k in expected} == expected, status
            assert all(len(r.headers.get_list(k)) == 1 for k in expected), status  # once, not twice
        assert answers[500].json() == {"detail": "internal error", "error_code": "internal_error"}


def test_the_pool_sets_a_statement_timeout(loaded):
    import asyncio

    from core.settings import Settings
    from db.pool import make_pool

    async def run() -> str:
        pool = make_pool(loaded, Settings(PETA_STATEMENT_TIMEOUT_MS="150"))
        await pool.open()
        try:
            async with pool.connection() as conn:
                setting = (await (await conn.execute("SHOW statement_timeout")).fetchone())[0]
                with pytest.raises(psycopg.errors.QueryCanceled):
                    await conn.execute("SELECT pg_sleep(2)")
                return setting
        finally:
            await pool.close()

    assert asyncio.run(run()) == "150ms"


def test_before_any_city_is_loaded_nothing_names_one(clean_committed):
    with TestClient(create_app(url=clean_committed)) as c:
        html = c.get("/portal").text
        landing = c.get("/ogc").json()
        collections = c.get("/ogc/collections").json()["collections"]
    assert "<title>Peta Kemiskinan · Peta Verval</title>" in html and "<b class='brand'>Peta Verval</b>" in html
    assert "[-2.5, 118.0]" in html  # the first view is the whole country, not some city
    assert landing["title"] == "Peta Verval – no kab/kota loaded yet"
    assert collections and all("extent" not in d for d in collections)
