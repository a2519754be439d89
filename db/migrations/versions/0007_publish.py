"""Published (small-cell suppressed) per-area figures kept with the aggregates; the full figures as a view.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import json

import sqlalchemy as sa
from alembic import op

from core.config import DEFAULTS, read
from db.migrations import run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0006 read the geomask radii from peta_config, which did not hold them yet
    op.get_bind().execute(
        sa.text("INSERT INTO peta_config (key, value) VALUES ('disclosure', CAST(:v AS jsonb)) ON CONFLICT DO NOTHING"),
        {"v": json.dumps(read(DEFAULTS)["disclosure"])},
    )
    run_sql_file("0007_publish.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION peta_geomask(geometry, geometry, text, float8, float8)")
    op.execute("ALTER FUNCTION peta_geomask_unchecked(geometry, geometry, text, float8, float8) RENAME TO peta_geomask")
    op.execute("DROP FUNCTION peta_stats_rollup(text[])")
    op.execute("ALTER FUNCTION peta_stats_sum(text[]) RENAME TO peta_stats_rollup")
    op.execute("DROP TABLE area_stats_public")
    op.execute("DROP FUNCTION peta_publish(text[])")
    op.execute("DROP VIEW area_figures")
