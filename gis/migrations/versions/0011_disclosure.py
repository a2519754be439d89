"""Published figures by the cell-key method: a secret record key per family, cell keys per area, noisy counts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import re

from alembic import op

from gis.migrations import SQL_DIR, run_sql_file

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


def _function_of(file: str, name: str) -> str:
    """A function as an earlier migration's file defines it, as CREATE OR REPLACE."""
    text = (SQL_DIR / file).read_text()
    found = re.search(rf"CREATE FUNCTION {name}\(.*?END \$\$;", text, re.S)
    assert found is not None, f"{file} no longer defines {name}"
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace("%", "%%")


def downgrade() -> None:
    bind = op.get_bind()
    for name in ("peta_publish", "peta_stats_rollup"):
        bind.exec_driver_sql(_function_of("0007_publish.sql", name))
    op.execute("DROP FUNCTION peta_stats_keys_rollup(text[])")
    op.execute("DROP FUNCTION peta_stats_keys_rt(text[])")
    op.execute("DROP TABLE area_cell_key")
    op.execute("DROP FUNCTION peta_people_of(text)")
    op.execute("DROP FUNCTION peta_pct(bigint, bigint)")
    op.execute("DROP FUNCTION peta_people_shown(int, int)")
    op.execute("DROP FUNCTION peta_shown(bigint, bigint, int)")
    op.execute("DROP FUNCTION peta_ckm(bigint, bigint, int)")
    op.execute("ALTER TABLE household DROP COLUMN record_key")
    op.execute("SELECT peta_publish(NULL)")
