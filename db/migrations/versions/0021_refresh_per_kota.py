"""The refresh works per kab/kota: large changes rebuild only the kab/kota they touch, desil re-ranks only their
desil groups, and area statements recount only their kab/kota (issue 16).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0021_refresh_per_kota.sql")


_BEFORE = (  # the functions as they were before 0021
    ("peta_refresh_desil", "0016_desil_per_kota.sql"),
    ("peta_rebuild_ranking", "0019_kota_keys.sql"),
    ("peta_refresh", "0002_registry.sql"),
)


def downgrade() -> None:
    op.execute("DROP TRIGGER area_changed_insert ON area")
    op.execute("DROP TRIGGER area_changed_update ON area")
    op.execute("CREATE TRIGGER area_changed_insert AFTER INSERT ON area FOR EACH STATEMENT"
               " EXECUTE FUNCTION peta_area_changed()")  # fmt: skip
    op.execute("CREATE TRIGGER area_changed_update AFTER UPDATE ON area FOR EACH STATEMENT"
               " EXECUTE FUNCTION peta_area_changed()")  # fmt: skip
    op.execute("DROP FUNCTION peta_area_rows_changed(), peta_kota_areas(text[])")
    op.execute("DROP FUNCTION peta_refresh_desil(text[]), peta_rebuild_ranking(text[]), peta_desil_peers(text[], text)")
    for name, file in _BEFORE:
        op.get_bind().exec_driver_sql(function_sql(name, file))
    op.execute("DROP INDEX household_kota_idx, household_rank_kota_idx")
