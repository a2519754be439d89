"""Rows as dicts keyed by their column names (psycopg's dict_row), for the async data layer."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

Query = str | sql.SQL | sql.Composed


async def fetch_dicts(conn: AsyncConnection[Any], query: Query, params: Any = None) -> list[dict[str, Any]]:
    """Every row of `query`."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchall()


async def fetch_dict(conn: AsyncConnection[Any], query: Query, params: Any = None) -> dict[str, Any] | None:
    """The first row of `query`, None when there is none."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(query, params)
    return await cur.fetchone()
