"""Probes: /livez (the process), /readyz and /healthz (the database), none of them needing a pool connection.

The database is checked on a connection of its own, so that a pool whose every connection is busy does not
make a working process look dead; one ping at a time, its answer reused for a second. /healthz is
/readyz as it always was, and it tells an administrator the versions behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from api.policy import PUBLIC, allow
from api.security import SESSION_COOKIE, oauth2, optional_principal
from core.errors import PetaError
from gis.queries import ping

router = APIRouter(tags=["health"])
T = TypeVar("T")
UNAVAILABLE = {"status": "unavailable", "database": "unreachable"}


class Probe:
    """A database connection of the probes' own, opened when needed and again after it breaks."""

    def __init__(self, url: str, timeout_s: float = 3.0, fresh_s: float = 1.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.fresh_s = fresh_s
        self._conn: AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._ping: asyncio.Task[dict[str, Any] | None] | None = None
        self._answer: tuple[float, dict[str, Any] | None] | None = None

    async def facts(self) -> dict[str, Any] | None:
        """The database's facts (PostGIS version, migration), None when it does not answer within the timeout."""
        if self._answer is not None and time.monotonic() - self._answer[0] < self.fresh_s:
            return self._answer[1]
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(self._run_ping())
        try:  # a slow ping goes on for the next probe; this one answers in time
            return await asyncio.wait_for(asyncio.shield(self._ping), self.timeout_s)
        except TimeoutError:
            return None

    async def _run_ping(self) -> dict[str, Any] | None:
        try:
            facts: dict[str, Any] | None = await self.run(ping)
        except (psycopg.Error, OSError, TimeoutError):
            facts = None
        self._answer = (time.monotonic(), facts)
        return facts

    async def run(self, work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """`work` on the probe connection, one at a time. A connection that fails is closed; when it was an old
        one (gone stale: the database restarted), `work` is tried once more on a new one."""
        async with asyncio.timeout(self.timeout_s), self._lock:
            while True:
                fresh = self._conn is None or self._conn.closed
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await AsyncConnection.connect(
                            self.url, autocommit=True, connect_timeout=max(int(self.timeout_s), 2),
                            application_name="peta-probe",
                            options=f"-c statement_timeout={int(self.timeout_s * 1000)}",
                        )  # fmt: skip
                    return await work(self._conn)
                except PetaError:
                    raise  # the caller's (a wrong token): the connection is fine
                except psycopg.OperationalError:
                    await self._drop()
                    if fresh:
                        raise
                except BaseException:
                    await self._drop()
                    raise

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        """Stop a ping under way and close the connection (the app's shutdown)."""
        if self._ping is not None and not self._ping.done():
            self._ping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ping
        await self._drop()


@router.get("/livez", dependencies=[allow(PUBLIC)])
async def livez() -> dict[str, str]:
    """Liveness: the process answers (no database involved). Container health checks use this."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[allow(PUBLIC)])
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers, 503 otherwise (load balancers use this)."""
    if await request.app.state.probe.facts() is None:
        return JSONResponse(UNAVAILABLE, status_code=503, headers={"Retry-After": "10"})
    return JSONResponse({"status": "ok"})


@router.get("/healthz", dependencies=[allow(PUBLIC)])
async def healthz(request: Request) -> JSONResponse:
    """Readiness, as /readyz; an administrator also gets the PostGIS version and migration."""
    probe: Probe = request.app.state.probe
    facts = await probe.facts()
    if facts is None:
        return JSONResponse(UNAVAILABLE, status_code=503, headers={"Retry-After": "10"})
    # versions tell an attacker which vulnerabilities apply: anonymous callers (load balancers) get none
    if await _is_admin(request, probe):
        return JSONResponse({"status": "ok", "database": "ok", **facts})
    return JSONResponse({"status": "ok"})


async def _is_admin(request: Request, probe: Probe) -> bool:
    """Whether the caller's credentials, if any, are an administrator's (invalid ones count as none)."""
    api_key = request.headers.get("X-API-Key")
    if not (request.headers.get("Authorization") or api_key or request.cookies.get(SESSION_COOKIE)):
        return False
    token = await oauth2(request)

    async def check(conn: AsyncConnection[Any]) -> bool:
        principal = await optional_principal(request, conn, token, api_key)
        return getattr(principal, "role", None) == "admin"

    try:
        return await probe.run(check)
    except (PetaError, psycopg.Error, OSError, TimeoutError):
        return False
