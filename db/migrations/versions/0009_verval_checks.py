"""Back-check assignments, members and photos of visits, and the verification thresholds in peta_config.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import json

import sqlalchemy as sa
from alembic import op

from core.config import DEFAULTS, read
from db.migrations import function_sql, run_sql_file

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().execute(
        sa.text("INSERT INTO peta_config (key, value) VALUES ('verval', CAST(:v AS jsonb)) ON CONFLICT DO NOTHING"),
        {"v": json.dumps(read(DEFAULTS)["verval"])},
    )
    run_sql_file("0009_verval_checks.sql")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN "
        "GRANT SELECT, INSERT ON verification_photo TO peta_app; END IF; END $$"
    )


def downgrade() -> None:
    op.execute("DROP TABLE verification_photo")
    op.execute("DROP FUNCTION peta_audit_photo")
    op.execute("ALTER TABLE verification DROP COLUMN members")
    op.execute("DELETE FROM assignment WHERE kind = 'backcheck'")
    op.execute("DROP INDEX assignment_one_backcheck")
    op.execute("ALTER TABLE assignment DROP COLUMN backcheck_of, DROP COLUMN kind")  # drops the two indexes too
    op.execute(
        "CREATE UNIQUE INDEX assignment_one_active_rt ON assignment (campaign_id, rt_code) WHERE household_id IS NULL"
        " AND status IN ('assigned', 'in_progress', 'submitted', 'returned')"
    )
    op.execute(
        "CREATE UNIQUE INDEX assignment_one_active_family ON assignment (campaign_id, household_id)"
        " WHERE household_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned')"
    )
    # the guard as 0008 defined it, read from 0008's own file rather than copied here
    op.get_bind().exec_driver_sql(function_sql("peta_assignment_guard", "0008_verval.sql"))
    op.execute("DELETE FROM peta_config WHERE key = 'verval'")
