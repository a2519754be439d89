"""App factory: settings checked at start, the pool opened and closed in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

from api import errors, middleware, sealer
from api.limits import Share
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
    spatial,
    stats,
    tiles,
    verifications,
)
from core.settings import Settings, get_settings
from db.connect import app_database_url
from db.pool import make_pool

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
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


def document_errors(app: FastAPI) -> None:
    """Every operation documents the error statuses it can answer with (400, never 422)."""
    base = app.openapi

    def openapi() -> dict[str, object]:
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
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


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
        description="Poverty data, maps and verification for Kota Jambi.",
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
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    document_errors(app)
    return app
