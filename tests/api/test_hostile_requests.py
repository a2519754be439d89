"""Issue 12, availability and "500 instead of 400": hostile filters and boxes sent through the HTTP app get a
400 naming the parameter and the bound, before any parser or query runs; the server keeps answering."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from portal.app import create_app
from tests.layers import load_sample_city

ITEMS = "/ogc/collections/kelurahan/items"
EXPORTS = ("/api/v1/exports/kelurahan.geojson", "/api/v1/exports/kelurahan.csv")
DEPTH = ("filter: nested too deeply (at most 30 levels of parentheses, NOT, functions or chained arithmetic, "
         "PETA_FILTER_MAX_DEPTH)")  # fmt: skip
TERMS = "filter: too many terms (at most 2,000 values, names and operators, PETA_FILTER_MAX_NODES)"
UTM = "lies outside the area where EPSG:32748 is used (longitude 102 to 108, latitude -80 to 0)"
HUGE = "-1e12,-1e12,1e12,1e12"


@pytest.fixture(scope="module")
def city(committed_url, tmp_path_factory):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_sample_city(conn, tmp_path_factory.mktemp("city"), population_step=1000)
        conn.commit()
    yield committed_url
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(city):
    with TestClient(create_app(url=city)) as c:
        yield c


def _nested_not_json(levels: int) -> str:
    return '{"op":"not","args":[' * levels + '{"op":"=","args":[{"property":"population"},1]}' + "]}" * levels


ATTACKS = [  # (name, parameters, the exact reason)
    ("3,000 parentheses", {"filter": "(" * 3000 + "population > 1" + ")" * 3000}, DEPTH),
    ("2,000 NOT", {"filter": "NOT " * 2000 + "population > 1"}, DEPTH),
    ("900 chained additions", {"filter": "population > " + "+".join(["1"] * 900)}, DEPTH),
    ("500 bracketed additions", {"filter": "population > " + "(" * 500 + "1" + "+1)" * 500}, DEPTH),
    ("500 nested functions", {"filter": "CASEI(" * 500 + "name" + ")" * 500 + " = 'x'"}, DEPTH),
    ("2,500 list members", {"filter": "population IN (" + ",".join(["1"] * 2500) + ")"}, TERMS),
    ("6,000 parentheses", {"filter": "(" * 6000 + "population > 1" + ")" * 6000},
     "filter: too long (12,014 characters; at most 10,000, PETA_FILTER_MAX_CHARS)"),
    ("20,000 characters", {"filter": "name = '" + "x" * 20_000 + "'"},
     "filter: too long (20,009 characters; at most 10,000, PETA_FILTER_MAX_CHARS)"),
    ("JSON: 4,000 brackets", {"filter-lang": "cql2-json", "filter": "[" * 4000 + "]" * 4000}, DEPTH),
    ("JSON: 100 nested NOT", {"filter-lang": "cql2-json", "filter": _nested_not_json(100)}, DEPTH),
]  # fmt: skip


@pytest.mark.parametrize("url", [ITEMS, *EXPORTS])
@pytest.mark.parametrize("params,reason", [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_hostile_filters_are_400_naming_the_bound(client, url, params, reason):
    r = client.get(url, params=params)
    assert (r.status_code, r.json()["detail"]) == (400, reason)
    assert client.get("/healthz").json() == {"status": "ok"}  # still serving


def test_the_deepest_allowed_filter_is_answered(client):
    for text in ("(" * 30 + "code LIKE '15.71%'" + ")" * 30, "NOT " * 28 + "NOT population < 0"):
        r = client.get(ITEMS, params={"filter": text})
        assert (r.status_code, r.json()["numberMatched"]) == (200, 4), text
    r = client.get(ITEMS, params={"filter-lang": "cql2-json", "filter": _nested_not_json(28)})
    assert (r.status_code, r.json()["numberMatched"]) == (200, 0)  # an even number of NOT: population = 1


def test_the_bounds_are_settings(city):
    settings = Settings(PETA_FILTER_MAX_DEPTH="3", PETA_FILTER_MAX_NODES="10", PETA_FILTER_MAX_CHARS="100")
    with TestClient(create_app(settings, url=city)) as c:
        assert c.get(ITEMS, params={"filter": "NOT NOT population > 1"}).json()["numberMatched"] == 4
        deep = c.get(ITEMS, params={"filter": "NOT NOT NOT population > 1"}).json()
        assert deep["detail"] == ("filter: nested too deeply (at most 3 levels of parentheses, NOT, functions or "
                                  "chained arithmetic, PETA_FILTER_MAX_DEPTH)")  # fmt: skip
        many = c.get(ITEMS, params={"filter": "population IN (1, 2, 3, 4, 5, 6, 7, 8, 9)"}).json()
        reason = "filter: too many terms (at most 10 values, names and operators, PETA_FILTER_MAX_NODES)"
        assert many["detail"] == reason
        long = c.get(ITEMS, params={"filter": "name = '" + "x" * 100 + "'"}).json()
        assert long["detail"] == "filter: too long (109 characters; at most 100, PETA_FILTER_MAX_CHARS)"
    with pytest.raises(ValueError, match="PETA_FILTER_MAX_DEPTH"):
        Settings(PETA_FILTER_MAX_DEPTH="5000")  # no setting can let a crashing filter through


BAD_VALUES = [  # (name, parameters, the exact reason); each was a 500 before
    ("a string in a JSON bbox", {"filter-lang": "cql2-json", "filter": json.dumps(
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": ["a", 1, 2, 3]}]})},
     "filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north"),
    ("true in a JSON bbox", {"filter-lang": "cql2-json", "filter": json.dumps(
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [True, 1, 2, 3]}]})},
     "filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north"),
    ("an infinite JSON bbox", {"filter-lang": "cql2-json", "filter":
        '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1e400, 1, 2, 3]}]}'},
     "filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north"),
    ("a number as a date", {"filter-lang": "cql2-json", "filter": json.dumps(
        {"op": "=", "args": [{"property": "name"}, {"date": 5}]})}, "filter: 5.0 is not a date (YYYY-MM-DD)"),
    ("a huge projected filter BBOX", {"filter-crs": "EPSG:32748",
                                      "filter": f"S_INTERSECTS(geometry, BBOX({HUGE}))"}, f"filter: a geometry {UTM}"),
    ("a projected polygon far away", {"filter-crs": "EPSG:32748",
                                      "filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0)))"},
     f"filter: a geometry {UTM}"),
    ("a huge projected bbox", {"bbox": HUGE, "bbox-crs": "EPSG:32748"}, f"bbox: '{HUGE}' {UTM}"),
]  # fmt: skip


@pytest.mark.parametrize("url", [ITEMS, *EXPORTS])
@pytest.mark.parametrize("params,reason", [b[1:] for b in BAD_VALUES], ids=[b[0] for b in BAD_VALUES])
def test_bad_values_in_filters_and_boxes_are_400(client, url, params, reason):
    r = client.get(url, params=params)
    assert (r.status_code, r.json()["detail"]) == (400, reason)


def test_a_projected_bbox_inside_the_zone_still_selects(client, city):
    with psycopg.connect(city) as conn:
        box = conn.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)"
            " FROM (SELECT ST_Extent(ST_Transform(geom, 32748)) b FROM area WHERE level = 'kelurahan') q"
        ).fetchone()
    bbox = ",".join(str(v) for v in box)
    assert client.get(ITEMS, params={"bbox": bbox, "bbox-crs": "EPSG:32748"}).json()["numberMatched"] == 4
    inside = f"S_INTERSECTS(geometry, BBOX({bbox}))"
    assert client.get(ITEMS, params={"filter": inside, "filter-crs": "EPSG:32748"}).json()["numberMatched"] == 4


@pytest.mark.parametrize("url", EXPORTS)
def test_an_export_whose_query_fails_is_an_error_not_a_short_200(client, url):
    r = client.get(url, params={"filter": "population ^ 1000 > 1"})  # overflows inside PostgreSQL
    assert (r.status_code, r.json()) == (400, {"detail": "filter could not be evaluated: value out of range: overflow",
                                               "error_code": "filter_not_evaluated"})  # fmt: skip
    whole = client.get(url)
    assert whole.status_code == 200 and whole.text.count("Kel ") == 4
