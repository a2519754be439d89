"""Who is calling: a bearer session token or an agency key in X-API-Key, as typed dependencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.security import OAuth2PasswordBearer

from access.keys import Agency, key_agency
from access.users import AuthError, User, session_user
from api.deps import ConnDep

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_principal(
    conn: ConnDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Header(alias="X-API-Key", max_length=200)] = None,
) -> User | Agency:
    """The authenticated user or agency; 401 when neither credential is given or valid."""
    if token:
        return await session_user(conn, token)
    if api_key:
        return await key_agency(conn, api_key)
    raise AuthError("authentication required: a bearer token or an X-API-Key header")


async def current_user(principal: Annotated[Any, Depends(current_principal)]) -> User:
    """An authenticated person (agency keys are refused)."""
    if not isinstance(principal, User):
        raise AuthError("this needs a user's bearer token, not an API key")
    return principal


Principal = Annotated[User | Agency, Depends(current_principal)]
CurrentUser = Annotated[User, Depends(current_user)]
BearerToken = Annotated[str | None, Depends(oauth2)]
