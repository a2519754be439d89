"""Published (small-cell suppressed) per-area figures kept with the aggregates; the full figures as a view.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import json

import sqlalchemy as sa
from alembic import op

from gis.config import DEFAULTS, _read
from gis.migrations import SQL_DIR, run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0006 read the geomask radii from peta_config, which did not hold them yet
    op.get_bind().execute(
        sa.text("INSERT INTO peta_config (key, value) VALUES ('disclosure', CAST(:v AS jsonb)) ON CONFLICT DO NOTHING"),
        {"v": json.dumps(_read(DEFAULTS)["disclosure"])},
    )
    run_sql_file("0007_publish.sql")


def downgrade() -> None:
    # peta_stats_rollup goes back to its 0002 form: the same body without the publishing step
    op.execute("DROP TABLE area_stats_public")
    op.execute("DROP FUNCTION peta_publish(text[])")
    op.execute("DROP VIEW area_figures")
    text = (SQL_DIR / "0002_registry.sql").read_text()
    start = text.index("CREATE FUNCTION peta_stats_rollup")
    body = text[start : text.index("END $$;", start) + len("END $$;")]
    op.get_bind().exec_driver_sql(body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace("%", "%%"))
    geomask = (SQL_DIR / "0006_geomask.sql").read_text()
    op.get_bind().exec_driver_sql(geomask.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace("%", "%%"))
