"""App factory: settings checked at start, the pool opened and closed in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from api import errors, middleware, sealer
from api.limits import Share
from api.policy import PERSONS, PUBLIC, route_roles
from api.ratelimit import RateLimiter
from api.routers import (
    areas,
    assignments,
    auth,
    campaigns,
    exports,
    health,
    households,
    ogc,
    programmes,
    spatial,
    stats,
    tiles,
    verifications,
)
from api.security import api_key_scheme, oauth2
from core.settings import Settings, get_settings
from db.connect import app_database_url
from db.pool import make_pool

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "In the language asked for with Accept-Language (id, en)"},
        "error_code": {"type": "string", "description": "Stable machine-readable code, the same in every language"},
        "code": {"type": "string", "description": "OGC API exception code (/ogc paths)"},
        "description": {"type": "string"},
    },
    "required": ["detail"],
}
ERRORS = {
    "400": "A parameter or body is invalid; the reason names it",
    "401": "Authentication required or invalid",
    "403": "The caller's role may not do this",
    "404": "No such object (or outside the caller's area scope)",
    "409": "Conflicts with the current state (e.g. the RT is already assigned)",
    "429": "Too many requests or login attempts",
    "503": "The database is not reachable, the server is busy, or the query took too long (with Retry-After)",
}


TOO_LARGE = "The request body is larger than the server accepts (PETA_MAX_BODY_BYTES)"


def document(app: FastAPI) -> None:
    """The OpenAPI document: the error statuses (400, never 422), who may call what, examples."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = base()
        for ops in doc.get("paths", {}).values():
            for op in ops.values():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                errors = {**ERRORS, **({"413": TOO_LARGE} if "requestBody" in op else {})}
                for status, text in errors.items():
                    responses.setdefault(
                        status, {"description": text, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
                    )
        doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        document_security(app, doc)
        document_examples(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


# --- security: the schemes, and on each operation the ones its access rule (api.policy) admits --------

BEARER, API_KEY = oauth2.scheme_name, api_key_scheme.scheme_name


Requirement = dict[str, list[str]]


def operation_security(roles: tuple[str, ...] | None) -> list[Requirement] | None:
    """The security requirement of one operation: alternatives, `{}` making them optional; None: no rule."""
    if roles is None:
        return None
    if roles == (PUBLIC,):  # anyone; given credentials are checked (rate bucket) and may change the answer
        return [{}, {BEARER: []}, {API_KEY: []}]
    bearer: list[Requirement] = [{BEARER: []}] if set(roles) & set(PERSONS) else []
    return bearer + ([{API_KEY: []}] if {"agency", "programme"} & set(roles) else [])


def document_security(app: FastAPI, doc: dict[str, Any]) -> None:
    """Declare the bearer token and the agency key, and on each operation those its access rule admits.

    Public operations take them optionally: `api.security.charge_public` checks any credentials sent (the
    caller's own rate bucket) and some answers depend on the caller (figures before suppression, households).
    The X-API-Key header is the apiKey scheme, so it is not listed as a parameter as well.
    """
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    for scheme in (oauth2, api_key_scheme):
        schemes[scheme.scheme_name] = scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    paths = doc.get("paths", {})
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema or ctx.path_format not in paths:
            continue
        for method in ctx.methods or ():
            op = paths[ctx.path_format].get(method.lower())
            if op is None:
                continue
            op["parameters"] = [p for p in op.get("parameters", []) if (p["in"], p["name"]) != ("header", "X-API-Key")]
            if not op["parameters"]:
                del op["parameters"]
            security = operation_security(route_roles(route))
            if security is None:
                op.pop("security", None)
            else:
                op["security"] = security


# --- examples on the main operations (parameters by name; request bodies by media type) --------------

_AREA_FILTER = {
    "poor": {"summary": "RTs where over 30% are poor", "value": "poverty_rate_pct > 30 AND families >= 20"},
    "kecamatan": {"summary": "Areas under kecamatan 15.71.01", "value": "parent_code LIKE '15.71.01%'"},
}
_BBOX = {"city": {"summary": "Central Kota Jambi (lon/lat)", "value": [103.58, -1.64, 103.64, -1.58]}}
_VISIT = {
    "client_id": "6f1c2f4e-2b8a-4d5e-9a43-0c2d1b7e9f10",
    "campaign_id": 1,
    "household_id": 1042,
    "result_code": 1,
    "visited_at": "2026-03-14T09:30:00+07:00",
    "lon": 103.6121,
    "lat": -1.6083,
    "accuracy_m": 8,
    "jumlah_anggota": 4,
    "criteria": [True, False, True, True, False, False, True, False, False, True, False, False, True, False],
    "notes": "Rumah kontrakan, kepala keluarga buruh harian",
    "members": [{"nama": "Siti Aminah", "hubungan": "kepala", "jenis_kelamin": "P", "tahun_lahir": 1979}],
}
_STREET = {
    "type": "Polygon",
    "coordinates": [[[103.610, -1.610], [103.614, -1.610], [103.614, -1.606], [103.610, -1.606], [103.610, -1.610]]],
}
_CAMPAIGNS = {
    "desil": {
        "summary": "Desil 1-2, one month",
        "value": {"name": "Verval 2026 tahap 1", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
                  "starts_on": "2026-03-01", "ends_on": "2026-03-31"},
    },
    "category": {
        "summary": "By category",
        "value": {"name": "Verval fakir miskin 2026", "target_kind": "category",
                  "categories": ["fakir_miskin", "miskin"], "starts_on": "2026-05-01", "ends_on": "2026-06-15",
                  "cutoff_day": 20},
    },
}  # fmt: skip
_LOGIN = {"grant_type": "password", "username": "koor.telanaipura", "password": "kata-sandi-anda"}
_HOUSEHOLD_FILTER = {"summary": "Families in the two poorest desils", "value": "local_desil <= 2"}
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/ogc/collections/{collectionId}/items"): {
        "bbox": _BBOX,
        "filter": _AREA_FILTER,
        "sortby": {"poorest": {"value": "-poverty_rate_pct,+code"}},
        "properties": {"few": {"value": "code,name,families,poverty_rate_pct"}},
    },
    ("get", "/ogc/collections/households/items"): {"bbox": _BBOX, "filter": {"poorest": _HOUSEHOLD_FILTER}},
    ("get", "/api/v1/stats/{level}"): {"parent": {"kecamatan": {"value": "15.71.01"}},
                                       "desil_max": {"poorest": {"value": 2}}},
    ("get", "/api/v1/spatial/households"): {"bbox": {"street": {"value": "103.610,-1.610,103.614,-1.606"}}},
    ("post", "/api/v1/spatial/households/within"): {"application/json": {"street": {"value": _STREET}}},
    ("post", "/api/v1/auth/token"): {"application/x-www-form-urlencoded": {"login": {"value": _LOGIN}}},
    ("post", "/api/v1/campaigns"): {"application/json": _CAMPAIGNS},
    ("post", "/api/v1/verifications/batch"): {"application/json": {"one": {"summary": "One visit from the phone",
                                                                           "value": {"visits": [_VISIT]}}}},
}  # fmt: skip


