"""The portal's page shell: a Folium (Leaflet) map with the header, navigation, side panel and page script.

Every page is a Folium document whose layers the page script loads by URL from the API (never inlined),
so a page is a few kilobytes of HTML. The script gets its settings from `window.PETA` (API paths, the
map's variable, the CSRF token for writes, the interface strings) and the shared helpers in common.js.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import folium
from branca.element import Element
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader

from access.users import session_user
from api.middleware import SECURITY_HEADERS
from api.security import CSRF_COOKIE, SESSION_COOKIE
from core.errors import AuthError
from core.principal import User
from core.settings import OSM_ATTRIBUTION, OSM_TILES
from portal.i18n import STRINGS

# the page shells, the side panels and the login form (autoescaped: a username is text, never markup)
TEMPLATES = Environment(loader=PackageLoader("portal", "templates"), autoescape=True)

INDONESIA = (-2.5, 118.0), 5  # the first view before any boundaries are loaded: the whole country
LEAFLET = "/static/vendor/leaflet-1.9.4"
ASSETS = "/static/portal"
VERSION = "21"  # bump to make browsers fetch changed scripts

# the pages, who may open them, and their place in the navigation
PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("/portal", "nav_poverty", ("anonymous", "admin", "coordinator", "planner", "verifier")),
    ("/portal/cakupan", "nav_coverage", ("admin", "coordinator", "planner")),
    ("/portal/program", "nav_programme", ("anonymous", "admin", "coordinator", "planner")),
    ("/portal/penugasan", "nav_assign", ("admin", "coordinator")),
    ("/portal/verifikator", "nav_verifier", ("verifier",)),
    ("/portal/tinjau", "nav_review", ("admin", "coordinator")),
    ("/portal/dasbor", "nav_dashboard", ("admin", "coordinator")),
]
HOME = {"verifier": "/portal/verifikator", "coordinator": "/portal/cakupan"}
# Folium's map header locks the zoom (maximum-scale=1.0, user-scalable=no: no pinch zoom on a phone, against
# WCAG 1.4.4); the page's own viewport (head.html.j2) lets people zoom, so Folium's is taken out
ZOOM_LOCK = re.compile(r"<meta name=\"viewport\"[^>]*user-scalable=no[^>]*>\s*")
# the app's content security policy, whose images come from this server and the configured tile server only
POLICY = dict(SECURITY_HEADERS)[b"content-security-policy"].decode()
IMG_SRC = re.compile(r"img-src [^;]*")


def tile_origin(tiles: str) -> str:
    """The origin a tile URL template loads from, as a CSP source ({s} subdomains: a wildcard); '' for this
    server's own tiles or none."""
    if not tiles.startswith(("https://", "http://")):
        return ""
    scheme, rest = tiles.split("://", 1)
    host = re.sub(r"\{[^}]*\}", "*", rest.split("/", 1)[0])
    return f"{scheme}://{host}"


def page_policy(tiles: str) -> str:
    """The portal pages' content security policy: the app's, with images from the base map's server only."""
    origin = tile_origin(tiles)
    return IMG_SRC.sub(f"img-src 'self' data: blob:{' ' + origin if origin else ''}", POLICY, count=1)


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


def base_map(
    bbox: tuple[float, float, float, float] | None,
    *,
    zoom: int = 12,
    tiles: str = OSM_TILES,
    attribution: str = OSM_ATTRIBUTION,
) -> folium.Map:
    """A Leaflet map served from the app itself (no CDN), drawing vectors on a canvas (thousands of RTs), over the
    base map of the `tiles` URL template (settings: PETA_BASEMAP_URL), or none when it is empty."""
    centre, zoom = (((bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2), zoom) if bbox else INDONESIA
    m = folium.Map(location=centre, zoom_start=zoom, tiles=None, control_scale=False, prefer_canvas=True)
    if tiles:
        folium.TileLayer(tiles, attr=attribution or " ", max_zoom=19, control=False).add_to(m)
    m.default_js = [("leaflet", f"{LEAFLET}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET}/leaflet.css")]
    if bbox:
        m.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    return m


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
    place: str = "",
    tiles: str = OSM_TILES,
    cities: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    """The whole page: the map, the header (the product and `place`, the kab/kota shown, with a switch between
    the `cities` in the person's scope when there are several), the side panel (templates/panels/`panel`, the
    page's main landmark under its one heading) and the page script, with a fresh CSRF token; images may come
    from the base map's `tiles` server."""
    t = STRINGS[lang]
    brand = f"{t['title']} {place}".strip()
    csrf = secrets.token_urlsafe(24)
    root = m.get_root()
    title = t[next((k for p, k, _ in PAGES if p == active), "family")]
    head = TEMPLATES.get_template("head.html.j2").render(
        title=title, brand=brand, assets=ASSETS, version=VERSION, script=script
    )
    role = user.role if user else "anonymous"
    header = TEMPLATES.get_template("header.html.j2").render(
        t=t, brand=brand, lang=lang, other="en" if lang == "id" else "id", user=user, active=active, csrf=csrf,
        panel=panel, links=[(path, key) for path, key, roles in PAGES if role in roles], heading=title,
        cities=cities or [], kota=config.get("kota"),
    )
    root.header.add_child(Element(head))  # type: ignore[attr-defined]
    root.html.add_child(Element(header))  # type: ignore[attr-defined]
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
    page = document(root.render(), lang)
    response = HTMLResponse(page, headers={"Content-Language": lang, "Cache-Control": "no-store",
                                           "Content-Security-Policy": page_policy(tiles)})  # fmt: skip
    secure = request.url.scheme == "https" or bool(getattr(request.app.state, "cookie_secure", False))
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/")
    return response


def document(html: str, lang: str) -> str:
    """Folium's rendered page made accessible: the interface language on <html> (branca writes none, so screen
    readers guessed), and Folium's zoom lock taken out."""
    return ZOOM_LOCK.sub("", html).replace("<html>", f'<html lang="{lang}">', 1)
