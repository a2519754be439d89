"""Verification campaigns, their target families, and assignments with one active per RT per campaign.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

AUDITED = {"campaign": "id", "assignment": "id", "verification": "id"}


def upgrade() -> None:
    run_sql_file("0008_verval.sql")
    for table, key in AUDITED.items():
        for event, fn, tables in (
            ("INSERT", "insert", "NEW TABLE AS new_rows"),
            ("UPDATE", "update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "delete", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER audit_{fn} AFTER {event} ON {table} REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_{fn}('{table}', '{key}')"
            )
    # the application role reads and writes the new tables (its default privileges cover the tables,
    # the sequences need their grant when created by another role)
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON campaign, campaign_target, assignment, assignment_event, verification"
        " TO peta_app; "
        "GRANT USAGE, SELECT ON SEQUENCE campaign_id_seq, assignment_id_seq, assignment_event_id_seq,"
        " verification_id_seq TO peta_app; "
        "END IF; END $$"
    )


def downgrade() -> None:
    op.execute("DROP TABLE verification, assignment_event, assignment, campaign_target, campaign")
    op.execute("DROP FUNCTION peta_assignment_guard, peta_assignment_event")
    op.execute("ALTER TABLE app_user DROP COLUMN kk_hash")
