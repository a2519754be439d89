"""The audit trail: append-only, hash-chained, written by triggers in the changing transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# audited table -> the column that identifies a row in the log
AUDITED = {"household": "id", "area": "code", "app_user": "username", "api_key": "prefix", "peta_config": "key"}


def upgrade() -> None:
    run_sql_file("0004_audit.sql")
    for table, key in AUDITED.items():
        for event, fn in (("INSERT", "insert"), ("UPDATE", "update"), ("DELETE", "delete")):
            tables = {
                "INSERT": "NEW TABLE AS new_rows",
                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                "DELETE": "OLD TABLE AS old_rows",
            }[event]
            op.execute(
                f"CREATE TRIGGER audit_{fn} AFTER {event} ON {table} REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_{fn}('{table}', '{key}')"
            )


def downgrade() -> None:
    for table in AUDITED:
        for fn in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER audit_{fn} ON {table}")
    # the digest function takes the table's row type, so the table goes first, taking it along
    op.execute("DROP TABLE audit_log, audit_head CASCADE")
    op.execute(
        "DROP FUNCTION peta_audit_insert, peta_audit_update, peta_audit_delete, peta_audit_write, "
        "peta_audit_append_only, peta_audit_chain"
    )
