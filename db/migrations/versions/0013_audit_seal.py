"""The audit chain sealed after the fact by one writer: audit rows are inserted without a lock (issue 13).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_audit_seal.sql")


def downgrade() -> None:
    # everything is sealed first; the rows sealed with encoding 3 keep it (re-hashing would launder them)
    op.execute("SELECT peta_audit_seal(2147483647)")
    bind = op.get_bind()
    bind.exec_driver_sql(function_sql("peta_audit_chain", "0010_integrity.sql"))
    bind.exec_driver_sql(function_sql("peta_audit_append_only", "0004_audit.sql"))
    op.execute("DROP FUNCTION peta_audit_seal(integer)")
    op.execute("ALTER TABLE audit_head DROP COLUMN seq")
    op.execute("DROP INDEX audit_log_unsealed")
    op.execute("DROP INDEX audit_log_seq")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_sealed")
    op.execute("ALTER TABLE audit_log DROP COLUMN seq")
    op.execute("ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 2")
    op.execute("ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL")
