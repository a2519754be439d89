"""Whole-layer exports (GeoJSON, CSV, GeoPackage, XLSX) streamed from a server-side cursor: memory stays flat.

The rows are the OGC collection's, with the same filters and the same rules per role, in the requested CRS
(`crs`: CRS84 by default, or a UTM zone of Indonesia). GeoJSON rows are written by PostgreSQL as text; CSV
rows carry the geometry as WKT; the GeoPackage (by pyogrio, GDAL) and the workbook (by openpyxl, for Excel
in any locale: numbers stay numbers, codes stay text) are written in chunks into a temporary file.

CSV, GeoPackage and XLSX give coordinates in the traditional GIS order, x then y (longitude then latitude,
easting then northing) whatever the CRS; GeoJSON follows the CRS's axis order as the OGC items do.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from psycopg import AsyncConnection, sql

from core import csvsafe
from core.errors import InputError
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
                "INSERT INTO audit_log (id, kota_code, actor, role, action, object_type, object_ids, prev_hash, hash)"
                " SELECT 0, k.kota, {actor}, {role}, 'export', 'household', k.ids, '', ''"
                " FROM (SELECT COALESCE(h.kota_code, '') AS kota, array_agg(f.hid::text ORDER BY f.hid) AS ids"
                "       FROM {frozen} f LEFT JOIN household h ON h.id = f.hid GROUP BY 1"
                "       UNION ALL SELECT '', '{{}}' WHERE NOT EXISTS (SELECT 1 FROM {frozen})) k ORDER BY k.kota"
            ).format(actor=sql.Literal(principal.actor), role=sql.Literal(principal.role), frozen=FROZEN)
        )
        await conn.execute(sql.SQL("ANALYZE {}").format(FROZEN))
    return frozen


def restricted(c: fx.CompiledItems) -> fx.CompiledItems:
    """The same request, limited to the families `freeze_and_audit` froze and audited."""
    return c.restricted(sql.SQL("t.hid IN (SELECT hid FROM {})").format(FROZEN))


def _geometry(c: fx.CompiledItems) -> sql.Composable:
    """The geometry in the requested CRS, x/y order (an EPSG:4326 request is lon/lat here, as GIS files store it)."""
    if c.q.crs.srid == 4326:
        return sql.SQL("t.geom")
    return sql.SQL("ST_Transform(t.geom, {})").format(sql.Literal(c.q.crs.srid))


def _columns_sql(c: fx.CompiledItems, geom: sql.Composable) -> sql.Composed:
    cols = sql.SQL(", ").join(fx._t(n) for n in c.names) if c.names else sql.SQL("NULL")
    return sql.SQL("SELECT t.fid, {geom}, {cols} FROM ({src}) t WHERE {where} ORDER BY {order}").format(
        geom=geom, cols=cols, src=c.source, where=c.where, order=c.order
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
    """CSV with a header, the properties and the geometry as WKT (6 decimals in degrees, 3 in metres)."""
    geom = sql.SQL("ST_AsText({}, {})").format(_geometry(c), sql.Literal(c.q.crs.decimals))
    query, names = _columns_sql(c, geom), c.names
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

    query = _columns_sql(c, sql.SQL("ST_AsBinary({})").format(_geometry(c)))
    names, collection = c.names, c.collection
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
            crs=f"EPSG:{c.q.crs.srid}", append=total > 0, promote_to_multi=collection.geometry_type != "Point",
        )  # fmt: skip

    async for rows in _cursor_rows(conn, query):
        await asyncio.to_thread(write, rows)  # GDAL works off the event loop; a cancelled export stops here
        total += len(rows)
    if total == 0:
        await asyncio.to_thread(write, [])
    return total


XLSX_MAX_ROWS = 1_048_575  # Excel's sheet holds 1,048,576 rows, the header included


async def write_xlsx(conn: AsyncConnection[Any], c: fx.CompiledItems, path: Path) -> int:
    """Write the layer to an Excel workbook at `path` in chunks; returns the number of rows.

    One sheet named after the layer: `id`, `x`, `y` (the point, or a point inside the polygon: WKT would pass
    Excel's 32,767 characters per cell), then the properties. Numbers stay numbers and codes text, whatever the
    reader's locale (no separator or decimal comma to guess); text is never a formula. A selection larger than
    a sheet is refused before anything is sent (filter it, or take the CSV or the GeoPackage).
    """
    from openpyxl import Workbook

    point: sql.Composable = sql.SQL("t.geom" if c.collection.geometry_type == "Point" else "ST_PointOnSurface(t.geom)")
    if c.q.crs.srid != 4326:
        point = sql.SQL("ST_Transform({}, {})").format(point, sql.Literal(c.q.crs.srid))
    xy = sql.SQL("round(ST_X({p})::numeric, {d})::float8, round(ST_Y({p})::numeric, {d})::float8").format(
        p=point, d=sql.Literal(c.q.crs.decimals)
    )
    query, names = _columns_sql(c, xy), c.names
    book = Workbook(write_only=True)
    sheet = book.create_sheet(c.collection.id)
    sheet.freeze_panes = "A2"
    sheet.append(["id", "x", "y", *names])
    total = 0
    try:
        async for rows in _cursor_rows(conn, query):
            total += len(rows)
            if total > XLSX_MAX_ROWS:
                raise InputError(
                    f"{total:,}+ rows do not fit in one Excel sheet ({XLSX_MAX_ROWS:,} at most): narrow the"
                    " selection (bbox, filter) or export CSV or GeoPackage"
                )
            await asyncio.to_thread(sheet_rows, sheet, [[str(r[0]), *r[1 : 3 + len(names)]] for r in rows])
    except BaseException:  # refused or cancelled: end the sheet's stream and remove its temporary file now
        sheet.close()
        sheet._writer.cleanup()  # openpyxl would otherwise keep it until the process exits
        raise
    await asyncio.to_thread(book.save, str(path))
    return total


def sheet_rows(sheet: Any, rows: list[list[Any]]) -> None:
    """Append rows to a write-only sheet: every text cell typed as text (never a formula), lists joined by `;`."""
    from openpyxl.cell import WriteOnlyCell

    for values in rows:
        cells = []
        for v in values:
            value = _xlsx_value(v)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text starting with = stays text
            cells.append(cell)
        sheet.append(cells)


_ILLEGAL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])  # control characters a worksheet cannot hold


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones: the instant as text, offset included
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str):
        return value.translate(_ILLEGAL)
    return value


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
