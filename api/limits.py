"""What one request may cost, so that one client cannot stall the rest.

- Bounds per role, checked before anything runs: the vertices of posted geometries and CQL2 literals,
  and each statement's time (`SET LOCAL statement_timeout`): anonymous callers get the tightest.
- A share of the pool: anonymous and agency feature lists (OGC items, exports) hold at most
  PETA_POOL_EXPENSIVE of its connections; the others wait PETA_EXPENSIVE_WAIT_MS and are then told the
  server is busy, so cheap requests and staff always find a connection.
- A request whose client has gone is cancelled (psycopg then cancels its running query in the server).

A request's tier before it is authenticated comes from the credentials it carries: a bearer token or a
session cookie claims staff, an API key an agency. The claim only decides whether the request waits for
the expensive share; the principal is verified before any query runs, and the bounds use the verified one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from psycopg import AsyncConnection

from api.deps import ConnDep
from api.middleware import CLIENT_GONE
from api.security import SESSION_COOKIE, OptionalPrincipalDep
from core.errors import ServerBusy
from core.principal import Principal
from core.settings import Settings

log = logging.getLogger("peta.api")


@dataclass(frozen=True)
class Budget:
    """The bounds of one caller's requests."""

    tier: str  # anonymous, agency or staff
    max_vertices: int
    vertices_setting: str
    timeout_ms: int  # 0: none (the session's, PETA_STATEMENT_TIMEOUT_MS, applies)
    timeout_setting: str


def budget_for(principal: Principal | None, settings: Settings) -> Budget:
    """The bounds of a verified caller (None: anonymous); never looser than the session's statement timeout."""
    ceiling = settings.statement_timeout_ms

    def capped(ms: int) -> int:
        return min(ms, ceiling) if ceiling else ms

    if principal is None:
        anonymous = capped(settings.statement_timeout_anonymous_ms)
        return Budget("anonymous", settings.max_vertices_anonymous, "PETA_MAX_VERTICES_ANONYMOUS",
                      anonymous, "PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS")  # fmt: skip
    if getattr(principal, "role", None) == "agency":
        agency = capped(settings.statement_timeout_agency_ms)
        return Budget("agency", settings.max_vertices, "PETA_MAX_VERTICES", agency, "PETA_STATEMENT_TIMEOUT_AGENCY_MS")
    return Budget("staff", settings.max_vertices, "PETA_MAX_VERTICES", ceiling, "PETA_STATEMENT_TIMEOUT_MS")


def claimed_tier(request: Request) -> str:
    """The tier a request's credentials claim, before they are checked (the order `api.security` reads them in)."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return "staff"
    if request.headers.get("X-API-Key"):
        return "agency"
    return "staff" if request.cookies.get(SESSION_COOKIE) else "anonymous"


async def limit_statements(conn: AsyncConnection[Any], budget: Budget, settings: Settings) -> None:
    """Bound every statement of the connection's current transaction by the caller's time (SET LOCAL).

    Call it inside the transaction the statements run in (it ends with it): a connection that is not in
    one starts one here.
    """
    if budget.timeout_ms != settings.statement_timeout_ms:  # staff: the session's own bound already holds
        await conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{budget.timeout_ms}ms",))


async def query_budget(request: Request, conn: ConnDep, principal: OptionalPrincipalDep) -> Budget:
    """The caller's bounds, with its statement timeout set on the request's connection."""
    settings: Settings = request.app.state.settings
    budget = budget_for(principal, settings)
    request.state.budget = budget  # the 503 of a statement timeout names it (api.errors.database_error)
    await limit_statements(conn, budget, settings)
    return budget


QueryBudget = Depends(query_budget)


async def bound_here(request: Request, conn: AsyncConnection[Any], principal: Principal | None) -> Budget:
    """`query_budget` called by a route itself, where only some paths query (a cache miss builds a body)."""
    settings: Settings = request.app.state.settings
    budget = budget_for(principal, settings)
    request.state.budget = budget
    await limit_statements(conn, budget, settings)
    return budget


# --- the expensive requests' share of the pool ------------------------------------------------------


class Share:
    """At most `slots` holders at once; a caller waits up to `wait_s` for a slot, then gets ServerBusy."""

    def __init__(self, slots: int, wait_s: float) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._free = asyncio.Semaphore(slots)  # create it in the event loop that uses it (the lifespan)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.wait_s):
                await self._free.acquire()
        except TimeoutError:
            raise ServerBusy(f"the {self.slots} expensive-request connections stayed taken {self.wait_s} s") from None
        try:
            yield
        finally:
            self._free.release()


async def expensive_share(request: Request) -> AsyncIterator[None]:
    """Hold a slot of the expensive requests' share (PETA_POOL_EXPENSIVE) unless the request claims staff."""
    if claimed_tier(request) == "staff":
        yield
        return
    async with request.app.state.expensive.hold():
        yield


async def stream_share(request: Request) -> AsyncIterator[None]:
    """Hold a slot of the expensive requests' share whoever asks: a whole-layer export holds a connection for
    as long as its client reads, so twelve staff exports whose clients stall must not take the whole pool."""
    async with request.app.state.expensive.hold():
        yield


# the route function builds the whole response: the slot is freed when it returns
ExpensiveShare = Depends(expensive_share, scope="function")
# a response that queries while it is sent (exports), any caller: the slot is held until it is sent
ExpensiveStream = Depends(stream_share)


# --- cancelling when the client goes ----------------------------------------------------------------
# (list it after the dependencies that check the caller: it takes the request's connection)


async def cancel_on_disconnect(request: Request, conn: ConnDep) -> AsyncIterator[None]:
    """Cancel the request (and so its query) when the client disconnects while the route function runs.

    FastAPI has read the body, if any, before any dependency runs, so listening here takes nothing from the
    route; the response, once the function returns, watches the connection itself. The watch starts after
    the request's connection is taken and stops before it is given back, so that a cancellation never cuts
    into the pool's own bookkeeping. `api.middleware.ClientGoneMiddleware` ends the cancelled request quietly.
    """
    task = asyncio.current_task()
    assert task is not None

    async def watch() -> None:
        try:
            while (await request.receive())["type"] != "http.disconnect":
                pass
        except Exception:  # noqa: BLE001 - e.g. a body over the limit: the request fails by itself
            return
        request.scope[CLIENT_GONE] = True
        log.info("%s %s: the client disconnected; cancelling", request.method, request.url.path)
        task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
        if request.scope.get(CLIENT_GONE):
            await asyncio.sleep(0)  # a cancellation still pending is taken here, before the connection goes back


CancelOnDisconnect = Depends(cancel_on_disconnect, scope="function")
# a read whose cost the caller shapes: its statements bounded by the caller's time, cancelled if the caller leaves
BOUNDED = [QueryBudget, CancelOnDisconnect]
BudgetDep = Annotated[Budget, QueryBudget]
