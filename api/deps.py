"""Typed dependencies: the pooled connection per request, the key of the keyed hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api.errors import database_error
from core.settings import load_secret_key


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from the app's pool for one request's transaction.

    The transaction commits when the route function returns and before its response is sent (the
    dependency's scope is "function"): a 2xx is only ever sent for a committed write, an audited read
    sends its data only once its audit row is committed, and a COMMIT that fails is an error response
    instead of a dropped connection.
    """
    pool: AsyncConnectionPool = request.app.state.pool
    try:
        async with pool.connection() as conn:
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
