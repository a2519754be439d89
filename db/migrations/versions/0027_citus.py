"""The schema distributed on Citus by kab/kota (issue 16): when the database has the citus extension, every table
with a kab/kota key is distributed by it, co-located with the families; every other table of the schema is a
reference table; triggers of reference tables run once, on the coordinator; the data version is kept per kab/kota.
On plain PostgreSQL nothing changes. See db/sql/0027_citus.sql and README "Citus".

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import run_sql_file

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"


def upgrade() -> None:
    if op.get_bind().exec_driver_sql(CITUS).scalar():
        run_sql_file("0027_citus.sql")


def downgrade() -> None:
    if op.get_bind().exec_driver_sql(CITUS).scalar():
        # undistributing moves every row back to the coordinator, which a Citus deployment outgrew: by hand
        raise RuntimeError(
            "0027 distributed the schema on Citus; to go back, undistribute each table by hand"
            " (SELECT undistribute_table(...)) and drop the per-kab/kota data versions"
        )
