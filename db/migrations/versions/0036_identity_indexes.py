"""The families' identity indexes stop growing with the deployment (issue 16).

A KK number is unique within its kab/kota; its index was led by the keyed hash, `UNIQUE (kk_hash, kota_code)`,
and the head of family's NIK hash had a btree of its own. A hash is random: a city's 95,000 families wrote their
entries all over two indexes of every city's families (350 MB each at 30 full-size cities), each leaf page
touched once more after each checkpoint and written whole to the WAL (84,000 full pages a city at 30 cities,
660 MB of WAL). Loading a 41st city took 17.2-17.8 s with the indexes as they were, 15.4-15.6 s with these
(the 4th: 13.9-14.6 s), and wrote 200-320 MB of WAL instead of 840-900.

- The unique key is now `(kota_code, kk_hash)`: the same rule, and one city's entries one range of the index. The
  importer's `ON CONFLICT (kk_hash, kota_code)` infers it (a unique index is matched by its set of columns).
- A family is still found by its KK or NIK hash alone across the deployment (a data subject's request, a
  programme's roster, the registry's check that a head of family heads no other family): those lookups are
  equalities, now answered by hash indexes (`USING hash`), which hold a 4-byte hash code a row: a third of the
  btree's pages to write into (144 MB against 458 MB at 48 cities).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-02
"""

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE household DROP CONSTRAINT household_kk_hash_key")
    op.execute("ALTER TABLE household ADD CONSTRAINT household_kk_hash_key UNIQUE (kota_code, kk_hash)")
    op.execute("CREATE INDEX household_kk_hash_idx ON household USING hash (kk_hash)")
    op.execute("DROP INDEX household_nik_kepala_hash_idx")
    op.execute("CREATE INDEX household_nik_kepala_hash_idx ON household USING hash (nik_kepala_hash)")


def downgrade() -> None:
    op.execute("DROP INDEX household_nik_kepala_hash_idx")
    op.execute("CREATE INDEX household_nik_kepala_hash_idx ON household (nik_kepala_hash)")
    op.execute("DROP INDEX household_kk_hash_idx")
    op.execute("ALTER TABLE household DROP CONSTRAINT household_kk_hash_key")
    op.execute("ALTER TABLE household ADD CONSTRAINT household_kk_hash_key UNIQUE (kk_hash, kota_code)")
