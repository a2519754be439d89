"""OGC API – Features under /ogc on a small demo city: the standard's contract, CRS, CQL2, roles and errors."""

from __future__ import annotations

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app

PASSWORD = "rahasia-sekali-123"
GEOJSON = "application/geo+json"


@pytest.fixture(scope="module")
def world(committed_url):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.05, seed=3)))
        conn.commit()
        rt, kel = conn.execute(
            "SELECT rt_code, left(rt_code, 13) FROM household GROUP BY rt_code ORDER BY count(*) DESC, rt_code LIMIT 1"
        ).fetchone()
    runner = CliRunner()
    env = {"DATABASE_URL": committed_url}
    get_settings.cache_clear()
    users = {
        "admin": [], "planner": [],
        "verifier": ["--scope-level", "rt", "--scope", rt],
        "coordinator": ["--scope-level", "kelurahan", "--scope", kel],
    }  # fmt: skip
    for role, scope in users.items():
        out = runner.invoke(
            cli, ["users", "add", f"u.{role}", "--role", role, *scope], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
        )
        assert out.exit_code == 0, out.output
    plain = runner.invoke(cli, ["keys", "create", "BPS"], env=env).stdout.strip().splitlines()[-1]
    agreed = runner.invoke(cli, ["keys", "create", "Dinkes", "--points-agreement"], env=env)
    get_settings.cache_clear()
    yield {"url": committed_url, "rt": rt, "kel": kel, "key": plain, "agreed": agreed.stdout.strip().splitlines()[-1]}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world["url"])) as c:
        yield c


