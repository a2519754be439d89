"""kota_code on every family and the rows hanging off it, in their keys and foreign keys (issue 16).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0019_kota_keys.sql")
    op.execute("SELECT peta_audit_seal()")  # the migration's audit row is sealed into the chain at once


# the keys as they were, children first (each child's foreign key goes before its parent's key changes)
_DOWN = """
ALTER TABLE verification_photo DROP CONSTRAINT verification_photo_verification_id_fkey;
ALTER TABLE assignment DROP CONSTRAINT assignment_backcheck_of_fkey, DROP CONSTRAINT assignment_household_id_fkey;
ALTER TABLE verification DROP CONSTRAINT verification_assignment_id_fkey,
    DROP CONSTRAINT verification_household_id_fkey;
ALTER TABLE assignment_event DROP CONSTRAINT assignment_event_assignment_id_fkey;
ALTER TABLE campaign_target DROP CONSTRAINT campaign_target_household_id_fkey;

ALTER TABLE household DROP CONSTRAINT household_pkey, ADD PRIMARY KEY (id),
    DROP CONSTRAINT household_kk_hash_key, ADD CONSTRAINT household_kk_hash_key UNIQUE (kk_hash),
    DROP CONSTRAINT household_kota_code_check;
ALTER TABLE household_rank DROP CONSTRAINT household_rank_pkey, ADD PRIMARY KEY (household_id);
ALTER TABLE household_version DROP CONSTRAINT household_version_pkey, ADD PRIMARY KEY (id),
    DROP CONSTRAINT household_version_household_id_version_key,
    ADD CONSTRAINT household_version_household_id_version_key UNIQUE (household_id, version);
ALTER TABLE campaign_target DROP CONSTRAINT campaign_target_pkey, ADD PRIMARY KEY (campaign_id, household_id),
    ADD CONSTRAINT campaign_target_household_id_fkey FOREIGN KEY (household_id)
        REFERENCES household (id) ON DELETE CASCADE;
ALTER TABLE assignment DROP CONSTRAINT assignment_pkey, ADD PRIMARY KEY (id),
    ADD CONSTRAINT assignment_household_id_fkey FOREIGN KEY (household_id) REFERENCES household (id);
DROP INDEX assignment_one_active_rt;
DROP INDEX assignment_one_active_family;
DROP INDEX assignment_one_backcheck;
CREATE UNIQUE INDEX assignment_one_active_rt ON assignment (campaign_id, rt_code)
    WHERE kind = 'visit' AND household_id IS NULL
      AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_active_family ON assignment (campaign_id, household_id)
    WHERE kind = 'visit' AND household_id IS NOT NULL
      AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_backcheck ON assignment (backcheck_of)
    WHERE kind = 'backcheck' AND status NOT IN ('declined', 'cancelled');
ALTER TABLE assignment_event DROP CONSTRAINT assignment_event_pkey, ADD PRIMARY KEY (id),
    ADD CONSTRAINT assignment_event_assignment_id_fkey FOREIGN KEY (assignment_id)
        REFERENCES assignment (id) ON DELETE CASCADE;
ALTER TABLE verification DROP CONSTRAINT verification_pkey, ADD PRIMARY KEY (id),
    DROP CONSTRAINT verification_client_id_key, ADD CONSTRAINT verification_client_id_key UNIQUE (client_id),
    ADD CONSTRAINT verification_assignment_id_fkey FOREIGN KEY (assignment_id) REFERENCES assignment (id),
    ADD CONSTRAINT verification_household_id_fkey FOREIGN KEY (household_id) REFERENCES household (id);
ALTER TABLE assignment ADD CONSTRAINT assignment_backcheck_of_fkey FOREIGN KEY (backcheck_of)
    REFERENCES verification (id);
ALTER TABLE verification_photo DROP CONSTRAINT verification_photo_pkey, ADD PRIMARY KEY (verification_id, sha256),
    ADD CONSTRAINT verification_photo_verification_id_fkey FOREIGN KEY (verification_id)
        REFERENCES verification (id) ON DELETE CASCADE;

DROP VIEW open_assignment;
CREATE VIEW open_assignment AS
    SELECT id, campaign_id, kind, verifier_id, rt_code, household_id, status
    FROM assignment
    WHERE peta_assignment_active(status);
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
        GRANT SELECT ON open_assignment TO peta_app;
    END IF;
END $$;
"""

_TABLES = ("verification_photo", "verification", "assignment_event", "assignment", "campaign_target",
           "household_version", "household_rank", "household")  # fmt: skip


_FUNCTIONS = (  # as they were before 0019
    ("peta_household_history", "0002_registry.sql"),
    ("peta_assignment_event", "0008_verval.sql"),
    ("peta_refresh_scores", "0002_registry.sql"),
    ("peta_rebuild_ranking", "0016_desil_per_kota.sql"),
)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(_DOWN)
    for name, file in _FUNCTIONS:
        op.get_bind().exec_driver_sql(function_sql(name, file))
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN kota_code")
