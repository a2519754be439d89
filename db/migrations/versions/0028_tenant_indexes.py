"""Indexes so that one kab/kota's reads do not grow with the others (issue 16, measured by bench/bench_scale.py):
the areas under a code prefix (`code LIKE '15.71.%'`, as the figures, tiles and area listings of one city ask
them; the database's collation is not C, so the primary key cannot serve a prefix) and the newest figure
refresh (`max(updated_at)`, the OGC items' data stamp), which read every row of every city before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX area_code_prefix ON area (code text_pattern_ops)")
    op.execute("CREATE INDEX area_stats_updated ON area_stats (updated_at)")


def downgrade() -> None:
    op.execute("DROP INDEX area_stats_updated")
    op.execute("DROP INDEX area_code_prefix")
