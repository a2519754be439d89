"""Reads of one city go to that city's rows by the distribution key (issue 16): a bbox (OGC items, exports) or a
tile is first resolved to the kab/kota whose families it can hold, from the boundaries, and the query then names
them; figures under a parent name the parent's kab/kota. On PostGIS the answers are the same rows as without the
routing; on Citus (`make test-citus`) each such read is one task on one shard group, checked from the commands the
coordinator sends its workers.

Expected rows come from the points the test itself places (plain Python over the fixture), never from the product's
SQL."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from core.principal import User
from gis import features as fx
from gis.figures import stored
from gis.households import audit_read
from gis.tiles import tile
from tests.conftest import ON_CITUS
from tests.worlds import insert_areas

# three cities: 15.71 and 15.72 touch along lon 103.7; 16.71 lies 1.3 degrees (about 145 km) east of them
CITIES = {"15.71": (103.5, -1.7, 103.7, -1.5), "15.72": (103.7, -1.7, 103.9, -1.5), "16.71": (105.0, -1.7, 105.2, -1.5)}
ADMIN = User(1, "admin", "admin", "kota", ())
KOOR = User(2, "koor", "coordinator", "kelurahan", ("15.71.01.1001",))  # a coordinator of one kelurahan of 15.71
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))
_NO = ", ".join(["false"] * 14)


def _world(db: Any) -> dict[str, list[tuple[float, float]]]:
    """Each city one chain of areas down to one RT covering it, and a 4 x 4 grid of families inside it; 15.71 also
    one family 80 m outside its boundary, in the sea to its west (placed within placement.tolerance_m: the import
    grows the city's routing box first, as here)."""
    areas = []
    for kota, box in CITIES.items():
        kec, kel, rw = f"{kota}.01", f"{kota}.01.1001", f"{kota}.01.1001.001"
        areas += [(kota, "kota", None, box), (kec, "kecamatan", kota, box), (kel, "kelurahan", kec, box),
                  (rw, "rw", kel, box), (f"{rw}.001", "rt", rw, box)]  # fmt: skip
    insert_areas(db, areas)
    points: dict[str, list[tuple[float, float]]] = {}
    for kota, (x0, y0, x1, y1) in CITIES.items():
        points[kota] = [(x0 + (x1 - x0) * (i + 0.5) / 4, y0 + (y1 - y0) * (j + 0.5) / 4)
                        for i in range(4) for j in range(4)]  # fmt: skip
    points["15.71"].append((CITIES["15.71"][0] - 80 / 111_000, -1.6))
    db.execute("SELECT peta_reach_grow('15.71', ST_SetSRID(ST_MakePoint(%s, %s), 4326))", points["15.71"][-1])
    for kota, pts in points.items():
        for n, (x, y) in enumerate(pts):
            db.execute(
                "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, source, geom, "
                + _CRIT + ") VALUES (%s, 'x', %s, %s, 3, 'test', ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
                + ", ".join(["true"] * 7 + ["false"] * 7) + ")",
                (f"{kota}-{n}", f"{kota}.01.1001.001.001", kota, x, y),
            )
    return points


def _inside(points: dict[str, list[tuple[float, float]]], box: tuple[float, float, float, float]) -> int:
    return sum(box[0] <= x <= box[2] and box[1] <= y <= box[3] for pts in points.values() for x, y in pts)


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return int((lon + 180) / 360 * n), int(y * n)


def _page(db: Any, layer: str, box: tuple[float, float, float, float]) -> fx.Page:
    q = fx.ItemsQuery(bbox=box, limit=1000)
    return db.call(fx.items, fx.compile_items(fx.COLLECTIONS[layer], ADMIN, q))


@pytest.mark.parametrize(
    ("box", "kotas"),
    [
        ((103.55, -1.65, 103.65, -1.55), ("15.71",)),  # inside 15.71, 5 km from 15.72
        ((103.65, -1.65, 103.75, -1.55), ("15.71", "15.72")),  # across the border
        ((104.3, -1.65, 104.4, -1.55), ()),  # open water between them and 16.71
        ((105.05, -1.65, 105.15, -1.55), ("16.71",)),
    ],
)
def test_a_bbox_is_routed_to_the_kab_kota_it_can_hold_and_answers_the_same_families(db, box, kotas):
    points = _world(db)
    c = db.call(fx.routed, fx.compile_items(fx.COLLECTIONS["households"], ADMIN, fx.ItemsQuery(bbox=box)))
    # the cities whose points' box meets the request's, computed here from the points placed
    expected = tuple(k for k, pts in points.items() if min(x for x, _ in pts) <= box[2] and box[0] <= max(
        x for x, _ in pts) and min(y for _, y in pts) <= box[3] and box[1] <= max(y for _, y in pts))
    assert c.kotas == expected == kotas
    page = _page(db, "households", box)
    assert page.matched == _inside(points, box)
    assert (page.matched > 0) == bool(kotas)


def test_a_coordinators_families_are_routed_to_the_kab_kota_of_their_scope(db):
    """Without a bbox, a caller bounded by area alone reads the kab/kota of their scope only; with one, those the box
    can hold that are also theirs (none across the border)."""
    points = _world(db)
    coll = fx.COLLECTIONS["households"]
    c = db.call(fx.routed, fx.compile_items(coll, KOOR, fx.ItemsQuery(limit=1000)))
    assert c.kotas == ("15.71",)
    page = db.call(fx.items, c)
    assert page.matched == len(points["15.71"]) and page.kotas == ("15.71",)
    across = db.call(fx.routed, fx.compile_items(coll, KOOR, fx.ItemsQuery(bbox=(103.65, -1.65, 103.75, -1.55))))
    assert across.kotas == ("15.71",)
    assert db.call(fx.routed, fx.compile_items(coll, ADMIN, fx.ItemsQuery())).kotas is None  # unbounded: any
    rt = db.call(fx.routed, fx.compile_items(fx.COLLECTIONS["rt"], KOOR, fx.ItemsQuery()))
    assert rt.kotas is None  # published areas are everyone's, whatever the scope


def test_a_family_placed_outside_its_city_is_still_found_by_a_box_that_misses_the_city(db):
    """The 80-m family west of 15.71 is within placement.tolerance_m of its RT: a box around it alone, which does
    not meet 15.71's boundary, must still reach 15.71's rows (its routing box, area_reach, holds the point)."""
    points = _world(db)
    x, y = points["15.71"][-1]
    box = (x - 0.0002, y - 0.0002, x + 0.0002, y + 0.0002)
    assert box[2] < CITIES["15.71"][0]  # the box lies wholly outside the city
    page = _page(db, "households", box)
    assert page.matched == 1 and len(page.ids) == 1


def test_a_point_beyond_its_citys_routing_box_is_refused_unless_the_box_grows_first(db):
    """Migration 0030's trigger: a family written directly (not by an import) with a point outside its kab/kota's
    boundary box and routing box would be missed by every map of its city; the write is refused and names why."""
    import psycopg

    _world(db)
    cols = "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, source, geom, " + _CRIT
    outside = cols + ") VALUES (%s, 'x', '15.72.01.1001.001.001', '15.72', 2, 'test',"\
        " ST_SetSRID(ST_MakePoint(104.5, -1.6), 4326), " + _NO + ")"
    with pytest.raises(psycopg.errors.CheckViolation, match=r"family \d+ of kab/kota 15.72: its point \(104.5"):
        with db.transaction():
            db.execute(outside, ("far-1",))
    with pytest.raises(psycopg.errors.CheckViolation, match="lies outside the box"):  # moving a family there too
        with db.transaction():
            db.execute("UPDATE household SET geom = ST_SetSRID(ST_MakePoint(104.5, -1.6), 4326)"
                       " WHERE kk_hash = '15.72-0'")
    with pytest.raises(psycopg.errors.CheckViolation, match="no boundary of its kab/kota is loaded"):
        with db.transaction():
            db.execute(cols + ") VALUES ('x', 'x', '17.71.01.1001.001.001', '17.71', 2, 'test',"
                       " ST_SetSRID(ST_MakePoint(110, -1), 4326), " + _NO + ")")
    db.execute("UPDATE household SET jumlah_anggota = 4 WHERE kota_code = '15.71'")  # not moved: no check
    db.execute("SELECT peta_reach_grow('15.72', ST_SetSRID(ST_MakePoint(104.5, -1.6), 4326))")
    db.execute(outside, ("far-1",))
    page = _page(db, "households", (104.45, -1.65, 104.55, -1.55))
    assert page.matched == 1


def test_area_items_tiles_and_figures_by_parent_are_the_same_as_unrouted(db):
    points = _world(db)
    box = (103.55, -1.65, 103.65, -1.55)
    rt = _page(db, "rt", box)
    assert rt.matched == 1 and [f["id"] for f in json.loads(rt.features)] == ["15.71.01.1001.001.001"]
    # the RT tile at z12 over the middle of 15.71 holds only that city's RT and its families
    z, (x, y) = 12, _tile_xy(103.6, -1.6, 12)
    assert db.call(tile, fx.COLLECTIONS["rt"], None, z, x, y)
    households = db.call(tile, fx.COLLECTIONS["households"], ADMIN, z, x, y)
    assert households and b"15.72" not in households
    assert db.call(tile, fx.COLLECTIONS["rt"], None, z, *_tile_xy(104.35, -1.6, z)) == b""  # open water: no city
    figures = db.call(stored, "rt", "15.71.01.1001.001", True)
    assert [(r["code"], r["families"]) for r in figures] == [("15.71.01.1001.001.001", len(points["15.71"]))]


def _audited(db: Any, page: fx.Page) -> None:
    assert page.ids and page.kotas == ("15.71",)
    db.call(audit_read, ADMIN.actor, ADMIN.role, "household", page.ids, page.kotas)


@pytest.mark.skipif(not ON_CITUS, reason="the task count is Citus's (make test-citus)")
def test_on_citus_one_citys_box_tile_and_figures_are_one_task_each(db):
    _world(db)
    shards: list[str] = []

    def seen(diag: Any) -> None:
        if "issuing" in (diag.message_primary or ""):
            shards.extend(re.findall(r"\b(household|area_stats)_(\d+)\b", diag.message_primary))

    db.ac.add_notice_handler(seen)
    db.execute("SET LOCAL citus.log_remote_commands = on")
    try:
        for n, read in enumerate((
            lambda: _page(db, "households", (103.55, -1.65, 103.65, -1.55)),
            lambda: _audited(db, _page(db, "households", (103.55, -1.65, 103.65, -1.55))),
            lambda: db.call(fx.items, fx.compile_items(fx.COLLECTIONS["households"], KOOR, fx.ItemsQuery())),
            lambda: _page(db, "rt", (103.55, -1.65, 103.65, -1.55)),
            lambda: db.call(tile, fx.COLLECTIONS["households"], ADMIN, 12, *_tile_xy(103.6, -1.6, 12)),
            lambda: db.call(stored, "rt", "15.71.01.1001.001", True),
        )):
            shards.clear()
            read()
            assert shards, "no command reached a shard"
            assert len({s for _, s in shards}) == 1, (n, shards)  # one shard of each table: one shard group
    finally:
        db.execute("SET LOCAL citus.log_remote_commands = off")
        db.ac.remove_notice_handler(seen)
