"""The application role on Citus (issue 16): a write to a table with a foreign key to a reference table (a login's
session to its user, an assignment to its verifier and RT) makes Citus lock that reference table's shard on every
node through lock_shard_resources, which checks that the session may modify the referenced table. The application
role may only read the people and the areas (least privilege), so its logins failed on Citus with "permission
denied for table app_user". Citus's own setting for this, citus.skip_advisory_lock_permission_checks, is set for the
database (on every node: Citus passes ALTER DATABASE on): the lock is still taken, only the check that the locker
could have written the table is skipped.

The views' grants to the application role are given again, now that Citus knows the views: the copies it made on
the workers had none, and a shard's trigger reading a view there (the single open assignment of an RT reads
`open_assignment`) was refused. Nothing changes on plain PostgreSQL.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"


def upgrade() -> None:
    if op.get_bind().exec_driver_sql(CITUS).scalar():
        op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.skip_advisory_lock_permission_checks"
                   " = on', current_database()); END $$")  # fmt: skip
        op.execute("""DO $$ DECLARE v text; BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
                FOR v IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
                         AND c.relkind = 'v' AND has_table_privilege('peta_app', c.oid, 'SELECT') LOOP
                    EXECUTE format('GRANT SELECT ON %I TO peta_app', v);
                END LOOP;
            END IF;
        END $$""")


def downgrade() -> None:
    if op.get_bind().exec_driver_sql(CITUS).scalar():
        op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET citus.skip_advisory_lock_permission_checks',"
                   " current_database()); END $$")  # fmt: skip
