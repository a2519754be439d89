"""A programme key's agreement may leave the shared keyed KK/NIK hashes out of its eligibility lists (issue 18).

The hashes are computed under the key the city shares, so two agencies holding them can link their lists family by
family; a key made with `peta programmes key ... --no-hashes` gets lists without them (the per-programme pseudonym
stays). Default: the hashes are included, as before.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api_key ADD COLUMN programme_hashes boolean NOT NULL DEFAULT true")
    op.execute("ALTER TABLE api_key ADD CONSTRAINT api_key_programme_hashes CHECK (programme_hashes OR programme IS NOT"
               " NULL)")  # fmt: skip


def downgrade() -> None:
    # without the column every list carries the hashes again: refuse while a key's agreement leaves them out
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM api_key WHERE NOT programme_hashes AND revoked_at IS NULL) THEN
            RAISE EXCEPTION 'programme keys leave the keyed hashes out of their lists (0029): revoke them before'
                            ' downgrading';
        END IF;
    END $$""")
    op.execute("ALTER TABLE api_key DROP CONSTRAINT api_key_programme_hashes")
    op.execute("ALTER TABLE api_key DROP COLUMN programme_hashes")
