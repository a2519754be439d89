"""Programme exchange (issue 18): agency keys bound to one programme, the recipient rosters they upload, each
upload a version (programme_roster) naming its families (programme_recipient, by kab/kota), and each period's
eligibility list fixed per kab/kota at its cut-off (programme_list, programme_eligible).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0025_programmes.sql")


def downgrade() -> None:
    # a roster names families; dropping it forgets who received what: refuse once any was accepted, and refuse
    # to widen a programme key into a general agency key
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM programme_roster) OR EXISTS (SELECT 1 FROM programme_list) THEN
            RAISE EXCEPTION 'programme rosters were uploaded or lists fixed (0025): keep them, or remove them '
                            'deliberately first';
        END IF;
        IF EXISTS (SELECT 1 FROM api_key WHERE programme IS NOT NULL AND revoked_at IS NULL) THEN
            RAISE EXCEPTION 'agency keys are bound to a programme: revoke them before downgrading';
        END IF;
    END $$""")
    op.execute("DROP TABLE programme_eligible, programme_list, programme_recipient, programme_roster")
    op.execute("DROP INDEX IF EXISTS household_nik_kepala_hash_idx")
    op.execute("ALTER TABLE api_key DROP CONSTRAINT api_key_programme_names")
    op.execute("ALTER TABLE api_key DROP COLUMN programme_names")
    op.execute("ALTER TABLE api_key DROP CONSTRAINT api_key_programme_no_points")
    op.execute("ALTER TABLE api_key DROP CONSTRAINT api_key_programme_form")
    op.execute("ALTER TABLE api_key DROP COLUMN programme")
