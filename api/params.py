"""Query parameters, parsed once and checked before a database connection is taken.

The OGC items parameters are declared here once (ITEMS_PARAMETERS): the OGC OpenAPI document (/ogc/api),
the app's own (/openapi.json) and the parser all read this table. Parsing is in two small steps:

- `items_params`, a dependency listed first on every items route: the standard parameters (limit,
  offset, bbox, crs, filter, sortby, properties...) checked without the collection or the caller, so a
  malformed request is a 400 naming the parameter before a connection is taken or a key looked up;
- `items_query`, once the caller is known: the names a caller may filter, sort and select on (an
  agency's are fewer), the caller's filter budget, and the geomask of an agency's households.

Every check raises InputError (400, with an OGC exception body under /ogc).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from api.limits import Budget, budget_for
from core.crs import lonlat_bounds
from core.errors import InputError
from core.principal import Principal
from core.scope import household_view
from core.settings import Settings
from gis import features as fx
from gis.cql import parse as parse_cql
from gis.cql_bounds import FilterLimits, count_vertices, too_many_vertices


@dataclass(frozen=True)
class Parameter:
    """One query parameter as OpenAPI describes it."""

    name: str
    schema: dict[str, Any]
    description: str = ""

    def openapi(self) -> dict[str, Any]:
        return {"name": self.name, "in": "query", "required": False, "schema": self.schema,
                "description": self.description, "style": "form", "explode": False}  # fmt: skip


_CRS = {"type": "string", "format": "uri", "enum": list(fx.SUPPORTED_CRS)}
ITEMS_PARAMETERS = (
    Parameter("limit", {"type": "integer", "minimum": 1, "maximum": fx.MAX_LIMIT, "default": fx.DEFAULT_LIMIT},
              "Page size; a larger value is clamped to the maximum"),  # fmt: skip
    Parameter("offset", {"type": "integer", "minimum": 0, "default": 0}),
    Parameter("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
              "west,south,east,north (or in bbox-crs)"),  # fmt: skip
    Parameter("bbox-crs", _CRS),
    Parameter("crs", _CRS,
              "Output CRS URI: CRS84 (default), EPSG:4326, or a UTM zone of Indonesia (EPSG:32646-32654, 32746-32754)"),
    Parameter("filter", {"type": "string"}, "CQL2 filter over the queryables"),
    # 'cql-text' is the pre-release name some clients (GDAL 3.6) still send for the text encoding
    Parameter("filter-lang",
              {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"], "default": "cql2-text"}),  # fmt: skip
    Parameter("filter-crs", _CRS),
    Parameter("sortby", {"type": "string"}, "e.g. -poverty_rate_pct,+code"),
    Parameter("properties", {"type": "string"}, "Comma-separated properties"),
    Parameter("f", {"type": "string", "enum": ["json", "html", "csv"]}),
)
# the standard names; `datetime` is known (and refused: no temporal extent) without being offered
STANDARD = {p.name for p in ITEMS_PARAMETERS} | {"datetime"}


def items_openapi(coll: fx.Collection | None = None, *, ogc: bool = False) -> list[dict[str, Any]]:
    """The items parameters of one collection for OpenAPI, queryables included (what GDAL and QGIS read).

    The OGC document gives `limit` its maximum, as the standard's own template does (a larger value is
    clamped, not refused); the app's document leaves the maximum to the description, so that a client
    generated from it (or a fuzzer) does not take a clamped value for a refused one.
    """
    types = {"integer": {"type": "integer"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
             "date": {"type": "string", "format": "date"}, "string": {"type": "string"}}  # fmt: skip
    params = [p.openapi() for p in ITEMS_PARAMETERS]
    if not ogc:
        limit = params[0]
        limit["schema"] = {k: v for k, v in limit["schema"].items() if k != "maximum"}
        limit["description"] = f"Page size; above {fx.MAX_LIMIT:,} it is clamped to {fx.MAX_LIMIT:,}"
    if coll is not None and not coll.personal:
        params += [Parameter(n, types[q.type], q.description).openapi()
                   for n, q in coll.queryables.items() if n != "geometry"]  # fmt: skip
    return params


# --- the small validators --------------------------------------------------------------------------


def parse_int(params: Any, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"{name}: {raw!r} is not an integer") from exc
    if value < minimum or value > 10**9:
        raise InputError(f"{name}: {value} is out of range (at least {minimum})")
    return value


def parse_bbox(raw: str, crs: fx.Crs) -> tuple[float, ...]:
    """Four numbers (six: the heights are dropped) in `crs`, inside its area of use, minimum below maximum."""
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError as exc:
        raise InputError(f"bbox: {raw!r} is not 4 comma-separated numbers") from exc
    if len(values) == 6:  # 3D: drop the heights
        values = (values[0], values[1], values[3], values[4])
    if len(values) != 4 or any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise InputError(f"bbox: {raw!r} is not 4 comma-separated numbers")
    x1, y1, x2, y2 = values
    if crs.srid == 4326:
        lon1, lat1, lon2, lat2 = (y1, x1, y2, x2) if crs.flip else (x1, y1, x2, y2)
        if not (-90 <= lat1 <= 90 and -90 <= lat2 <= 90 and -180 <= lon1 <= 180 and -180 <= lon2 <= 180):
            raise InputError(f"bbox: {raw!r} is outside the valid longitude/latitude range")
        if lat1 > lat2:
            raise InputError(f"bbox: the southern edge {lat1} is north of the northern edge {lat2}")
    elif y1 > y2 or x1 > x2:
        raise InputError(f"bbox: {raw!r} has its minimum above its maximum")
    else:  # a projected box: checked here, so that PostgreSQL's ST_Transform cannot fail on it later
        try:
            lonlat_bounds(values, crs.srid)
        except ValueError as exc:
            raise InputError(f"bbox: {raw!r} {exc}") from exc
    return values


def filter_limits(settings: Settings) -> FilterLimits:
    """The configured bounds of a CQL2 filter."""
    return FilterLimits(settings.filter_max_chars, settings.filter_max_depth, settings.filter_max_nodes)


def bound_vertices(tree: dict[str, Any], budget: Budget) -> None:
    """InputError when a filter's geometry literals have more vertices than the caller may send."""
    count = count_vertices(tree)
    if count > budget.max_vertices:
        raise too_many_vertices("filter: the geometries have", count, budget.max_vertices, budget.tier,
                                budget.vertices_setting)  # fmt: skip


