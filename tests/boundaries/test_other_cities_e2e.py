"""Any kab/kota end to end (issue 15): Kota Medan (12.71, UTM 47N, north of the equator) and Kota Makassar (73.71,
UTM 50S) from boundary files made here, through the real CLI (`peta boundaries import`, `check`, `peta demo
--boundaries`, `peta users add`) and the real app: households and scopes, per-area figures, OGC API – Features in
the city's own UTM zone, vector tiles and the portal in headless Chromium. The city is data, not code: every
expected value comes from the files or from an independent count over the tables, never from the product's SQL.

The documented path is followed: the kota, kecamatan and kelurahan files are imported and checked, then `peta demo
--boundaries kelurahan.geojson` builds the registry inside those kelurahan (it replaces the areas with the same
codes, names and kelurahan polygons, as the README says)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.boundaries.test_demo_cities import KEY, MAKASSAR, MEDAN, Kota, write_kota
from tests.conftest import _throwaway
from tests.live import serve
from tests.people import PASSWORD, add_users, scope
from tests.portal.browser import CHROMIUM, Session, browser

SCALE, SEED = 0.02, 3
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
JAMBI_ZONE = f"{EPSG}32748"
JAMBI_LONLAT = (103.6, -1.6)
M_PER_DEG = 111_320.0


def _layer(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["features"]


@dataclass
class City:
    """One kab/kota built from its files in a throwaway database, its people, the app over it."""

    kota: Kota
    url: str
    folder: Path
    kelurahan: dict[str, shapely.Geometry]  # code -> polygon, from kelurahan.geojson
    kelurahan_names: dict[str, str]
    kecamatan_names: dict[str, str]  # from kecamatan.geojson
    whole: shapely.Geometry  # kota.geojson's polygon
    imported: dict[str, Any]  # what the database held right after the imports, and `boundaries check`
    checks: list[dict[str, Any]]  # the check reports: after the import, after the demo
    rt: str  # the verifier's RT
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return tuple(self.whole.bounds)  # type: ignore[return-value]

    def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def rows(self, query: str, *params: Any) -> list[Any]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params[0] if params and isinstance(params[0], dict) else params).fetchall()


def _peta(*args: str) -> str:
    """One `peta` command through the real CLI; its standard output (exit status 0 asserted)."""
    get_settings.cache_clear()
    done = CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
    assert done.exit_code == 0, (args, done.output)
    return done.stdout


def _check() -> dict[str, Any]:
    report = json.loads(_peta("boundaries", "check", "--json"))
    assert isinstance(report, dict)
    return report


@pytest.fixture(scope="module", params=[MEDAN, MAKASSAR], ids=lambda k: k.name)
def city(request: pytest.FixtureRequest, server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    kota: Kota = request.param
    folder = tmp_path_factory.mktemp(kota.code.replace(".", ""))
    kel_path = write_kota(folder, kota)
    kel = _layer(kel_path)
    kec = _layer(folder / "kecamatan.geojson")
    (whole,) = [shapely.geometry.shape(f["geometry"]) for f in _layer(folder / "kota.geojson")]
    tag = "kota" + kota.code.replace(".", "")
    with contextmanager(_throwaway)(server_url, tag) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("PETA_SECRET_KEY", KEY)
        mp.setenv("PETA_HOME", str(folder / "home"))
        # 1. the documented import, then the topology report
        for level in ("kota", "kecamatan", "kelurahan"):
            _peta("boundaries", "import", str(folder / f"{level}.geojson"), "--level", level)
        with psycopg.connect(url) as conn:
            imported = {
                "areas": conn.execute("SELECT code, level, name, parent_code FROM area ORDER BY code").fetchall(),
                "kelurahan_m2": dict(conn.execute("SELECT code, area_m2 FROM area WHERE level = 'kelurahan'")),
            }
        checks = [_check()]
        _peta("demo", "--boundaries", str(kel_path), "--scale", str(SCALE), "--seed", str(SEED))
        checks.append(_check())
        with psycopg.connect(url) as conn:
            rt = conn.execute(
                "SELECT rt_code FROM household WHERE rt_code LIKE %s GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
                (kota.code + ".%",),
            ).fetchone()[0]
        # the admin's and planner's scope is left to the default: the one kab/kota loaded
        add_users(url, {"admin": ("admin", []), "plan": ("planner", []), "rt.satu": ("verifier", scope("rt", rt))})
        app = create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=url)
        with TestClient(app) as client:
            yield City(
                kota=kota, url=url, folder=folder,
                kelurahan={f["properties"]["kode"]: shapely.geometry.shape(f["geometry"]) for f in kel},
                kelurahan_names={f["properties"]["kode"]: f["properties"]["nama"] for f in kel},
                kecamatan_names={f["properties"]["kode"]: f["properties"]["nama"] for f in kec},
                whole=whole, imported=imported, checks=checks, rt=rt, client=client,
            )  # fmt: skip
        get_settings.cache_clear()


# ---------------------------------------------------------------- 1. import, check, demo


def test_import_check_and_demo_follow_the_files(city: City) -> None:
    k = city.kota
    expected = [(k.code, "kota", k.name, k.code[:2])]  # the province by prefix
    expected += [(c, "kecamatan", n, k.code) for c, n in city.kecamatan_names.items()]
    expected += [(c, "kelurahan", n, c[:8]) for c, n in city.kelurahan_names.items()]
    assert len(city.kecamatan_names) == len(k.kecamatan) and len(city.kelurahan_names) == 6 * len(k.kecamatan)
    assert city.imported["areas"] == sorted(expected)
    # areas measured on the spheroid (independently: the kelurahan's polygon in its UTM zone, a few ‰ apart)
    to_utm = Transformer.from_crs(4326, k.epsg, always_xy=True)
    for code, geom in city.kelurahan.items():
        utm_m2 = shapely.transform(geom, lambda xy: _xy(to_utm, xy)).area
        assert city.imported["kelurahan_m2"][code] == pytest.approx(utm_m2, rel=2e-3), code

    # `boundaries check` passes on the imported layers: no overlaps, no gaps, every child inside its parent
    imported, built = city.checks
    assert {o["level"] for o in imported["overlaps"]} == {"kota", "kecamatan", "kelurahan"}
    assert all(o["pairs"] == 0 for o in imported["overlaps"]), imported["overlaps"]
    file_pairs = {("kota", "kecamatan"), ("kota", "kelurahan"), ("kecamatan", "kelurahan")}
    assert {(h["parent_level"], h["child_level"]) for h in imported["hierarchy"]} == file_pairs
    for h in imported["hierarchy"]:
        assert h["gap_m2"] == h["outside_m2"] == h["disagreement_m2"] == 0 and h["orphans"] == [], h
    # and on the demo city: the file's levels as clean; the RWs and RTs, cut in metres in the city's UTM zone and
    # reprojected one by one, part from their neighbours by slivers of a few m² (as Kota Jambi's demo does), no more
    assert {o["level"] for o in built["overlaps"]} == {"kota", "kecamatan", "kelurahan", "rw", "rt"}
    for o in built["overlaps"]:
        if o["level"] in ("kota", "kecamatan", "kelurahan"):
            assert o["pairs"] == 0, o
        else:
            assert o["sibling_pairs"] == 0 and o["max_m2"] < 20 and o["pct_of_level"] < 1e-3, o
    hierarchy = {(h["parent_level"], h["child_level"]): h for h in built["hierarchy"]}
    assert set(hierarchy) >= file_pairs | {("kelurahan", "rt"), ("rw", "rt")}
    for pair, h in hierarchy.items():
        assert h["orphans"] == [], h
        if pair in file_pairs or pair == ("rw", "rt"):
            assert h["gap_m2"] == h["outside_m2"] == h["disagreement_m2"] == 0, h
        else:
            assert h["disagreement_pct"] < 1e-3 and all(m2 < 100 for _, _, m2 in h["children_outside"]), h

    # the demo replaced the areas with the file's: same kecamatan and kelurahan, names kept, RW and RT below them
    by_level: dict[str, list[tuple[str, str]]] = {}
    for code, level, name in city.rows("SELECT code, level, name FROM area ORDER BY code"):
        by_level.setdefault(level, []).append((code, name))
    assert by_level["kota"] == [(k.code, k.name)]
    assert by_level["kecamatan"] == sorted(city.kecamatan_names.items())
    assert [c for c, _ in by_level["kelurahan"]] == sorted(city.kelurahan)
    for level in ("rw", "rt"):
        assert by_level[level] and all(c[:13] in city.kelurahan for c, _ in by_level[level])
    # the kelurahan are the file's polygons
    stored_kelurahan = city.rows("SELECT code, ST_AsBinary(geom) FROM area WHERE level = 'kelurahan'")
    assert len(stored_kelurahan) == len(city.kelurahan)
    for code, wkb in stored_kelurahan:
        stored = shapely.from_wkb(bytes(wkb))
        assert stored.symmetric_difference(city.kelurahan[code]).area < 1e-9, code


def _xy(tr: Transformer, xy: Any) -> Any:
    import numpy as np

    return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))


def test_the_default_scope_is_the_kota_loaded(city: City) -> None:
    rows = city.rows("SELECT username, scope_level, scope_codes FROM app_user")
    users = {name: (level, codes) for name, level, codes in rows}
    assert users == {"admin": ("kota", [city.kota.code]), "plan": ("kota", [city.kota.code]),
                     "rt.satu": ("rt", [city.rt])}  # fmt: skip
    me = city.client.get("/api/v1/auth/me", headers=city.auth("admin")).json()
    assert me["scope_codes"] == [city.kota.code], me


# ---------------------------------------------------------------- 2. households and scopes


def _families(city: City, user: str, bbox: tuple[float, ...]) -> dict[str, Any]:
    r = city.client.get("/api/v1/spatial/households", headers=city.auth(user),
                        params={"bbox": ",".join(f"{v:.6f}" for v in bbox), "limit": 10_000})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def test_households_are_the_city_s_and_a_verifier_sees_only_the_rt(city: City) -> None:
    k = city.kota
    region = k.code.replace(".", "")
    (total,) = city.rows("SELECT count(*) FROM household WHERE geom IS NOT NULL")[0]
    assert total > 500
    wide = (city.bbox[0] - 0.01, city.bbox[1] - 0.01, city.bbox[2] + 0.01, city.bbox[3] + 0.01)
    got = _families(city, "admin", wide)
    feats = got["features"]
    assert feats and got["numberMatched"] == got["numberReturned"] == len(feats) == total
    w, s, e, n = city.bbox
    near = city.whole.buffer(2e-6)  # coordinates are written with 6 decimals
    for f in feats:
        p = f["properties"]
        assert p["rt_code"].startswith(k.code + ".") and p["rt_code"][:13] in city.kelurahan, p["rt_code"]
        assert p["kk_masked"].startswith(region) and p["nik_kepala_masked"].startswith(region), p
        lon, lat = f["geometry"]["coordinates"]
        assert w - 1e-6 <= lon <= e + 1e-6 and s - 1e-6 <= lat <= n + 1e-6, (lon, lat)
        assert near.contains(shapely.Point(lon, lat)), (lon, lat)
        assert city.kelurahan[p["rt_code"][:13]].buffer(2e-6).contains(shapely.Point(lon, lat)), p["rt_code"]
    # no family at Kota Jambi's place
    jambi = _families(city, "admin", (103.55, -1.65, 103.65, -1.55))
    assert jambi["numberMatched"] == 0 and jambi["features"] == []

    # a verifier scoped to one RT sees exactly that RT's families, in the same box
    mine = {r[0] for r in city.rows("SELECT id FROM household WHERE rt_code = %s AND geom IS NOT NULL", city.rt)}
    assert len(mine) >= 2
    seen = _families(city, "rt.satu", wide)["features"]
    assert seen and {f["properties"]["rt_code"] for f in seen} == {city.rt}
    assert {f["id"] if "id" in f else f["properties"]["id"] for f in seen} == mine
    # the same through OGC (in the city's UTM zone) and the household tiles
    zone = f"{EPSG}{k.epsg}"
    ogc = city.client.get("/ogc/collections/households/items", headers=city.auth("rt.satu"),
                          params={"crs": zone, "limit": 1000})  # fmt: skip
    assert ogc.status_code == 200 and ogc.headers["Content-Crs"] == f"<{zone}>", ogc.text
    assert ogc.json()["features"] and {f["properties"]["rt_code"] for f in ogc.json()["features"]} == {city.rt}
    z = 13
    x, y = _tile_of(*city.kota.core, z)
    for user in ("admin", "rt.satu"):
        t = city.client.get(f"/tiles/households/{z}/{x}/{y}.pbf", headers=city.auth(user))
        assert t.status_code in (200, 204), t.text
        rts = {f["properties"]["rt_code"] for f in mapbox_vector_tile.decode(t.content).get("households", {}).get(
            "features", [])}  # fmt: skip
        if user == "admin":
            assert t.status_code == 200 and rts and all(c.startswith(k.code + ".") for c in rts), rts
        else:
            assert rts <= {city.rt}
    # and another RT's family does not exist for them
    (other,) = city.rows("SELECT min(id) FROM household WHERE rt_code <> %s", city.rt)[0]
    assert city.client.get(f"/api/v1/households/{other}", headers=city.auth("rt.satu")).status_code == 404
    assert city.client.get(f"/api/v1/households/{other}", headers=city.auth("admin")).status_code == 200


# ---------------------------------------------------------------- 3. per-area figures


_ACTIVE = "(h.hasil_verval IS NULL OR h.hasil_verval = 1)"  # results 2-7: gone, out of the poverty counts
_BPS = ("(h.k01::int + h.k02::int + h.k03::int + h.k04::int + h.k05::int + h.k06::int + h.k07::int + h.k08::int"
        " + h.k09::int + h.k10::int + h.k11::int + h.k12::int + h.k13::int + h.k14::int) >= 9")  # fmt: skip
# registered families and people (removed ones included, as README's "Per-area figures" counts them), removed
# families, BPS-poor families and people among the active ones
_COUNTS = f"""
    SELECT left(h.rt_code, %(n)s) AS code, count(*), sum(h.jumlah_anggota),
           count(*) FILTER (WHERE NOT {_ACTIVE}),
           count(*) FILTER (WHERE {_ACTIVE} AND {_BPS}),
           coalesce(sum(h.jumlah_anggota) FILTER (WHERE {_ACTIVE} AND {_BPS}), 0)
    FROM household h GROUP BY 1"""


@pytest.mark.parametrize("level, n", [("kecamatan", 8), ("kelurahan", 13)])
def test_per_area_figures_sum_the_tables(city: City, level: str, n: int) -> None:
    r = city.client.get(f"/api/v1/stats/{level}", headers=city.auth("admin"))
    assert r.status_code == 200, r.text
    areas = r.json()["areas"]
    names = city.kecamatan_names if level == "kecamatan" else city.kelurahan_names
    assert areas and [(a["code"], a["name"]) for a in areas] == sorted(names.items())
    # residents: the RTs' populations in the area table, summed independently; the city's total the configured one
    residents = dict(city.rows("SELECT left(code, %s), sum(population) FROM area WHERE level = 'rt' GROUP BY 1", n))
    assert sum(residents.values()) == round(620_000 * SCALE)
    counts = {row[0]: row[1:] for row in city.rows(_COUNTS, {"n": n})}
    assert sum(c[0] for c in counts.values()) > 500 and sum(c[2] for c in counts.values()) > 0
    assert sum(c[3] for c in counts.values()) > 0  # some poor families to count
    for a in areas:
        expect = (residents[a["code"]], *counts.get(a["code"], (0, 0, 0, 0, 0)))
        got = (a["population"], a["families"], a["people"], a["removed_families"], a["poor_bps_families"],
               a["poor_bps_people"])  # fmt: skip
        assert got == expect, a["code"]
    assert sum(a["population"] for a in areas) == round(620_000 * SCALE)
    assert sum(a["families"] for a in areas) == sum(c[0] for c in counts.values())
    # the published figures (anonymous) cover the same areas
    public = city.client.get(f"/api/v1/stats/{level}").json()["areas"]
    assert [a["code"] for a in public] == [a["code"] for a in areas]


# ---------------------------------------------------------------- 4. OGC API – Features in the city's UTM zone


def _items(city: City, coll: str, **params: Any) -> tuple[dict[str, Any], Any]:
    r = city.client.get(f"/ogc/collections/{coll}/items", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json(), r.headers


def test_ogc_names_the_city_and_speaks_its_utm_zone(city: City) -> None:
    k = city.kota
    zone = f"{EPSG}{k.epsg}"
    landing = city.client.get("/ogc").json()
    assert k.name in landing["title"] and "Jambi" not in landing["title"], landing["title"]
    assert k.name in landing["description"]
    coll = city.client.get("/ogc/collections/kelurahan").json()
    (box,) = coll["extent"]["spatial"]["bbox"]
    w, s, e, n = city.bbox
    assert w - 1e-6 <= box[0] < box[2] <= e + 1e-6 and s - 1e-6 <= box[1] < box[3] <= n + 1e-6, box
    assert box == pytest.approx(list(city.bbox), abs=2e-6)  # the kelurahan cover the disc
    assert zone in coll["crs"] and coll["storageCrs"] == CRS84

    plain, head84 = _items(city, "kelurahan")
    utm, head_utm = _items(city, "kelurahan", crs=zone)
    assert head84["Content-Crs"] == f"<{CRS84}>" and JAMBI_ZONE not in head84["Content-Crs"]
    assert head_utm["Content-Crs"] == f"<{zone}>"
    ids = [f["id"] for f in plain["features"]]
    assert ids == sorted(city.kelurahan) and [f["id"] for f in utm["features"]] == ids
    to_utm = Transformer.from_crs(4326, k.epsg, always_xy=True)
    to_lonlat = Transformer.from_crs(k.epsg, 4326, always_xy=True)
    # CRS84 is written with 6 decimals (half a unit: 0.056 m north-south, less east-west), UTM with 3 (0.5 mm)
    tol_m = 0.5e-6 * M_PER_DEG + 0.0005
    vertices = 0
    for a, b in zip(plain["features"], utm["features"], strict=True):
        lonlat = shapely.get_coordinates(shapely.geometry.shape(a["geometry"]))
        metres = shapely.get_coordinates(shapely.geometry.shape(b["geometry"]))
        assert lonlat.shape == metres.shape and len(lonlat) > 3, a["id"]
        # UTM coordinates really are this zone's (eastings around 500 km, northings of the right hemisphere)
        assert (abs(metres[:, 0] - 500_000) < 400_000).all()
        assert ((metres[:, 1] > 0) & (metres[:, 1] < 1_000_000)).all() if k.epsg < 32700 else (
            (metres[:, 1] > 9_000_000).all())  # fmt: skip
        x, y = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
        assert max(abs(x - metres[:, 0]).max(), abs(y - metres[:, 1]).max()) <= tol_m, a["id"]
        lon, lat = to_lonlat.transform(metres[:, 0], metres[:, 1])
        assert max(abs(lon - lonlat[:, 0]).max(), abs(lat - lonlat[:, 1]).max()) <= 0.6e-6, a["id"]
        vertices += len(lonlat)
    assert vertices > 100
    # one feature alone, in the zone, too
    one = city.client.get(f"/ogc/collections/kelurahan/items/{ids[0]}", params={"crs": zone})
    assert one.status_code == 200 and one.headers["Content-Crs"] == f"<{zone}>"


def _utm_box(city: City) -> tuple[tuple[float, ...], set[str]]:
    """A box in the city's UTM zone around its crowded core, and the kelurahan it meets (shapely, in metres), sized
    so that its lon/lat envelope meets the same kelurahan (a box's edge does not straddle a kelurahan's corner)."""
    k = city.kota
    to_utm = Transformer.from_crs(4326, k.epsg, always_xy=True)
    cx, cy = to_utm.transform(*k.core)
    in_metres = {c: shapely.transform(g, lambda xy: _xy(to_utm, xy)) for c, g in city.kelurahan.items()}
    to_lonlat = Transformer.from_crs(k.epsg, 4326, always_xy=True)
    for half in (1500, 1700, 1900, 2100, 1300, 2300):
        box = (cx - half, cy - half, cx + half, cy + half)
        exact = {c for c, g in in_metres.items() if g.intersects(shapely.box(*box))}
        envelope = shapely.box(*to_lonlat.transform_bounds(*box, densify_pts=21))
        if exact == {c for c, g in city.kelurahan.items() if g.intersects(envelope)} and 0 < len(exact) < len(
            city.kelurahan
        ):
            return box, exact
    raise AssertionError("no box whose UTM and lon/lat selections agree")


def test_bbox_in_the_utm_zone_selects_as_in_lon_lat(city: City) -> None:
    k = city.kota
    zone = f"{EPSG}{k.epsg}"
    box, expected = _utm_box(city)
    assert expected
    in_zone, _ = _items(city, "kelurahan", bbox=",".join(f"{v:.3f}" for v in box), **{"bbox-crs": zone})
    lonlat_box = Transformer.from_crs(k.epsg, 4326, always_xy=True).transform_bounds(*box, densify_pts=21)
    in_crs84, _ = _items(city, "kelurahan", bbox=",".join(f"{v:.7f}" for v in lonlat_box))
    got = {f["id"] for f in in_zone["features"]}
    assert got == expected == {f["id"] for f in in_crs84["features"]}
    assert in_zone["numberMatched"] == len(expected)
    # the same box read as Kota Jambi's zone lies nowhere near: refused or empty, never this city's kelurahan
    jambi = city.client.get("/ogc/collections/kelurahan/items",
                            params={"bbox": ",".join(f"{v:.3f}" for v in box), "bbox-crs": JAMBI_ZONE})  # fmt: skip
    assert jambi.status_code == 400 or jambi.json()["features"] == [], jambi.text


# ---------------------------------------------------------------- 5. vector tiles


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> shapely.Geometry:
    n = 1 << z

    def lat(v: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * v / n))))

    return shapely.box((x - margin) / n * 360 - 180, lat(y + 1 + margin), (x + 1 + margin) / n * 360 - 180,
                       lat(y - margin))  # fmt: skip


@pytest.mark.parametrize("z", [12, 13])
def test_tiles_hold_the_city_and_nothing_at_jambi(city: City, z: int) -> None:
    x, y = _tile_of(*city.kota.core, z)
    r = city.client.get(f"/tiles/kelurahan/{z}/{x}/{y}.pbf")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    layers = mapbox_vector_tile.decode(r.content)
    assert list(layers) == ["kelurahan"]
    feats = layers["kelurahan"]["features"]
    codes = {f["properties"]["code"] for f in feats}
    assert feats and len(codes) == len(feats)
    inside = {c for c, g in city.kelurahan.items() if g.intersects(_tile_bounds(z, x, y))}
    reach = {c for c, g in city.kelurahan.items() if g.intersects(_tile_bounds(z, x, y, 64 / 4096))}
    assert inside and inside <= codes <= reach, (inside, codes, reach)
    # Kota Jambi's tile is empty (204, no body)
    jx, jy = _tile_of(*JAMBI_LONLAT, z)
    empty = city.client.get(f"/tiles/kelurahan/{z}/{jx}/{jy}.pbf")
    assert empty.status_code == 204 and empty.content == b""
    # TileJSON's bounds are the city's
    tj = city.client.get("/tiles/kelurahan.json").json()
    assert tj["bounds"] == pytest.approx(list(city.bbox), abs=2e-6)


# ---------------------------------------------------------------- 6. the portal in a browser


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test does)")
def test_the_portal_shows_the_city(city: City) -> None:
    k = city.kota
    # a browser per city: Playwright's sync API keeps an event loop running, in which the next city's `peta`
    # commands (asyncio.run) could not start
    with serve(create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=city.url)) as base, browser() as chromium:
        s = Session(chromium, base)
        try:
            s.login("plan", PASSWORD)
            assert s.page.url.startswith(f"{base}/portal?")  # a planner's home is the poverty map
            s.ready("ready-kecamatan")
            brand = f"Peta Verval {k.name}"
            assert s.page.inner_text("#header .brand") == brand
            assert s.page.title().endswith(f"· {brand}"), s.page.title()
            assert "Jambi" not in s.page.content()
            rows = s.page.locator("#table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
            assert rows and sorted(rows) == sorted(city.kecamatan_names)
            lat, lon = s.page.evaluate("() => { const c = P.map().getCenter(); return [c.lat, c.lng]; }")
            w, so, e, n = city.bbox
            assert w < lon < e and so < lat < n, (lon, lat, city.bbox)
            bounds = s.page.evaluate("() => P.map().getBounds().toBBoxString()")
            bw, bs, be, bn = (float(v) for v in bounds.split(","))
            assert bw <= e and be >= w and bs <= n and bn >= so  # the city is in view
            assert s.errors == [], s.errors
        finally:
            s.close()
