"""/api/v1/exports/{layer}.{format}: a whole layer (with the OGC filters) as GeoJSON, CSV, GeoPackage or XLSX.

The route checks the caller and the parameters on the request's connection, which is committed and given
back before anything is sent. The export itself runs inside its response (`ExportResponse`) on one pooled
connection of its own, so a request never holds two connections (eight exports at once could otherwise
take the whole pool and wait on each other for ever):

1. households only: the families the filter selects are frozen in a temporary table and named in one audit
   row, committed before any record is sent;
2. the query runs (restricted to the frozen families) and its first rows are read before the status is
   sent, so a query that fails is an error response rather than a 200 cut short;
3. the rows stream from a server-side cursor, so memory stays flat; a GeoPackage or a workbook is written in
   chunks (in a worker thread) to a temporary file and sent when complete.

While it runs the response listens for the client: when the client goes, the export is cancelled, psycopg
cancels the running query in the server, and the connection goes back to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import psycopg
from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from psycopg import AsyncConnection
from psycopg_pool import PoolTimeout
from starlette.types import Receive, Scope, Send

from api.deps import connection
from api.errors import database_error
from api.limits import ExpensiveStream, QueryBudget, limit_statements
from api.params import ITEMS_FIRST, ItemsParamsDep, items_openapi, items_query
from api.policy import PUBLIC, allow
from api.security import OptionalPrincipalDep
from core.errors import AuthError, InputError, NotFound, PetaError
from core.principal import Principal
from core.scope import household_view
from gis import export
from gis import features as fx

router = APIRouter(prefix="/exports", tags=["exports"])
MEDIA = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILES = {"gpkg": export.write_gpkg, "xlsx": export.write_xlsx}  # written whole to a temporary file, then sent
FILE_CHUNK = 256 * 1024

Pieces = Callable[[AsyncConnection[Any]], AsyncIterator[bytes]]


@router.get(
    "/{layer}.{fmt}",
    # the expensive requests' share (PETA_POOL_EXPENSIVE) is held until the export is sent
    dependencies=[ITEMS_FIRST, allow(PUBLIC), ExpensiveStream, QueryBudget],
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
    openapi_extra={"parameters": [p for p in items_openapi() if p["name"] != "f"]},  # the format is the path's
)
async def export_layer(
    request: Request,
    params: ItemsParamsDep,
    principal: OptionalPrincipalDep,
    layer: Annotated[str, PathParam(description="kecamatan, kelurahan, rw, rt or households")],
    fmt: Literal["geojson", "csv", "gpkg", "xlsx"],
) -> Response:
    """The whole layer, filtered like /ogc items (bbox, property=value, filter, sortby, properties, crs).

    GeoJSON and CSV stream; GeoPackage and XLSX (for Excel in any locale) are sent once written. The
    coordinates are in `crs`; CSV, GeoPackage and XLSX give them x then y (longitude then latitude)."""
    coll = fx.COLLECTIONS.get(layer)
    if coll is None:
        raise NotFound(f"no layer {layer!r}; layers: {', '.join(fx.COLLECTIONS)}")
    if coll.personal:
        if principal is None:
            raise AuthError("household exports need a bearer token or an agency key")
        household_view(principal)
    c = fx.compile_items(coll, principal, items_query(params, coll, principal, request.app.state.settings))
    name = f"{coll.id}.{fmt}"
    cache = "private, no-store" if coll.personal or principal else "public, max-age=60"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": cache,
        "Content-Crs": f"<{c.q.crs.uri}>",
    }
    return ExportResponse(request, c, principal, fmt, headers)


class ExportResponse(Response):
    """A response that runs the export on its own connection while it is sent, and stops when the client goes."""

    def __init__(
        self,
        request: Request,
        c: fx.CompiledItems,
        principal: Principal | None,
        fmt: str,
        headers: dict[str, str],
    ) -> None:
        self.status_code, self.media_type, self.background = 200, MEDIA[fmt], None
        self.init_headers(headers)  # no body: no Content-Length, the body is sent in pieces
        self.connection = connection(request)  # entered when the body is sent, after the route's own has committed
        self.settings, self.budget = request.app.state.settings, request.state.budget
        self.c, self.principal, self.fmt = c, principal, fmt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch(stop: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            stop.cancel()  # the client has gone: stop the export (psycopg cancels the running query)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch, tasks.cancel_scope)
            try:
                await self._serve(scope, receive, send)
            finally:
                tasks.cancel_scope.cancel()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        stall = scope["app"].state.settings.send_stall_seconds

        async def emit(piece: bytes, more: bool = True) -> None:
            nonlocal started
            # a client that stops reading holds a connection: after `stall` seconds without progress it is let go
            with anyio.fail_after(stall):
                if not started:
                    await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
                    started = True
                await send({"type": "http.response.body", "body": piece, "more_body": more})

        try:
            async with self.connection as conn:
                c = await self._audited(conn)
                if self.fmt in FILES:
                    await self._file(conn, c, emit)
                else:
                    await self._stream(conn, c, emit)
        except (PetaError, psycopg.DataError, PoolTimeout, psycopg.OperationalError) as exc:
            if started:
                raise  # the status is sent: the client sees a cut-off body, never a complete-looking one
            await _answer_error(scope, receive, send, _problem(Request(scope, receive), exc))

    async def _audited(self, conn: AsyncConnection[Any]) -> fx.CompiledItems:
        """Households: freeze and audit the selected families (committed); the query then reads only those. Either:
        bounded to the kab/kota the bbox can reach (fx.routed)."""
        self.c = await fx.routed(conn, self.c)
        if not self.c.collection.personal:
            return self.c
        if self.principal is None:  # the route lets no anonymous caller export households
            raise AuthError("household exports need a bearer token or an agency key")
        async with conn.transaction():
            await limit_statements(conn, self.budget, self.settings)
            await export.freeze_and_audit(conn, self.c, self.principal)
        return export.restricted(self.c)

    async def _stream(
        self, conn: AsyncConnection[Any], c: fx.CompiledItems, emit: Callable[..., Awaitable[None]]
    ) -> None:
        chunks = export.geojson_chunks if self.fmt == "geojson" else export.csv_chunks
        async with conn.transaction():
            await limit_statements(conn, self.budget, self.settings)
            pieces = chunks(conn, c)
            try:
                ahead = [await anext(pieces)]  # the opening text
                with contextlib.suppress(StopAsyncIteration):
                    ahead.append(await anext(pieces))  # the first rows: the query has run
            except BaseException:
                await pieces.aclose()
                raise
            for piece in ahead:
                await emit(piece.encode())
            async for piece in pieces:
                await emit(piece.encode())
        await emit(b"", more=False)

    async def _file(
        self, conn: AsyncConnection[Any], c: fx.CompiledItems, emit: Callable[..., Awaitable[None]]
    ) -> None:
        folder = Path(tempfile.mkdtemp(prefix="peta-export-"))
        try:
            path = folder / f"{c.collection.id}.{self.fmt}"
            async with conn.transaction():
                await limit_statements(conn, self.budget, self.settings)
                await FILES[self.fmt](conn, c, path)
            with path.open("rb") as fh:
                while piece := await asyncio.to_thread(fh.read, FILE_CHUNK):
                    await emit(piece)
            await emit(b"", more=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


async def _answer_error(scope: Scope, receive: Receive, send: Send, problem: PetaError) -> None:
    """Answer with the app's own handler for the error (the one error map, api.errors)."""
    handlers = scope["app"].exception_handlers
    handler = next(handlers[c] for c in type(problem).__mro__ if c in handlers)
    answer = await handler(Request(scope, receive), problem)
    await answer(scope, receive, send)


def _problem(request: Request, exc: Exception) -> PetaError:
    """The error response for a failure before anything was sent."""
    if isinstance(exc, PetaError):
        return exc
    if isinstance(exc, psycopg.DataError):  # a value PostgreSQL cannot compute (a filter's arithmetic overflowing)
        return InputError(f"filter could not be evaluated: {exc.diag.message_primary}")
    return database_error(request, exc)  # a statement over its bound, a full pool or an outage
