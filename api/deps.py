"""Typed dependencies: the pooled connection per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.errors import DatabaseUnavailable


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from the app's pool, returned after the request."""
    pool: AsyncConnectionPool = request.app.state.pool
    try:
        async with pool.connection() as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise DatabaseUnavailable(str(exc)) from exc


ConnDep = Annotated[AsyncConnection[Any], Depends(get_conn)]
