"""A data version bumped in the writing transaction, for the API's cache of public bodies (issue 13).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("area", "area_stats", "area_stats_public", "household", "household_rank", "peta_config")


def upgrade() -> None:
    run_sql_file("0012_data_version.sql")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER data_version_bump ON {table}")
    op.execute("DROP FUNCTION peta_data_version_bump()")
    op.execute("DROP TABLE data_version")
