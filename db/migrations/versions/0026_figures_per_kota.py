"""The figures kept per kab/kota (issue 16): every figure row carries its kab/kota, part of its key, and every
statement of the refresh names the kab/kota it touches, as Citus needs of statements run in a shard's trigger.

Besides db/sql/0026_figures_per_kota.sql, this rewrites 0020's peta_stats_rt and the area_figures view with
the same few changes, made to 0020's text here (asserted to apply exactly once each) rather than copied whole:
each RT's figure row and key row names its kab/kota, and the families and ranks they count are read in the
kab/kota of the RTs refreshed.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""

import re

from alembic import op

from db.migrations import SQL_DIR, function_sql, patched, run_sql_file

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

KOTAS = "    kotas text[] := peta_kotas_of(rts);\n"
_RT_PATCHES = {
    "peta_stats_rt": [
        ("    gap float8 := peta_cfg('aggregates', 'desil_gap');\nBEGIN\n",
         "    gap float8 := peta_cfg('aggregates', 'desil_gap');\n" + KOTAS + "BEGIN\n"),
        ("DELETE FROM area_stats WHERE level = 'rt' AND (rts IS NULL OR code IN (SELECT unnest(rts)));",
         "DELETE FROM area_stats WHERE kota_code = ANY (kotas) AND level = 'rt'"
         " AND (rts IS NULL OR code IN (SELECT unnest(rts)));"),
        ("    INSERT INTO area_stats (\n        code, level,", "    INSERT INTO area_stats (\n        kota_code, code, level,"),  # noqa: E501
        ("    SELECT a.code, 'rt', a.population,", "    SELECT left(a.code, 5), a.code, 'rt', a.population,"),
        ("    LEFT JOIN household h ON h.rt_code = a.code\n    LEFT JOIN household_rank r ON r.household_id = h.id\n",
         "    LEFT JOIN household h ON h.kota_code = ANY (kotas) AND h.rt_code = a.code\n"
         "    LEFT JOIN household_rank r ON r.kota_code = ANY (kotas) AND r.kota_code = h.kota_code"
         " AND r.household_id = h.id\n"),
        ("    WHERE a.level = 'rt' AND (rts IS NULL OR a.code IN (SELECT unnest(rts)))\n",
         "    WHERE a.level = 'rt' AND left(a.code, 5) = ANY (kotas) AND (rts IS NULL OR a.code IN (SELECT unnest(rts)))\n"),  # noqa: E501
    ],
}


def _view(file: str) -> str:
    text = (SQL_DIR / file).read_text()
    found = re.search(r"CREATE OR REPLACE VIEW area_figures AS.*?FROM area_stats s;", text, re.S)
    if found is None:
        raise RuntimeError(f"{file} no longer defines area_figures")
    return found.group(0).replace("%", "%%")


def upgrade() -> None:
    bind = op.get_bind()
    run_sql_file("0026_figures_per_kota.sql")
    for name, patches in _RT_PATCHES.items():
        text = function_sql(name, "0020_kota_settings.sql")
        bind.exec_driver_sql(patched(text, patches, f"0026 cannot rewrite {name}"))
    # the view names each row's kab/kota too (a column added at its end: the readers name their columns)
    bind.exec_driver_sql(patched(_view("0020_kota_settings.sql"), [
        ("       '{}'::text[] AS suppressed\nFROM area_stats s;", "       '{}'::text[] AS suppressed, s.kota_code\nFROM area_stats s;"),  # noqa: E501
    ], "0026 cannot rewrite area_figures"))  # fmt: skip


_BEFORE = (  # the functions as they were before 0026
    ("peta_stats_rt", "0020_kota_settings.sql"),
    ("peta_stats_keys_rt", "0020_kota_settings.sql"),
    ("peta_stats_keys_rollup", "0011_disclosure.sql"),
    ("peta_refresh_desil", "0021_refresh_per_kota.sql"),
    ("peta_rebuild_ranking", "0021_refresh_per_kota.sql"),
    ("peta_refresh", "0021_refresh_per_kota.sql"),
    ("peta_area_rows_changed", "0021_refresh_per_kota.sql"),
)


def _make_publish() -> str:
    """0018's peta_make_publish (its body is quoted with $do$, which function_sql does not read)."""
    text = (SQL_DIR / "0018_local_programs.sql").read_text()
    found = re.search(r"CREATE FUNCTION peta_make_publish\(\).*?END \$do\$;", text, re.S)
    if found is None:
        raise RuntimeError("0018_local_programs.sql no longer defines peta_make_publish")
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace("%", "%%")


def downgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(_make_publish())
    op.execute("DROP VIEW area_figures")
    bind.exec_driver_sql(_view("0020_kota_settings.sql").replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    op.execute("GRANT SELECT ON area_figures TO peta_app")
    op.execute("DROP FUNCTION peta_refresh_scores(bigint[], text[])")
    bind.exec_driver_sql(function_sql("peta_refresh_scores", "0019_kota_keys.sql"))
    for name, file in _BEFORE:
        bind.exec_driver_sql(function_sql(name, file))
    # 0002's roll-up, renamed peta_stats_sum by 0007
    bind.exec_driver_sql(function_sql("peta_stats_rollup", "0002_registry.sql").replace(
        "FUNCTION peta_stats_rollup(", "FUNCTION peta_stats_sum("))  # fmt: skip
    op.execute("SELECT peta_make_publish()")
    for table in ("area_stats", "area_cell_key", "area_stats_public"):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, ADD PRIMARY KEY (code)")
        op.execute(f"ALTER TABLE {table} DROP COLUMN kota_code")
    op.execute("DROP FUNCTION peta_kotas_of(text[]), peta_on_coordinator(), peta_citus()")
