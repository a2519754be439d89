"""/healthz: 200 when the database answers, 503 otherwise; the versions behind it only for administrators."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from api.policy import PUBLIC, allow
from api.security import SESSION_COOKIE, oauth2, optional_principal
from gis.errors import PetaError
from gis.queries import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[allow(PUBLIC)])
async def healthz(request: Request) -> JSONResponse:
    """Liveness and database reachability; an administrator also gets the PostGIS version and migration."""
    try:
        async with asyncio.timeout(5):
            async with request.app.state.pool.connection(timeout=4) as conn:
                facts = await ping(conn)
                admin = await _is_admin(request, conn)
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    # versions tell an attacker which vulnerabilities apply: anonymous callers (load balancers) get none
    return JSONResponse({"status": "ok", "database": "ok", **facts} if admin else {"status": "ok"})


async def _is_admin(request: Request, conn: AsyncConnection[Any]) -> bool:
    """Whether the caller's credentials, if any, are an administrator's (invalid ones count as none)."""
    api_key = request.headers.get("X-API-Key")
    if not (request.headers.get("Authorization") or api_key or request.cookies.get(SESSION_COOKIE)):
        return False
    try:
        principal = await optional_principal(request, conn, await oauth2(request), api_key)
    except PetaError:
        return False
    return getattr(principal, "role", None) == "admin"
