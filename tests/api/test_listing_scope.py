"""Issue 19: every route that lists families, under every principal, returns exactly the families of its scope.

One small demo city (scale 0.05, seed 7). Principals: an admin, a coordinator of one kelurahan, a verifier of one
RT of it, a planner, agency keys scoped to that kelurahan's kecamatan with and without the points agreement,
and anonymous. Routes: OGC household items, the spatial bbox query, a household vector tile holding the whole
city, and the CSV and GeoJSON exports.

The expected numbers do not come from the product (no SQL, view or scope function of it): they are counted in
Python from the rows `generate_city` produced, by slicing the RT codes (kelurahan = first 13 characters,
kecamatan = first 8), and cross-checked by shapely point-in-polygon over the generated area polygons. The rule
encoded here, from core/scope.py and the README: staff read every family of their scope, active or not,
placed or not (a point is needed only where a point is the query: bbox and tiles); agencies with the agreement
read only placed families of their key's scope; planners and agencies without the agreement read none (403);
anonymous callers are asked to authenticate (401). Two families are changed first so that the rule's edges
show: one of the verifier's RT is made inactive, one of the coordinator's kelurahan (outside that RT) loses
its point.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import mapbox_vector_tile
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.people import Bearers, add_users, scope

PRINCIPALS = ("admin", "coordinator", "verifier", "planner", "agency", "agency_no_agreement", "anonymous")


@dataclass
class Family:
    kk_hash: str
    rt_code: str
    lon: float
    lat: float
    active: bool = True
    placed: bool = True


@dataclass
class City:
    url: str
    families: list[Family]
    kota: shapely.Geometry
    polygons: dict[str, shapely.Geometry]  # area code -> polygon (EPSG:4326)
    kel: str
    rt: str
    kec: str
    keys: dict[str, str]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture(scope="module")
def city(committed_url) -> City:
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    made = generate_city(DemoConfig(scale=0.05, seed=7))
    h = made.households
    families = [Family(str(h.kk_hash[i]), str(h.rt_code[i]), float(h.lon[i]), float(h.lat[i])) for i in range(len(h))]
    polygons = {a.code: a.geom for a in made.areas}
    (kota,) = [a.geom for a in made.areas if a.level == "kota"]
    # the kelurahan with the most families, its busiest RT, its kecamatan (all chosen in Python)
    per_kel: dict[str, int] = {}
    for f in families:
        per_kel[f.rt_code[:13]] = per_kel.get(f.rt_code[:13], 0) + 1
    kel = max(sorted(per_kel), key=lambda k: per_kel[k])
    per_rt: dict[str, int] = {}
    for f in families:
        if f.rt_code[:13] == kel:
            per_rt[f.rt_code] = per_rt.get(f.rt_code, 0) + 1
    rt = max(sorted(per_rt), key=lambda k: per_rt[k])
    kec = kel[:8]
    with psycopg.connect(committed_url) as conn:
        load_city(conn, made)
        conn.commit()
        # the edges of the rule: an inactive family in the RT, an unplaced one elsewhere in the kelurahan
        gone = next(f for f in families if f.rt_code == rt)
        gone.active = False
        # active is generated: a family is no longer active once a visit found it gone (result code 2)
        conn.execute("UPDATE household SET hasil_verval = 2 WHERE kk_hash = %s", (gone.kk_hash,))
        lost = next(f for f in families if f.rt_code[:13] == kel and f.rt_code != rt)
        lost.placed = False
        conn.execute("UPDATE household SET geom = NULL WHERE kk_hash = %s", (lost.kk_hash,))
        conn.commit()
    add_users(committed_url, {"admin": ("admin", []), "plan": ("planner", []),
                              "koor": ("coordinator", scope("kelurahan", kel)),
                              "verif": ("verifier", scope("rt", rt))})  # fmt: skip
    runner, env, keys = CliRunner(), {"DATABASE_URL": committed_url}, {}
    get_settings.cache_clear()
    for name, extra in (("agency", ["--points-agreement"]), ("agency_no_agreement", [])):
        out = runner.invoke(cli, ["keys", "create", name, *scope("kecamatan", kec), *extra], env=env)
        assert out.exit_code == 0, out.output
        keys[name] = out.stdout.strip().splitlines()[-1]
    get_settings.cache_clear()
    yield City(committed_url, families, kota, polygons, kel, rt, kec, keys)
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(city):
    with TestClient(create_app(url=city.url)) as c:
        yield c


_bearer = Bearers()
USERS = {"admin": "admin", "coordinator": "koor", "verifier": "verif", "planner": "plan"}


def _headers(client: TestClient, city: City, who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if who.startswith("agency"):
        return {"X-API-Key": city.keys[who]}
    return _bearer(client, USERS[who])


# --- the oracle: the scope rule written again, over the generated rows --------------------------------------


def _in_scope(city: City, who: str) -> Callable[[Family], bool]:
    return {
        "admin": lambda f: True,
        "coordinator": lambda f: f.rt_code[:13] == city.kel,
        "verifier": lambda f: f.rt_code == city.rt,
        "agency": lambda f: f.rt_code[:8] == city.kec,
    }[who]


def expected(city: City, who: str, route: str) -> int | str:
    """The exact number of families `who` gets from `route`, or the status they get instead."""
    if who == "anonymous":
        return "401"
    if who in ("planner", "agency_no_agreement"):
        return "403"
    if who == "agency" and route == "spatial":  # the spatial queries are for staff only
        return "403"
    needs_point = route in ("spatial", "tile") or who == "agency"
    fits = _in_scope(city, who)
    return sum(1 for f in city.families if fits(f) and (f.placed or not needs_point))


def test_the_oracle_agrees_with_point_in_polygon_and_is_not_trivial(city):
    """The code-prefix counts, checked against where the points lie: both describe the same families."""
    for code, by_code in ((city.rt, lambda f: f.rt_code == city.rt), (city.kel, lambda f: f.rt_code[:13] == city.kel),
                          (city.kec, lambda f: f.rt_code[:8] == city.kec)):  # fmt: skip
        poly = city.polygons[code]
        shapely.prepare(poly)
        inside = {f.kk_hash for f in city.families if poly.covers(shapely.Point(f.lon, f.lat))}
        coded = {f.kk_hash for f in city.families if by_code(f)}
        assert inside == coded, code
    n = {who: expected(city, who, "items") for who in ("admin", "coordinator", "verifier", "agency")}
    # strictly nested and non-empty, so a scope widened by one level changes a count
    assert 0 < n["verifier"] < n["coordinator"] < n["agency"] < n["admin"] == len(city.families), n
    assert expected(city, "coordinator", "items") == expected(city, "coordinator", "tile") + 1  # the unplaced one


def _items(client, city, who):
    r = client.get("/ogc/collections/households/items", params={"limit": 10000}, headers=_headers(client, city, who))
    if r.status_code != 200:
        return str(r.status_code), []
    body = r.json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return len(body["features"]), [f["properties"] for f in body["features"]]


def _spatial(client, city, who):
    w, s, e, n = city.kota.bounds
    bbox = f"{w - 0.01},{s - 0.01},{e + 0.01},{n + 0.01}"
    r = client.get("/api/v1/spatial/households", params={"bbox": bbox, "limit": 10000},
                   headers=_headers(client, city, who))  # fmt: skip
    if r.status_code != 200:
        return str(r.status_code), []
    body = r.json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return len(body["features"]), [f["properties"] for f in body["features"]]


def _tile(client, city, who):
    w, s, e, n = city.kota.bounds
    corners = {_tile_of(w - 0.01, n + 0.01, 8), _tile_of(e + 0.01, s - 0.01, 8)}
    assert len(corners) == 1, "the city does not fit one zoom-8 tile"
    x, y = corners.pop()
    r = client.get(f"/tiles/households/8/{x}/{y}.pbf", headers=_headers(client, city, who))
    if r.status_code == 204:
        return 0, []
    if r.status_code != 200:
        return str(r.status_code), []
    layer = mapbox_vector_tile.decode(r.content)["households"]["features"]
    return len(layer), [f["properties"] for f in layer]


def _csv(client, city, who):
    r = client.get("/api/v1/exports/households.csv", headers=_headers(client, city, who))
    if r.status_code != 200:
        return str(r.status_code), []
    rows = list(csv.DictReader(io.StringIO(r.text)))
    return len(rows), rows


def _geojson(client, city, who):
    r = client.get("/api/v1/exports/households.geojson", headers=_headers(client, city, who))
    if r.status_code != 200:
        return str(r.status_code), []
    features = r.json()["features"]
    return len(features), [f["properties"] for f in features]


ROUTES = {"items": _items, "spatial": _spatial, "tile": _tile, "csv": _csv, "geojson": _geojson}


def _area_of(row: dict) -> str:
    """The area code a returned family carries: its RT for staff, its kelurahan for agencies."""
    return str(row.get("rt_code") or row.get("kelurahan_code"))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", PRINCIPALS)
def test_each_principal_lists_exactly_the_families_of_its_scope(client, city, who, route):
    got, rows = ROUTES[route](client, city, who)
    want = expected(city, who, route)
    assert got == want, f"{who} {route}: got {got}, expected {want}"
    if isinstance(want, int):
        assert want > 0
        prefix = {"admin": "", "coordinator": city.kel, "verifier": city.rt, "agency": city.kec}[who]
        outside = {_area_of(r) for r in rows if not _area_of(r).startswith(prefix)}
        assert outside == set(), f"{who} {route} got families outside {prefix}"
