"""One audit chain per kab/kota plus the deployment's own (issue 16): each audit row names its chain, and each
chain is positioned, headed and sealed on its own.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0023_audit_per_kota.sql")


_BEFORE = (  # the functions as they were before 0023
    ("peta_audit_chain", "0013_audit_seal.sql"),
    ("peta_audit_append_only", "0013_audit_seal.sql"),
    ("peta_audit_seal", "0013_audit_seal.sql"),
    ("peta_audit_write", "0004_audit.sql"),
    ("peta_audit_insert", "0004_audit.sql"),
    ("peta_audit_delete", "0004_audit.sql"),
    ("peta_audit_update", "0010_integrity.sql"),
    ("peta_audit_photo", "0009_verval_checks.sql"),
)


def downgrade() -> None:
    # one chain cannot be made of several without re-hashing them, which would launder every row: refuse once
    # anything was written in a kab/kota chain or sealed with encoding 4
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM audit_log WHERE kota_code <> '' OR hash_version = 4) THEN
            RAISE EXCEPTION 'the audit log holds rows of the per-kab/kota chains (0023): '
                            'it cannot go back to one chain';
        END IF;
    END $$""")
    op.execute("DROP FUNCTION peta_audit_write(text, text, text, text[], jsonb, jsonb)")
    op.execute("DROP FUNCTION peta_audit_seal_chain(text, integer), peta_audit_chain_of(oid, text)")
    bind = op.get_bind()
    for name, file in _BEFORE:
        bind.exec_driver_sql(function_sql(name, file))
    op.execute("DROP FUNCTION peta_audit_digest_v4(text, audit_log)")
    op.execute("ALTER TABLE audit_head DROP CONSTRAINT audit_head_pkey")
    op.execute("ALTER TABLE audit_head ADD COLUMN one boolean NOT NULL DEFAULT true CHECK (one)")
    op.execute("ALTER TABLE audit_head ADD PRIMARY KEY (one)")
    op.execute("ALTER TABLE audit_head DROP COLUMN kota_code")
    op.execute("DROP INDEX audit_log_unsealed")
    op.execute("CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL")
    op.execute("DROP INDEX audit_log_seq")
    op.execute("CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq)")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (id)")
    op.execute("ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT, ALTER COLUMN hash_version SET DEFAULT 3")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_version_check,"
               " ADD CONSTRAINT audit_log_hash_version_check CHECK (hash_version IN (1, 2, 3))")  # fmt: skip
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_kota_code_form, DROP COLUMN kota_code")
