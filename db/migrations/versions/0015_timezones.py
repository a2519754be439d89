"""The local time zone of an area from its province code: peta_timezone (issue 15).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0015_timezones.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION peta_timezone(text)")
