"""A campaign belongs to one kab/kota: campaign.kota_code, names unique per kab/kota (issue 16).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0017_campaign_kota.sql")


def downgrade() -> None:
    op.execute("DROP INDEX campaign_kota_idx")
    op.execute("ALTER TABLE campaign DROP CONSTRAINT campaign_kota_name_key")
    op.execute("ALTER TABLE campaign ADD CONSTRAINT campaign_name_key UNIQUE (name)")
    op.execute("ALTER TABLE campaign DROP COLUMN kota_code")
