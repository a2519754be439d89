"""Per-area figures: the stored ones (read_stats for staff, read_public as published), or recounted over a
filtered set of families, and the data version of the public ones.

Without a household filter the figures come from `area_figures` (staff) or `area_stats_public`
(everyone else), both kept fresh by the triggers. With a filter (local desil range, category,
programme) the families that pass are counted per area of the level in one GROUP BY by code
prefix; for non-staff callers those counts are published by the cell-key rule (gis.disclosure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from core.config import NATIONAL_PROGRAMS
from core.errors import InputError
from core.levels import PREFIX
from db.rows import fetch_dicts
from gis import features as fx
from gis.disclosure import key_sum, mark_suppressed, shown

CATEGORIES = ("fakir_miskin", "miskin", "rentan")
FILTERED_COUNTS = (
    "families", "people", "poor_bps_families", "poor_bps_people", "verified_families",
    "recipients_pkh", "recipients_bpnt", "recipients_pbi_jk", "recipients_bpjs_tk", "recipients_local",
)  # fmt: skip


@dataclass(frozen=True)
class HouseholdFilter:
    desil_min: int | None = None
    desil_max: int | None = None
    category: str | None = None
    program: str | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.desil_min, self.desil_max, self.category, self.program))

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


_BASE_COLS = "a.code, a.name, a.level, a.parent_code, a.population"


async def geometries(conn: AsyncConnection[Any], level: str, parent: str | None) -> dict[str, str]:
    """Code -> RFC 7946 geometry text (6 decimals, counter-clockwise exteriors) of a level's areas."""
    query = sql.SQL(
        "SELECT a.code, ST_AsGeoJSON(ST_ForcePolygonCCW(a.geom), 6, 0) FROM area a WHERE a.level = {} AND {}"
    ).format(sql.Literal(level), _parent_cond(parent))
    cur = await conn.execute(query)
    return dict(await cur.fetchall())


def _kota_cond(parent: str | None, column: str) -> sql.Composable:
    """The kab/kota a parent below the province lies in, as a condition on the distribution key (`column`): on
    Citus the areas under one city are read from its shard group alone."""
    if parent is None or len(parent) < PREFIX["kota"]:
        return sql.SQL("TRUE")
    return sql.SQL("{} = {}").format(sql.SQL(column), sql.Literal(parent[: PREFIX["kota"]]))


def _parent_cond(parent: str | None, column: str = "a.code") -> sql.Composable:
    if parent is None:
        return sql.SQL("TRUE")
    return sql.SQL("{} LIKE {}").format(sql.SQL(column), sql.Literal(parent + ".%"))


async def stored(conn: AsyncConnection[Any], level: str, parent: str | None, staff: bool) -> list[dict[str, Any]]:
    """Every area of a level (under a parent) with its stored figures."""
    figures = sql.Identifier("area_figures" if staff else "area_stats_public")
    skip = {*fx._AREA_BASE, "level", "days_since_verval"}
    cols = ", ".join(f"f.{c}" for c in fx.AREA_PROPERTIES if c not in skip)
    query = sql.SQL(
        "SELECT " + _BASE_COLS + ", round(a.area_m2::numeric) AS area_m2, " + cols + ","
        " current_date - f.last_verval AS days_since_verval FROM area a JOIN {} f ON f.code = a.code"
        " WHERE a.level = {} AND {} AND {} ORDER BY a.code"
    ).format(figures, sql.Literal(level), _parent_cond(parent), _kota_cond(parent, "f.kota_code"))
    return await fetch_dicts(conn, query)