def document_examples(doc: dict[str, Any]) -> None:
    """Add EXAMPLES to their operations' parameters and request bodies, where none is given yet."""
    for (method, path), examples in EXAMPLES.items():
        op = doc.get("paths", {}).get(path, {}).get(method)
        if op is None:
            continue
        for param in op.get("parameters", []):
            if param["name"] in examples:
                param.setdefault("examples", examples[param["name"]])
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            if media in examples:
                content.setdefault("examples", examples[media])


# --- /docs and /redoc, from the copies in api/static/docs (no CDN), under a policy of their own -------

DOCS_ASSETS = Path(__file__).parent / "static" / "docs"
SWAGGER_UI = "/static/docs/swagger-ui-5.35.0"
REDOC = "/static/docs/redoc-2.5.4"


def serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and Redoc at /redoc, every asset from this server (see api/static/docs/README.md)."""
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    async def swagger_ui(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} – Swagger UI",
            swagger_js_url=f"{root}{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER_UI}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # never ask the online validator
        )  # fmt: skip
        page.headers["content-security-policy"] = middleware.docs_policy(bytes(page.body))
        return page

    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} – ReDoc",
            redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{SWAGGER_UI}/favicon-32x32.png", with_google_fonts=False,
        )  # fmt: skip
        page.headers["content-security-policy"] = middleware.docs_policy(bytes(page.body), blob_workers=True)
        return page

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)


class PetaApp(FastAPI):
    """FastAPI with the security headers outermost, so that even the 500 of an unhandled error has them."""

    def build_middleware_stack(self) -> ASGIApp:
        return middleware.ClientGoneMiddleware(middleware.SecurityHeadersMiddleware(super().build_middleware_stack()))


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    """The API application; `url` overrides the configured database (tests)."""
    settings = settings or get_settings()
    target = url or app_database_url(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = make_pool(target, settings)
        app.state.connections = app.state.pool.connection  # api.deps.connection: the one source of connections
        app.state.expensive = Share(settings.pool_expensive, settings.expensive_wait_ms / 1000)
        app.state.probe = health.Probe(target)
        await app.state.pool.open(wait=False)
        sealing = sealer.start(app.state.pool, settings.audit_seal_seconds)
        try:
            yield
        finally:
            await sealer.stop(sealing)
            await app.state.probe.close()
            await app.state.pool.close()

    app = PetaApp(
        title="Peta Verval",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: serve_docs, every asset from this server
        redoc_url=None,
        description="Poverty data, maps and verification of the poorest families, for any kab/kota loaded.",
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)  # level: api/caching.py (measured)
    middleware.install(app, settings)
    errors.register(app)
    app.state.rate_limiter = RateLimiter(settings.rate_per_minute)
    app.state.tile_cache = tiles.TileCache(seconds=settings.tile_cache_seconds)
    app.state.cookie_secure = settings.cookie_secure
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(areas.router, prefix="/api/v1")
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(households.router, prefix="/api/v1")
    app.include_router(stats.router, prefix="/api/v1")
    app.include_router(spatial.router, prefix="/api/v1")
    app.include_router(exports.router, prefix="/api/v1")
    app.include_router(campaigns.router, prefix="/api/v1")
    app.include_router(assignments.router, prefix="/api/v1")
    app.include_router(verifications.router, prefix="/api/v1")
    app.include_router(programmes.router, prefix="/api/v1")
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    document(app)
    serve_docs(app)
    return app
