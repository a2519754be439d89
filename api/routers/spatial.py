"""/api/v1/spatial: which areas hold a point; families in a bbox, a polygon, a radius or nearest to a point.

Area look-ups are public (boundaries only). Family queries return personal data, so they are for
admins, coordinators and verifiers, inside their area scope, and every read is audited.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response

from api.deps import ConnDep
from api.limits import BOUNDED, BudgetDep, CancelOnDisconnect
from api.params import parse_bbox
from api.policy import PUBLIC, allow
from core.errors import InputError
from core.principal import Principal, User
from core.scope import PERSONAL_DATA_ROLES
from gis import features as fx
from gis import queries
from gis.cql_bounds import too_many_vertices
from gis.households import audit_read

router = APIRouter(prefix="/spatial", tags=["spatial"])
GEOJSON = "application/geo+json"
Lon = Annotated[float, Query(ge=-180, le=180, description="Longitude (WGS 84)")]
Lat = Annotated[float, Query(ge=-90, le=90, description="Latitude (WGS 84)")]


def _point(lon: float, lat: float) -> Any:
    return fx.sql.SQL("ST_SetSRID(ST_MakePoint({}, {}), 4326)").format(fx.sql.Literal(lon), fx.sql.Literal(lat))


@router.get("/locate", dependencies=[allow(PUBLIC), *BOUNDED])
async def locate(
    conn: ConnDep,
    lon: Lon,
    lat: Lat,
    level: Annotated[Literal["kota", "kecamatan", "kelurahan", "rw", "rt"] | None, Query()] = None,
) -> dict[str, Any]:
    """The areas of every level (or one level) that contain the point, lowest code first where boundaries overlap."""
    return {"lon": lon, "lat": lat, "areas": await queries.locate(conn, lon, lat, level)}


async def _households(request: Request, conn: ConnDep, principal: Principal, q: fx.ItemsQuery) -> Response:
    coll = fx.COLLECTIONS["households"]
    page = await fx.items(conn, fx.compile_items(coll, principal, q))
    async with conn.transaction():
        await audit_read(conn, principal.actor, principal.role, "household", page.ids, page.kotas)
    head = fx.dumps({"type": "FeatureCollection", "numberMatched": page.matched, "numberReturned": page.returned})
    body = head[:-1] + ',"features":' + page.features + "}"
    return Response(body, media_type=GEOJSON, headers={"Cache-Control": "private, no-store"})


_DOC: dict[str, Any] = {"response_class": Response, "responses": {200: {"content": {GEOJSON: {}}}}}
Limit = Annotated[int, Query(ge=1, le=fx.MAX_LIMIT)]


@router.get("/households", dependencies=[CancelOnDisconnect], **_DOC)
async def households(
    request: Request,
    conn: ConnDep,
    principal: Annotated[User, allow(*PERSONAL_DATA_ROLES)],
    _budget: BudgetDep,
    bbox: Annotated[str | None, Query(description="west,south,east,north")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000, description="With lon/lat: within this distance")] = None,
    nearest: Annotated[int | None, Query(ge=1, le=1000, description="With lon/lat: the N nearest families")] = None,
    limit: Limit = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Families in a bbox, within a radius of a point, or the nearest N to a point (one of the three)."""
    modes = [bbox is not None, radius_m is not None, nearest is not None]
    if sum(modes) != 1:
        raise InputError("give exactly one of bbox, radius_m (with lon, lat) or nearest (with lon, lat)")
    if (radius_m is not None or nearest is not None) and (lon is None or lat is None):
        raise InputError("radius_m and nearest need lon and lat")
    q = fx.ItemsQuery(limit=limit, offset=offset)
    if bbox is not None:
        q.bbox = parse_bbox(bbox, q.bbox_crs)
    elif radius_m is not None:
        assert lon is not None and lat is not None
        dlat = radius_m / 110_574.0 * 1.01
        dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
        box = fx.sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
            *map(fx.sql.Literal, (lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        )
        q.extra = fx.sql.SQL("t.geom && {box} AND ST_DWithin(t.geom::geography, {pt}::geography, {r})").format(
            box=box, pt=_point(lon, lat), r=fx.sql.Literal(radius_m)
        )
    else:
        assert lon is not None and lat is not None and nearest is not None
        q.nearest = (lon, lat)
        q.limit, q.offset = nearest, 0
    return await _households(request, conn, principal, q)


@router.post("/households/within", dependencies=[CancelOnDisconnect], **_DOC)
async def households_within(
    request: Request,
    conn: ConnDep,
    principal: Annotated[User, allow(*PERSONAL_DATA_ROLES)],
    budget: BudgetDep,
    geometry: Annotated[dict[str, Any], Body(description="A GeoJSON Polygon or MultiPolygon (or a Feature of one)")],
    limit: Limit = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Families inside a polygon drawn on the map (e.g. to select the families of a street)."""
    geom = geometry.get("geometry") if geometry.get("type") == "Feature" else geometry
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise InputError("the body must be a GeoJSON Polygon or MultiPolygon, or a Feature of one")
    text = json.dumps(geom)
    import shapely

    try:
        shape = shapely.from_geojson(text)
    except Exception as exc:  # noqa: BLE001 - GEOS names what is wrong
        raise InputError(f"the polygon is not valid GeoJSON: {exc}") from exc
    vertices = int(shapely.get_num_coordinates(shape))
    if vertices > budget.max_vertices:
        raise too_many_vertices("the polygon has", vertices, budget.max_vertices, budget.tier, budget.vertices_setting)
    if not shape.is_valid:
        raise InputError(f"the polygon is not valid: {shapely.is_valid_reason(shape)}")
    w, s, e, n = shape.bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError("the polygon's coordinates are not longitude/latitude")
    poly = fx.sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), 4326)").format(fx.sql.Literal(text))
    q = fx.ItemsQuery(limit=limit, offset=offset)
    q.extra = fx.sql.SQL("ST_Intersects(t.geom, {})").format(poly)
    return await _households(request, conn, principal, q)
