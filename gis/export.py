"""Whole-layer exports (GeoJSON, CSV, GeoPackage) streamed from a server-side cursor: memory stays flat.

The rows are the OGC collection's, with the same filters and the same rules per role. GeoJSON rows are
written by PostgreSQL as text; CSV rows carry the geometry as WKT; the GeoPackage is written in chunks
by pyogrio (GDAL) into a temporary file.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from psycopg import AsyncConnection, sql

from core import csvsafe
from core.principal import Principal
from gis import features as fx

CHUNK = 2000
FROZEN = sql.SQL("pg_temp.peta_export_ids")


async def freeze_and_audit(conn: AsyncConnection[Any], c: fx.CompiledItems, principal: Principal) -> int:
    """Freeze the families an export selects in a temporary table of this session and name every one of them
    (agencies' too) in one audit row; both committed before the export sends anything. Returns their number.

    The export then reads only the frozen families (`restricted`), in a later transaction: a family that joins
    the selection in between is not sent unaudited. The table lives until the next export on this connection
    or the connection's end (it is dropped first thing here).
    """
    async with conn.transaction():
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(FROZEN))
        await conn.execute(sql.SQL("CREATE TEMP TABLE peta_export_ids (hid bigint PRIMARY KEY)"))
        cur = await conn.execute(
            sql.SQL("INSERT INTO {frozen} SELECT t.hid FROM ({src}) t WHERE {where}").format(
                frozen=FROZEN, src=c.source, where=c.where
            )
        )
        frozen = cur.rowcount
        await conn.execute(
            sql.SQL(
                "INSERT INTO audit_log (id, actor, role, action, object_type, object_ids, prev_hash, hash)"
                " SELECT 0, {actor}, {role}, 'export', 'household',"
                " COALESCE(array_agg(hid::text ORDER BY hid), '{{}}'), '', '' FROM {frozen}"
            ).format(actor=sql.Literal(principal.actor), role=sql.Literal(principal.role), frozen=FROZEN)
        )
        await conn.execute(sql.SQL("ANALYZE {}").format(FROZEN))
    return frozen


def restricted(c: fx.CompiledItems) -> fx.CompiledItems:
    """The same request, limited to the families `freeze_and_audit` froze and audited."""
    return c.restricted(sql.SQL("t.hid IN (SELECT hid FROM {})").format(FROZEN))


def _columns_sql(c: fx.CompiledItems, geom: str) -> sql.Composed:
    cols = sql.SQL(", ").join(fx._t(n) for n in c.names) if c.names else sql.SQL("NULL")
    return sql.SQL("SELECT t.fid, {geom}, {cols} FROM ({src}) t WHERE {where} ORDER BY {order}").format(
        geom=sql.SQL(geom), cols=cols, src=c.source, where=c.where, order=c.order
    )


async def _cursor_rows(conn: AsyncConnection[Any], query: sql.Composed) -> AsyncIterator[list[Any]]:
    async with conn.cursor(name="peta_export") as cur:
        await cur.execute(query)
        while rows := await cur.fetchmany(CHUNK):
            yield rows


async def geojson_chunks(conn: AsyncConnection[Any], c: fx.CompiledItems) -> AsyncGenerator[str, None]:
    """A FeatureCollection in pieces (call inside a transaction: the cursor is server-side)."""
    query = fx.feature_sql(c)
    yield '{"type":"FeatureCollection","features":['
    first = True
    async for rows in _cursor_rows(conn, query):
        text = ",".join(r[0] for r in rows)
        yield text if first else "," + text
        first = False
    yield "]}"


async def csv_chunks(conn: AsyncConnection[Any], c: fx.CompiledItems) -> AsyncGenerator[str, None]:
    """CSV with a header, the properties and the geometry as WKT (6 decimals)."""
    query, names = _columns_sql(c, "ST_AsText(t.geom, 6)"), c.names
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["id", "wkt", *names])
    yield out.getvalue()
    async for rows in _cursor_rows(conn, query):
        out.seek(0)
        out.truncate()
        for r in rows:
            writer.writerow([r[0], r[1], *(";".join(v) if isinstance(v, list) else v for v in r[2:])])
        yield out.getvalue()


_OGR_TYPES = {"integer": "int64", "number": "float64", "boolean": "bool"}


async def write_gpkg(conn: AsyncConnection[Any], c: fx.CompiledItems, path: Path) -> int:
    """Write the layer to a GeoPackage at `path` in chunks; returns the number of features."""
    import pyogrio.raw

    query, names, collection = _columns_sql(c, "ST_AsBinary(t.geom)"), c.names, c.collection
    kinds = {n: _OGR_TYPES.get(c.queryables[n].type if n in c.queryables else "string", "object") for n in names}
    total = 0

    def write(rows: list[Any]) -> None:
        geometry = np.array([bytes(r[1]) if r[1] is not None else None for r in rows], dtype=object)
        data: list[Any] = [np.array([str(r[0]) for r in rows], dtype=object)]
        masks: list[Any] = [None]
        for i, n in enumerate(names, start=2):
            values = [r[i] for r in rows]
            if kinds[n] == "object":
                data.append(np.array([_text(v) for v in values], dtype=object))
                masks.append(None)
            else:  # typed columns keep their type; NULLs go through the mask
                data.append(np.array([0 if v is None else v for v in values], dtype=kinds[n]))
                masks.append(np.array([v is None for v in values], dtype=bool))
        pyogrio.raw.write(
            str(path), geometry, data, ["fid_text", *names], field_mask=masks, layer=collection.id, driver="GPKG",
            geometry_type="Point" if collection.geometry_type == "Point" else "MultiPolygon",
            crs="EPSG:4326", append=total > 0, promote_to_multi=collection.geometry_type != "Point",
        )  # fmt: skip

    async for rows in _cursor_rows(conn, query):
        await asyncio.to_thread(write, rows)  # GDAL works off the event loop; a cancelled export stops here
        total += len(rows)
    if total == 0:
        await asyncio.to_thread(write, [])
    return total


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