# --- the two steps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsParams:
    """The standard items parameters, checked without the collection or the caller."""

    limit: int = fx.DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, ...] | None = None
    bbox_crs: fx.Crs = field(default_factory=lambda: fx.parse_crs(None))
    crs: fx.Crs = field(default_factory=lambda: fx.parse_crs(None))
    cql: dict[str, Any] | None = None
    filter_crs: fx.Crs = field(default_factory=lambda: fx.parse_crs(None))
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, descending), names checked with the caller
    properties: tuple[str, ...] | None = None
    others: dict[str, str] = field(default_factory=dict)  # every other name: a queryable, or a mistake


def items_params(request: Request) -> ItemsParams:
    """The items parameters of this request (a dependency: listed first, it runs before any connection)."""
    params = request.query_params
    for name in params:
        if len(params.getlist(name)) > 1:
            raise InputError(f"{name}: given more than once")
    limit = min(parse_int(params, "limit", fx.DEFAULT_LIMIT, 1), fx.MAX_LIMIT)
    offset = parse_int(params, "offset", 0, 0)
    crs = fx.parse_crs(params.get("crs"), "crs")
    bbox_crs = fx.parse_crs(params.get("bbox-crs"), "bbox-crs")
    if "bbox-crs" in params and "bbox" not in params:
        raise InputError("bbox-crs is given without bbox")
    bbox = parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None
    if "datetime" in params:
        raise InputError("datetime: these collections have no temporal extent")
    lang = params.get("filter-lang", "cql2-text")
    if lang == "cql-text":  # the pre-release name of the text encoding
        lang = "cql2-text"
    filter_crs = fx.parse_crs(params.get("filter-crs"), "filter-crs")
    cql = None
    if "filter" in params:
        cql = parse_cql(params["filter"], lang, filter_limits(request.app.state.settings))
    elif "filter-lang" in params and lang not in ("cql2-text", "cql2-json"):
        raise InputError(f"filter-lang must be cql2-text or cql2-json, not {lang!r}")
    parts = [p.strip() for p in params["sortby"].split(",")] if "sortby" in params else []
    sortby = tuple((p.lstrip("+-").strip(), p.startswith("-")) for p in parts)
    properties = None
    if "properties" in params:
        properties = tuple(p.strip() for p in params["properties"].split(",") if p.strip())
    others = {n: v for n, v in params.items() if n not in STANDARD}
    return ItemsParams(limit, offset, bbox, bbox_crs, crs, cql, filter_crs, sortby, properties, others)


ItemsParamsDep = Annotated[ItemsParams, Depends(items_params)]
ITEMS_FIRST = Depends(items_params)  # first in a route's `dependencies`: its 400s come before any connection


def items_query(p: ItemsParams, coll: fx.Collection, principal: Principal | None, settings: Settings) -> fx.ItemsQuery:
    """The request for this collection and caller: the names it may use, its filter budget, its geomask."""
    queryables = fx.queryables_for(coll, principal)
    for name in p.others:
        if name not in queryables:
            raise InputError(f"unknown parameter {name!r}: use the standard ones or a queryable "
                             f"({', '.join(n for n in queryables if n != 'geometry')})")  # fmt: skip
    if "geometry" in p.others:
        raise InputError("geometry: filter on the geometry with bbox or a CQL2 spatial function")
    if p.cql is not None:
        bound_vertices(p.cql, budget_for(principal, settings))
    for name, _ in p.sortby:
        if name not in queryables or queryables[name].type in ("geometry", "array"):
            raise InputError(f"sortby: {name!r} is not a sortable property")
    if p.properties is not None:
        _, available = fx.source(coll, principal)
        unknown = [n for n in p.properties if n not in available]
        if unknown:
            raise InputError(f"properties: unknown {', '.join(unknown)}; available: {', '.join(available)}")
    return fx.ItemsQuery(
        limit=p.limit, offset=p.offset, bbox=p.bbox, bbox_crs=p.bbox_crs, crs=p.crs, equals=dict(p.others),
        cql=p.cql, filter_crs=p.filter_crs, sortby=list(p.sortby),
        properties=None if p.properties is None else list(p.properties),
        masked=coll.personal and household_view(principal) == "agency",
    )  # fmt: skip
