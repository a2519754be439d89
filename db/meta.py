"""Small facts about the database's contents (e.g. which demo city it holds)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Json


def get_meta(conn: psycopg.Connection, key: str) -> Any:
    """The stored value for `key`, None when absent."""
    row = conn.execute("SELECT value FROM app_meta WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: psycopg.Connection, key: str, value: Any) -> None:
    """Store `value` (JSON) under `key`."""
    conn.execute(
        """INSERT INTO app_meta (key, value, updated_at) VALUES (%s, %s, now())
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at""",
        (key, Json(value)),
    )
