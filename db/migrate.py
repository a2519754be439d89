"""Bringing a database's schema up to date (Alembic over db/migrations), and where it stands."""

from __future__ import annotations

from pathlib import Path

import psycopg


def _alembic(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("postgresql://", "postgresql+psycopg://", 1))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision`."""
    from alembic import command

    command.upgrade(_alembic(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Revert Alembic migrations down to `revision` ("base" for an empty schema)."""
    from alembic import command

    command.downgrade(_alembic(url), revision)


def current_revision(conn: psycopg.Connection) -> str | None:
    """The Alembic revision the database is at, or None before the first migration."""
    row = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return rev[0] if rev else None
