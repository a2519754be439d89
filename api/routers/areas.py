"""/api/v1/areas: administrative areas of one level as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.caching import cached
from api.deps import ConnDep
from api.policy import PUBLIC, allow
from gis.queries import areas_geojson

router = APIRouter(tags=["areas"])

Level = Literal["kota", "kecamatan", "kelurahan", "rw", "rt"]
MAX_LIMIT = 10_000


@router.get(
    "/areas",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
    dependencies=[allow(PUBLIC)],  # boundaries and population only: no personal data
)
async def list_areas(
    request: Request,
    conn: ConnDep,
    level: Annotated[Level, Query(description="Administrative level.")],
    parent: Annotated[
        str | None,
        Query(pattern=r"^\d{2}(\.\d{2}){1,2}(\.\d{4})?(\.\d{3})?$", description="Only areas under this code."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 5000,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    simplify: Annotated[float, Query(ge=0, le=500, description="Simplification tolerance in metres.")] = 0.0,
) -> Response:
    """Areas of one level as an RFC 7946 FeatureCollection with code, name, population and area."""

    async def build() -> bytes:
        body = await areas_geojson(conn, level, parent=parent, limit=limit, offset=offset, simplify_m=simplify)
        return body.encode()

    # the same for every caller (the portal's maps load their layers here): from the data-version cache
    return await cached(request, conn, build, audience="all", media_type="application/geo+json",
                        cache_control="public, max-age=60", query=(level, parent, limit, offset, simplify))  # fmt: skip
