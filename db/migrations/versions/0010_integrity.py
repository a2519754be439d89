"""Audit chain canonical encoding, app role least privilege, login throttling (issue 12).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_integrity.sql")


def downgrade() -> None:
    bind = op.get_bind()
    # Rows hashed with encoding 2 cannot be told from changed ones once the version column is gone, and
    # 0009's verifier knows encoding 1 only: refuse rather than leave a chain that reports tampering.
    newer = bind.exec_driver_sql("SELECT count(*), min(id) FROM audit_log WHERE hash_version = 2").fetchone()
    if newer is not None and newer[0]:
        raise RuntimeError(
            f"audit_log holds {newer[0]:,} rows hashed with encoding 2 (from row {newer[1]}); revision 0009"
            " verifies encoding 1 only and would report them as changed. Stay on 0010, or archive those rows"
            " and remove them yourself (as the database owner) before downgrading."
        )
    # the application role's rights as 0005 (and the grants of 0008/0009 it covers) left them
    op.execute("DROP TABLE login_throttle")
    op.execute("DROP TRIGGER audit_update ON api_key")
    op.execute(
        "CREATE TRIGGER audit_update AFTER UPDATE ON api_key REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_update('api_key', 'prefix')"
    )
    bind.exec_driver_sql(function_sql("peta_audit_update", "0004_audit.sql"))
    bind.exec_driver_sql(function_sql("peta_audit_chain", "0004_audit.sql"))  # SECURITY DEFINER: 0005 below
    op.execute("DROP FUNCTION peta_audit_digest_v2(text, audit_log)")
    op.execute("DROP FUNCTION peta_audit_field(text)")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_ids_flat")
    op.execute("ALTER TABLE audit_log DROP COLUMN hash_version")
    run_sql_file("0005_app_role.sql")
