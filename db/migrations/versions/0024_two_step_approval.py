"""Approval in two steps (issue 17): a visit checked by a verifier officer waits as 'checked' until a head of
office decides it; who checked and when is kept beside who decided, and one person never does both.

The head of office is a permission on an administrator or coordinator (app_user.head_of_office), granted with
`peta users head-of-office`. How many steps a kab/kota uses is configuration (verval.approval_steps).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


# one subcommand per statement: Citus runs no ADD CONSTRAINT beside other subcommands on a distributed table
_UP = (
    "ALTER TABLE verification DROP CONSTRAINT verification_status_check",
    "ALTER TABLE verification ADD CONSTRAINT verification_status_check"
    " CHECK (status IN ('submitted', 'checked', 'approved', 'returned'))",
    "ALTER TABLE verification ADD COLUMN checked_by text",
    "ALTER TABLE verification ADD COLUMN checked_at timestamptz",
    "ALTER TABLE verification ADD CONSTRAINT verification_checked_check"
    " CHECK ((checked_by IS NULL) = (checked_at IS NULL))",
    "ALTER TABLE verification ADD CONSTRAINT verification_checked_status_check"
    " CHECK (status <> 'checked' OR checked_by IS NOT NULL)",
    # four eyes: whoever checked a visit does not decide it too
    "ALTER TABLE verification ADD CONSTRAINT verification_four_eyes_check"
    " CHECK (checked_by IS NULL OR decided_by IS NULL OR checked_by <> decided_by)",
    "ALTER TABLE app_user ADD COLUMN head_of_office boolean NOT NULL DEFAULT false",
    "ALTER TABLE app_user ADD CONSTRAINT app_user_head_of_office_check"
    " CHECK (NOT head_of_office OR role IN ('admin', 'coordinator'))",
    # the application writes the first step's columns as it writes the decision's (0010 granted those)
    "GRANT UPDATE (checked_by, checked_at) ON verification TO peta_app",
)
_DOWN = (
    "REVOKE UPDATE (checked_by, checked_at) ON verification FROM peta_app",
    "ALTER TABLE app_user DROP COLUMN head_of_office",
    "ALTER TABLE verification DROP CONSTRAINT verification_four_eyes_check",
    "ALTER TABLE verification DROP CONSTRAINT verification_checked_status_check",
    "ALTER TABLE verification DROP CONSTRAINT verification_checked_check",
    "ALTER TABLE verification DROP COLUMN checked_by",
    "ALTER TABLE verification DROP COLUMN checked_at",
    "ALTER TABLE verification DROP CONSTRAINT verification_status_check",
    "ALTER TABLE verification ADD CONSTRAINT verification_status_check"
    " CHECK (status IN ('submitted', 'approved', 'returned'))",
)


def upgrade() -> None:
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    # a visit half-way through its approval has no one-step equivalent: refuse rather than approve or reopen it
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM verification WHERE status = 'checked') THEN
            RAISE EXCEPTION 'visits are checked and wait for a head of office: decide them before downgrading';
        END IF;
    END $$""")
    for statement in _DOWN:
        op.execute(statement)
