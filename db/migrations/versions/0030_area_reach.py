"""Where each kab/kota's families can lie (issue 16): `area_reach` keeps, per kab/kota, a box holding the points
that lie beyond its boundary's box, and a trigger on the families refuses a point outside both. A bbox or a tile is
then routed to the kab/kota it can hold (gis.features.routed) before any family is read: on Citus, one city's map
is answered by its shard group alone. See db/sql/0030_area_reach.sql.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import sql_statements

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"


def upgrade() -> None:
    for statement in sql_statements("0030_area_reach.sql"):  # one at a time: see sql_statements
        op.get_bind().exec_driver_sql(statement)
    if op.get_bind().exec_driver_sql(CITUS).scalar():
        # a reference table, read by the trigger on every worker's shards; the functions on every node
        op.execute("SELECT create_reference_table('area_reach')")
        op.execute("SELECT create_distributed_function('peta_reach_check()')")
        op.execute("SELECT create_distributed_function('peta_reach_grow(text, geometry)')")
    # the families already placed: their boxes gathered first (on Citus from every shard), then grown on this node
    op.execute("WITH x AS MATERIALIZED (SELECT kota_code, ST_Extent(geom)::geometry AS e FROM household"
               " WHERE geom IS NOT NULL GROUP BY kota_code) SELECT count(peta_reach_grow(kota_code, e)) FROM x")

def downgrade() -> None:
    op.execute("DROP TRIGGER household_reach_update ON household")
    op.execute("DROP TRIGGER household_reach_insert ON household")
    op.execute("DROP FUNCTION peta_reach_grow(text, geometry)")
    op.execute("DROP FUNCTION peta_reach_check()")
    op.execute("DROP TABLE area_reach")
