"""The refresh of a large write on Citus (issue 16): a city of 9,500 families took 13 s to load on one machine,
against 1 s on plain PostgreSQL. Two causes, both in the statements a shard's trigger runs on its worker.

Statistics of the shards a load writes. The refresh run by a large write (an import, a city loaded)
ANALYZEs the families, their ranking and the figures before it joins them, on plain PostgreSQL: without it the
planner sees "empty" tables and turns the joins quadratic. On Citus it skipped them (an ANALYZE of a distributed
table reaches every node from inside a statement), and the shard's trigger paid for it: one RT at a time, each
probe reading the kab/kota's whole index.

peta_analyze(table, kotas, columns) keeps plain PostgreSQL's ANALYZE as it was, and on a Citus worker ANALYZEs the
local shards of the given kab/kota only (the shard group the trigger runs in: a local table, analysed in the
writing transaction like any other). On the Citus coordinator, which holds no shards, it does nothing. The
refresh's calls of ANALYZE are rewritten to call it, as patches of 0026's text asserted to apply exactly once.

The local programmes of each kab/kota, read once per refresh. The RT figures and keys (peta_stats_rt,
peta_stats_keys_rt) called peta_local_programs(kota) in a lateral subquery, evaluated for every family joined:
5 us a call on plain PostgreSQL, 56 us on a worker, where each call's read of peta_config (a reference table)
passes through Citus's planner; 19,680 calls for one city. They now read each kab/kota's list once, into a
variable, and join it. Patched in the functions as the database holds them (pg_get_functiondef), both ways.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, patched, repatched

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
ANALYZE = """
CREATE FUNCTION peta_analyze(tbl regclass, kotas text[], cols text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    shard text;
    -- each column quoted: the list is the caller's text
    columns text := COALESCE(' (' || (SELECT string_agg(quote_ident(trim(c)), ', ')
                                      FROM unnest(string_to_array(cols, ',')) c) || ')', '');
BEGIN
    IF NOT peta_citus() THEN
        EXECUTE format('ANALYZE %s%s', tbl, columns);
        RETURN;
    END IF;
    -- a shard of each kab/kota, where this node holds it (a worker in a shard's trigger; the coordinator holds none)
    FOR shard IN EXECUTE 'SELECT DISTINCT shard_name($1, get_shard_id_for_distribution_column($1, k))
                          FROM unnest($2) k' USING tbl, COALESCE(kotas, '{}') LOOP
        IF to_regclass(shard) IS NOT NULL THEN
            EXECUTE format('ANALYZE %s%s', shard, columns);
        END IF;
    END LOOP;
END $$
"""

HOUSEHOLD = "'household', kotas, 'id, kota_code, rt_code, hasil_verval'"
_PATCHES = {
    "peta_refresh": [
        ("        IF whole THEN\n            ANALYZE household (id, kota_code, rt_code, hasil_verval);\n"
         "        END IF;\n        touched :=",
         f"        PERFORM peta_analyze({HOUSEHOLD});\n        touched :="),
        ("        PERFORM peta_stats_rollup(touched);\n        IF whole THEN\n            ANALYZE area_stats;\n"
         "        END IF;\n        RETURN;",
         "        PERFORM peta_stats_rollup(touched);\n        PERFORM peta_analyze('area_stats', kotas);\n"
         "        RETURN;"),
    ],
    "peta_rebuild_ranking": [
        ("          FROM household h WHERE h.active AND h.kota_code = ANY (kotas)) s;\n"
         "    IF NOT peta_citus() THEN\n        ANALYZE household_rank;\n    END IF;\n",
         "          FROM household h WHERE h.active AND h.kota_code = ANY (kotas)) s;\n"
         "    PERFORM peta_analyze('household_rank', kotas);\n"),
    ],
}


def _patched(name: str) -> str:
    return patched(function_sql(name, "0026_figures_per_kota.sql"), _PATCHES[name], f"0033 cannot rewrite {name}")


KOTAS = "    kotas text[] := peta_kotas_of(rts);\n"
LOCALS = "    locals jsonb := (SELECT jsonb_object_agg(k, peta_local_programs(k)) FROM unnest(kotas) k);\n"
_LOCAL_PATCHES = [
    (KOTAS, KOTAS + LOCALS),
    ("CROSS JOIN LATERAL (SELECT peta_local_programs(left(a.code, 5)) AS local_codes) lp",
     "JOIN (SELECT key AS kota, ARRAY(SELECT jsonb_array_elements_text(value)) AS local_codes"
     " FROM jsonb_each(locals)) lp ON lp.kota = left(a.code, 5)"),
]
LOCAL_FUNCTIONS = ("peta_stats_rt", "peta_stats_keys_rt")


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(ANALYZE.replace("%", "%%"))
    if bind.exec_driver_sql(CITUS).scalar():
        op.execute("SELECT create_distributed_function('peta_analyze(regclass, text[], text)')")
    for name in _PATCHES:
        bind.exec_driver_sql(_patched(name))
    for name in LOCAL_FUNCTIONS:
        bind.exec_driver_sql(repatched(f"{name}(text[])", _LOCAL_PATCHES, "0033"))


def downgrade() -> None:
    bind = op.get_bind()
    for name in LOCAL_FUNCTIONS:
        back = [(new, old) for old, new in reversed(_LOCAL_PATCHES)]
        bind.exec_driver_sql(repatched(f"{name}(text[])", back, "0033"))
    for name in _PATCHES:
        bind.exec_driver_sql(function_sql(name, "0026_figures_per_kota.sql"))
    op.execute("DROP FUNCTION peta_analyze(regclass, text[], text)")
