"""The states of an assignment named once (active, visitable, live) and the open_assignment view (issue 14).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0014_assignment_states.sql")


def downgrade() -> None:
    # the guard as 0009 defined it, read from 0009's own file rather than copied here
    op.get_bind().exec_driver_sql(function_sql("peta_assignment_guard", "0009_verval_checks.sql"))
    op.execute("DROP VIEW open_assignment")
    op.execute("DROP FUNCTION peta_assignment_live(text)")
    op.execute("DROP FUNCTION peta_assignment_visitable(text)")
    op.execute("DROP FUNCTION peta_assignment_active(text)")