def _filtered_cells() -> dict[str, tuple[str, str, str | None]]:
    """Each filtered count: (measure, condition on the filtered families, family count it counts people of)."""
    bps = "h.bps_count >= (SELECT peta_cfg('ranking', 'bps_poor_min'))"
    cells: dict[str, tuple[str, str, str | None]] = {
        "families": ("count", "TRUE", None),
        "people": ("people", "TRUE", "families"),
        "poor_bps_families": ("count", bps, None),
        "poor_bps_people": ("people", bps, "poor_bps_families"),
        "verified_families": ("count", "h.tgl_verval IS NOT NULL", None),
    }
    for p in NATIONAL_PROGRAMS:
        cells[f"recipients_{p.lower().replace('-', '_')}"] = ("count", f"'{p}' = ANY (h.programs)", None)
    cells["recipients_local"] = ("count", "h.programs && lp.codes", None)  # the family's kab/kota's programmes
    return cells


async def programs(conn: AsyncConnection[Any]) -> tuple[str, ...]:
    """The programmes figures can be filtered by: the national ones, then the local ones of any kab/kota."""
    cur = await conn.execute("SELECT peta_all_local_programs()")
    row = await cur.fetchone()
    return NATIONAL_PROGRAMS + tuple(row[0] if row else ())


def _z(column: str) -> str:
    return f"COALESCE({column}, 0)"


def _filter_conditions(hf: HouseholdFilter) -> list[sql.Composable]:
    conds: list[sql.Composable] = [sql.SQL("h.active")]
    if hf.desil_min is not None:
        conds.append(sql.SQL("r.local_desil >= {}").format(sql.Literal(hf.desil_min)))
    if hf.desil_max is not None:
        conds.append(sql.SQL("r.local_desil <= {}").format(sql.Literal(hf.desil_max)))
    if hf.category is not None:
        conds.append(sql.SQL("r.category = {}").format(sql.Literal(hf.category)))
    if hf.program is not None:
        conds.append(sql.SQL("{} = ANY (h.programs)").format(sql.Literal(hf.program)))
    return conds


async def filtered(
    conn: AsyncConnection[Any], level: str, parent: str | None, staff: bool, hf: HouseholdFilter
) -> list[dict[str, Any]]:
    """Figures of the families passing `hf`, per area of a level (published by the cell-key rule unless staff).

    Outside Dinsos a filter may only select local desil 1..`desil_max` (cumulative bands, as programmes use
    them): with free ranges, the many overlapping bands that isolate one desil would give many noisy
    readings of the same small count, which averaged would pin it (README, "Disclosure control").
    """
    if not staff and hf.desil_min not in (None, 1):
        raise InputError("desil_min is for Dinsos staff: published figures count local desil 1..desil_max")
    cells = _filtered_cells()
    sums = []
    for col, (measure, cond, _) in cells.items():
        value = "count(*)" if measure == "count" else "sum(h.jumlah_anggota)"
        sums.append(f"COALESCE({value} FILTER (WHERE {cond}), 0) AS {col}, {key_sum(cond)} AS k_{col}")
    shown_cols: list[sql.Composable]
    if staff:
        shown_cols = [sql.SQL(f"COALESCE(c.{col}, 0)::int AS {col}") for col in cells]
    else:
        shown_cols = [
            sql.SQL("{} AS {}").format(
                shown(_z(f"c.{col}"), _z(f"c.k_{col}"), people_of=(_z(f"c.{fam}"), _z(f"c.k_{fam}")) if fam else None),
                sql.Identifier(col),
            )
            for col, (_, _, fam) in cells.items()
        ]
    query = sql.SQL(
        "WITH c AS (SELECT left(h.rt_code, {n}) AS code, " + ", ".join(sums) + ""
        " FROM household h LEFT JOIN household_rank r ON r.household_id = h.id AND r.kota_code = h.kota_code"
        " LEFT JOIN (SELECT k.code, peta_local_programs(k.code) AS codes FROM area k WHERE k.level = 'kota') lp"
        " ON lp.code = h.kota_code WHERE {conds} GROUP BY 1),"
        " p AS (SELECT " + _BASE_COLS + ", {shown} FROM area a"
        " LEFT JOIN c ON c.code = a.code WHERE a.level = {level} AND {parent})"
        " SELECT p.*, peta_pct(p.verified_families, p.families) AS coverage_pct"
        " FROM p ORDER BY p.code"
    ).format(
        n=sql.Literal(PREFIX[level]),
        conds=sql.SQL(" AND ").join([*_filter_conditions(hf), _parent_cond(parent, "h.rt_code"),
                                     _kota_cond(parent, "h.kota_code")]),
        shown=sql.SQL(", ").join(shown_cols), level=sql.Literal(level), parent=_parent_cond(parent),
    )  # fmt: skip
    rows = await fetch_dicts(conn, query)
    return mark_suppressed(rows, FILTERED_COUNTS) if not staff else [dict(r, suppressed=[]) for r in rows]


