"""Who is calling: a bearer session token or an agency key in X-API-Key, as typed dependencies."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from psycopg_pool import PoolTimeout

from access.keys import key_agency
from access.users import session_user
from api.deps import ConnDep, connection
from core.errors import AuthError
from core.principal import Agency, User

oauth2 = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, scheme_name="bearer",
    description="A person's bearer token from POST /api/v1/auth/token (the OAuth2 password flow), valid 8 hours",
)  # fmt: skip
# Declared for the OpenAPI document only (api.app.document_security): the key is read by current_principal.
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey",
    description="An agency's key (`peta keys create`), at most 200 characters",
)  # fmt: skip
SESSION_COOKIE = "peta_session"
CSRF_COOKIE = "peta_csrf"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_matches(request: Request, presented: str | None) -> bool:
    """Double-submit check: the token in the form or X-CSRF-Token header equals the CSRF cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected and presented and secrets.compare_digest(expected, presented))


async def current_principal(
    request: Request,
    conn: ConnDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Header(alias="X-API-Key", max_length=200)] = None,
) -> User | Agency:
    """The authenticated user or agency; 401 when neither credential is given or valid.

    Resolved once per request (a route may ask through several dependencies) and charged to the
    principal's rate bucket; a request without valid credentials is charged to its client address.
    """
    state = request.state
    if getattr(state, "principal", None) is not None:
        return state.principal  # type: ignore[no-any-return]
    if getattr(state, "auth_error", None) is not None:
        raise state.auth_error
    try:
        principal, who = await _authenticate(request, conn, token, api_key)
    except AuthError as exc:
        state.auth_error = exc
        request.app.state.rate_limiter.hit_address(request)
        raise
    request.app.state.rate_limiter.hit(who)
    state.principal = principal
    return principal


async def _authenticate(
    request: Request, conn: ConnDep, token: str | None, api_key: str | None
) -> tuple[User | Agency, str]:
    principal: User | Agency
    if token:
        principal = await session_user(conn, token)
        who = f"user:{principal.id}"
    elif api_key:
        principal = await key_agency(conn, api_key)
        who = f"key:{principal.id}"
    elif request.cookies.get(SESSION_COOKIE):
        # a browser session: state-changing API calls must carry the CSRF token as well
        if (
            request.method not in SAFE_METHODS
            and not request.url.path.startswith("/portal/")
            and not csrf_matches(request, request.headers.get("X-CSRF-Token"))
        ):
            raise AuthError("a cookie session needs the X-CSRF-Token header for this request")
        principal = await session_user(conn, request.cookies[SESSION_COOKIE])
        who = f"user:{principal.id}"
    else:
        raise AuthError("authentication required: a bearer token or an X-API-Key header")
    return principal, who


async def charge_public(request: Request) -> None:
    """Rate-limit a request to a public route: anonymous ones by client address, the others as their principal.

    Credentials are checked here even where the route ignores them, so that sending any token does not
    escape the anonymous limit; wrong ones count as anonymous (a route that reads them still answers 401).
    """
    limiter = request.app.state.rate_limiter
    token = await oauth2(request)
    api_key = request.headers.get("X-API-Key")
    if not token and not api_key and not request.cookies.get(SESSION_COOKIE):
        limiter.hit_address(request)
        return
    if api_key is not None and len(api_key) > 200:  # the routes refuse it as a bad header (400)
        limiter.hit_address(request)
        return
    try:
        async with connection(request) as conn:
            await current_principal(request, conn, token, api_key)
    except AuthError:
        pass  # already charged to the address
    except (PoolTimeout, psycopg.OperationalError):
        limiter.hit_address(request)  # no database: the route answers for itself (/healthz: 503)


async def current_user(principal: Annotated[Any, Depends(current_principal)]) -> User:
    """An authenticated person (agency keys are refused)."""
    if not isinstance(principal, User):
        raise AuthError("this needs a user's bearer token, not an API key")
    return principal


async def optional_principal(
    request: Request,
    conn: ConnDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Header(alias="X-API-Key", max_length=200)] = None,
) -> User | Agency | None:
    """The caller when credentials are given (invalid ones are still a 401), None for anonymous calls."""
    if not token and not api_key and not request.cookies.get(SESSION_COOKIE):
        return None
    return await current_principal(request, conn, token, api_key)


PrincipalDep = Annotated[User | Agency, Depends(current_principal)]
OptionalPrincipalDep = Annotated[User | Agency | None, Depends(optional_principal)]
CurrentUserDep = Annotated[User, Depends(current_user)]
BearerToken = Annotated[str | None, Depends(oauth2)]
