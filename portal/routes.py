"""Portal pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ConnDep
from api.policy import PUBLIC, allow
from gis.queries import extent, level_summary
from portal.i18n import pick_lang
from portal.maps import area_map

router = APIRouter(tags=["portal"], include_in_schema=False)


@router.get("/", dependencies=[allow(PUBLIC)])
async def root() -> RedirectResponse:
    """The portal is the home page."""
    return RedirectResponse("/portal", status_code=307)


@router.get("/portal", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])  # areas only
async def portal_map(conn: ConnDep, lang: Annotated[str | None, Query(max_length=5)] = None) -> HTMLResponse:
    """The area map of the whole city."""
    language = pick_lang(lang)
    summary = await level_summary(conn)
    bbox = await extent(conn)
    html = await run_in_threadpool(area_map, summary, bbox, "/api/v1", language)
    return HTMLResponse(html, headers={"Content-Language": language})