# --- above the kab/kota: provinces and the nation, rolled up when read ----------------------------------

ROLLUPS = {"provinsi": "left(s.code, 2)", "nasional": "'ID'"}  # the level and the code its kab/kota fall under
PEOPLE_OF = {"people": "families", "poor_bps_people": "poor_bps_families", "poor_local_people": "poor_local_families",
             "poor_official_people": "poor_official_families"}  # fmt: skip


async def rollup(conn: AsyncConnection[Any], level: str, staff: bool) -> list[dict[str, Any]]:
    """The figures of each province (or the nation) as the sums of its kab/kota's (one GROUP BY over the kab/kota
    rows: on Citus, one task per shard, in parallel). Outside Dinsos every sum is published by the cell-key rule
    from the sum of the kab/kota's cell keys: the same value as a count of those families anywhere else."""
    rows = await fetch_dicts(conn, rollup_sql(level, staff))
    return [dict(r, suppressed=[]) for r in rows] if staff else mark_suppressed(rows, fx.COUNTS)


def rollup_sql(level: str, staff: bool) -> sql.Composed:
    """The query of `rollup` (bench/bench_scale.py explains it on Citus, task by task). The sums are gathered
    first, as plain aggregates (on Citus each shard's partial sums), and published from them after: the cell-key
    expressions over the aggregates, pushed into the distributed plan, took a second on Citus for two rows."""
    group = sql.SQL(ROLLUPS[level])
    sums: list[sql.Composable] = []
    counts: list[sql.Composable] = []
    for col in fx.COUNTS:
        sums.append(sql.SQL(f"sum(s.{col}) AS {col}, sum(k.{col}) AS {col}__key"))
        if staff:
            counts.append(sql.SQL(f"r.{col}::int AS {col}"))
        else:
            key = f"(r.{col}__key % 4294967296)::bigint"  # keys count modulo 2^32
            fam = PEOPLE_OF.get(col)
            people_of = (f"r.{fam}", f"(r.{fam}__key % 4294967296)::bigint") if fam else None
            counts.append(sql.SQL("{} AS {}").format(shown(f"r.{col}", key, people_of=people_of), sql.Identifier(col)))
    return sql.SQL(
        "WITH r AS MATERIALIZED (SELECT {group} AS code, count(*)::int AS kab_kota,"
        " sum(s.population)::int AS population, {sums},"
        " max(s.last_verval) AS last_verval, sum(f.expected_poor_people)::int AS expected_poor_people"
        " FROM area_stats s JOIN area_cell_key k ON k.kota_code = s.kota_code AND k.code = s.code"
        " JOIN area_figures f ON f.kota_code = s.kota_code AND f.code = s.code"
        " WHERE s.level = 'kota' GROUP BY 1),"
        " g AS (SELECT r.code, r.kab_kota, r.population, {counts}, r.last_verval, r.expected_poor_people FROM r)"
        " SELECT g.code, {level} AS level, g.kab_kota, g.population, {cols}, g.last_verval,"
        " round(100.0 * g.poor_bps_people / NULLIF(g.population, 0), 2) AS poverty_rate_pct,"
        " g.expected_poor_people, g.expected_poor_people - g.poor_bps_people AS under_coverage_people,"
        " peta_pct(g.verified_families, g.families) AS coverage_pct,"
        " peta_pct(g.target_verified, g.target_families) AS target_coverage_pct,"
        " current_date - g.last_verval AS days_since_verval FROM g ORDER BY g.code"
    ).format(
        group=group, sums=sql.SQL(", ").join(sums), counts=sql.SQL(", ").join(counts), level=sql.Literal(level),
        cols=sql.SQL(", ").join(sql.SQL(f"g.{c}") for c in fx.COUNTS),
    )  # fmt: skip


