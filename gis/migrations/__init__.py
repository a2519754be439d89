"""Alembic migrations; the larger ones apply a file from gis/sql/."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def run_sql_file(name: str) -> None:
    """Execute gis/sql/NAME in the migration's transaction (the driver sees no parameters in it)."""
    from alembic import op

    op.get_bind().exec_driver_sql((SQL_DIR / name).read_text().replace("%", "%%"))
