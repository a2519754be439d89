"""The served application's connection pool."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from core.settings import Settings


def make_pool(url: str, settings: Settings) -> AsyncConnectionPool:
    """A pool that opens lazily, so the app starts (and /readyz answers 503) without a database.

    Each connection is checked before it is handed out, so that a database restart fails no request on a
    stale connection: the first stale one found has every idle one checked at once (the pool would
    otherwise find them one by one, pausing 1, 2, 4 s between them), and the request gets a new one.
    """

    async def check(conn: AsyncConnection[Any]) -> None:
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            await pool.check()  # drop the other broken ones and open new connections in their place
            raise

    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=settings.pool_size,
        open=False,
        timeout=settings.pool_wait_ms / 1000,
        check=check,
        kwargs={
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
            "connect_timeout": 5,
            "application_name": "peta",  # the app's sessions in pg_stat_activity
        },
    )
    return pool
