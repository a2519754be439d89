"""The least-privilege role peta_app the application connects as.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from pathlib import Path

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql" / "0005_app_role.sql"


def upgrade() -> None:
    op.get_bind().exec_driver_sql(SQL.read_text().replace("%", "%%"))


def downgrade() -> None:
    op.execute("ALTER FUNCTION peta_audit_chain() SECURITY INVOKER")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM peta_app")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM peta_app")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM peta_app")
    op.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM peta_app")
    op.execute("REVOKE USAGE ON SCHEMA public FROM peta_app")
