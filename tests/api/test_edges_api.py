"""Edges over HTTP (issue 19): desil bounds of filters and campaigns, the body size limit and the vertex
bounds, each at the bound (accepted) and one past it (refused), with the expected answers written by hand."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from portal.app import create_app
from tests.conftest import truncate_all
from tests.people import PASSWORD, add_users

ITEMS = "/ogc/collections/kelurahan/items"
WITHIN = "/api/v1/spatial/households/within"
TODAY = date.today()
LIMIT = 2048  # PETA_MAX_BODY_BYTES for these tests (the smallest it accepts is 1024)


@pytest.fixture(scope="module")
def url(committed_url):
    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:  # the city the administrator's scope names
        conn.execute("INSERT INTO area (code, name, level, geom, area_m2, source, geom_hash) VALUES ('15.71', 'K',"
                     " 'kota', ST_Multi(ST_MakeEnvelope(103.6, -1.62, 103.62, -1.60, 4326)), 1, 't', 'h')")  # fmt: skip
    add_users(committed_url, {"u.admin": ("admin", [])})
    yield committed_url
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(url):
    env = {"PETA_MAX_BODY_BYTES": str(LIMIT), "PETA_MAX_VERTICES_ANONYMOUS": "200", "PETA_MAX_VERTICES": "50"}
    with TestClient(create_app(Settings(**env), url=url)) as c:  # type: ignore[arg-type]
        yield c


@pytest.fixture(scope="module")
def admin(client) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": "u.admin", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# --- 4. desil bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["desil_min", "desil_max"])
@pytest.mark.parametrize("value,status", [(0, 400), (1, 200), (10, 200), (11, 400)])
def test_filter_desil_bounds_1_to_10(client, admin, param, value, status):
    r = client.get("/api/v1/stats/rt", params={param: value}, headers=admin)
    assert r.status_code == status, r.text


@pytest.mark.parametrize("value,status", [(1, 200), (2, 400)])
def test_published_filters_start_at_desil_1(client, value, status):
    r = client.get("/api/v1/stats/rt", params={"desil_min": value, "desil_max": 4})
    assert r.status_code == status, r.text
    if status == 400:
        assert "desil_min is for Dinsos staff" in r.json()["detail"]


@pytest.mark.parametrize("lo,hi,status", [(0, 2, 400), (1, 2, 201), (1, 10, 201), (10, 10, 201), (1, 11, 400),
                                          (3, 2, 400)])  # fmt: skip
def test_campaign_desil_bounds_1_to_10(client, admin, lo, hi, status):
    body = {"name": f"Edge {lo}-{hi}", "target_kind": "desil", "desil_min": lo, "desil_max": hi,
            "starts_on": str(TODAY), "ends_on": str(TODAY + timedelta(days=30))}  # fmt: skip
    r = client.post("/api/v1/campaigns", json=body, headers=admin)
    assert r.status_code == status, r.text
    if status == 201:
        assert (r.json()["desil_min"], r.json()["desil_max"]) == (lo, hi)


# --- 5. the body limit (PETA_MAX_BODY_BYTES) --------------------------------------------------------------


def _body(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    head, tail = b'{"x": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("size,too_large", [(LIMIT - 1, False), (LIMIT, False), (LIMIT + 1, True)])
def test_body_limit_with_a_declared_length(client, admin, size, too_large):
    body = _body(size)
    assert len(body) == size
    r = client.post("/api/v1/campaigns", content=body, headers={**admin, "content-type": "application/json"})
    assert (r.status_code == 413) is too_large, (r.status_code, r.text)
    if not too_large:
        assert r.status_code == 400  # read whole and refused as an invalid campaign


@pytest.mark.parametrize("size,too_large", [(LIMIT, False), (LIMIT + 1, True)])
def test_body_limit_without_a_declared_length(client, admin, size, too_large):
    body = _body(size)

    def pieces() -> Any:  # chunked: no Content-Length, the middleware counts what it reads
        for i in range(0, len(body), 500):
            yield body[i:i + 500]

    r = client.post("/api/v1/campaigns", content=pieces(), headers={**admin, "content-type": "application/json"})
    assert (r.status_code == 413) is too_large, (r.status_code, r.text)


# --- 5. vertex bounds (api/limits.py) -----------------------------------------------------------------------


def _ring(vertices: int) -> list[list[float]]:
    """A closed ring of `vertices` positions (the first repeated last)."""
    step = 2 * math.pi / (vertices - 1)
    ring = [[round(103.609 + 0.01 * math.cos(step * i), 6), round(-1.611 + 0.01 * math.sin(step * i), 6)]
            for i in range(vertices - 1)]  # fmt: skip
    return [*ring, ring[0]]


def _wkt(vertices: int) -> str:
    return "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in _ring(vertices)) + "))"


@pytest.mark.parametrize("vertices,status", [(200, 200), (201, 400)])
def test_anonymous_filter_vertices_at_200(client, vertices, status):
    r = client.get(ITEMS, params={"filter": f"S_INTERSECTS(geometry, {_wkt(vertices)})"})
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["detail"] == ("filter: the geometries have 201 vertices; at most 200 for anonymous requests"
                                      " (PETA_MAX_VERTICES_ANONYMOUS)")  # fmt: skip


@pytest.mark.parametrize("vertices,status", [(50, 200), (51, 400)])
def test_staff_posted_polygon_vertices_at_50(client, admin, vertices, status):
    body = {"type": "Polygon", "coordinates": [_ring(vertices)]}
    assert len(json.dumps(body)) < LIMIT  # refused for its vertices, not its size
    r = client.post(WITHIN, json=body, headers=admin)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["detail"] == "the polygon has 51 vertices; at most 50 for staff requests (PETA_MAX_VERTICES)"
