"""Scopes of a province: users and agency keys may be scoped to province codes (issue 16).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0022_scope_provinsi.sql")


def downgrade() -> None:
    # a province scope has no narrower equivalent: refuse rather than widen or narrow someone's access
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM app_user WHERE scope_level = 'provinsi')
           OR EXISTS (SELECT 1 FROM api_key WHERE scope_level = 'provinsi') THEN
            RAISE EXCEPTION 'users or keys are scoped to a province: change their scope before downgrading';
        END IF;
    END $$""")
    op.execute("""ALTER TABLE app_user DROP CONSTRAINT app_user_scope_level_check,
        ADD CONSTRAINT app_user_scope_level_check CHECK (scope_level IN ('kota', 'kecamatan', 'kelurahan', 'rt'))""")
    op.execute("""ALTER TABLE api_key DROP CONSTRAINT api_key_scope_level_check,
        ADD CONSTRAINT api_key_scope_level_check CHECK (scope_level IN ('kota', 'kecamatan', 'kelurahan'))""")
