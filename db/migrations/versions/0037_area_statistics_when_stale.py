"""The areas' statistics are taken again when a statement changed a share of them, not after every statement (issue
16).

After each statement on the areas (a city's boundaries are six, one a level) the recount ANALYZEd the areas'
codes and levels on plain PostgreSQL, so that the refresh does not plan its joins on a table it believes empty:
needed while a deployment's first cities load, but at 44 cities it sampled 160,000 areas six times a city (112 ms
each, growing with every city until the sample's 30,000 pages) to learn nothing new. It now follows autovacuum's
own rule (`autovacuum_analyze_threshold` + `autovacuum_analyze_scale_factor` × the rows the table holds) applied
to the rows the statement changed: a table never analysed, or a statement that changed more than 50 rows + 10% of
it, is analysed; a city's areas among forty are not.

Only the areas: their codes are unique and their parents and levels many or few either way, so what the planner
knows of them holds as cities are added. The figures (`area_stats`) are still analysed after every statement: the
refresh filters them by kab/kota, and a kab/kota missing from their statistics would be planned as one row.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import repatched

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

STALE = """
CREATE FUNCTION peta_stale(tbl regclass, changed bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    -- autovacuum's rule for an ANALYZE, applied to the rows a statement changed (reltuples < 0: never analysed)
    SELECT c.reltuples < 0 OR changed > current_setting('autovacuum_analyze_threshold')::float8
                                        + current_setting('autovacuum_analyze_scale_factor')::float8 * c.reltuples
    FROM pg_class c WHERE c.oid = tbl
$$
"""
_PATCHES = [
    ("    codes text[];\n", "    codes text[];\n    changed bigint := (SELECT count(*) FROM new_rows);\n"),
    ("    IF NOT peta_citus() THEN\n        ANALYZE area (code, level, parent_code);\n",
     "    IF NOT peta_citus() AND peta_stale('area', changed) THEN\n        ANALYZE area (code, level, parent_code);\n"),
]


def upgrade() -> None:
    op.get_bind().exec_driver_sql(STALE)
    op.get_bind().exec_driver_sql(repatched("peta_area_rows_changed()", _PATCHES, "0037"))


def downgrade() -> None:
    op.get_bind().exec_driver_sql(
        repatched("peta_area_rows_changed()", [(new, old) for old, new in reversed(_PATCHES)], "0037")
    )
    op.execute("DROP FUNCTION peta_stale(regclass, bigint)")
