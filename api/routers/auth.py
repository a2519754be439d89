"""/api/v1/auth: OAuth2 password flow for bearer tokens, logout, and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from access.users import authenticate, close_session, open_session
from api.deps import ConnDep
from api.policy import EVERYONE, PERSONS, PUBLIC, allow
from api.ratelimit import client_address
from api.security import SESSION_COOKIE, BearerToken, CurrentUserDep, PrincipalDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", dependencies=[allow(PUBLIC)])
async def token(
    conn: ConnDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (8 hours; failed logins are throttled)."""
    client = client_address(request)
    user = await authenticate(conn, form.username, form.password, client)
    return {"access_token": await open_session(conn, user), "token_type": "bearer", "expires_in": 8 * 3600}


@router.post("/logout", status_code=204, response_class=Response, dependencies=[allow(*PERSONS)])
async def logout(request: Request, conn: ConnDep, user: CurrentUserDep, token: BearerToken) -> Response:
    """End the session this request came with at once: its bearer token, or the portal's session cookie."""
    response = Response(status_code=204)
    if token:
        await close_session(conn, token)
        return response
    # no bearer token: the user was authenticated by the portal's cookie (with its CSRF header)
    await close_session(conn, request.cookies[SESSION_COOKIE])
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", dependencies=[allow(*EVERYONE)])
async def me(principal: PrincipalDep) -> dict[str, Any]:
    """The caller's identity, role and area scope."""
    return {
        "name": getattr(principal, "username", None) or getattr(principal, "name", None),
        "role": principal.role,
        "scope_level": principal.scope_level,
        "scope_codes": list(principal.scope_codes),
    }
