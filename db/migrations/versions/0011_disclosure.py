"""Published figures by the cell-key method: a secret record key per family, cell keys per area, noisy counts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_disclosure.sql")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN "
        "GRANT SELECT, INSERT, DELETE ON area_cell_key TO peta_app; END IF; END $$"
    )


def downgrade() -> None:
    bind = op.get_bind()
    for name in ("peta_publish", "peta_stats_rollup"):
        bind.exec_driver_sql(function_sql(name, "0007_publish.sql"))
    op.execute("DROP FUNCTION peta_stats_keys_rollup(text[])")
    op.execute("DROP FUNCTION peta_stats_keys_rt(text[])")
    op.execute("DROP FUNCTION peta_key_columns()")
    op.execute("DROP TABLE area_cell_key")
    op.execute("DROP FUNCTION peta_people_of(text)")
    op.execute("DROP FUNCTION peta_pct(bigint, bigint)")
    op.execute("DROP FUNCTION peta_people_shown(int, int)")
    op.execute("DROP FUNCTION peta_shown(bigint, bigint, int)")
    op.execute("DROP FUNCTION peta_ckm(bigint, bigint, int)")
    op.execute("DROP FUNCTION peta_ckm_u(bigint, int)")
    op.execute("ALTER TABLE household DROP COLUMN record_key")
    op.execute("SELECT peta_publish(NULL)")
