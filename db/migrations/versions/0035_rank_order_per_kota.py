"""The ranking's order index leads with the kab/kota (issue 16).

household_rank_order_idx (score DESC, bps_count DESC, jumlah_anggota DESC, household_id) ordered every family of
the deployment together. A city's ranking, rebuilt when it is loaded, then wrote its 95,000 entries all over an
index of every city's (9.5 million at 100 cities): each leaf page touched once more after each checkpoint, a full
page written to the WAL each time. The reads of the order name the kab/kota too (a family's rank among the families
of its desil group, by default its own kab/kota; a city's or a kelurahan's poorest first), and on Citus each shard
holds one kab/kota anyway: led by kota_code, one city's entries are one range of the index, written and read
together.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02
"""

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

ORDER = "score DESC, bps_count DESC, jumlah_anggota DESC, household_id"


def upgrade() -> None:
    op.execute("DROP INDEX household_rank_order_idx")
    op.execute(f"CREATE INDEX household_rank_order_idx ON household_rank (kota_code, {ORDER})")


def downgrade() -> None:
    op.execute("DROP INDEX household_rank_order_idx")
    op.execute(f"CREATE INDEX household_rank_order_idx ON household_rank ({ORDER})")