# --- the stored figures, as the CLI and the published tables give them --------------------------------

STATS_SQL = f"""
SELECT s.code, a.name, s.level, a.parent_code, s.population, {", ".join("s." + c for c in fx.COUNTS)},
       s.last_verval,
       round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) AS poverty_rate_pct,
       round(s.population * peta_poverty_rate(left(s.code, 5)))::int AS expected_poor_people,
       round(s.population * peta_poverty_rate(left(s.code, 5)))::int - s.poor_bps_people AS under_coverage_people,
       round(100.0 * s.verified_families / NULLIF(s.families, 0), 2) AS coverage_pct,
       round(100.0 * s.target_verified / NULLIF(s.target_families, 0), 2) AS target_coverage_pct,
       current_date - s.last_verval AS days_since_verval
FROM area_stats s JOIN area a ON a.code = s.code
WHERE s.level = %(level)s AND (%(parent)s::text IS NULL OR s.code LIKE %(parent)s || '.%%')
ORDER BY s.code
LIMIT %(limit)s OFFSET %(offset)s
"""


async def read_stats(
    conn: AsyncConnection[Any], level: str, *, parent: str | None = None, limit: int = 10_000, offset: int = 0
) -> list[dict[str, Any]]:
    """Figures of every area of `level` (under `parent`), with rates and gaps derived at read time."""
    params = {"level": level, "parent": parent, "limit": limit, "offset": offset}
    return await fetch_dicts(conn, STATS_SQL, params)


PUBLIC_SQL = """
SELECT p.code, a.name, p.level, a.parent_code, p.population, {counts}, p.last_verval, p.poverty_rate_pct,
       p.expected_poor_people, p.under_coverage_people, p.coverage_pct, p.target_coverage_pct,
       current_date - p.last_verval AS days_since_verval, p.suppressed
FROM area_stats_public p JOIN area a ON a.code = p.code
WHERE p.level = %(level)s AND (%(parent)s::text IS NULL OR p.code LIKE %(parent)s || '.%%')
ORDER BY p.code
""".format(counts=", ".join("p." + c for c in fx.COUNTS))


async def read_public(
    conn: AsyncConnection[Any], level: str, *, parent: str | None = None
) -> list[dict[str, Any]]:
    """The figures of a level as they may leave Dinsos (gis.disclosure: noisy counts, small ones hidden)."""
    return await fetch_dicts(conn, PUBLIC_SQL, {"level": level, "parent": parent})


# The version of the public data (migration 0012) with today's date: what a cached public body depends
# on besides the request (days_since_verval counts from current_date).
# one row per dataset, and on Citus one per kab/kota and dataset (migration 0027): their sum and newest writer
VERSION_SQL = (
    "SELECT sum(version)::text || '.' || max(bumped_by::text::numeric)::text || '.' || current_date::text"
    " FROM data_version WHERE name = 'public' HAVING count(*) > 0"
)


async def data_version(conn: AsyncConnection[Any]) -> str:
    """The current generation of the public layers and figures; it changes with every committed write to them."""
    cur = await conn.execute(VERSION_SQL)
    row = await cur.fetchone()
    assert row is not None, "data_version has no 'public' row (migration 0012)"
    return str(row[0])
