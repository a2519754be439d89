"""Read queries for the API and portal: GeoJSON built inside PostgreSQL and passed through as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from core.crs import utm_epsg
from core.errors import InputError
from core.levels import LEVELS

# metres to degrees near the equator, for simplification tolerances given in metres
M_PER_DEG = 111_320.0

_AREAS_GEOJSON = """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'numberMatched', (SELECT count(*) FROM area WHERE level = %(level)s
                      AND (%(parent)s::text IS NULL OR code LIKE %(parent)s || '.%%')),
    'numberReturned', count(*),
    'features', COALESCE(json_agg(f.feature ORDER BY f.code), '[]'::json)
)::text
FROM (
    SELECT a.code, json_build_object(
        'type', 'Feature',
        'id', a.code,
        'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(
            CASE WHEN %(tol)s > 0 THEN ST_SimplifyPreserveTopology(a.geom, %(tol)s) ELSE a.geom END), 6)::json,
        'properties', json_build_object(
            'code', a.code, 'name', a.name, 'level', a.level, 'parent_code', a.parent_code,
            'population', a.population, 'area_m2', round(a.area_m2::numeric),
            'density_km2', CASE WHEN a.population IS NOT NULL AND a.area_m2 > 0
                                THEN round((a.population / (a.area_m2 / 1e6))::numeric) END,
            'source', a.source, 'version', a.version)
    ) AS feature
    FROM area a
    WHERE a.level = %(level)s AND (%(parent)s::text IS NULL OR a.code LIKE %(parent)s || '.%%')
    ORDER BY a.code
    LIMIT %(limit)s OFFSET %(offset)s
) f
"""


async def areas_geojson(
    conn: AsyncConnection[Any],
    level: str,
    *,
    parent: str | None = None,
    limit: int = 5000,
    offset: int = 0,
    simplify_m: float = 0.0,
) -> str:
    """A FeatureCollection (RFC 7946, 6 decimals) of the areas of one level, optionally under a parent."""
    params = {"level": level, "parent": parent, "limit": limit, "offset": offset, "tol": simplify_m / M_PER_DEG}
    cur = await conn.execute(_AREAS_GEOJSON, params)
    row = await cur.fetchone()
    return row[0]  # type: ignore[index]


async def locate(conn: AsyncConnection[Any], lon: float, lat: float, level: str | None) -> list[dict[str, str]]:
    """The areas of every level (or one level) that contain the point, from the city down, lowest code first where
    boundaries overlap."""
    cur = await conn.execute(
        """SELECT a.level, a.code, a.name FROM area a
           WHERE ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
             AND (%(level)s::text IS NULL OR a.level = %(level)s)
           ORDER BY array_position(%(levels)s::text[], a.level), a.code""",
        {"lon": lon, "lat": lat, "level": level, "levels": list(LEVELS)},
    )
    return [{"level": lv, "code": c, "name": n} for lv, c, n in await cur.fetchall()]


async def place_name(conn: AsyncConnection[Any]) -> str:
    """The name of the kab/kota loaded (several joined by ', '; empty before any is loaded): titles say where."""
    cur = await conn.execute("SELECT string_agg(name, ', ' ORDER BY code) FROM area WHERE level = 'kota'")
    row = await cur.fetchone()
    return (row[0] if row else None) or ""


async def cities(conn: AsyncConnection[Any], scope: Sequence[str] | None) -> list[dict[str, str]]:
    """The kab/kota (code, name) a scope reaches, in code order: every one for no scope (the whole deployment);
    for a scope of area codes, the kab/kota inside a province code, the kab/kota named, and the kab/kota that
    holds a narrower area (a kecamatan coordinator's own city)."""
    cur = await conn.execute(
        """SELECT code, name FROM area WHERE level = 'kota'
           AND (%(scope)s::text[] IS NULL
                OR EXISTS (SELECT 1 FROM unnest(%(scope)s::text[]) s
                           WHERE code = s OR code LIKE s || '.%%' OR s LIKE code || '.%%'))
           ORDER BY code""",
        {"scope": list(scope) if scope is not None else None},
    )
    return [{"code": code, "name": name} for code, name in await cur.fetchall()]


async def area_codes(conn: AsyncConnection[Any], level: str) -> list[str]:
    """The codes of every area of one level, in order."""
    cur = await conn.execute("SELECT code FROM area WHERE level = %s ORDER BY code", (level,))
    return [r[0] for r in await cur.fetchall()]


async def metric_srid(conn: AsyncConnection[Any], codes: Sequence[str] | None = None) -> int:
    """The WGS 84 / UTM zone (its EPSG code) at the centre of the named areas, or of every area: the plane in
    metres in which the workflow measures distances (a city in zone 47N or 50S is not measured in 48S)."""
    cur = await conn.execute(
        """SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c FROM area
           WHERE %(codes)s::text[] IS NULL OR code = ANY (%(codes)s)) q""",
        {"codes": list(codes) if codes else None},
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        raise InputError("no boundaries are loaded here (peta boundaries import): nothing to measure distances in")
    return utm_epsg(float(row[0]), float(row[1]))


async def extent(conn: AsyncConnection[Any], kota: str | None = None) -> tuple[float, float, float, float] | None:
    """Bounding box (west, south, east, north) of all areas, or of one kab/kota's; None when there are none."""
    cur = await conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM area"
        " WHERE %(kota)s::text IS NULL OR (level = 'kota' AND code = %(kota)s)) q",
        {"kota": kota},
    )
    row = await cur.fetchone()
    return None if row is None or row[0] is None else (row[0], row[1], row[2], row[3])


async def ping(conn: AsyncConnection[Any]) -> dict[str, Any]:
    """Database facts for the health check."""
    cur = await conn.execute(
        "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'postgis'), "
        "(SELECT version_num FROM alembic_version LIMIT 1)"
    )
    row = await cur.fetchone()
    assert row is not None
    return {"postgis": row[0], "revision": row[1]}
