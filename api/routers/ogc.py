"""OGC API – Features (Parts 1, 2 and 3) under /ogc: areas with their figures, households for authorised roles.

Responses are built as text from the GeoJSON PostgreSQL writes (gis.features); parameters are parsed
once (api.params), before a connection is taken, so that every bad one is a 400 with an OGC exception body
naming it, and a `limit` over the maximum is clamped, as the standard says.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request, Response

from api import render
from api.caching import cached, respond
from api.deps import ConnDep
from api.limits import BOUNDED, ExpensiveShare
from api.params import ITEMS_FIRST, ItemsParams, ItemsParamsDep, items_openapi, items_query
from api.policy import PUBLIC, allow
from api.security import OptionalPrincipalDep
from core.errors import AuthError, Forbidden, InputError, NotFound
from core.principal import Principal
from core.scope import household_view, sees_staff_figures
from gis import features as fx
from gis.households import audit_read
from gis.queries import extent, place_name

router = APIRouter(prefix="/ogc", tags=["ogc"])

GEOJSON = "application/geo+json"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"  # /ogc/api: the version the oas30 class names
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
]
KEY_HEADER = {"X-API-Key": {"description": "Agency API key", "required": False}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _fmt(request: Request, allowed: tuple[str, ...] = ("json", "html")) -> str:
    f = request.query_params.get("f")
    if f is None:
        accept = request.headers.get("accept", "")
        return "html" if "text/html" in accept and "html" in allowed else allowed[0]
    if f not in allowed:
        raise InputError(f"f: {f!r} is not one of {', '.join(allowed)}")
    return f


def _json(request: Request, body: Any, media_type: str = "application/json", cache: str = "public, max-age=60",
          extra: dict[str, str] | None = None) -> Response:  # fmt: skip
    text = body if isinstance(body, str) else fx.dumps(body)
    return respond(request, text.encode(), media_type, cache, extra)


def _link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _collection(name: str) -> fx.Collection:
    coll = fx.COLLECTIONS.get(name)
    if coll is None:
        raise NotFound(f"no collection {name!r}; collections: {', '.join(fx.COLLECTIONS)}")
    return coll


def _visible(coll: fx.Collection, principal: Principal | None) -> bool:
    if not coll.personal:
        return True
    try:
        household_view(principal)
    except Forbidden:  # simply not listed
        return False
    return True


def _require(coll: fx.Collection, principal: Principal | None) -> None:
    if coll.personal:
        if principal is None:
            raise AuthError("household records need a bearer token or an agency key")
        household_view(principal)


# --- landing, conformance, collections ----------------------------------------------------------


_JSON_HTML: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {"application/json": {}, "text/html": {}}}},
}
_SCHEMA_JSON: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {"application/schema+json": {}}}},
}


@router.get("", dependencies=[allow(PUBLIC)], summary="Landing page", **_JSON_HTML)
async def landing(request: Request, conn: ConnDep) -> Response:
    """Links to the API description, the conformance declaration and the collections."""
    base = _base(request)
    links = [
        _link(f"{base}/ogc", "self", "application/json", "This document"),
        _link(f"{base}/ogc?f=html", "alternate", "text/html", "This document as HTML"),
        _link(f"{base}/ogc/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"),
        _link(f"{base}/docs", "service-doc", "text/html", "API documentation"),
        _link(f"{base}/ogc/conformance", "conformance", "application/json", "Conformance classes"),
        _link(f"{base}/ogc/collections", "data", "application/json", "Collections"),
    ]
    place = await place_name(conn) or "no kab/kota loaded yet"
    body = {"title": f"Peta Verval – {place}", "description": "Poverty figures per area and households "
            f"(authorised roles) of {place}, as OGC API – Features.", "links": links}  # fmt: skip
    if _fmt(request) == "html":
        return _json(request, render.page(body["title"], render.links(links)), "text/html")  # type: ignore[arg-type]
    return _json(request, body)


@router.get("/api", dependencies=[allow(PUBLIC)], summary="OpenAPI document of the OGC API", response_class=Response,
            responses={200: {"content": {OAS30: {}}}})  # fmt: skip
async def service_desc(request: Request) -> Response:
    """This OGC API's own OpenAPI 3.0 document, rooted at /ogc, with every collection's items path.

    It is the app's (3.1) document cut to /ogc: its operations use only what OpenAPI 3.0 and 3.1 share
    (tests/api/test_docs.py validates it as 3.0), so it is served as 3.0.3, the version Part 1's oas30
    conformance class names; the app's schemas that /ogc does not use are left out.
    """
    doc = request.app.openapi()
    paths = {p[len("/ogc") :] or "/": v for p, v in doc["paths"].items() if p.startswith("/ogc")}
    generic = paths.get("/collections/{collectionId}/items", {}).get("get", {})
    for coll in fx.COLLECTIONS.values():
        own = paths.get(f"/collections/{coll.id}/items", {}).get("get", generic)  # households: its own rule
        op = dict(own, operationId=f"items_{coll.id}", summary=f"{coll.title} features",
                  parameters=_with_examples(own, items_openapi(coll, ogc=True)))  # fmt: skip
        paths[f"/collections/{coll.id}/items"] = {"get": op}
    if "/collections/{collectionId}/items" in paths:
        paths["/collections/{collectionId}/items"]["get"]["parameters"] = [
            {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}},
            *_with_examples(generic, items_openapi(ogc=True)),
        ]
    components = {**doc.get("components", {}), "schemas": _schemas_used(paths, doc.get("components", {}))}
    body = {**doc, "openapi": "3.0.3", "servers": [{"url": f"{_base(request)}/ogc"}], "paths": paths,
            "components": components}  # fmt: skip
    body.pop("webhooks", None)
    return _json(request, body, OAS30)


def _with_examples(source: dict[str, Any], params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`params` with the examples the app's document gives the parameters of the same names in `source`."""
    examples = {p["name"]: p["examples"] for p in source.get("parameters", []) if "examples" in p}
    return [{**p, "examples": examples[p["name"]]} if p["name"] in examples else p for p in params]


