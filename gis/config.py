"""The configuration the database's triggers and functions read (table peta_config): write it, apply it, read it."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Json

STORED = ("ranking", "aggregates", "programs", "kab_kota", "placement", "disclosure", "verval")


async def apply_config(conn: psycopg.AsyncConnection[Any], cfg: dict[str, Any]) -> None:
    """Store the ranking, aggregate, programme, per-kab/kota, placement, disclosure and verification settings where
    the database's triggers read them, and recompute every score, desil and aggregate, in one transaction."""
    async with conn.transaction():
        for key in STORED:
            await conn.execute(
                """INSERT INTO peta_config (key, value, updated_at) VALUES (%s, %s, now())
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at""",
                (key, Json(cfg[key])),
            )
        await conn.execute("SELECT peta_refresh(NULL, NULL)")


async def stored_config(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
    """The settings the database currently uses."""
    cur = await conn.execute("SELECT key, value FROM peta_config")
    return dict(await cur.fetchall())
