"""The least-privilege role peta_app the application connects as.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_app_role.sql")


def downgrade() -> None:
    op.execute("ALTER FUNCTION peta_audit_chain() SECURITY INVOKER")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM peta_app")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM peta_app")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM peta_app")
    op.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM peta_app")
    op.execute("REVOKE USAGE ON SCHEMA public FROM peta_app")