def _schemas_used(paths: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The component schemas that `paths` refer to, directly or through one another."""
    schemas, used = components.get("schemas", {}), {}
    todo: list[Any] = [paths]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            name = str(node.get("$ref", "")).removeprefix("#/components/schemas/")
            if name in schemas and name not in used:
                used[name] = schemas[name]
                todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return used


@router.get("/conformance", dependencies=[allow(PUBLIC)], summary="Conformance classes", **_JSON_HTML)
async def conformance(request: Request) -> Response:
    """The conformance classes this server implements."""
    if _fmt(request) == "html":
        return _json(request, render.page("Conformance", render.bullets(CONFORMANCE)), "text/html")
    return _json(request, {"conformsTo": CONFORMANCE})


def _collection_doc(base: str, coll: fx.Collection, box: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """A collection's description; its extent is the loaded areas' (none before any are loaded)."""
    url = f"{base}/ogc/collections/{coll.id}"
    extent = {"extent": {"spatial": {"bbox": [[round(v, 6) for v in box]], "crs": fx.CRS84}}} if box else {}
    return {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": list(fx.SUPPORTED_CRS),
        "storageCrs": fx.CRS84,
        **extent,
        "links": [
            _link(url, "self", "application/json", coll.title),
            _link(f"{url}?f=html", "alternate", "text/html", coll.title),
            _link(f"{url}/items", "items", GEOJSON, f"{coll.title} features"),
            _link(f"{url}/items?f=html", "items", "text/html", f"{coll.title} features as HTML"),
            _link(f"{url}/items?f=csv", "items", "text/csv", f"{coll.title} features as CSV"),
            _link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryables",
            ),  # fmt: skip
            _link(f"{url}/schema", "describedby", "application/schema+json", "Schema of the features"),
        ],
    }


@router.get("/collections", dependencies=[allow(PUBLIC)], summary="Collections", **_JSON_HTML)
async def collections(request: Request, conn: ConnDep, principal: OptionalPrincipalDep) -> Response:
    """The collections this caller may read (households only for authorised roles)."""
    base = _base(request)
    box = await extent(conn)
    docs = [_collection_doc(base, c, box) for c in fx.COLLECTIONS.values() if _visible(c, principal)]
    body = {
        "links": [
            _link(f"{base}/ogc/collections", "self", "application/json"),
            _link(f"{base}/ogc/collections?f=html", "alternate", "text/html"),
        ],  # fmt: skip
        "collections": docs,
    }
    if _fmt(request) == "html":
        lis = "".join(
            f'<li><a href="{html.escape(d["links"][0]["href"])}?f=html">{html.escape(d["title"])}</a>: '
            f"{html.escape(d['description'])}</li>"
            for d in docs
        )
        return _json(request, render.page("Collections", f"<ul>{lis}</ul>"), "text/html")
    return _json(request, body, cache=_cache(principal))


def _cache(principal: Principal | None, personal: bool = False) -> str:
    if personal:
        return "private, no-store"
    return "public, max-age=60" if principal is None else "private, max-age=60"


@router.get("/collections/{collectionId}", dependencies=[allow(PUBLIC)], summary="A collection", **_JSON_HTML)
async def collection(
    request: Request,
    conn: ConnDep,
    principal: OptionalPrincipalDep,
    collection_id: Annotated[str, Path(alias="collectionId")],
) -> Response:
    """One collection's description and links."""
    coll = _collection(collection_id)
    _require(coll, principal)
    doc = _collection_doc(_base(request), coll, await extent(conn))
    if _fmt(request) == "html":
        return _json(request, render.page(coll.title, f"<p>{html.escape(coll.description)}</p>"
                                          + render.links(doc["links"])), "text/html")  # fmt: skip
    return _json(request, doc, cache=_cache(principal, coll.personal))


def _schema_response(
    request: Request, principal: Principal | None, collection_id: str, id_suffix: str | None
) -> Response:
    """A collection's JSON Schema (queryables and feature schema share it); `id_suffix` sets its own $id."""
    coll = _collection(collection_id)
    _require(coll, principal)
    doc = fx.schema(coll, principal, base=_base(request))
    if id_suffix:
        doc["$id"] = f"{_base(request)}/ogc/collections/{coll.id}/{id_suffix}"
    return _json(request, doc, "application/schema+json", cache=_cache(principal, coll.personal))


@router.get("/collections/{collectionId}/queryables", dependencies=[allow(PUBLIC)], summary="Queryables",
            **_SCHEMA_JSON)  # fmt: skip
async def queryables(
    request: Request, principal: OptionalPrincipalDep, collection_id: Annotated[str, Path(alias="collectionId")]
) -> Response:
    """The properties a filter may use, as JSON Schema."""
    return _schema_response(request, principal, collection_id, None)


@router.get("/collections/{collectionId}/schema", dependencies=[allow(PUBLIC)], summary="Feature schema",
            **_SCHEMA_JSON)  # fmt: skip
async def feature_schema(
    request: Request, principal: OptionalPrincipalDep, collection_id: Annotated[str, Path(alias="collectionId")]
) -> Response:
    """JSON Schema of the features' properties (the `describedby` link)."""
    return _schema_response(request, principal, collection_id, "schema")


# --- items ----------------------------------------------------------------------------------------


def _page_links(request: Request, coll: fx.Collection, q: fx.ItemsQuery, page: fx.Page) -> list[dict[str, str]]:
    base = f"{_base(request)}/ogc/collections/{coll.id}/items"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "f")]

    def url(offset: int | None = None, f: str | None = None) -> str:
        params = list(kept)
        if offset is not None and offset > 0:
            params.append(("offset", str(offset)))
        if f:
            params.append(("f", f))
        return base + ("?" + urlencode(params) if params else "")

    links = [
        _link(url(q.offset, None), "self", GEOJSON, "This page"),
        _link(url(q.offset, "html"), "alternate", "text/html", "This page as HTML"),
        _link(url(q.offset, "csv"), "alternate", "text/csv", "This page as CSV"),
        _link(f"{_base(request)}/ogc/collections/{coll.id}", "collection", "application/json", coll.title),
    ]
    if q.offset + page.returned < page.matched:
        links.append(_link(url(q.offset + q.limit), "next", GEOJSON, "Next page"))
    if q.offset > 0:
        links.append(_link(url(max(q.offset - q.limit, 0)), "prev", GEOJSON, "Previous page"))
    return links


