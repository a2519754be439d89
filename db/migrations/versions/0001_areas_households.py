"""Areas of every level with versions, and households.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

from db.models import app_meta, area, area_version, household

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    bind = op.get_bind()
    for table in (area, area_version, household, app_meta):
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in (app_meta, household, area_version, area):
        table.drop(bind)
