"""Published (small-cell suppressed) per-area figures kept with the aggregates; the full figures as a view.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from alembic import op

from gis.migrations import SQL_DIR, run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
