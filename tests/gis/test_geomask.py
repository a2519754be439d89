"""Issue 19, donut geomasking (0006's peta_geomask_unchecked behind 0007's check of the radii), draw by draw.

The expected points are recomputed here without the database: the draw i of a seed is sha256('<seed>:<i>'),
bytes 0-1 the azimuth (a fraction of a full turn), bytes 2-3 the distance (uniform over the ring's area:
sqrt(rmin^2 + u (rmax^2 - rmin^2))), the point projected on the WGS 84 ellipsoid (pyproj's Geod, as
ST_Project on a geography). Areas are hand-made polygons: one that holds every draw, and tiny squares around
one chosen draw, so that the earlier draws miss and the function must retry (or, after 32 misses, fall back).
"""

from __future__ import annotations

import hashlib
import math

import psycopg
import pytest
from pyproj import Geod
from shapely import wkt
from shapely.geometry import Point, box

GEOD = Geod(ellps="WGS84")
P = (103.6123, -1.6015)  # a point in Kota Jambi
TOL = 1e-8  # degrees, about 1 mm


def draw(seed: str, i: int, rmin: float, rmax: float) -> tuple[float, float, float]:
    """(lon, lat, distance in m) of draw i for a seed, computed without the database."""
    h = hashlib.sha256(f"{seed}:{i}".encode()).digest()
    azimuth = (h[0] * 256 + h[1]) / 65536.0 * 2 * math.pi
    distance = math.sqrt(rmin**2 + (h[2] * 256 + h[3]) / 65536.0 * (rmax**2 - rmin**2))
    lon, lat, _ = GEOD.fwd(P[0], P[1], math.degrees(azimuth), distance)
    return lon, lat, distance


def geomask(conn, area_wkt: str | None, seed: str, rmin: float | None, rmax: float | None, p=P):
    """(lon, lat, srid) of peta_geomask, or None for a NULL result."""
    row = conn.execute(
        """SELECT ST_X(m), ST_Y(m), ST_SRID(m) FROM (SELECT peta_geomask(
               CASE WHEN %(x)s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) END,
               ST_GeomFromText(%(area)s, 4326), %(seed)s, %(rmin)s::float8, %(rmax)s::float8) AS m) t""",
        {"x": p and p[0], "y": p and p[1], "area": area_wkt, "seed": seed, "rmin": rmin, "rmax": rmax},
    ).fetchone()
    return None if row[0] is None else row


# a square of about 220 x 220 km around P: every draw of these radii lands in it at the first try
WIDE = box(P[0] - 1, P[1] - 1, P[0] + 1, P[1] + 1).wkt


@pytest.mark.parametrize(
    ("seed", "rmin", "rmax"),
    [("a1b2:geomask", 100, 500), ("keluarga-7:geomask", 100, 500), ("x", 250, 5000), ("y", 1, 2), ("z", 0.5, 1)],
)
def test_the_first_draw_lands_in_the_ring_exactly_where_the_keyed_seed_puts_it(conn, seed, rmin, rmax):
    lon, lat, distance = draw(seed, 0, rmin, rmax)
    assert rmin <= distance <= rmax
    x, y, srid = geomask(conn, WIDE, seed, rmin, rmax)
    assert srid == 4326
    assert abs(x - lon) < TOL and abs(y - lat) < TOL
    assert abs(GEOD.inv(P[0], P[1], x, y)[2] - distance) < 1e-3
    assert geomask(conn, WIDE, seed, rmin, rmax) == (x, y, srid)  # the same displacement every time


def test_the_draws_of_many_seeds_spread_over_every_direction_and_the_whole_ring(conn):
    seeds = [f"family-{n}:geomask" for n in range(40)]
    got = conn.execute(
        """SELECT ST_X(m), ST_Y(m) FROM unnest(%s::text[]) WITH ORDINALITY s(seed, n)
           CROSS JOIN LATERAL (SELECT peta_geomask(ST_SetSRID(ST_MakePoint(%s, %s), 4326),
               ST_GeomFromText(%s, 4326), s.seed, 100, 500) AS m) t ORDER BY s.n""",
        (seeds, P[0], P[1], WIDE),
    ).fetchall()
    for seed, (x, y) in zip(seeds, got, strict=True):
        lon, lat, _ = draw(seed, 0, 100, 500)
        assert abs(x - lon) < TOL and abs(y - lat) < TOL, seed


def _square_around(q: tuple[float, float]) -> str:
    """A ~0.4 m square holding q off its centre (its point on surface is not q)."""
    return box(q[0] - 1e-6, q[1] - 1e-6, q[0] + 3e-6, q[1] + 3e-6).wkt


@pytest.mark.parametrize("k", [1, 5, 30, 31])
def test_a_draw_outside_the_kelurahan_is_retried_up_to_the_32nd(conn, k):
    seed, rmin, rmax = "retry:geomask", 100, 500
    draws = [draw(seed, i, rmin, rmax)[:2] for i in range(33)]
    area = _square_around(draws[k])
    square = wkt.loads(area)
    assert [i for i, q in enumerate(draws) if square.covers(Point(q))] == [k]  # only draw k lands
    x, y, srid = geomask(conn, area, seed, rmin, rmax)
    assert srid == 4326
    assert abs(x - draws[k][0]) < TOL and abs(y - draws[k][1]) < TOL


def test_after_32_misses_the_point_falls_back_inside_the_area_never_the_true_point(conn):
    seed, rmin, rmax = "retry:geomask", 100, 500
    draws = [draw(seed, i, rmin, rmax)[:2] for i in range(34)]
    area = _square_around(draws[32])  # the 33rd draw (i = 32) would land: it is never tried
    square = wkt.loads(area)
    assert [i for i, q in enumerate(draws) if square.covers(Point(q))] == [32]
    x, y, _ = geomask(conn, area, seed, rmin, rmax)
    fallback = square.representative_point()  # GEOS's point on surface: the middle of this square
    assert abs(x - fallback.x) < TOL and abs(y - fallback.y) < TOL
    assert abs(x - draws[32][0]) > 1e-7 or abs(y - draws[32][1]) > 1e-7
    assert (x, y) != P


@pytest.mark.parametrize(
    ("rmin", "rmax"),
    [(0, 100), (-0.5, 100), (-1, 100), (100, 100), (200, 100), (100, 99.9), (None, 100), (100, None), (None, None)],
)
def test_radii_that_are_not_0_below_min_below_max_fail_loudly(conn, rmin, rmax):
    with pytest.raises(psycopg.errors.RaiseException, match="are not 0 < min < max"):
        with conn.transaction():
            geomask(conn, WIDE, "s", rmin, rmax)


@pytest.mark.parametrize(("rmin", "rmax"), [(0.5, 1), (1, 1.001), (99.9, 100), (0.001, 5000)])
def test_radii_just_inside_the_rule_are_used(conn, rmin, rmax):
    lon, lat, distance = draw("s", 0, rmin, rmax)
    x, y, _ = geomask(conn, WIDE, "s", rmin, rmax)
    assert abs(x - lon) < TOL and abs(y - lat) < TOL
    assert rmin <= distance <= rmax


def test_a_missing_point_or_area_gives_no_point(conn):
    assert geomask(conn, WIDE, "s", 100, 500, p=None) is None
    assert geomask(conn, None, "s", 100, 500) is None
    assert geomask(conn, None, "s", 100, 500, p=None) is None
