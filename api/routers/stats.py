"""/api/v1/stats/{level} and /api/v1/areas/{code}: per-area figures as JSON, CSV or GeoJSON."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api import render
from api.caching import cached
from api.deps import ConnDep
from api.limits import bound_here
from api.policy import PUBLIC, allow
from api.security import OptionalPrincipalDep
from core.errors import InputError, NotFound
from core.levels import child_level, level_of_code
from core.principal import Principal
from core.scope import sees_staff_figures
from gis import figures

router = APIRouter(tags=["stats"])
CODE = r"^\d{2}(\.\d{2}){1,2}(\.\d{4})?(\.\d{3}){0,2}$"
PROGRAM = r"^[A-Z0-9]+(-[A-Z0-9]+)*$"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def _staff(principal: Principal | None) -> bool:
    return sees_staff_figures(principal)


def _audience(staff: bool) -> str:
    # what a body may depend on besides the data and the request: published figures are the same for every
    # caller outside Dinsos, the exact ones the same for all its staff (no area scope applies to figures)
    return "staff" if staff else "published"


def _cache(principal: Principal | None) -> str:
    return "public, max-age=60" if principal is None else "private, max-age=60"


@router.get(
    "/stats/{level}",
    dependencies=[allow(PUBLIC)],
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}, "application/geo+json": {}}}},
)
async def stats(
    request: Request,
    conn: ConnDep,
    principal: OptionalPrincipalDep,
    level: Literal["nasional", "provinsi", "kota", "kecamatan", "kelurahan", "rw", "rt"],
    parent: Annotated[str | None, Query(pattern=CODE, description="Only areas under this code")] = None,
    desil_min: Annotated[int | None, Query(ge=1, le=10, description="Families in local desil >= this")] = None,
    desil_max: Annotated[int | None, Query(ge=1, le=10, description="Families in local desil <= this")] = None,
    category: Annotated[Literal["fakir_miskin", "miskin", "rentan"] | None, Query()] = None,
    program: Annotated[
        str | None,
        Query(
            pattern=PROGRAM,
            max_length=40,
            description="Recipients of this programme: PKH, BPNT, PBI-JK, BPJS-TK or a local programme of the"
            " configuration (programs.local)",
        ),
    ] = None,
    f: Annotated[Literal["json", "csv", "geojson"], Query(description="Output format")] = "json",
) -> Response:
    """Figures of every area of a level; with household filters, the figures of the families that pass them.
    Provinces (`provinsi`, by province code) and the nation (`nasional`) are the sums of their kab/kota.

    Counts of 1-4 families (and the cells that would reveal them) are suppressed unless the caller is
    Dinsos staff (admin, coordinator).
    """
    if desil_min is not None and desil_max is not None and desil_min > desil_max:
        raise InputError(f"desil_min ({desil_min}) is above desil_max ({desil_max})")
    hf = figures.HouseholdFilter(desil_min, desil_max, category, program)
    staff = _staff(principal)
    above = level in figures.ROLLUPS  # provinces and the nation: the sums of their kab/kota
    if above and (hf.active or parent is not None):
        raise InputError(f"the {level} figures are sums of whole kab/kota: no parent or household filters")
    if above and f == "geojson":
        raise InputError(f"no {level} boundaries are stored: ask for json or csv")

    async def build() -> bytes:
        await bound_here(request, conn, principal)  # the caller's time bound for the figures' queries
        if program is not None and program not in (known := await figures.programs(conn)):
            raise InputError(f"unknown programme {program!r}: one of {', '.join(known)} expected")
        if above:
            rows = await figures.rollup(conn, level, staff)
        elif hf.active:
            rows = await figures.filtered(conn, level, parent, staff, hf)
        else:
            rows = await figures.stored(conn, level, parent, staff)
        if f == "csv":
            return render.records_csv(rows).encode()
        if f == "geojson":
            return _geojson(rows, await figures.geometries(conn, level, parent)).encode()
        doc = {"level": level, "parent": parent, "filters": hf.as_dict(), "suppressed": not staff, "areas": rows}
        return dumps(doc).encode()

    media = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json", "json": "application/json"}[f]
    extra = {"Content-Disposition": f'attachment; filename="stats-{level}.csv"'} if f == "csv" else None
    return await cached(request, conn, build, audience=_audience(staff), media_type=media,
                        cache_control=_cache(principal), headers=extra,
                        query=(parent, desil_min, desil_max, category, program, f))  # fmt: skip


def _geojson(rows: list[dict[str, Any]], geoms: dict[str, str]) -> str:
    feats = ",".join(
        '{"type":"Feature","id":'
        + dumps(r["code"])
        + ',"geometry":'
        + (geoms.get(r["code"]) or "null")
        + ',"properties":'
        + dumps(r)
        + "}"
        for r in rows
    )
    return '{"type":"FeatureCollection","features":[' + feats + "]}"


@router.get("/areas/{code}", dependencies=[allow(PUBLIC)], response_class=Response,
            responses={200: {"content": {"application/json": {}}}})  # fmt: skip
async def area(
    request: Request, conn: ConnDep, principal: OptionalPrincipalDep, code: Annotated[str, Path(pattern=CODE)]
) -> Response:
    """One area with its figures and its children's (published figures unless the caller is Dinsos staff)."""
    level = level_of_code(code)
    if level is None:
        raise InputError(f"{code!r} is not an area code")
    staff = _staff(principal)
    parent = code.rsplit(".", 1)[0] if level != "kota" else None

    async def build() -> bytes:
        own = [r for r in await figures.stored(conn, level, parent, staff) if r["code"] == code]
        if not own:
            raise NotFound(f"no area {code}")
        kids_level = child_level(level)
        kids = await figures.stored(conn, kids_level, code, staff) if kids_level else []
        doc = {"area": own[0], "children_level": kids_level, "children": kids, "suppressed": not staff}
        return dumps(doc).encode()

    return await cached(request, conn, build, audience=_audience(staff), media_type="application/json",
                        cache_control=_cache(principal), query=())  # fmt: skip
