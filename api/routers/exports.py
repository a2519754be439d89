"""/api/v1/exports/{layer}.{format}: a whole layer (with the OGC filters) as GeoJSON, CSV or GeoPackage.

GeoJSON and CSV stream from a server-side cursor on a connection of their own, so a layer of any size
leaves memory flat; the GeoPackage is written in chunks to a temporary file and sent when complete.
Household exports follow the same role rules as the collection and are audited with every record's id.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from access.users import AuthError
from api.deps import ConnDep
from api.policy import PUBLIC, allow
from api.routers.ogc import _parse_items
from api.security import OptionalPrincipal
from gis import export
from gis import features as fx
from gis.errors import InputError, NotFound
from gis.households import reader

router = APIRouter(prefix="/exports", tags=["exports"])
MEDIA = {"geojson": "application/geo+json", "csv": "text/csv; charset=utf-8", "gpkg": "application/geopackage+sqlite3"}


async def _audit_export(conn: ConnDep, coll: fx.Collection, principal: Any, q: fx.ItemsQuery) -> None:
    """One audit row naming every exported family by its record number (agencies' too), collected by the database
    (nothing held in Python)."""
    src, _ = fx.source(coll, principal)
    where = fx._where(q, fx.queryables_for(coll, principal))
    actor = reader(principal)
    async with conn.transaction():
        await conn.execute(
            fx.sql.SQL(
                "INSERT INTO audit_log (id, actor, role, action, object_type, object_ids, prev_hash, hash)"
                " SELECT 0, {actor}, {role}, 'export', 'household', COALESCE(array_agg(t.hid::text), '{{}}'), '', ''"
                " FROM ({src}) t WHERE {where}"
            ).format(actor=fx.sql.Literal(actor), role=fx.sql.Literal(principal.role), src=src, where=where)
        )


@router.get(
    "/{layer}.{fmt}",
    dependencies=[allow(PUBLIC)],
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
async def export_layer(
    request: Request,
    conn: ConnDep,
    principal: OptionalPrincipal,
    layer: Annotated[str, PathParam(description="kecamatan, kelurahan, rw, rt or households")],
    fmt: Literal["geojson", "csv", "gpkg"],
) -> Response:
    """The whole layer, filtered like /ogc items (bbox, property=value, filter, sortby, properties, crs)."""
    coll = fx.COLLECTIONS.get(layer)
    if coll is None:
        raise NotFound(f"no layer {layer!r}; layers: {', '.join(fx.COLLECTIONS)}")
    if coll.personal:
        if principal is None:
            raise AuthError("household exports need a bearer token or an agency key")
        fx.household_view(principal)
    q = _parse_items(request, coll, principal)
    if coll.personal:
        await _audit_export(conn, coll, principal, q)
    name = f"{coll.id}.{fmt}"
    cache = "private, no-store" if coll.personal or principal else "public, max-age=60"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": cache}
    if fmt == "gpkg":
        tmp = Path(tempfile.mkdtemp(prefix="peta-export-")) / name
        try:
            await export.write_gpkg(conn, coll, principal, q, tmp)
        except psycopg.DataError as exc:
            _remove(tmp)
            raise _not_computable(exc) from exc
        cleanup = BackgroundTask(_remove, tmp)
        return FileResponse(tmp, media_type=MEDIA[fmt], headers=headers, background=cleanup)
    pool = request.app.state.pool
    chunks = export.geojson_chunks if fmt == "geojson" else export.csv_chunks

    async def stream() -> AsyncGenerator[bytes, None]:
        async with pool.connection() as own, own.transaction():
            async for piece in chunks(own, coll, principal, q):
                yield piece.encode()

    return StreamingResponse(await _started(stream()), media_type=MEDIA[fmt], headers=headers)


async def _started(pieces: AsyncGenerator[bytes, None]) -> AsyncIterator[bytes]:
    """The stream with its query already run, so that a query that fails is an error response rather than
    a 200 cut short: the opening text and the first rows (or the end) are read before anything is sent."""
    ahead: list[bytes] = []
    try:
        for _ in range(2):
            ahead.append(await anext(pieces))
    except StopAsyncIteration:
        pass
    except psycopg.DataError as exc:
        await pieces.aclose()
        raise _not_computable(exc) from exc
    except BaseException:
        await pieces.aclose()
        raise

    async def resumed() -> AsyncIterator[bytes]:
        for piece in ahead:
            yield piece
        async for piece in pieces:
            yield piece

    return resumed()


def _not_computable(exc: psycopg.DataError) -> InputError:
    """A value PostgreSQL cannot compute (a filter's arithmetic overflowing) is the request's fault."""
    return InputError(f"filter could not be evaluated: {exc.diag.message_primary}")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()
