"""/tiles: Mapbox vector tiles of every area level (with figures) and of households (authorised), and TileJSON."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api.caching import respond
from api.dataversion import newer, read_version
from api.deps import ConnDep
from api.policy import PUBLIC, allow
from api.security import OptionalPrincipalDep
from core.errors import AuthError, NotFound
from core.principal import Principal
from core.scope import household_view, sees_staff_figures
from gis import features as fx
from gis.figures import data_version
from gis.queries import extent
from gis.tiles import MAX_ZOOM, check_tile, min_zoom, tile

router = APIRouter(prefix="/tiles", tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
Z = Annotated[int, Path(ge=0, le=MAX_ZOOM)]
XY = Annotated[int, Path(ge=0, le=(1 << MAX_ZOOM) - 1)]


class TileCache:
    """Tiles that anyone may see (published figures), kept `seconds` (0: not kept), at most `size` of them.

    Keys start with the data version (gis.figures.data_version): a write to the areas or their figures
    drops every tile at once, so `seconds` only bounds how long an unchanged tile is kept.
    """

    def __init__(self, seconds: int = 60, size: int = 4096) -> None:
        self.seconds = seconds
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], tuple[float, bytes]] = OrderedDict()
        self.generation: str | None = None

    def observe(self, generation: str) -> None:
        """A request read `generation`: once it is newer, tiles of the older ones will never be asked for."""
        if newer(generation, self.generation):
            self.items.clear()
            self.generation = generation

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        hit = self.items.get(key)
        if hit is None or time.monotonic() - hit[0] > self.seconds:
            return None
        self.items.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[Any, ...], data: bytes) -> None:
        if self.seconds <= 0 or key[0] != self.generation:
            return
        self.items[key] = (time.monotonic(), data)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


def _layer(name: str) -> fx.Collection:
    coll = fx.COLLECTIONS.get(name)
    if coll is None or coll.personal:
        raise NotFound(f"no tile layer {name!r}; layers: {', '.join(fx.AREA_LEVELS)} and households")
    return coll


def _respond(request: Request, data: bytes, cache: str) -> Response:
    if not data:  # nothing in this tile
        return Response(status_code=204, headers={"Cache-Control": cache})
    return respond(request, data, MVT, cache)


async def _tile(
    request: Request, conn: ConnDep, principal: Principal | None, coll: fx.Collection, z: int, x: int, y: int
) -> Response:
    check_tile(z, x, y)
    if z < min_zoom(coll.id):  # nothing is drawn at this zoom: no query, and the reason in a header
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400",
                                                  "X-Tile-Minzoom": str(min_zoom(coll.id))})  # fmt: skip
    staff = sees_staff_figures(principal)
    if coll.personal:
        if principal is None:
            raise AuthError("household tiles need a bearer token or an agency key")
        household_view(principal)
        records = await tile(conn, coll, principal, z, x, y)  # audited with the read
        return _respond(request, records, "private, no-store")
    cache: TileCache = request.app.state.tile_cache
    if staff or cache.seconds <= 0:
        return _respond(request, await tile(conn, coll, principal, z, x, y), _tile_cache_control(principal))
    generation = await read_version(request, conn)
    cache.observe(generation)
    key = (generation, coll.id, z, x, y)
    data = cache.get(key)
    if data is None:
        data = await tile(conn, coll, principal, z, x, y)
        if await data_version(conn) == generation:  # read after the version and still that version's
            cache.put(key, data)
    return _respond(request, data, _tile_cache_control(principal))


def _tile_cache_control(principal: Principal | None) -> str:
    return "private, max-age=60" if principal else "public, max-age=60"


_TILE_DOC: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {MVT: {}}}, 204: {
        "description": "Empty: nothing of the layer in this tile, or the zoom is below the layer's minzoom (TileJSON);"
                       " then the X-Tile-Minzoom header gives it"}},
}


@router.get("/households/{z}/{x}/{y}.pbf", dependencies=[allow("admin", "coordinator", "verifier", "agency")],
            summary="Household tile", **_TILE_DOC)  # fmt: skip
async def household_tile(
    request: Request, conn: ConnDep, principal: OptionalPrincipalDep, z: Z, x: XY, y: XY
) -> Response:
    """Families as points: staff in their scope with their fields; agencies with an agreement geomasked, in their
    scope. Every tile holding families is audited, naming each of them."""
    return await _tile(request, conn, principal, fx.COLLECTIONS["households"], z, x, y)


@router.get("/{layer}/{z}/{x}/{y}.pbf", dependencies=[allow(PUBLIC)], summary="Area tile", **_TILE_DOC)
async def area_tile(
    request: Request, conn: ConnDep, principal: OptionalPrincipalDep, layer: str, z: Z, x: XY, y: XY
) -> Response:
    """Areas of one level with their figures (published ones unless the caller is Dinsos staff)."""
    return await _tile(request, conn, principal, _layer(layer), z, x, y)


@router.get("/{layer}.json", dependencies=[allow(PUBLIC)], summary="TileJSON")
async def tilejson(request: Request, conn: ConnDep, layer: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of a layer (households: the same document; the tiles themselves need a role)."""
    coll = fx.COLLECTIONS.get(layer)
    if coll is None:
        raise NotFound(f"no tile layer {layer!r}")
    box = await extent(conn)
    bounds = [round(v, 6) for v in box] if box else [-180.0, -85.0, 180.0, 85.0]
    base = str(request.base_url).rstrip("/")
    fields = {n: q.type for n, q in coll.queryables.items() if n != "geometry"}
    return {
        "tilejson": "3.0.0",
        "name": coll.title,
        "description": coll.description,
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{coll.id}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": min_zoom(coll.id),
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6),
                   max(12, min_zoom(coll.id))],
        "vector_layers": [{"id": coll.id, "fields": fields, "minzoom": min_zoom(coll.id), "maxzoom": MAX_ZOOM}],
    }
