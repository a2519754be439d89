"""Area tiles by zoom over the full demo city: RWs and RTs are served from their minimum zoom (below it: an empty
204 naming the minzoom, no query), each tile from there on holds exactly the RTs that touch it (computed here with
shapely and pyproj from the stored geometries, not by the product's SQL), within a size budget; TileJSON says the
minzoom."""

from __future__ import annotations

import math
from contextlib import contextmanager

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import box

from boundaries.demo import DemoConfig, generate_city, load_city
from gis.tiles import BUFFER, EXTENT, MIN_ZOOM
from portal.app import create_app

WORLD = 20037508.342789244  # half the web-mercator world, metres
BUDGET = 500 * 1024  # the largest tile a phone should fetch (Mapbox's guideline for vector tiles)
TO_3857 = Transformer.from_crs(4326, 3857, always_xy=True)


@pytest.fixture(scope="module")
def city(server_url):
    """The full demo city (3,099 RTs), committed once for the module, read only."""
    from tests.conftest import _throwaway

    with contextmanager(_throwaway)(server_url, "tiles") as url:
        with psycopg.connect(url) as conn:
            load_city(conn, generate_city(DemoConfig(scale=1.0, seed=11)))
            conn.commit()
            rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM area WHERE level = 'rt'").fetchall()
        merc = {code: shapely.transform(wkb.loads(bytes(g)), _project) for code, g in rows}
        with TestClient(create_app(url=url)) as client:
            yield client, merc


def _project(xy: np.ndarray) -> np.ndarray:
    x, y = TO_3857.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _tile_of(x3857: float, y3857: float, z: int) -> tuple[int, int]:
    size = 2 * WORLD / (1 << z)
    return int((x3857 + WORLD) // size), int((WORLD - y3857) // size)


def _envelope(z: int, x: int, y: int, grow_px: float) -> shapely.Polygon:
    """The tile's square in web mercator, grown by its buffer and `grow_px` of its 4096 units (negative: shrunk)."""
    size = 2 * WORLD / (1 << z)
    pad = size * (BUFFER + grow_px) / EXTENT
    x0, y1 = -WORLD + x * size, WORLD - y * size
    return box(x0 - pad, y1 - size - pad, x0 + size + pad, y1 + pad)


def _tiles_over(merc, z: int) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = shapely.total_bounds(list(merc.values()))
    (a, b), (c, d) = _tile_of(x0, y1, z), _tile_of(x1, y0, z)
    return [(x, y) for x in range(a, c + 1) for y in range(b, d + 1)]


def test_tilejson_gives_each_level_its_minimum_zoom(city):
    client, _ = city
    for layer, expected in (("kecamatan", 0), ("kelurahan", 0), ("rw", 10), ("rt", 12)):
        doc = client.get(f"/tiles/{layer}.json").json()
        assert doc["minzoom"] == expected == doc["vector_layers"][0]["minzoom"], layer
        assert doc["center"][2] >= expected


@pytest.mark.parametrize("z", [10, 11])
def test_below_the_minimum_zoom_an_rt_tile_is_an_empty_204_naming_it(city, z):
    client, merc = city
    for x, y in _tiles_over(merc, z):
        r = client.get(f"/tiles/rt/{z}/{x}/{y}.pbf")
        assert (r.status_code, r.content, r.headers["x-tile-minzoom"]) == (204, b"", "12")
    rw = client.get("/tiles/rw/{}/{}/{}.pbf".format(9, *_tiles_over(merc, 9)[0]))
    assert (rw.status_code, rw.headers["x-tile-minzoom"]) == (204, "10")
    kel = [client.get(f"/tiles/kelurahan/{z}/{x}/{y}.pbf") for x, y in _tiles_over(merc, z)]  # what is drawn instead
    assert all("x-tile-minzoom" not in r.headers for r in kel)
    assert sum(len(mapbox_vector_tile.decode(r.content)["kelurahan"]["features"]) for r in kel if r.content) >= 66


@pytest.mark.parametrize("z", [12, 13, 14])
def test_from_the_minimum_zoom_each_tile_holds_the_rts_touching_it_within_the_budget(city, z):
    """Every RT whose geometry meets the tile (its buffer included) is in it, and no other: the few within a pixel
    of the edge, where simplification and the MVT grid decide, may go either way."""
    client, merc = city
    seen: set[str] = set()
    largest = 0
    for x, y in _tiles_over(merc, z):
        r = client.get(f"/tiles/rt/{z}/{x}/{y}.pbf")
        got = set() if r.status_code == 204 else {
            f["properties"]["code"] for f in mapbox_vector_tile.decode(r.content)["rt"]["features"]}  # fmt: skip
        sure = {c for c, g in merc.items() if g.intersects(_envelope(z, x, y, -1))}
        maybe = {c for c, g in merc.items() if g.intersects(_envelope(z, x, y, 1))}
        assert sure <= got <= maybe, (z, x, y, sorted(sure - got)[:5], sorted(got - maybe)[:5])
        assert len(maybe - sure) <= max(3, len(sure) // 20), (z, x, y)  # the undecided are few
        largest = max(largest, len(r.content))
        seen |= got
    assert seen == set(merc)  # every RT is drawn at this zoom
    assert 0 < largest <= BUDGET, largest
    assert MIN_ZOOM["rt"] == 12


def test_the_minimum_zoom_is_where_the_median_rt_is_a_few_pixels_across(city):
    """The rule MIN_ZOOM follows, checked on this city: at z12 the median RT spans at least 4 px of a 256-px tile,
    at z11 less (RTs there would be specks)."""
    _, merc = city
    lat = math.radians(-1.61)
    sides = sorted(math.sqrt(g.area) * math.cos(lat) for g in merc.values())  # mercator stretches by 1/cos(lat)
    median = sides[len(sides) // 2]
    px = {z: median / (2 * WORLD * math.cos(lat) / (256 << z)) for z in (11, 12)}
    assert px[11] < 4 <= px[12], px
