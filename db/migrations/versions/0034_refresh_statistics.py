"""The statistics a refresh takes, by the columns it needs (issue 16): loading the 16th city into one plain
PostgreSQL took 12 s against 9 s for the third, and the share that grew was the statistics of the areas.

The trigger on a statement of areas (a city's boundaries are six statements, one a level) ANALYZEd the whole
`area` table, and then the whole `area_stats`, each time: the polygons detoasted and the statistics of 35 figure
columns computed from a sample of up to 30,000 rows, six times a city. The refresh joins and filters these tables
on their codes and levels only; those are the columns it now ANALYZEs (as it already did for the families):
`area (code, level, parent_code)` and `area_stats (code, level, kota_code)`. Measured on 16 cities: 277 ms and
369 ms for each whole table, 68 ms for the area's codes. The statistics of every column, the geometries' among
them, are kept by autovacuum after the commit (and by the loaders' own ANALYZE at their end).

Patched in the functions as the database holds them (pg_get_functiondef), both ways.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import repatched

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

AREA = "area (code, level, parent_code)"
FIGURES = "area_stats (code, level, kota_code)"
_PATCHES = {
    "peta_area_rows_changed()": [
        ("        ANALYZE area;\n", f"        ANALYZE {AREA};\n"),
        ("        ANALYZE area_stats;\n", f"        ANALYZE {FIGURES};\n"),
    ],
    "peta_refresh(bigint[],text[])": [
        ("            ANALYZE area_stats;\n", f"            ANALYZE {FIGURES};\n"),
        ("        PERFORM peta_analyze('area_stats', kotas);\n",
         "        PERFORM peta_analyze('area_stats', kotas, 'code, level, kota_code');\n"),
    ],
}


def upgrade() -> None:
    for signature, patches in _PATCHES.items():
        op.get_bind().exec_driver_sql(repatched(signature, patches, "0034"))


def downgrade() -> None:
    for signature, patches in _PATCHES.items():
        op.get_bind().exec_driver_sql(repatched(signature, [(new, old) for old, new in reversed(patches)], "0034"))