async def _audit(conn: ConnDep, coll: fx.Collection, principal: Principal | None, page: fx.Page) -> None:
    if coll.personal:
        if principal is None:  # _require lets no anonymous caller read households
            raise AuthError("household records need a bearer token or an agency key")
        async with conn.transaction():
            await audit_read(conn, principal.actor, principal.role, "household", page.ids, page.kotas)


def _crs_header(q: fx.ItemsQuery) -> dict[str, str]:
    return {"Content-Crs": f"<{q.crs.uri}>"}


async def _items(
    request: Request, conn: ConnDep, principal: Principal | None, coll: fx.Collection, params: ItemsParams
) -> Response:
    q = items_query(params, coll, principal, request.app.state.settings)
    c = fx.compile_items(coll, principal, q)  # a bad filter is a 400 here, before anything runs
    fmt = _fmt(request, ("json", "html", "csv"))
    cache = _cache(principal, coll.personal)
    media, extra = _items_media(coll, q, fmt)
    if coll.personal:
        page = await fx.items(conn, c)
        await _audit(conn, coll, principal, page)
        return respond(request, _items_body(request, coll, q, fmt, page), media, cache, extra)

    async def build() -> bytes:
        return _items_body(request, coll, q, fmt, await fx.items(conn, c))

    # areas: the same for every caller of one audience; keyed by the whole query (its order is kept in the
    # links), the format (f or Accept) and the Host (the links)
    audience = "staff" if sees_staff_figures(principal) else "published"
    return await cached(request, conn, build, audience=audience, media_type=media, cache_control=cache,
                        headers=extra, vary_host=True, key_extra=(fmt,))  # fmt: skip


