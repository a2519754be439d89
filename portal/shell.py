"""The portal's page shell: a Folium (Leaflet) map with the header, navigation, side panel and page script.

Every page is a Folium document whose layers the page script loads by URL from the API (never inlined),
so a page is a few kilobytes of HTML. The script gets its settings from `window.PETA` (API paths, the
map's variable, the CSRF token for writes, the interface strings) and the shared helpers in common.js.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

import folium
from branca.element import Element
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from access.users import session_user
from api.security import CSRF_COOKIE, SESSION_COOKIE
from core.errors import AuthError
from core.principal import User
from portal.i18n import STRINGS

JAMBI_CENTRE = (-1.61, 103.61)
LEAFLET = "/static/vendor/leaflet-1.9.4"
ASSETS = "/static/portal"
VERSION = "12"  # bump to make browsers fetch changed scripts

# the pages, who may open them, and their place in the navigation
PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("/portal", "nav_poverty", ("anonymous", "admin", "coordinator", "planner", "verifier")),
    ("/portal/cakupan", "nav_coverage", ("admin", "coordinator", "planner")),
    ("/portal/penugasan", "nav_assign", ("admin", "coordinator")),
    ("/portal/verifikator", "nav_verifier", ("verifier",)),
    ("/portal/tinjau", "nav_review", ("admin", "coordinator")),
    ("/portal/dasbor", "nav_dashboard", ("admin", "coordinator")),
]
HOME = {"verifier": "/portal/verifikator", "coordinator": "/portal/cakupan"}


async def portal_user(request: Request, conn: Any) -> User | None:
    """The signed-in person of a portal session, or None (no cookie, or one that has expired)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await session_user(conn, token)
    except AuthError:
        return None


def gate(user: User | None, path: str, lang: str, roles: tuple[str, ...] | None = None) -> RedirectResponse | None:
    """A redirect when this person may not open the page: to the login form, or to their own home page."""
    roles = roles or next(r for p, _, r in PAGES if p == path)
    role = user.role if user else "anonymous"
    if role in roles:
        return None
    if user is None:
        return RedirectResponse(f"/portal/login?lang={lang}&next={path}", status_code=303)
    return RedirectResponse(f"{HOME.get(user.role, '/portal')}?lang={lang}", status_code=303)


def base_map(bbox: tuple[float, float, float, float] | None, *, zoom: int = 12) -> folium.Map:
    """A Leaflet map served from the app itself (no CDN), drawing vectors on a canvas (thousands of RTs)."""
    m = folium.Map(location=JAMBI_CENTRE, zoom_start=zoom, tiles="OpenStreetMap", control_scale=True,
                   prefer_canvas=True)  # fmt: skip
    m.default_js = [("leaflet", f"{LEAFLET}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET}/leaflet.css")]
    if bbox:
        m.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    return m


def _nav(t: dict[str, str], user: User | None, active: str, lang: str, csrf: str) -> str:
    role = user.role if user else "anonymous"
    links = "".join(
        f"<a href='{path}?lang={lang}' class='{'active' if path == active else ''}' data-nav='{key}'>{t[key]}</a>"
        for path, key, roles in PAGES
        if role in roles
    )
    other = "en" if lang == "id" else "id"
    if user:
        who = (f"<span class='who' data-role='{user.role}'>{html.escape(user.username)} · {t['role_' + user.role]}"
               f"</span><form method='post' action='/portal/logout' class='logout'>"
               f"<input type='hidden' name='csrf' value='{csrf}'><button>{t['logout']}</button></form>")  # fmt: skip
    else:
        who = f"<a href='/portal/login?lang={lang}&next={active}' class='login'>{t['login']}</a>"
    return (
        f"<header id='header'><b class='brand'>{t['title']}</b><nav>{links}</nav>"
        f"<span class='spacer'></span>{who}<a href='?lang={other}' class='lang'>{t['other_lang']}</a></header>"
    )


def render(
    request: Request,
    m: folium.Map,
    *,
    lang: str,
    user: User | None,
    active: str,
    script: str,
    panel: str,
    config: dict[str, Any],
) -> HTMLResponse:
    """The whole page: the map, the header, the side panel and the page script, with a fresh CSRF token."""
    t = STRINGS[lang]
    csrf = secrets.token_urlsafe(24)
    root = m.get_root()
    title = t[next((k for p, k, _ in PAGES if p == active), "family")]
    root.header.add_child(Element(  # type: ignore[attr-defined]
        f"<title>{title} · {t['title']}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        f"<link rel='stylesheet' href='{ASSETS}/portal.css?v={VERSION}'>"
        f"<script src='{ASSETS}/common.js?v={VERSION}'></script>"
        f"<script src='{ASSETS}/{script}?v={VERSION}'></script>"
    ))  # fmt: skip
    root.html.add_child(Element(_nav(t, user, active, lang, csrf) + f"<aside id='panel'>{panel}</aside>"))  # type: ignore[attr-defined]
    settings = {
        "lang": lang, "map": m.get_name(), "csrf": csrf, "t": t,
        "user": {"username": user.username, "role": user.role, "scope": list(user.scope_codes)} if user else None,
        **config,
    }  # fmt: skip
    # Folium adds the map's own script when it renders, after this one: start once the document is parsed
    # "</" could end the script element early: escaped, whatever a name or string holds
    data = json.dumps(settings).replace("</", "<\\/")
    boot = f"window.PETA = {data}; document.addEventListener('DOMContentLoaded', PETA_PAGE);"
    root.script.add_child(Element(boot))  # type: ignore[attr-defined]
    response = HTMLResponse(root.render(), headers={"Content-Language": lang, "Cache-Control": "no-store"})
    secure = request.url.scheme == "https" or bool(getattr(request.app.state, "cookie_secure", False))
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/")
    return response
