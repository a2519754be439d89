"""The configuration the database's triggers and functions read (table peta_config): write it, apply it, read it."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Json


def store_config(conn: psycopg.Connection, cfg: dict[str, Any]) -> None:
    """Write the ranking and aggregate settings where the database's triggers read them."""
    for key in ("ranking", "aggregates", "placement", "disclosure", "verval"):
        conn.execute(
            """INSERT INTO peta_config (key, value) VALUES (%s, %s)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
            (key, Json(cfg[key])),
        )


def apply_config(conn: psycopg.Connection, cfg: dict[str, Any]) -> None:
    """Store the settings and recompute every score, desil and aggregate in one transaction."""
    with conn.transaction():
        store_config(conn, cfg)
        conn.execute("SELECT peta_refresh(NULL, NULL)")


def stored_config(conn: psycopg.Connection) -> dict[str, Any]:
    """The settings the database currently uses."""
    return dict(conn.execute("SELECT key, value FROM peta_config").fetchall())
