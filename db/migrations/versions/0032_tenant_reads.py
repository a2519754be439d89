"""Indexes for one kab/kota's figures read by its code (issue 16): the reads routed to one city (gis.features.routed,
gis.figures) name `kota_code`, which the figure tables' keys hold second (code, kota_code). Measured with ten
cities side by side (bench/bench_scale.py): one city's RT figures went from an index join to a scan of every city's
published rows (18 ms), and the items' data stamp, `max(updated_at)` of one city, walked the 0028 index on
`updated_at` past every newer city's rows. Each table gets (kota_code, code); the stamp's index becomes
(kota_code, updated_at), which answers one city's newest refresh in one probe.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

TABLES = ("area_stats", "area_stats_public", "area_cell_key")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE INDEX {table}_kota ON {table} (kota_code, code)")
    op.execute("DROP INDEX area_stats_updated")
    op.execute("CREATE INDEX area_stats_kota_updated ON area_stats (kota_code, updated_at)")


def downgrade() -> None:
    op.execute("DROP INDEX area_stats_kota_updated")
    op.execute("CREATE INDEX area_stats_updated ON area_stats (updated_at)")
    for table in TABLES:
        op.execute(f"DROP INDEX {table}_kota")
