"""/api/v1/auth: OAuth2 password flow for bearer tokens, logout, and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from access.users import authenticate, close_session, open_session
from api.deps import ConnDep
from api.policy import EVERYONE, PERSONS, PUBLIC, allow
from api.security import BearerToken, CurrentUser, Principal

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", dependencies=[allow(PUBLIC)])
async def token(
    conn: ConnDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (8 hours; failed logins are throttled)."""
    client = request.client.host if request.client else None
    user = await authenticate(conn, form.username, form.password, client)
    return {"access_token": await open_session(conn, user), "token_type": "bearer", "expires_in": 8 * 3600}


@router.post("/logout", status_code=204, dependencies=[allow(*PERSONS)])
async def logout(conn: ConnDep, user: CurrentUser, token: BearerToken) -> None:
    """End this session at once."""
    assert token is not None
    await close_session(conn, token)


@router.get("/me", dependencies=[allow(*EVERYONE)])
async def me(principal: Principal) -> dict[str, Any]:
    """The caller's identity, role and area scope."""
    return {
        "name": getattr(principal, "username", None) or getattr(principal, "name", None),
        "role": principal.role,
        "scope_level": principal.scope_level,
        "scope_codes": list(principal.scope_codes),
    }
