"""Portal pages: Peta Kemiskinan (everyone), Celah Cakupan and Penugasan (staff), Tugas Saya (verifiers).

Each page is a Folium map plus a side panel; its script (portal/static/portal/*.js) loads the layers
and figures by URL from the same API other agencies use, with the caller's own rights.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.deps import ConnDep
from api.policy import PUBLIC, allow
from core.scope import area_scope
from gis.programme_errors import programme_choices
from gis.programmes import configured
from gis.queries import cities, extent, place_name
from portal.i18n import pick_lang
from portal.shell import base_map, gate, portal_user, render

router = APIRouter(tags=["portal"], include_in_schema=False)
Lang = Annotated[str | None, Query(max_length=5)]


@router.get("/", dependencies=[allow(PUBLIC)])
async def root() -> RedirectResponse:
    """The portal is the home page."""
    return RedirectResponse("/portal", status_code=307)


async def _page(request: Request, conn: Any, path: str, lang: str | None, script: str, panel: str,
                config: dict[str, Any], roles: tuple[str, ...] | None = None) -> Response:  # fmt: skip
    language = pick_lang(lang)
    user = await portal_user(request, conn)
    redirect = gate(user, path, language, roles)
    if redirect is not None:
        return redirect
    # the kab/kota shown: the one asked for (?kota=) when the person's scope reaches it, else their own (the
    # first their scope reaches); with none loaded, the whole (empty) deployment
    reach = await cities(conn, area_scope(user))
    asked = request.query_params.get("kota")
    city = next((c for c in reach if c["code"] == asked), reach[0] if reach else None)
    kota = city["code"] if city else None
    bbox = await extent(conn, kota)
    place = city["name"] if city else await place_name(conn)
    settings = request.app.state.settings

    def page() -> Response:  # Folium builds and renders the document in Python: off the event loop
        m = base_map(bbox, tiles=settings.basemap_url, attribution=settings.basemap_attribution)
        return render(request, m, lang=language, user=user, active=path, script=script, panel=panel,
                      config={"bbox": bbox, "kota": kota, **config}, place=place, tiles=settings.basemap_url,
                      cities=reach)  # fmt: skip

    return await run_in_threadpool(page)


@router.get("/portal", dependencies=[allow(PUBLIC)])
async def poverty_map(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Peta Kemiskinan: poverty by kecamatan, kelurahan or RT, classed, with drill-down and a table."""
    return await _page(request, conn, "/portal", lang, "poverty.js", "poverty.html.j2", {})


@router.get("/portal/program", dependencies=[allow(PUBLIC)])
async def programme_map(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Peta Program: a programme's inclusion and exclusion errors per kecamatan, kelurahan or RT for a period (published
    figures, or exact ones of their area for Dinsos staff), and the coordinators' work list with reasons."""
    user = await portal_user(request, conn)
    config = {"programmes": await programme_choices(conn, await configured(conn), date.today()),
              "work": getattr(user, "role", None) in ("admin", "coordinator")}  # fmt: skip
    return await _page(request, conn, "/portal/program", lang, "programme.js", "programme.html.j2", config)


@router.get("/portal/cakupan", dependencies=[allow(PUBLIC)])
async def coverage_gaps(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Celah Cakupan: RTs by verification coverage or priority, unassigned priority RTs highlighted."""
    return await _page(request, conn, "/portal/cakupan", lang, "campaign.js", "coverage.html.j2", {"mode": "coverage"})


@router.get("/portal/penugasan", dependencies=[allow(PUBLIC)])
async def assignments_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Penugasan: select RTs (click, Shift-drag a box, or the table), pick a verifier and a due date, assign;
    or preview, adjust and accept the automatic proposal."""
    return await _page(request, conn, "/portal/penugasan", lang, "campaign.js", "assign.html.j2", {"mode": "assign"})


@router.get("/portal/verifikator", dependencies=[allow(PUBLIC)])
async def verifier_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Tugas Saya (phone-sized): my assigned families on a map and a list, each with its indicators, and a
    visit form that takes the phone's GPS position; visits queue on the phone while offline."""
    return await _page(request, conn, "/portal/verifikator", lang, "verifier.js", "verifier.html.j2", {})


@router.get("/portal/keluarga/{household_id}", dependencies=[allow(PUBLIC)])
async def family_page(
    request: Request, conn: ConnDep, household_id: Annotated[int, Path(ge=1, le=2**62)], lang: Lang = None
) -> Response:
    """A family (authorised roles, in their scope): indicators, the score explained, history and visits."""
    return await _page(request, conn, f"/portal/keluarga/{household_id}", lang, "family.js", "family.html.j2",
                       {"household": household_id}, roles=("admin", "coordinator", "verifier"))  # fmt: skip


@router.get("/portal/dasbor", dependencies=[allow(PUBLIC)])
async def dashboard_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Dasbor: a campaign's progress over time, by kecamatan and by verifier, as charts."""
    return await _page(request, conn, "/portal/dasbor", lang, "dashboard.js", "dashboard.html.j2", {})


@router.get("/portal/tinjau", dependencies=[allow(PUBLIC)])
async def review_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Tinjau Kunjungan: the visits awaiting a decision, flagged ones first, each approved or returned."""
    return await _page(request, conn, "/portal/tinjau", lang, "review.js", "review.html.j2", {})


@router.get("/portal/sw.js", dependencies=[allow(PUBLIC)])
async def service_worker() -> Response:
    """The verifier page's service worker, served under /portal so that its scope covers the page."""
    body = (FilePath(__file__).parent / "static" / "portal" / "sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
