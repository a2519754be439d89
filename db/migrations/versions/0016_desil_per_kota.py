"""Local desil per kab/kota (ranking.desil_over: kota, provinsi or all) (issue 16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0016_desil_per_kota.sql")
    op.execute("SELECT peta_refresh_desil()")  # a database holding several kab/kota is re-ranked per kab/kota


def downgrade() -> None:
    for name in ("peta_refresh_desil", "peta_rebuild_ranking"):
        op.get_bind().exec_driver_sql(function_sql(name, "0002_registry.sql"))
    op.execute("DROP FUNCTION peta_desil_group(text, text)")
    op.execute("SELECT peta_refresh_desil()")
