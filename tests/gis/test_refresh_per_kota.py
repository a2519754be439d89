"""The refresh works per kab/kota (migration 0021, issue 16): a large change rebuilds only the kab/kota it touches
(and the desil groups it shares), a statement on the areas recounts only its kab/kota, and the result is exactly the
whole rebuild's. Expected values come from the whole rebuild (peta_refresh(NULL, NULL)), which the ranking tests
check against the rule in plain Python (tests/gis/test_ranking_rules.py)."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import ON_CITUS
from tests.worlds import insert_areas, insert_kota_chains

BOX = (103.5, -1.7, 103.7, -1.5)
KOTAS = ("15.71", "15.72", "16.71")  # two kab/kota of one province, and one of another
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))
# the criteria of family g: a fixed pseudo-random pattern (bits of a hash of g)
_FAMILIES = (
    "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, desil_resmi, source, " + _CRIT + ")"
    " SELECT %(kota)s || '-' || %(rt)s || '-' || g, 'x', %(rt)s, %(kota)s, 1 + g %% 7, 1 + g %% 10, 'test', "
    + ", ".join(f"(hashtext(%(kota)s || g) >> {i}) & 1 = 1" for i in range(14))
    + " FROM generate_series(1, %(n)s) g"
)


def _world(conn) -> None:
    insert_kota_chains(conn, KOTAS, BOX, rts=("001", "002"))


def _families(conn, kota: str, n: int, rt: str = "001") -> None:
    conn.execute(_FAMILIES, {"kota": kota, "rt": f"{kota}.01.1001.001.{rt}", "n": n})


def _state(conn) -> dict[str, list[tuple]]:
    return {
        "rank": conn.execute("SELECT household_id, kota_code, score, local_desil, category FROM household_rank"
                             " ORDER BY household_id").fetchall(),
        "figures": conn.execute("SELECT * FROM area_figures ORDER BY code").fetchall(),
        "published": conn.execute("SELECT * FROM area_stats_public ORDER BY code").fetchall(),
        "keys": conn.execute("SELECT * FROM area_cell_key ORDER BY code").fetchall(),
    }  # fmt: skip


def _ctids(conn, kota: str) -> list[tuple]:
    return conn.execute("SELECT code, ctid::text FROM area_stats WHERE left(code, 5) = %s ORDER BY code",
                        (kota,)).fetchall()  # fmt: skip


@pytest.mark.parametrize("over", ["kota", "provinsi", "all"])
def test_per_kab_kota_refreshes_give_the_whole_rebuilds_result(conn, over):
    if ON_CITUS and over != "kota":
        with pytest.raises(psycopg.Error, match="on Citus the desil is ranked within each"):  # raised on a worker
            conn.execute("UPDATE peta_config SET value = value || %s WHERE key = 'ranking'",
                         (Jsonb({"desil_over": over}),))  # fmt: skip
            _world(conn)
            _families(conn, "15.71", 10)
        return
    # category thresholds that scores reach exactly (11, 9 and 7 of 14 equal weights): a family on each edge
    edges = {"fakir_miskin": 78.57, "miskin": 64.29, "rentan": 50.0}
    conn.execute("UPDATE peta_config SET value = value || %s WHERE key = 'ranking'",
                 (Jsonb({"desil_over": over, "categories": edges}),))  # fmt: skip
    _world(conn)
    _families(conn, "15.71", 600)  # small: scored and re-ranked family by family
    _families(conn, "16.71", 400)
    untouched = _ctids(conn, "16.71")
    _families(conn, "15.72", 1500)  # large: 15.72 rebuilt whole
    # 16.71 shares no desil group with 15.72 unless everything is ranked together: its figures were not rewritten
    assert (_ctids(conn, "16.71") == untouched) is (over != "all")
    _families(conn, "15.71", 50, rt="002")
    conn.execute("DELETE FROM household WHERE kota_code = '15.72' AND id % 10 <> 0")  # large again: 1,350 of 1,500
    conn.execute("UPDATE household SET k01 = NOT k01, version = version + 1 WHERE kota_code = '15.71' AND id % 50 = 0")
    stepwise = _state(conn)
    assert len(stepwise["rank"]) > 1000 and {d for *_, d, _ in stepwise["rank"]} == set(range(1, 11))
    on_edge = {float(score) for _, kota, score, _, _ in stepwise["rank"] if kota == "15.72"}
    assert set(edges.values()) <= on_edge  # the large change ranked families exactly on every threshold
    conn.execute("SELECT peta_refresh(NULL, NULL)")
    assert _state(conn) == stepwise


def test_a_statement_on_the_areas_recounts_only_its_kab_kota(conn):
    _world(conn)
    _families(conn, "15.71", 100)
    _families(conn, "16.71", 100)
    other = _ctids(conn, "16.71")
    mine = _ctids(conn, "15.71")
    insert_areas(conn, [("15.71.01.1001.001.003", "rt", "15.71.01.1001.001", BOX)])
    assert _ctids(conn, "16.71") == other  # not rewritten
    assert [c for c, _ in _ctids(conn, "15.71")] == sorted([c for c, _ in mine] + ["15.71.01.1001.001.003"])
    assert all(a != b for (_, a), (_, b) in zip(_ctids(conn, "15.71"), mine, strict=False))
    stepwise = _state(conn)
    conn.execute("SELECT peta_refresh(NULL, NULL)")
    assert _state(conn) == stepwise


@pytest.mark.parametrize("missing", [("ranking",), ("aggregates",), ("ranking", "aggregates")])
def test_the_refresh_refuses_to_run_without_its_settings(conn, missing):
    """Either setting missing (a database not migrated through): every refresh stops, naming the fix."""
    _world(conn)
    conn.execute("DELETE FROM peta_config WHERE key = ANY (%s)", (list(missing),))
    one = "SELECT peta_refresh(ARRAY[1]::bigint[], ARRAY['15.71.01.1001.001.001'])"
    for call in ("SELECT peta_refresh(NULL, NULL)", one):
        with pytest.raises(psycopg.errors.RaiseException, match="peta_config has no ranking/aggregates settings"):
            with conn.transaction():
                conn.execute(call)


def test_every_figure_row_names_its_kab_kota(conn):
    """Migration 0026: each figure and key row carries the kab/kota of its code (the key Citus places it by);
    no other is accepted."""
    _world(conn)
    _families(conn, "15.71", 30)
    _families(conn, "16.71", 20)
    for table in ("area_stats", "area_cell_key", "area_stats_public"):
        rows = conn.execute(f"SELECT code, kota_code FROM {table} ORDER BY code").fetchall()
        assert len(rows) == 18 and all(kota == code[:5] for code, kota in rows)  # 6 areas in each of 3 kab/kota
        # on Citus a row never moves to another kab/kota's shard: refused before the check
        refused = psycopg.errors.FeatureNotSupported if ON_CITUS else psycopg.errors.CheckViolation
        with pytest.raises(refused), conn.transaction():
            conn.execute(f"UPDATE {table} SET kota_code = '15.72' WHERE code = '15.71'")
    assert conn.execute("SELECT kota_code, families FROM area_figures WHERE level = 'kota' ORDER BY 1").fetchall() == [
        ("15.71", 30), ("15.72", 0), ("16.71", 20)]  # fmt: skip


def _estimate(conn, table: str, kota: str) -> int:
    """The planner's row estimate for one kab/kota's rows of `table` (on Citus: the shard's, on its worker)."""
    plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {table} WHERE kota_code = %s", (kota,)))
    found = re.findall(rf"Scan (?:using \S+ )?on {table}(?:_\d+)? .*?rows=(\d+)", plan)
    assert len(found) == 1, plan
    return int(found[0])


def test_a_large_write_gives_the_planner_what_it_wrote_in_its_own_transaction(conn):
    """Migration 0033: the refresh of a large write ANALYZEs the families and their ranking before joining them
    (on Citus, the shard of the kab/kota written, on its worker), inside the writing transaction: without it the
    planner takes a loaded city for an empty one and the refresh's joins go quadratic."""
    _world(conn)
    _families(conn, "16.71", 40)  # a small write: refreshed family by family
    _families(conn, "15.71", 2_000)  # a large one: rebuilt for its kab/kota, statistics first
    assert _estimate(conn, "household", "15.71") == 2_000
    # the ranking's desil is set after its ANALYZE, by an UPDATE: the planner scales its count by the pages the
    # new row versions added (without any statistics it would guess a few rows: 0.5% of the table)
    assert 2_000 <= _estimate(conn, "household_rank", "15.71") <= 4_000


def test_the_columns_analysed_are_quoted_one_by_one(conn):
    """peta_analyze takes its column list as text: each name is quoted, so the text cannot carry a statement."""
    hostile = "id); DROP TABLE area_reach; --"
    call = "SELECT peta_analyze('household', ARRAY['15.71'], %s)"
    if ON_CITUS:  # on the coordinator, which holds no shard: nothing to analyse
        conn.execute(call, (hostile,))
    else:
        with pytest.raises(psycopg.errors.UndefinedColumn, match='"id\\); DROP TABLE area_reach; --"'):
            with conn.transaction():
                conn.execute(call, (hostile,))
    assert conn.execute("SELECT to_regclass('area_reach') IS NOT NULL").fetchone() == (True,)


def _insert_rts(conn, numbers: range) -> None:
    codes = [f"15.71.01.1001.001.{i:03d}" for i in numbers]
    conn.execute(
        "INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source, geom_hash)"
        " SELECT c, c, 'rt', '15.71.01.1001.001', ST_Multi(ST_MakeEnvelope(103.5, -1.7, 103.7, -1.5, 4326)), 1, 100,"
        " 'test', c FROM unnest(%s::text[]) c",
        (codes,),
    )


def _analysed(conn) -> list[str]:
    return [t for (t,) in conn.execute(
        "SELECT DISTINCT tablename::text FROM pg_stats WHERE schemaname = 'public'"
        " AND tablename IN ('area', 'area_stats') ORDER BY 1")]  # fmt: skip


@pytest.mark.skipif(ON_CITUS, reason="on Citus the areas (a reference table) are not analysed inside the statement")
def test_a_statement_on_the_areas_analyses_the_columns_the_refresh_reads(conn):
    """Migration 0034: the recount after each statement on the areas ANALYZEs their codes and levels, not their
    polygons (nor the 35 figure columns of area_stats): the whole tables cost a loaded province six times a city."""
    _world(conn)
    conn.execute("ANALYZE area")  # its row count as it is here (an ANALYZE's count outlives a rolled-back test)
    conn.execute("DELETE FROM pg_statistic WHERE starelid IN ('area'::regclass, 'area_stats'::regclass)")
    _insert_rts(conn, range(3, 303))  # one statement: one recount, one ANALYZE of each table
    analysed = conn.execute(
        "SELECT tablename, array_agg(attname::text ORDER BY attname) FROM pg_stats WHERE schemaname = 'public'"
        " AND tablename IN ('area', 'area_stats') GROUP BY 1 ORDER BY 1").fetchall()  # fmt: skip
    assert analysed == [("area", ["code", "level", "parent_code"]), ("area_stats", ["code", "kota_code", "level"])]
    # and the planner knows the RTs just written: 2 in each chain of _world, and these 300
    (plan,) = conn.execute("EXPLAIN SELECT * FROM area WHERE level = 'rt'").fetchone()
    assert int(re.findall(r"rows=(\d+)", plan)[0]) == 3 * 2 + 300


@pytest.mark.skipif(ON_CITUS, reason="on Citus the areas (a reference table) are not analysed inside the statement")
def test_the_areas_are_analysed_again_only_when_a_statement_changed_a_share_of_them(conn):
    """Migration 0037: autovacuum's rule (50 rows + 10% of the table) decides whether a statement's areas are worth
    new statistics; the figures are analysed after every statement (the refresh filters them by kab/kota)."""
    _world(conn)
    conn.execute("ANALYZE area")
    (rows,) = conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'area'::regclass").fetchone()
    assert rows == 3 * 6  # three kab/kota chains: kab/kota, kecamatan, kelurahan, RW and two RTs
    conn.execute("DELETE FROM pg_statistic WHERE starelid IN ('area'::regclass, 'area_stats'::regclass)")
    _insert_rts(conn, range(3, 3 + 51))  # 51 rows: not above 50 + 1.8
    assert _analysed(conn) == ["area_stats"]
    _insert_rts(conn, range(100, 100 + 53))  # 53 > 50 + 0.1 * 18
    assert _analysed(conn) == ["area", "area_stats"]
    # a table never analysed is analysed whatever the statement
    conn.execute("DELETE FROM pg_statistic WHERE starelid = 'area'::regclass")
    conn.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = 'area'::regclass")
    _insert_rts(conn, range(200, 201))
    assert _analysed(conn) == ["area", "area_stats"]
