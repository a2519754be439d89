"""Identities: users with roles and area scopes, agency API keys, sessions, login attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql" / "0003_access.sql"


def upgrade() -> None:
    op.get_bind().exec_driver_sql(SQL.read_text().replace("%", "%%"))


def downgrade() -> None:
    op.execute("DROP TABLE login_attempt, auth_session, api_key, app_user")
