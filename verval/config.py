"""The 'verval' settings: the shipped defaults with the database's copy laid over them."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.config import merge, shipped


async def settings(conn: AsyncConnection[Any]) -> dict[str, Any]:
    """The verification settings in force (peta_config 'verval', over the shipped defaults)."""
    cur = await conn.execute("SELECT value FROM peta_config WHERE key = 'verval'")
    row = await cur.fetchone()
    return merge(shipped("verval"), row[0] if row else {})
