"""Typed dependencies: where requests take database connections from, the connection per request, the key of the
keyed hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import PoolTimeout

from api.errors import database_error
from core.settings import load_secret_key


def connection(request: Request) -> AbstractAsyncContextManager[AsyncConnection[Any]]:
    """A connection for one transaction, from where the app takes them: its pool (`app.state.connections`, set
    in the lifespan), which commits on a clean exit and rolls back on an error. The request's connection, the
    rate limiter's credential check and a streamed export all come from here, so a test hands out its own
    rolled-back connection by replacing this one source (tests/bridge.py)."""
    source: Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]] = request.app.state.connections
    return source()


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection (`connection`) for one request's transaction.

    The transaction commits when the route function returns and before its response is sent (the
    dependency's scope is "function"): a 2xx is only ever sent for a committed write, an audited read
    sends its data only once its audit row is committed, and a COMMIT that fails is an error response
    instead of a dropped connection.
    """
    try:
        async with connection(request) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:  # a statement timeout is one too (QueryCanceled)
        raise database_error(request, exc) from exc


ConnDep = Annotated[AsyncConnection[Any], Depends(get_conn, scope="function")]


def secret_key(request: Request) -> bytes:
    """The key of the keyed NIK/KK hashes, read once per app (PETA_SECRET_KEY, else $PETA_HOME/secret.key)."""
    state = request.app.state
    if getattr(state, "secret_key", None) is None:
        state.secret_key = load_secret_key(state.settings)
    return bytes(state.secret_key)


SecretKey = Annotated[bytes, Depends(secret_key)]
