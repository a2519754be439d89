"""Local programmes are configuration: peta_config 'programs', recipients_local and poor_without_local (issue 15).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_RENAMED = {"recipients_local": "recipients_kartu_bahagia", "poor_without_local": "poor_without_kartu_bahagia"}


def upgrade() -> None:
    run_sql_file("0018_local_programs.sql")
    op.execute("SELECT peta_stats_rt(NULL)")
    op.execute("SELECT peta_stats_rollup(NULL)")  # recount the local columns as configured
    op.execute("SELECT peta_audit_seal()")  # the setting's audit row is sealed into the chain at once


def downgrade() -> None:
    for new, old in _RENAMED.items():
        for table in ("area_stats", "area_cell_key", "area_stats_public"):
            op.execute(f"ALTER TABLE {table} RENAME COLUMN {new} TO {old}")
        op.execute(f"ALTER VIEW area_figures RENAME COLUMN {new} TO {old}")
    op.get_bind().exec_driver_sql(function_sql("peta_stats_rt", "0002_registry.sql"))
    op.get_bind().exec_driver_sql(function_sql("peta_stats_keys_rt", "0011_disclosure.sql"))
    op.execute("SELECT peta_make_publish()")
    op.execute("DROP FUNCTION peta_make_publish(), peta_local_programs()")
    op.execute("DELETE FROM peta_config WHERE key = 'programs'")
    op.execute("SELECT peta_stats_rt(NULL)")
    op.execute("SELECT peta_stats_rollup(NULL)")