def _items_media(coll: fx.Collection, q: fx.ItemsQuery, fmt: str) -> tuple[str, dict[str, str]]:
    if fmt == "csv":
        return "text/csv; charset=utf-8", {"Content-Disposition": f'attachment; filename="{coll.id}.csv"'}
    if fmt == "html":
        return "text/html; charset=utf-8", {}
    return GEOJSON, _crs_header(q)


def _items_body(request: Request, coll: fx.Collection, q: fx.ItemsQuery, fmt: str, page: fx.Page) -> bytes:
    if fmt == "csv":
        return render.features_csv(page.features).encode()
    links = _page_links(request, coll, q, page)
    if fmt == "html":
        info = f"<p>{page.returned} of {page.matched} features</p>"
        return render.page(coll.title, info + render.links(links) + render.features_table(page.features)).encode()
    when = (page.stamp or datetime.now(UTC)).astimezone(UTC)
    stamp = when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    head = fx.dumps({"type": "FeatureCollection", "numberMatched": page.matched, "numberReturned": page.returned,
                     "timeStamp": stamp, "links": links})  # fmt: skip
    return (head[:-1] + ',"features":' + page.features + "}").encode()


async def _item(
    request: Request, conn: ConnDep, principal: Principal | None, coll: fx.Collection, feature_id: str
) -> Response:
    params = request.query_params
    for name in params:
        if name not in ("f", "crs", "properties"):
            raise InputError(f"unknown parameter {name!r} for a single feature (f, crs, properties)")
    q = fx.ItemsQuery(limit=1, fid=feature_id, crs=fx.parse_crs(params.get("crs"), "crs"))
    fmt = _fmt(request, ("json", "html"))
    page = await fx.items(conn, fx.compile_items(coll, principal, q))
    if page.returned == 0:
        raise NotFound(f"no feature {feature_id!r} in {coll.id}")
    await _audit(conn, coll, principal, page)
    feature = json.loads(page.features)[0]
    base = f"{_base(request)}/ogc/collections/{coll.id}"
    feature["links"] = [
        _link(f"{base}/items/{feature_id}", "self", GEOJSON),
        _link(f"{base}/items/{feature_id}?f=html", "alternate", "text/html"),
        _link(base, "collection", "application/json", coll.title),
    ]
    cache = _cache(principal, coll.personal)
    if fmt == "html":
        document = render.page(f"{coll.title} {feature_id}", render.fields(feature["properties"]))
        return respond(request, document.encode(), "text/html; charset=utf-8", cache)
    return respond(request, fx.dumps(feature).encode(), GEOJSON, cache, _crs_header(q))