def _as(client: TestClient, role: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": f"u.{role}", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _db(world, sql: str, *params):
    with psycopg.connect(world["url"]) as conn:
        return conn.execute(sql, params).fetchall()


# --- Part 1 core ---------------------------------------------------------------------------------


def test_landing_conformance_and_collections(client):
    landing = client.get("/ogc").json()
    rels = {lk["rel"] for lk in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert client.get(next(lk["href"] for lk in landing["links"] if lk["rel"] == "service-desc")).status_code == 200
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    for c in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
              "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/features-filter",
              "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/basic-cql2"):  # fmt: skip
        assert any(x.endswith(c) for x in conf), c
    public = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert public == ["kecamatan", "kelurahan", "rw", "rt"]  # households are not even listed
    admin = [c["id"] for c in client.get("/ogc/collections", headers=_as(client, "admin")).json()["collections"]]
    assert admin == [*public, "households"]
    rt = client.get("/ogc/collections/rt").json()
    types = {lk["rel"]: lk["type"] for lk in rt["links"]}
    assert types["items"] in (GEOJSON, "text/html", "text/csv") and types["describedby"] == "application/schema+json"
    assert "http://www.opengis.net/def/crs/EPSG/0/32748" in rt["crs"]
    assert client.get("/ogc/collections/nope").status_code == 404
    assert client.get("/ogc?f=html").headers["content-type"].startswith("text/html")


def test_items_page_counts_links_and_geojson_rules(client, world):
    total = _db(world, "SELECT count(*) FROM area WHERE level = 'rt'")[0][0]
    r = client.get("/ogc/collections/rt/items")
    assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    page = r.json()
    assert (page["numberMatched"], page["numberReturned"], len(page["features"])) == (total, 100, 100)
    assert page["timeStamp"].endswith("Z") and "crs" not in page
    codes = [f["id"] for f in page["features"]]
    assert codes == sorted(codes)
    nxt = next(lk for lk in page["links"] if lk["rel"] == "next")
    assert nxt["type"] == GEOJSON and "offset=100" in nxt["href"]
    second = client.get(nxt["href"]).json()
    assert second["features"][0]["id"] > codes[-1]
    assert any(lk["rel"] == "prev" for lk in second["links"])
    for f in page["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.is_valid and all(p.exterior.is_ccw for p in geom.geoms), f["id"]
        x, y = f["geometry"]["coordinates"][0][0][0]
        assert len(repr(x).split(".")[1]) <= 6 and 103 < x < 104 and -2 < y < -1
    clamped = client.get("/ogc/collections/rt/items", params={"limit": 50_000}).json()
    assert clamped["numberReturned"] == min(total, 10_000)
    last = client.get("/ogc/collections/rt/items", params={"limit": 10, "offset": total - 3}).json()
    assert last["numberReturned"] == 3 and not any(lk["rel"] == "next" for lk in last["links"])


def test_public_figures_are_suppressed_and_staff_see_them_all(client, world):
    small = _db(world, "SELECT code, poor_bps_families FROM area_stats WHERE level = 'rt'"
                " AND poor_bps_families BETWEEN 1 AND 4 ORDER BY code")  # fmt: skip
    assert len(small) >= 5, "the demo city has RTs with 1-4 poor families"
    hidden = 0
    for code, poor in small[:12]:
        public = client.get(f"/ogc/collections/rt/items/{code}").json()["properties"]
        shown = public["poor_bps_families"]
        assert shown is None or not 1 <= shown <= 4  # a small count is never published as it is
        hidden += shown is None
        assert (shown is None) == ("poor_bps_families" in public["suppressed"])
        staff = client.get(f"/ogc/collections/rt/items/{code}", headers=_as(client, "coordinator")).json()
        assert staff["properties"]["poor_bps_families"] == poor and staff["properties"]["suppressed"] == []
        planner = client.get(f"/ogc/collections/rt/items/{code}", headers=_as(client, "planner")).json()
        assert planner["properties"]["poor_bps_families"] == shown  # the same cell, the same published value
    assert hidden >= 1


def test_single_feature_and_not_found(client, world):
    kel = world["kel"]
    f = client.get(f"/ogc/collections/kelurahan/items/{kel}").json()
    assert f["type"] == "Feature" and f["id"] == kel and f["properties"]["level"] == "kelurahan"
    assert {lk["rel"] for lk in f["links"]} >= {"self", "collection"}
    r = client.get("/ogc/collections/kelurahan/items/99.99")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"


# --- filters, sorting, properties, formats -------------------------------------------------------


def test_property_filter_sortby_and_properties(client, world):
    kel = world["kel"]
    expected = _db(world, "SELECT code, families FROM area_stats WHERE level = 'rw' AND code LIKE %s ORDER BY code",
                   kel + ".%")  # fmt: skip
    page = client.get(
        "/ogc/collections/rw/items",
        params={"parent_code": kel, "sortby": "-families,+code", "properties": "code,families"},
        headers=_as(client, "admin"),
    ).json()
    assert page["numberMatched"] == len(expected)
    got = [(f["id"], f["properties"]["families"]) for f in page["features"]]
    assert got == sorted(expected, key=lambda r: (-r[1], r[0]))
    assert set(page["features"][0]["properties"]) == {"code", "families"}


def test_cql2_text_and_json_filters(client, world):
    expected = _db(
        world, "SELECT count(*) FROM area_figures WHERE level = 'rt' AND families > 30 AND code LIKE '15.71.0%%'"
    )
    r = client.get("/ogc/collections/rt/items", headers=_as(client, "admin"),
                   params={"filter": "families > 30 AND code LIKE '15.71.0%'", "limit": 1})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == expected[0][0] > 0
    lon, lat = _db(world, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area"
                   " WHERE code = %s) q", world["rt"])[0]  # fmt: skip
    hit = client.get("/ogc/collections/rt/items", params={"filter": f"S_INTERSECTS(geometry, POINT({lon} {lat}))"})
    assert [f["id"] for f in hit.json()["features"]] == [world["rt"]]
    as_json = client.get("/ogc/collections/rt/items", params={
        "filter-lang": "cql2-json",
        "filter": '{"op": "s_intersects", "args": [{"property": "geometry"}, '
                  f'{{"type": "Point", "coordinates": [{lon}, {lat}]}}]}}'})  # fmt: skip
    assert [f["id"] for f in as_json.json()["features"]] == [world["rt"]]
    flipped = client.get("/ogc/collections/rt/items", params={
        "filter": f"S_INTERSECTS(geometry, POINT({lat} {lon}))",
        "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})  # fmt: skip
    assert [f["id"] for f in flipped.json()["features"]] == [world["rt"]]
    within = client.get(
        "/ogc/collections/kelurahan/items",
        params={"filter": "name IN ('nope', 'none') OR (population BETWEEN 1 AND 100000000 AND NOT families IS NULL)"},
    )
    assert within.status_code == 200 and within.json()["numberMatched"] > 0


def test_bbox_and_crs(client, world):
    w, s, e, n = _db(world, "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM"
                     " (SELECT ST_Envelope(geom) g FROM area WHERE code = %s) q", world["kel"])[0]  # fmt: skip
    box = f"{w},{s},{e},{n}"
    expected = _db(world, "SELECT count(*) FROM area WHERE level = 'rt' AND ST_Intersects(geom,"
                   " ST_MakeEnvelope(%s, %s, %s, %s, 4326))", w, s, e, n)[0][0]  # fmt: skip
    crs84 = client.get("/ogc/collections/rt/items", params={"bbox": box, "limit": 1000}).json()
    assert crs84["numberMatched"] == expected > 0
    lat_first = client.get(
        "/ogc/collections/rt/items",
        params={"bbox": f"{s},{w},{n},{e}", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326", "limit": 1000},
    ).json()
    assert [f["id"] for f in lat_first["features"]] == [f["id"] for f in crs84["features"]]
    utm = _db(world, "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_Transform("
              "ST_MakeEnvelope(%s, %s, %s, %s, 4326), 32748) g) q", w, s, e, n)[0]  # fmt: skip
    in_utm = client.get(
        "/ogc/collections/rt/items",
        params={"bbox": ",".join(map(str, utm)), "bbox-crs": "EPSG:32748", "crs": "EPSG:32748", "limit": 1000},
    )
    assert in_utm.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/32748>"
    x, y = in_utm.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 300_000 < x < 500_000 and 9_700_000 < y < 9_900_000  # metres, UTM 48S
    assert in_utm.json()["numberMatched"] >= expected
    one = client.get(f"/ogc/collections/kelurahan/items/{world['kel']}", params={"crs": "EPSG:4326"}).json()
    lat, lon = one["geometry"]["coordinates"][0][0][0]
    assert -2 < lat < -1 and 103 < lon < 104


def test_csv_html_etag_and_gzip(client):
    r = client.get("/ogc/collections/kecamatan/items", params={"f": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("id,code,name,parent_code,population") and len(lines) == 12  # 11 kecamatan
    assert "<table>" in client.get("/ogc/collections/kecamatan/items", params={"f": "html"}).text
    first = client.get("/ogc/collections/kecamatan/items")
    assert first.headers["etag"].startswith('"') and first.headers["cache-control"].startswith("public")
    import time

    time.sleep(1.1)  # the same data a second later: the same bytes, the same strong ETag
    assert client.get("/ogc/collections/kecamatan/items").headers["etag"] == first.headers["etag"]
    again = client.get("/ogc/collections/kecamatan/items", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert first.headers.get("content-encoding") == "gzip"


@pytest.mark.parametrize("params,named", [
    ({"limit": "abc"}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
    ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "103,-1,104,-2"}, "bbox"), ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox-crs": "EPSG:4326"}, "bbox-crs"), ({"crs": "EPSG:9999"}, "crs"),
    ({"sortby": "nope"}, "sortby"), ({"properties": "code,nope"}, "properties"), ({"f": "xml"}, "f"),
    ({"filter": "families >"}, "filter"), ({"filter": "secret = 1"}, "filter"),
    ({"filter": "name > 3"}, "filter"), ({"filter-lang": "sql"}, "filter-lang"), ({"bogus": "1"}, "bogus"),
    ({"families": "many"}, "families"), ({"datetime": "2026-01-01"}, "datetime"),
    ({"filter": "families ^ 1000 > 1"}, "filter"), ({"filter": "S_INTERSECTS(geometry, 3)"}, "filter"),
])  # fmt: skip
def test_bad_parameters_are_400_with_an_exception_body(client, params, named):
    r = client.get("/ogc/collections/rt/items", params=params)
    assert r.status_code == 400, (params, r.text)
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and named in body["description"], body


# --- households ----------------------------------------------------------------------------------


def test_households_by_role(client, world):
    items = "/ogc/collections/households/items"
    assert client.get(items).status_code == 401
    assert client.get(items, headers=_as(client, "planner")).status_code == 403
    assert client.get(items, headers={"X-API-Key": world["key"]}).status_code == 403
    total = _db(world, "SELECT count(*) FROM household")[0][0]
    admin = client.get(items, headers=_as(client, "admin"), params={"limit": 5}).json()
    assert admin["numberMatched"] == total and admin["features"][0]["properties"]["nama_kepala"]
    in_rt = _db(world, "SELECT count(*) FROM household WHERE rt_code = %s", world["rt"])[0][0]
    verifier = client.get(items, headers=_as(client, "verifier"), params={"limit": 1000}).json()
    assert verifier["numberMatched"] == in_rt and {f["properties"]["rt_code"] for f in verifier["features"]} == {
        world["rt"]
    }
    assert client.get(items, headers=_as(client, "verifier")).headers["cache-control"] == "private, no-store"
    other = _db(world, "SELECT id FROM household WHERE rt_code <> %s ORDER BY id LIMIT 1", world["rt"])[0][0]
    assert client.get(f"{items}/{other}", headers=_as(client, "verifier")).status_code == 404
    mine = verifier["features"][0]["id"]
    assert client.get(f"{items}/{mine}", headers=_as(client, "verifier")).json()["id"] == mine
    reads = _db(world, "SELECT count(*) FROM audit_log WHERE action = 'read' AND object_type = 'household'"
                " AND actor = 'user:u.verifier'")[0][0]  # fmt: skip
    assert reads >= 3


def test_agency_with_an_agreement_gets_geomasked_pseudonymous_points(client, world):
    items = "/ogc/collections/households/items"
    r = client.get(items, headers={"X-API-Key": world["agreed"]}, params={"limit": 50})
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    props = feats[0]["properties"]
    assert set(props) >= {"pseudonym", "kelurahan_code", "local_desil"}
    assert not {"nama_kepala", "alamat", "kk_masked", "nik_kepala_masked", "rt_code", "id"} & set(props)
    true_points = {
        h: (x, y) for h, x, y in _db(world, "SELECT left(kk_hash, 16), ST_X(geom), ST_Y(geom) FROM household")
    }
    for f in feats:
        x, y = f["geometry"]["coordinates"]
        tx, ty = true_points[f["id"]]
        assert (round(tx, 6), round(ty, 6)) != (x, y)
    # displaced 100-500 m, inside the family's own kelurahan (not collapsed onto one point per kelurahan)
    moved = _db(
        world,
        """
        SELECT count(*) FILTER (WHERE ST_Distance(h.geom::geography, m.p::geography) BETWEEN 99 AND 501),
               count(*) FILTER (WHERE ST_Covers(k.geom, m.p)), count(DISTINCT ST_AsText(m.p)), count(*)
        FROM household h JOIN area k ON k.code = left(h.rt_code, 13)
        CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS p) m
        WHERE left(h.kk_hash, 16) = %s""",
        *feats[0]["geometry"]["coordinates"],
        feats[0]["id"],
    )[0]
    assert moved == (1, 1, 1, 1)
    distinct = {tuple(f["geometry"]["coordinates"]) for f in feats}
    assert len(distinct) == len(feats)
    # a bbox selects on the masked points, and finds the same families as masking everything would
    x, y = feats[0]["geometry"]["coordinates"]
    box = f"{x - 0.002},{y - 0.002},{x + 0.002},{y + 0.002}"
    near = client.get(items, headers={"X-API-Key": world["agreed"]}, params={"bbox": box, "limit": 1000}).json()
    assert feats[0]["id"] in {f["id"] for f in near["features"]}
    for f in near["features"]:
        fx_, fy = f["geometry"]["coordinates"]
        assert x - 0.002 <= fx_ <= x + 0.002 and y - 0.002 <= fy <= y + 0.002
    everything = client.get(items, headers={"X-API-Key": world["agreed"]}, params={"limit": 10000}).json()
    inside = {f["id"] for f in everything["features"]
              if x - 0.002 <= f["geometry"]["coordinates"][0] <= x + 0.002
              and y - 0.002 <= f["geometry"]["coordinates"][1] <= y + 0.002}  # fmt: skip
    assert {f["id"] for f in near["features"]} == inside
    agency_q = client.get("/ogc/collections/households/queryables", headers={"X-API-Key": world["agreed"]}).json()
    assert "nama_kepala" not in agency_q["properties"] and "local_desil" in agency_q["properties"]
    bad = client.get(items, headers={"X-API-Key": world["agreed"]}, params={"filter": "nama_kepala = 'x'"})
    assert bad.status_code == 400


# --- vector tiles --------------------------------------------------------------------------------


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles_of_areas_and_households(client, world):
    import mapbox_vector_tile

    lon, lat = _db(world, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area"
                   " WHERE code = %s) q", world["rt"])[0]  # fmt: skip
    x, y = _tile_of(lon, lat, 13)
    r = client.get(f"/tiles/rt/13/{x}/{y}.pbf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)["rt"]
    props = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    public = _db(world, "SELECT families, poor_bps_families FROM area_stats_public WHERE code = %s", world["rt"])[0]
    assert (props[world["rt"]].get("families"), props[world["rt"]].get("poor_bps_families")) == public
    assert client.get(f"/tiles/rt/13/{x}/{y}.pbf", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    low = client.get("/tiles/kecamatan/8/{}/{}.pbf".format(*_tile_of(lon, lat, 8)))
    assert len(mapbox_vector_tile.decode(low.content)["kecamatan"]["features"]) == 11
    assert client.get("/tiles/rt/3/0/0.pbf").status_code == 204  # nothing of the city in that tile
    for bad in ("/tiles/rt/13/99999/1.pbf", "/tiles/rt/23/0/0.pbf", "/tiles/rt/x/0/0.pbf"):
        assert client.get(bad).status_code == 400, bad
    assert client.get("/tiles/nope/0/0/0.pbf").status_code == 404
    hh = f"/tiles/households/13/{x}/{y}.pbf"
    assert client.get(hh).status_code == 401
    assert client.get(hh, headers=_as(client, "planner")).status_code == 403
    mine = mapbox_vector_tile.decode(client.get(hh, headers=_as(client, "verifier")).content)["households"]
    in_rt = _db(world, "SELECT count(*) FROM household WHERE rt_code = %s AND ST_Intersects(geom, ST_Transform("
                "ST_TileEnvelope(13, %s, %s, margin => 64 / 4096.0), 4326))", world["rt"], x, y)[0][0]  # fmt: skip
    assert len(mine["features"]) == in_rt > 0
    assert {f["properties"]["rt_code"] for f in mine["features"]} == {world["rt"]}
    tj = client.get("/tiles/rt.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/tiles/rt/{z}/{x}/{y}.pbf")
    assert "poverty_rate_pct" in tj["vector_layers"][0]["fields"]


def test_the_ogc_openapi_document_is_rooted_at_ogc(client):
    doc = client.get("/ogc/api")
    assert doc.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    body = doc.json()
    assert body["servers"][0]["url"].endswith("/ogc") and "/collections/rt/items" in body["paths"]
    params = {p["name"]: p for p in body["paths"]["/collections/rt/items"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 10_000 and "families" in params
    assert "cql2-text" in params["filter-lang"]["schema"]["enum"]
    assert not any(p.startswith("/api/") for p in body["paths"])


# --- /api/v1/stats and /api/v1/areas/{code} ------------------------------------------------------


def test_stats_of_a_level_as_json_csv_and_geojson(client, world):
    kel = world["kel"]
    doc = client.get("/api/v1/stats/rt", params={"parent": kel}).json()
    expected = _db(world, "SELECT code, families FROM area_stats_public WHERE level = 'rt' AND code LIKE %s"
                   " ORDER BY code", kel + ".%")  # fmt: skip
    assert [(a["code"], a["families"]) for a in doc["areas"]] == [tuple(r) for r in expected]
    assert doc["suppressed"] is True
    staff = client.get("/api/v1/stats/rt", params={"parent": kel}, headers=_as(client, "admin")).json()
    full = _db(world, "SELECT code, families FROM area_stats WHERE level = 'rt' AND code LIKE %s ORDER BY code",
               kel + ".%")  # fmt: skip
    assert [(a["code"], a["families"]) for a in staff["areas"]] == [tuple(r) for r in full]
    csv_text = client.get("/api/v1/stats/kecamatan", params={"f": "csv"}).text.splitlines()
    assert csv_text[0].startswith("code,name,level,parent_code,population") and len(csv_text) == 12
    gj = client.get("/api/v1/stats/kecamatan", params={"f": "geojson"})
    assert gj.headers["content-type"] == "application/geo+json"
    feats = gj.json()["features"]
    assert len(feats) == 11 and feats[0]["geometry"]["type"] == "MultiPolygon"
    again = client.get(
        "/api/v1/stats/kecamatan", params={"f": "geojson"}, headers={"If-None-Match": gj.headers["etag"]}
    )
    assert again.status_code == 304 and gj.headers["cache-control"] == "public, max-age=60"


def test_stats_filtered_by_desil_category_and_programme(client, world):
    params = {"desil_min": 1, "desil_max": 3, "program": "PKH"}
    staff = client.get("/api/v1/stats/kecamatan", params=params, headers=_as(client, "admin")).json()
    recount = dict(
        _db(
            world,
            """
        SELECT left(h.rt_code, 8), count(*) FROM household h
        JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
        WHERE h.active AND r.local_desil BETWEEN 1 AND 3 AND 'PKH' = ANY (h.programs) GROUP BY 1""",
        )
    )
    assert {a["code"]: a["families"] for a in staff["areas"] if a["families"]} == recount
    assert staff["filters"] == params
    public = client.get("/api/v1/stats/rt", params={"category": "fakir_miskin"}).json()["areas"]
    assert not any(1 <= (a["families"] or 0) <= 4 for a in public)
    assert any(a["families"] is None for a in public)
    assert client.get("/api/v1/stats/rt", params={"desil_min": 5, "desil_max": 2}).status_code == 400
    unknown = client.get("/api/v1/stats/rt", params={"program": "XYZ"})
    assert unknown.status_code == 400 and "PKH, BPNT, PBI-JK, BPJS-TK, KARTU-BAHAGIA" in unknown.text
    assert client.get("/api/v1/stats/rt", params={"program": "kartu bahagia"}).status_code == 400
    # the demo's local programme (listed in programs.local by the demo loader) filters like a national one
    local = client.get("/api/v1/stats/kota", params={"program": "KARTU-BAHAGIA"}, headers=_as(client, "admin"))
    recipients = _db(world, "SELECT count(*) FROM household WHERE active AND 'KARTU-BAHAGIA' = ANY (programs)")
    assert local.json()["areas"][0]["families"] == recipients[0][0] > 0
    assert local.json()["areas"][0]["recipients_local"] == recipients[0][0]
    assert client.get("/api/v1/stats/desa").status_code == 400


def test_one_area_with_its_children(client, world):
    kel = world["kel"]
    doc = client.get(f"/api/v1/areas/{kel}").json()
    assert doc["area"]["code"] == kel and doc["children_level"] == "rw"
    rws = _db(world, "SELECT count(*) FROM area WHERE level = 'rw' AND parent_code = %s", kel)[0][0]
    assert len(doc["children"]) == rws > 0
    staff = client.get(f"/api/v1/areas/{kel}", headers=_as(client, "coordinator")).json()
    assert staff["area"]["families"] == sum(c["families"] for c in staff["children"])  # children sum to the parent
    assert client.get("/api/v1/areas/15.71.99.9999").status_code == 404
    assert client.get("/api/v1/areas/not-a-code").status_code == 400


# --- /api/v1/spatial ---------------------------------------------------------------------------


def test_locate_a_point_in_every_level(client, world):
    lon, lat = _db(world, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area"
                   " WHERE code = %s) q", world["rt"])[0]  # fmt: skip
    areas = client.get("/api/v1/spatial/locate", params={"lon": lon, "lat": lat}).json()["areas"]
    rt = world["rt"]
    expected = {"kota": rt[:5], "kecamatan": rt[:8], "kelurahan": rt[:13], "rw": rt[:17], "rt": rt}
    assert {a["level"]: a["code"] for a in areas} == expected
    only = client.get("/api/v1/spatial/locate", params={"lon": lon, "lat": lat, "level": "rw"}).json()["areas"]
    assert [a["code"] for a in only] == [rt[:17]]
    assert client.get("/api/v1/spatial/locate", params={"lon": 0, "lat": 0}).json()["areas"] == []
    assert client.get("/api/v1/spatial/locate", params={"lon": 200, "lat": 0}).status_code == 400


def test_families_by_bbox_radius_nearest_and_polygon(client, world):
    admin = _as(client, "admin")
    lon, lat = _db(world, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE rt_code = %s ORDER BY id LIMIT 1",
                   world["rt"])[0]  # fmt: skip
    url = "/api/v1/spatial/households"
    within = _db(world, "SELECT count(*) FROM household WHERE ST_DWithin(geom::geography,"
                 " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 300)", lon, lat)[0][0]  # fmt: skip
    r = client.get(url, params={"lon": lon, "lat": lat, "radius_m": 300}, headers=admin).json()
    assert r["numberMatched"] == within > 0
    near = client.get(url, params={"lon": lon, "lat": lat, "nearest": 5}, headers=admin).json()
    nearest_sql = ("SELECT id FROM household ORDER BY ST_Distance(geom::geography,"
                   " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography), id LIMIT 5")  # fmt: skip
    order = [i for (i,) in _db(world, nearest_sql, lon, lat)]
    assert [f["id"] for f in near["features"]] == order
    box = (lon - 0.003, lat - 0.003, lon + 0.003, lat + 0.003)
    in_box = _db(world, "SELECT count(*) FROM household WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", *box)
    r = client.get(url, params={"bbox": ",".join(map(str, box))}, headers=admin).json()
    assert r["numberMatched"] == in_box[0][0]
    w, s, e, n = box
    poly = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    r = client.post(f"{url}/within", json=poly, headers=admin).json()
    assert r["numberMatched"] == in_box[0][0]
    # a verifier only ever sees the families of their own RT
    mine = client.get(url, params={"bbox": ",".join(map(str, box))}, headers=_as(client, "verifier")).json()
    assert {f["properties"]["rt_code"] for f in mine["features"]} <= {world["rt"]}
    assert client.get(url, params={"bbox": "1,2,3,4"}, headers=_as(client, "planner")).status_code == 403
    assert client.get(url, params={"bbox": "1,2,3,4"}).status_code == 401


@pytest.mark.parametrize("params", [
    {}, {"lon": 103.6, "lat": -1.6}, {"bbox": "1,2,3,4", "nearest": 3, "lon": 1, "lat": 1},
    {"radius_m": 100}, {"lon": 103.6, "lat": -1.6, "radius_m": 0}, {"bbox": "x"}, {"lon": 1, "lat": 1, "nearest": 0},
])  # fmt: skip
def test_bad_family_queries_are_400(client, params):
    assert client.get("/api/v1/spatial/households", params=params, headers=_as(client, "admin")).status_code == 400


@pytest.mark.parametrize("body", [
    {"type": "Point", "coordinates": [103.6, -1.6]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},  # self-intersecting
    {"type": "Polygon", "coordinates": "nope"},
    {"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]},
    [1, 2, 3],
])  # fmt: skip
def test_bad_polygons_are_400(client, body):
    r = client.post("/api/v1/spatial/households/within", json=body, headers=_as(client, "admin"))
    assert r.status_code == 400, r.text


# --- exports -------------------------------------------------------------------------------------


def test_exports_geojson_csv_and_geopackage(client, world, tmp_path):
    import pyogrio

    total = _db(world, "SELECT count(*) FROM area WHERE level = 'rt'")[0][0]
    gj = client.get("/api/v1/exports/rt.geojson")
    assert gj.headers["content-type"] == "application/geo+json" and len(gj.json()["features"]) == total
    kel = world["kel"]
    part = client.get("/api/v1/exports/rt.csv", params={"parent_code": kel + ".001", "properties": "code,families"})
    lines = part.text.splitlines()
    assert lines[0] == "id,wkt,code,families" and lines[1].split(",")[1].startswith('"MULTIPOLYGON')
    expected = _db(world, "SELECT count(*) FROM area WHERE level = 'rt' AND parent_code = %s", kel + ".001")[0][0]
    assert len(lines) == expected + 1
    gpkg = client.get("/api/v1/exports/kelurahan.gpkg", headers=_as(client, "admin"))
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    path = tmp_path / "k.gpkg"
    path.write_bytes(gpkg.content)
    info = pyogrio.read_info(path, layer="kelurahan")
    kels = _db(world, "SELECT count(*), sum(families) FROM area_stats WHERE level = 'kelurahan'")[0]
    assert info["features"] == kels[0] and info["geometry_type"] == "MultiPolygon"
    meta, _, geometry, fields = pyogrio.raw.read(path, layer="kelurahan", columns=["families"])
    assert sum(int(v) for v in fields[0]) == kels[1]
    empty = client.get("/api/v1/exports/rt.gpkg", params={"filter": "families < 0"})
    assert empty.status_code == 200


UTM48S = "http://www.opengis.net/def/crs/EPSG/0/32748"  # the demo city's zone


def test_exports_follow_the_requested_crs(client, world, tmp_path):
    import pyogrio
    from pyproj import Transformer

    back = Transformer.from_crs(32748, 4326, always_xy=True)
    params = {"properties": "code", "sortby": "code"}
    plain = client.get("/api/v1/exports/kelurahan.csv", params=params)
    utm = client.get("/api/v1/exports/kelurahan.csv", params={**params, "crs": "EPSG:32748"})
    assert plain.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    assert utm.status_code == 200 and utm.headers["content-crs"] == f"<{UTM48S}>"
    import csv
    import io

    lonlat = {r["code"]: shapely.from_wkt(r["wkt"]) for r in csv.DictReader(io.StringIO(plain.text))}
    metres = {r["code"]: shapely.from_wkt(r["wkt"]) for r in csv.DictReader(io.StringIO(utm.text))}
    assert lonlat and metres.keys() == lonlat.keys()
    for code, geom in metres.items():
        x, y = shapely.get_coordinates(geom).T
        assert 200_000 < x.min() and x.max() < 500_000 and 9_700_000 < y.min() and y.max() < 9_900_000, code
        lon, lat = back.transform(x, y)
        assert abs(lon - shapely.get_coordinates(lonlat[code])[:, 0]).max() < 1e-5
        assert abs(lat - shapely.get_coordinates(lonlat[code])[:, 1]).max() < 1e-5
    gpkg = client.get("/api/v1/exports/rt.gpkg", params={"crs": UTM48S, "parent_code": world["kel"] + ".001"})
    path = tmp_path / "rt.gpkg"
    path.write_bytes(gpkg.content)
    info = pyogrio.read_info(path, layer="rt")
    assert info["crs"] == "EPSG:32748" and info["features"] > 0
    xmin, ymin, xmax, ymax = info["total_bounds"]
    lon0, lat0 = back.transform(xmin, ymin)
    lon1, lat1 = back.transform(xmax, ymax)
    expected = _db(world, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e"
                   " FROM area WHERE level = 'rt' AND parent_code = %s) x", world["kel"] + ".001")[0]  # fmt: skip
    assert max(abs(a - b) for a, b in zip((lon0, lat0, lon1, lat1), expected, strict=True)) < 1e-4
    assert client.get("/api/v1/exports/rt.csv", params={"crs": "EPSG:3857"}).status_code == 400


def test_xlsx_export_for_excel_keeps_numbers_codes_and_points(client, world, tmp_path, monkeypatch):
    from openpyxl import load_workbook
    from pyproj import Transformer

    from gis import export

    got = client.get("/api/v1/exports/kelurahan.xlsx", params={"properties": "code,name,families,population",
                     "crs": "EPSG:32748"}, headers=_as(client, "admin"))  # staff: exact figures # fmt: skip
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert got.headers["content-disposition"] == 'attachment; filename="kelurahan.xlsx"'
    (tmp_path / "k.xlsx").write_bytes(got.content)
    sheet = load_workbook(tmp_path / "k.xlsx", read_only=True)["kelurahan"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("id", "x", "y", "code", "name", "population", "families")  # the collection's order
    truth = {code: (name, fam, pop, shapely.from_wkb(bytes(g))) for code, name, fam, pop, g in _db(
        world, "SELECT a.code, a.name, s.families, s.population, ST_AsBinary(a.geom) FROM area a"
        " JOIN area_stats s USING (code) WHERE a.level = 'kelurahan'")}  # fmt: skip
    assert len(rows) - 1 == len(truth) > 0
    back = Transformer.from_crs(32748, 4326, always_xy=True)
    for _, x, y, code, name, population, families in rows[1:]:
        assert isinstance(code, str) and (name, families, population) == truth[code][:3]
        assert isinstance(families, int) and isinstance(x, float)
        assert truth[code][3].contains(shapely.Point(back.transform(x, y)))  # a point inside the kelurahan
    # the families, as an agency with a points agreement gets them: points, geomasked, no names
    fams = client.get("/api/v1/exports/households.xlsx", headers={"X-API-Key": world["agreed"]})
    assert fams.status_code == 200
    (tmp_path / "h.xlsx").write_bytes(fams.content)
    header, *families_rows = load_workbook(tmp_path / "h.xlsx", read_only=True)["households"].iter_rows(
        values_only=True
    )
    assert header[:3] == ("id", "x", "y") and "nama_kepala" not in header and families_rows
    assert all(-1.8 < r[2] < -1.4 and 103.4 < r[1] < 103.8 for r in families_rows)
    # more rows than a sheet holds: refused before anything is sent, naming the way out
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 3)
    big = client.get("/api/v1/exports/kelurahan.xlsx")
    assert big.status_code == 400 and "do not fit in one Excel sheet" in big.json()["detail"]


def test_xlsx_cells_are_text_never_formulas(tmp_path):
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from openpyxl import Workbook, load_workbook

    from gis.export import sheet_rows

    book = Workbook(write_only=True)
    sheet = book.create_sheet("t")
    when = datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    sheet_rows(sheet, [['=HYPERLINK("http://x")', "+62", Decimal("14.25"), ["PKH", "BPNT"], when, "a\x01b", None, 7]])
    book.save(tmp_path / "t.xlsx")
    values = next(load_workbook(tmp_path / "t.xlsx")["t"].iter_rows(values_only=True))
    assert values == ('=HYPERLINK("http://x")', "+62", 14.25, "PKH;BPNT", "2026-12-01T09:30:00+07:00", "ab", None, 7)
    import zipfile

    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")  # no formula anywhere


def test_household_exports_obey_roles_and_are_audited(client, world):
    url = "/api/v1/exports/households.csv"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=_as(client, "planner")).status_code == 403
    rows = client.get(url, headers=_as(client, "verifier")).text.splitlines()
    in_rt = _db(world, "SELECT count(*) FROM household WHERE rt_code = %s", world["rt"])[0][0]
    assert len(rows) == in_rt + 1 and "nama_kepala" in rows[0]
    trail = _db(world, "SELECT cardinality(object_ids) FROM audit_log WHERE action = 'export'"
                " AND actor = 'user:u.verifier' ORDER BY id DESC LIMIT 1")  # fmt: skip
    assert trail[0][0] == in_rt
    agency = client.get("/api/v1/exports/households.geojson", headers={"X-API-Key": world["agreed"]}).json()
    assert "nama_kepala" not in agency["features"][0]["properties"]
    assert client.get("/api/v1/exports/nope.csv").status_code == 404
    assert client.get("/api/v1/exports/rt.xls").status_code == 400


def test_province_and_national_figures_over_one_kab_kota_are_its_own(client, world):
    """With one kab/kota loaded, its province and the nation hold exactly its families: the same published
    values (the same families have the same cell key, hence the same noise) and the same exact ones."""
    kota = client.get("/api/v1/stats/kota").json()["areas"]
    assert len(kota) == 1
    for level, code in (("provinsi", kota[0]["code"][:2]), ("nasional", "ID")):
        rows = client.get(f"/api/v1/stats/{level}").json()["areas"]
        assert [r["code"] for r in rows] == [code]
        for col in ("families", "people", "poor_bps_families", "verified_families", "recipients_pkh"):
            assert rows[0][col] == kota[0][col], (level, col)
        staff = client.get(f"/api/v1/stats/{level}", headers=_as(client, "admin")).json()["areas"][0]
        exact = _db(world, "SELECT count(*), sum(jumlah_anggota) FROM household")[0]
        assert (staff["families"], staff["people"], staff["kab_kota"]) == (exact[0], exact[1], 1)
        csv = client.get(f"/api/v1/stats/{level}", params={"f": "csv"})
        assert csv.status_code == 200 and csv.text.splitlines()[1].startswith(code)
    for params in ({"parent": "15.71"}, {"desil_max": 3}, {"f": "geojson"}):
        refused = client.get("/api/v1/stats/provinsi", params=params)
        assert refused.status_code == 400, params
