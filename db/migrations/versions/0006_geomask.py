"""Donut geomasking of household points for agencies with an agreement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_geomask.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION peta_geomask")
