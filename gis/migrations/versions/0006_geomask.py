"""Donut geomasking of household points for agencies with an agreement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from pathlib import Path

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql" / "0006_geomask.sql"


def upgrade() -> None:
    op.get_bind().exec_driver_sql(SQL.read_text().replace("%", "%%"))


def downgrade() -> None:
    op.execute("DROP FUNCTION peta_geomask")
