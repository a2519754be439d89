"""The items parameters (api.params): parsed on a throwaway app without data, and refused before a connection."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.params import ITEMS_PARAMETERS, ItemsParams, ItemsParamsDep, items_openapi
from core.settings import Settings
from gis import features as fx
from portal.app import create_app

UTM = "http://www.opengis.net/def/crs/EPSG/0/32748"


@pytest.fixture(scope="module")
def bare() -> TestClient:
    """A FastAPI app with nothing but the dependency and the error map: no pool, no database."""
    app = FastAPI()
    errors.register(app)
    app.state.settings = Settings()

    @app.get("/items")
    def echo(p: ItemsParamsDep) -> dict:
        return {"limit": p.limit, "offset": p.offset, "bbox": p.bbox, "bbox_srid": p.bbox_crs.srid,
                "crs": p.crs.srid, "cql": p.cql, "sortby": p.sortby, "properties": p.properties,
                "others": p.others}  # fmt: skip

    return TestClient(app)


def test_no_parameters_give_the_defaults(bare):
    assert bare.get("/items").json() == {
        "limit": fx.DEFAULT_LIMIT, "offset": 0, "bbox": None, "bbox_srid": 4326, "crs": 4326, "cql": None,
        "sortby": [], "properties": None, "others": {},
    }  # fmt: skip


def test_every_standard_parameter_is_parsed(bare):
    got = bare.get("/items", params={
        "limit": "20000", "offset": "7", "bbox": "400000,9800000,410000,9810000", "bbox-crs": UTM, "crs": UTM,
        "filter": "families > 3", "sortby": "-families,+code", "properties": "code, name", "families": "4",
    }).json()  # fmt: skip
    assert got == {
        "limit": fx.MAX_LIMIT, "offset": 7, "bbox": [400000.0, 9800000.0, 410000.0, 9810000.0], "bbox_srid": 32748,
        "crs": 32748, "cql": {"op": ">", "args": [{"property": "families"}, 3]},
        "sortby": [["families", True], ["code", False]], "properties": ["code", "name"], "others": {"families": "4"},
    }  # fmt: skip


@pytest.mark.parametrize("params,named", [
    ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "103,-1,104,-2"}, "bbox"), ({"bbox": "103,-91,104,-1"}, "bbox"),
    ({"bbox": "nan,1,2,3"}, "bbox"), ({"bbox": "410000,9800000,400000,9810000", "bbox-crs": UTM}, "bbox"),
    ({"bbox-crs": UTM}, "bbox-crs"), ({"crs": "EPSG:9999"}, "crs"), ({"filter": "families >"}, "filter"),
    ({"filter-lang": "sql"}, "filter-lang"), ({"datetime": "2026-01-01"}, "datetime"),
    ({"filter": "x" * 10_001}, "filter"),
])  # fmt: skip
def test_malformed_parameters_are_400_naming_them(bare, params, named):
    r = bare.get("/items", params=params)
    assert r.status_code == 400 and named in r.json()["detail"], r.text


def test_a_parameter_given_twice_is_refused(bare):
    r = bare.get("/items?limit=1&limit=2")
    assert r.status_code == 400 and r.json()["detail"] == "limit: given more than once"


def test_openapi_offers_the_standard_parameters_and_an_area_collections_queryables():
    names = [p["name"] for p in items_openapi()]
    assert items_openapi(ogc=True)[0]["schema"]["maximum"] == fx.MAX_LIMIT  # the standard's template: clamped
    assert "maximum" not in items_openapi()[0]["schema"]  # the app's own document: not a refusal either
    assert names == [p.name for p in ITEMS_PARAMETERS] and len(names) == 11
    rt = [p["name"] for p in items_openapi(fx.COLLECTIONS["rt"])]
    assert rt[:11] == names and "families" in rt[11:] and "geometry" not in rt
    assert [p["name"] for p in items_openapi(fx.COLLECTIONS["households"])] == names  # no personal field names


@pytest.fixture(scope="module")
def app_client(database_url):
    with TestClient(create_app(url=database_url)) as c:
        yield c


@pytest.mark.parametrize("path", ["/ogc/collections/rt/items", "/ogc/collections/households/items",
                                  "/api/v1/exports/rt.geojson"])  # fmt: skip
def test_a_malformed_request_takes_no_database_connection(app_client, path):
    pool = app_client.app.state.pool
    app_client.get("/ogc/collections/rt/items", params={"limit": 1})  # the pool is open and warm
    before = pool.get_stats().get("requests_num", 0)
    r = app_client.get(path, params={"bbox": "103,-1,104,-2"})
    assert r.status_code == 400 and "bbox" in r.json()["detail"], r.text
    assert pool.get_stats().get("requests_num", 0) == before
    ok = app_client.get("/ogc/collections/rt/items", params={"bbox": "103,-2,104,-1"})
    assert ok.status_code == 200 and pool.get_stats()["requests_num"] > before  # the counter does move


def test_items_params_is_a_frozen_value():
    with pytest.raises(AttributeError):
        ItemsParams().limit = 5  # type: ignore[misc]
