"""Portal login and logout: HttpOnly SameSite session cookies, CSRF tokens on every form (double submit)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from access.users import authenticate, close_session, open_session
from api.deps import ConnDep
from api.policy import PERSONS, PUBLIC, allow
from api.ratelimit import client_address
from api.security import CSRF_COOKIE, SESSION_COOKIE, csrf_matches
from core.errors import AuthError, InputError, Throttled
from portal.i18n import pick_lang
from portal.shell import HOME, TEMPLATES

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)

TEXT = {
    "id": {"title": "Masuk", "user": "Nama pengguna", "password": "Kata sandi", "submit": "Masuk",
           "wrong": "Nama pengguna atau kata sandi salah.", "locked": "Terlalu banyak percobaan; coba lagi nanti."},
    "en": {"title": "Log in", "user": "Username", "password": "Password", "submit": "Log in",
           "wrong": "Wrong username or password.", "locked": "Too many attempts; try again later."},
}  # fmt: skip


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(getattr(request.app.state, "cookie_secure", False))


def _safe_next(value: str | None) -> str | None:
    """Only a portal page of this site (no other host, no scheme) may be the place to go after login."""
    if value and value.startswith("/portal") and "//" not in value and "\\" not in value and len(value) < 200:
        return value
    return None


def _page(
    request: Request, lang: str, message: str = "", status: int = 200, next_page: str | None = None
) -> HTMLResponse:
    t = TEXT[lang]
    token = secrets.token_urlsafe(24)
    body = TEMPLATES.get_template("login.html.j2").render(
        lang=lang, t=t, message=message, next_page=next_page, token=token
    )
    response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/")
    return response


@router.get("/login", dependencies=[allow(PUBLIC)])
async def login_form(request: Request, lang: str | None = None, next: str | None = None) -> HTMLResponse:
    """The login form, with a fresh CSRF token."""
    return _page(request, pick_lang(lang), next_page=_safe_next(next))


@router.post("/login", dependencies=[allow(PUBLIC)])
async def login(
    request: Request,
    conn: ConnDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=100)],
    lang: str | None = None,
    next: str | None = None,
) -> Response:
    """Check the CSRF token and the password; on success a session cookie and back to the map."""
    language = pick_lang(lang)
    if not csrf_matches(request, csrf):
        raise InputError("the form has expired or came from another site; reload the login page")
    client = client_address(request)
    try:
        user = await authenticate(conn, username.strip().lower(), password, client)
    except AuthError:
        return _page(request, language, TEXT[language]["wrong"], status=401, next_page=_safe_next(next))
    except Throttled:
        return _page(request, language, TEXT[language]["locked"], status=429, next_page=_safe_next(next))
    token = await open_session(conn, user, kind="cookie")
    target = _safe_next(next) or HOME.get(user.role, "/portal")
    response = RedirectResponse(f"{target}?lang={language}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/", max_age=8 * 3600
    )
    return response


@router.post("/logout", dependencies=[allow(*PERSONS)])
async def logout(request: Request, conn: ConnDep, csrf: Annotated[str, Form(max_length=100)] = "") -> Any:
    """End the portal session (CSRF-checked) and clear its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise InputError("no portal session to end (bearer tokens end with POST /api/v1/auth/logout)")
    if not csrf_matches(request, csrf):
        raise InputError("the form has expired or came from another site; reload the page")
    await close_session(conn, token)
    response = RedirectResponse("/portal/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
