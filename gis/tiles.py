"""Mapbox vector tiles built by PostGIS (ST_AsMVT) from the same sources as the OGC collections.

Areas are simplified to a fraction of the tile's pixel size before clipping, so low zooms stay light;
households are points. Array properties are joined with ';' (MVT values are scalars).

RWs and RTs are served from a minimum zoom (MIN_ZOOM): below it an RT is a pixel or two, and the one tile
holding a whole city's RTs weighs most of a megabyte (their figures, not their vertices); such a tile is empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql

from core.errors import InputError
from core.principal import Principal
from gis import features as fx
from gis.households import audit_read

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
WORLD_M = 40_075_016.685578488  # web mercator width in metres
ARRAYS = {"programs", "suppressed"}
SIMPLIFY_BELOW_ZOOM = 13  # from here on RT polygons have few vertices per pixel: the MVT grid is enough
# The zoom from which a level's areas are served: the first at which Kota Jambi's median area is about 4 px across or
# more on a 256-px tile (RT: 228 m, z12 = 38 m/px; RW: 606 m, z10 = 153 m/px). Kecamatan and kelurahan tiles of a
# whole city weigh 5 and 22 KB: served at every zoom, so a map zoomed out still shows where the city is.
MIN_ZOOM = {"rw": 10, "rt": 12}


def min_zoom(layer: str) -> int:
    """The lowest zoom at which `layer` has tiles with features (TileJSON's minzoom)."""
    return MIN_ZOOM.get(layer, 0)


def check_tile(z: int, x: int, y: int) -> None:
    """InputError unless z/x/y names a tile."""
    if not 0 <= z <= MAX_ZOOM:
        raise InputError(f"z: {z} is outside 0-{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InputError(f"x/y: tile {x}/{y} does not exist at zoom {z} (0-{n - 1})")


def _lon_stretch(z: int, y: int) -> float:
    """1 / cos of the tile's latitude farthest from the equator (how much longer a degree of latitude is)."""
    n = 1 << z
    lats = [math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * v / n)))) for v in (y, y + 1)]
    return 1.01 / math.cos(math.radians(min(max(abs(v) for v in lats), 85.0)))


def tile_sql(
    collection: fx.Collection, principal: Principal | None, z: int, x: int, y: int, kotas: Sequence[str] | None = None
) -> sql.Composed:
    """One statement returning the tile's bytes (possibly empty), with z/x/y as parameters.

    Only the simplification tolerance depends on the zoom, so the text repeats across the tiles of a
    zoom and psycopg prepares it after a few uses: the planner is not paid for every tile. A household
    tile also returns the record numbers it holds, for the audit of the read (none for an empty tile). `kotas`
    bounds it to the kab/kota the tile can reach (the distribution key: one shard group per city on Citus).
    """
    src, props = fx.source(collection, principal)
    cols = [
        sql.SQL("array_to_string(t.{c}, ';') AS {c}").format(c=sql.Identifier(p)) if p in ARRAYS else fx._t(p)
        for p in props
    ]
    # a quarter of a pixel at this zoom, in degrees near the equator: invisible, but drops most vertices
    tol = WORLD_M / (1 << z) / EXTENT / 4 / 111_320.0
    geom: sql.Composable = sql.SQL("t.geom")
    if collection.geometry_type != "Point" and z < SIMPLIFY_BELOW_ZOOM:
        geom = sql.SQL("ST_SimplifyPreserveTopology(t.geom, {})").format(sql.Literal(tol))
    near: sql.Composable = sql.SQL("")
    if collection.personal and props[0] != "id":  # geomasked points: mask only those near the tile
        near = sql.SQL(
            "t.true_geom && ST_Expand(b.e4326, (SELECT peta_cfg('disclosure', 'geomask_max_m')) / 110000.0 * {}) AND"
        ).format(sql.Literal(_lon_stretch(z, y)))
    with_id = collection.personal and props[0] == "id"  # staff: the record number as the MVT feature id
    envelope = sql.SQL(
        "b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e3857,"
        " ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {m}), 4326) AS e4326)"
    ).format(m=sql.Literal(BUFFER / EXTENT))
    # OFFSET 0 keeps the planner from evaluating ST_AsMVTGeom twice (in the filter and the output).
    rows = sql.SQL(
        "SELECT {hid}{fid}ST_AsMVTGeom(ST_Transform({geom}, 3857), b.e3857, {extent}, {buffer}, true) AS geom,"
        " {cols} FROM ({src}) t, b WHERE {near} {routed} t.geom && b.e4326 OFFSET 0"
    ).format(
        routed=sql.SQL("") if kotas is None else sql.SQL("t.kota = ANY ({}::text[]) AND").format(
            sql.Literal(list(kotas))),
        hid=sql.SQL("t.hid, " if collection.personal else ""), fid=sql.SQL("t.fid AS fid, " if with_id else ""),
        geom=geom, extent=sql.Literal(EXTENT), buffer=sql.Literal(BUFFER), cols=sql.SQL(", ").join(cols), src=src,
        near=near,
    )  # fmt: skip
    mvt = sql.SQL("ST_AsMVT(q, {name}, {extent}, 'geom'{idcol})").format(
        name=sql.Literal(collection.id), extent=sql.Literal(EXTENT), idcol=sql.SQL(", 'fid'" if with_id else "")
    )
    if not collection.personal:
        return sql.SQL("WITH {b} SELECT {mvt} FROM ({rows}) q WHERE q.geom IS NOT NULL").format(
            b=envelope, mvt=mvt, rows=rows
        )
    out = [sql.Identifier(n) for n in (["fid"] if with_id else []) + ["geom", *props]]
    # the tile and the record numbers it holds, for the audit of the read (gis.households.audit_read)
    return sql.SQL(
        "WITH {b}, g AS MATERIALIZED (SELECT * FROM ({rows}) f WHERE f.geom IS NOT NULL)"
        " SELECT (SELECT {mvt} FROM (SELECT {out} FROM g) q), (SELECT array_agg(hid::text ORDER BY hid) FROM g)"
    ).format(b=envelope, rows=rows, mvt=mvt, out=sql.SQL(", ").join(out))


async def tile(
    conn: AsyncConnection[Any], collection: fx.Collection, principal: Principal | None, z: int, x: int, y: int
) -> bytes:
    """The tile's bytes (none below the layer's minimum zoom); a household tile is audited (who read which families)
    in the read's transaction."""
    check_tile(z, x, y)
    if z < min_zoom(collection.id):
        return b""
    envelope = sql.SQL("ST_Transform(ST_TileEnvelope({}, {}, {}, margin => {}), 4326)").format(
        *map(sql.Literal, (z, x, y, BUFFER / EXTENT)))  # fmt: skip
    kotas = await fx.kotas_near(conn, envelope)
    if not kotas:
        return b""  # no kab/kota's families or areas reach the tile
    query = tile_sql(collection, principal, z, x, y, kotas)
    if not collection.personal:
        cur = await conn.execute(query, {"z": z, "x": x, "y": y})
        row = await cur.fetchone()
    else:
        if principal is None:
            raise ValueError("household tiles are audited: name the reader")
        async with conn.transaction():  # the audit row is committed with the read, before the response
            cur = await conn.execute(query, {"z": z, "x": x, "y": y})
            row = await cur.fetchone()
            if row and row[1]:
                await audit_read(conn, principal.actor, principal.role, "household", row[1], kotas)
    return bytes(row[0]) if row and row[0] is not None else b""
