"""The served application: the API plus the portal pages."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app as create_api
from gis.settings import Settings
from portal.routes import router


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    """API and portal in one app, as `peta serve` runs it."""
    app = create_api(settings, url)
    app.include_router(router)
    return app
