"""Identities: users with roles and area scopes, agency API keys, sessions, login attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_access.sql")


def downgrade() -> None:
    op.execute("DROP TABLE login_attempt, auth_session, api_key, app_user")
