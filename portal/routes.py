"""Portal pages: Peta Kemiskinan (everyone), Celah Cakupan and Penugasan (staff), Tugas Saya (verifiers).

Each page is a Folium map plus a side panel; its script (portal/static/portal/*.js) loads the layers
and figures by URL from the same API other agencies use, with the caller's own rights.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import ConnDep
from api.policy import PUBLIC, allow
from gis.queries import extent
from portal.i18n import pick_lang
from portal.shell import base_map, gate, portal_user, render

router = APIRouter(tags=["portal"], include_in_schema=False)
Lang = Annotated[str | None, Query(max_length=5)]


@router.get("/", dependencies=[allow(PUBLIC)])
async def root() -> RedirectResponse:
    """The portal is the home page."""
    return RedirectResponse("/portal", status_code=307)


def _panel(*parts: str) -> str:
    return "".join(parts)


async def _page(request: Request, conn: Any, path: str, lang: str | None, script: str, panel: str,
                config: dict[str, Any], roles: tuple[str, ...] | None = None) -> Response:  # fmt: skip
    language = pick_lang(lang)
    user = await portal_user(request, conn)
    redirect = gate(user, path, language, roles)
    if redirect is not None:
        return redirect
    bbox = await extent(conn)
    return render(request, base_map(bbox), lang=language, user=user, active=path, script=script, panel=panel,
                  config={"bbox": bbox, **config})  # fmt: skip


@router.get("/portal", dependencies=[allow(PUBLIC)])
async def poverty_map(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Peta Kemiskinan: poverty by kecamatan, kelurahan or RT, classed, with drill-down and a table."""
    panel = _panel(
        "<div class='controls'>",
        "<label><span data-t='level'></span><select id='level'></select></label>",
        "<label><span data-t='indicator'></span><select id='indicator'></select></label>",
        "<label><span data-t='classes'></span><select id='method'></select></label>",
        "</div><div id='crumbs'></div><div id='info' class='info'></div><div id='legend'></div>",
        "<div class='buttons'><button id='csv' data-t='csv'></button><button id='print' data-t='print'></button>",
        "<button id='image' data-t='image'></button></div><div id='table'></div>",
    )
    return await _page(request, conn, "/portal", lang, "poverty.js", panel, {})


_CAMPAIGN_CONTROLS = (
    "<div class='controls'><label><span data-t='campaign'></span><select id='campaign'></select></label>"
    "<label><span data-t='kecamatan'></span><select id='kec'></select></label>"
    "<label><span data-t='kelurahan'></span><select id='kel'></select></label>"
    "<label><span data-t='colour_by'></span><select id='colour'></select></label>"
    "<label class='check'><input type='checkbox' id='only'> <span data-t='only_unassigned'></span></label></div>"
)


@router.get("/portal/cakupan", dependencies=[allow(PUBLIC)])
async def coverage_gaps(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Celah Cakupan: RTs by verification coverage or priority, unassigned priority RTs highlighted."""
    panel = _panel(
        _CAMPAIGN_CONTROLS,
        "<div id='legend'></div><div id='info' class='info'></div>",
        "<div class='buttons'><button id='csv' data-t='csv'></button></div><div id='table'></div>",
    )
    return await _page(request, conn, "/portal/cakupan", lang, "campaign.js", panel, {"mode": "coverage"})


@router.get("/portal/penugasan", dependencies=[allow(PUBLIC)])
async def assignments_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Penugasan: select RTs (click, Shift-drag a box, or the table), pick a verifier and a due date, assign;
    or preview, adjust and accept the automatic proposal."""
    panel = _panel(
        _CAMPAIGN_CONTROLS,
        "<p class='hint' data-t='select_hint'></p><div id='selection'></div>",
        "<div class='controls'><label><span data-t='verifier'></span><select id='verifier'></select></label>",
        "<label><span data-t='due'></span><input type='date' id='due'></label></div>",
        "<div class='buttons'><button id='assign' data-t='assign'></button><button id='clear' data-t='clear'></button>",
        "<button id='propose' data-t='propose'></button><button id='accept' data-t='accept' disabled></button></div>",
        "<div id='legend'></div><div id='info' class='info'></div><div id='workload'></div><div id='table'></div>",
    )
    return await _page(request, conn, "/portal/penugasan", lang, "campaign.js", panel, {"mode": "assign"})


@router.get("/portal/verifikator", dependencies=[allow(PUBLIC)])
async def verifier_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Tugas Saya (phone-sized): my assigned families on a map and a list, each with its indicators, and a
    visit form that takes the phone's GPS position; visits queue on the phone while offline."""
    panel = _panel(
        "<div id='queue' class='info'></div><div id='tasks'></div>",
        "<form id='visit' hidden><h3 id='visit-title'></h3><div id='visit-facts'></div>",
        "<label><span data-t='result'></span><select id='result'></select></label>",
        "<label><span data-t='members'></span><input type='number' id='members' min='1' max='30'></label>",
        "<fieldset><legend data-t='criteria'></legend><div id='crit'></div></fieldset>",
        "<label><span data-t='notes'></span><textarea id='notes' maxlength='2000' rows='2'></textarea></label>",
        "<p><span data-t='position'></span>: <span id='gps'></span></p>",
        "<div class='buttons'><button type='submit' id='save' data-t='save'></button>",
        "<button type='button' id='cancel' data-t='cancel'></button></div></form>",
        "<div id='families'></div>",
    )
    return await _page(request, conn, "/portal/verifikator", lang, "verifier.js", panel, {})


@router.get("/portal/keluarga/{household_id}", dependencies=[allow(PUBLIC)])
async def family_page(
    request: Request, conn: ConnDep, household_id: Annotated[int, Path(ge=1, le=2**62)], lang: Lang = None
) -> Response:
    """A family (authorised roles, in their scope): indicators, the score explained, history and visits."""
    panel = _panel("<div id='family'></div><div id='explain'></div><div id='history'></div><div id='visits'></div>")
    return await _page(request, conn, f"/portal/keluarga/{household_id}", lang, "family.js", panel,
                       {"household": household_id}, roles=("admin", "coordinator", "verifier"))  # fmt: skip


@router.get("/portal/dasbor", dependencies=[allow(PUBLIC)])
async def dashboard_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Dasbor: a campaign's progress over time, by kecamatan and by verifier, as charts."""
    panel = _panel(
        "<div class='controls'><label><span data-t='campaign'></span><select id='campaign'></select></label>",
        "<label><span data-t='period'></span><select id='by'></select></label></div>",
        "<div id='totals' class='info'></div>",
    )
    return await _page(request, conn, "/portal/dasbor", lang, "dashboard.js", panel, {})


@router.get("/portal/tinjau", dependencies=[allow(PUBLIC)])
async def review_page(request: Request, conn: ConnDep, lang: Lang = None) -> Response:
    """Tinjau Kunjungan: the visits awaiting a decision, flagged ones first, each approved or returned."""
    panel = _panel(
        "<div class='controls'><label><span data-t='campaign'></span><select id='campaign'></select></label>",
        "<label><span data-t='status'></span><select id='state'></select></label>",
        "<label class='check'><input type='checkbox' id='flagged'> <span data-t='only_flagged'></span></label></div>",
        "<div id='info' class='info'></div><div id='table'></div>",
    )
    return await _page(request, conn, "/portal/tinjau", lang, "review.js", panel, {})


@router.get("/portal/sw.js", dependencies=[allow(PUBLIC)])
async def service_worker() -> Response:
    """The verifier page's service worker, served under /portal so that its scope covers the page."""
    body = (FilePath(__file__).parent / "static" / "portal" / "sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