_ITEMS_DOC: dict[str, Any] = {
    "responses": {
        200: {"content": {GEOJSON: {}, "text/html": {}, "text/csv": {}}},
        400: {"description": "A bad parameter (OGC exception body)"},
    },  # fmt: skip
    "response_class": Response,
}


# households first: the same paths as the generic routes, with their own access rule
@router.get("/collections/households/items",
            dependencies=[ITEMS_FIRST, ExpensiveShare, allow("admin", "coordinator", "verifier", "agency"), *BOUNDED],
            summary="Household features", openapi_extra={"parameters": items_openapi()}, **_ITEMS_DOC)  # fmt: skip
async def household_items(
    request: Request, params: ItemsParamsDep, conn: ConnDep, principal: OptionalPrincipalDep
) -> Response:
    """Families as points; fields and area by role, every read audited."""
    coll = fx.COLLECTIONS["households"]
    _require(coll, principal)
    return await _items(request, conn, principal, coll, params)


@router.get("/collections/households/items/{featureId}",
            dependencies=[allow("admin", "coordinator", "verifier", "agency"), *BOUNDED], summary="One household",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})  # fmt: skip
async def household_item(
    request: Request, conn: ConnDep, principal: OptionalPrincipalDep,
    feature_id: Annotated[str, Path(alias="featureId", max_length=64)],
) -> Response:  # fmt: skip
    """One family (out of scope: 404)."""
    coll = fx.COLLECTIONS["households"]
    _require(coll, principal)
    return await _item(request, conn, principal, coll, feature_id)


@router.get("/collections/{collectionId}/items", dependencies=[ITEMS_FIRST, allow(PUBLIC), ExpensiveShare, *BOUNDED],
            summary="Features", openapi_extra={"parameters": items_openapi()}, **_ITEMS_DOC)  # fmt: skip
async def area_items(
    request: Request,
    params: ItemsParamsDep,
    conn: ConnDep,
    principal: OptionalPrincipalDep,
    collection_id: Annotated[str, Path(alias="collectionId")],
) -> Response:
    """Features of an area collection with their figures; filters, sorting, paging and CRS per the standard."""
    coll = _collection(collection_id)
    _require(coll, principal)
    return await _items(request, conn, principal, coll, params)


@router.get("/collections/{collectionId}/items/{featureId}", dependencies=[allow(PUBLIC), *BOUNDED],
            summary="One feature", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})  # fmt: skip
async def area_item(
    request: Request, conn: ConnDep, principal: OptionalPrincipalDep,
    collection_id: Annotated[str, Path(alias="collectionId")],
    feature_id: Annotated[str, Path(alias="featureId", max_length=64)],
) -> Response:  # fmt: skip
    """One area with its figures."""
    coll = _collection(collection_id)
    _require(coll, principal)
    return await _item(request, conn, principal, coll, feature_id)
