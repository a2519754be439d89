"""Registry: household versions and placement, ranking, per-area aggregates kept fresh by triggers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import json

import sqlalchemy as sa
from alembic import op

from core.config import DEFAULTS, read
from db.migrations import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_registry.sql")
    defaults = read(DEFAULTS)
    for key in ("ranking", "aggregates", "placement"):
        op.get_bind().execute(
            sa.text("INSERT INTO peta_config (key, value) VALUES (:k, CAST(:v AS jsonb))"),
            {"k": key, "v": json.dumps(defaults[key])},
        )
    op.execute("SELECT peta_refresh(NULL, NULL)")


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER area_changed_insert ON area;
        DROP TRIGGER area_changed_update ON area;
        DROP TRIGGER household_history ON household;
        DROP TRIGGER household_inserted ON household;
        DROP TRIGGER household_updated ON household;
        DROP TRIGGER household_deleted ON household;
        DROP TABLE area_stats, household_rank, peta_config, household_version;
        DROP FUNCTION peta_area_changed, peta_household_deleted, peta_household_updated,
            peta_household_inserted, peta_household_history, peta_refresh, peta_stats_rollup,
            peta_stats_rt, peta_refresh_desil, peta_refresh_scores, peta_rebuild_ranking, peta_category,
            peta_weights, peta_thresholds, peta_criteria, peta_score, peta_cfg;
        ALTER TABLE household DROP COLUMN version, DROP COLUMN placement, DROP COLUMN placement_m,
            DROP COLUMN point_rt_code, DROP COLUMN bps_count, DROP COLUMN active;
        """
    )
