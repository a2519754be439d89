"""The served application: the API plus the portal pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.app import create_app as create_api
from core.settings import Settings
from portal.login import router as login_router
from portal.routes import router


def create_app(settings: Settings | None = None, url: str | None = None) -> FastAPI:
    """API and portal in one app, as `peta serve` runs it."""
    app = create_api(settings, url)
    app.include_router(router)
    app.include_router(login_router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
