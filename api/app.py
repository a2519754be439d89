"""App factory: settings checked at start, the pool opened and closed in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from psycopg_pool import AsyncConnectionPool

from api import errors, middleware
from api.ratelimit import RateLimiter
from api.routers import areas, auth, exports, health, households, ogc, spatial, stats, tiles
from gis.db import app_database_url
from gis.settings import Settings, get_settings


def make_pool(url: str, settings: Settings) -> AsyncConnectionPool:
    """A pool that opens lazily, so the app starts (and /healthz answers 503) without a database."""
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=8,
        open=False,
        timeout=5,
        kwargs={"options": f"-c statement_timeout={settings.statement_timeout_ms}", "connect_timeout": 5},
    )


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    """The API application; `url` overrides the configured database (tests)."""
    settings = settings or get_settings()
    target = url or app_database_url(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = make_pool(target, settings)
        await app.state.pool.open(wait=False)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Peta Verval",
        version="0.1.0",
        lifespan=lifespan,
        description="Poverty data, maps and verification for Kota Jambi.",
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    middleware.install(app, settings)
    errors.register(app)
    app.state.rate_limiter = RateLimiter(settings.rate_per_minute)
    app.state.tile_cache = tiles.TileCache(seconds=settings.tile_cache_seconds)
    app.state.cookie_secure = settings.cookie_secure
    app.include_router(health.router)
    app.include_router(areas.router, prefix="/api/v1")
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(households.router, prefix="/api/v1")
    app.include_router(stats.router, prefix="/api/v1")
    app.include_router(spatial.router, prefix="/api/v1")
    app.include_router(exports.router, prefix="/api/v1")
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    return app
