"""/healthz: 200 when the database answers, 503 otherwise."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.policy import PUBLIC, allow
from gis.queries import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[allow(PUBLIC)])
async def healthz(request: Request) -> JSONResponse:
    """Liveness and database reachability."""
    try:
        async with asyncio.timeout(5):
            async with request.app.state.pool.connection(timeout=4) as conn:
                facts = await ping(conn)
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", **facts})
