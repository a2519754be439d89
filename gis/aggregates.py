"""Per-area figures for the API: the stored ones, or recounted over a filtered set of families.

Without a household filter the figures come from `area_figures` (staff) or `area_stats_public`
(everyone else), both kept fresh by the triggers. With a filter (local desil range, category,
programme) the families that pass are counted per area of the level in one GROUP BY by code
prefix; for non-staff callers those counts are then suppressed with the same rule (gis.disclosure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from gis import features as fx
from gis.disclosure import suppress

PREFIX = {"kota": 5, "kecamatan": 8, "kelurahan": 13, "rw": 17, "rt": 21}
PROGRAMS = ("PKH", "BPNT", "PBI-JK", "BPJS-TK", "KARTU-BAHAGIA")
CATEGORIES = ("fakir_miskin", "miskin", "rentan")
FILTERED_COUNTS = (
    "families", "people", "poor_bps_families", "poor_bps_people", "verified_families",
    "recipients_pkh", "recipients_bpnt", "recipients_pbi_jk", "recipients_bpjs_tk", "recipients_kartu_bahagia",
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


async def _rows(conn: AsyncConnection[Any], query: sql.Composed) -> list[dict[str, Any]]:
    cur = await conn.execute(query)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


def _parent_cond(parent: str | None) -> sql.Composable:
    if parent is None:
        return sql.SQL("TRUE")
    return sql.SQL("a.code LIKE {}").format(sql.Literal(parent + ".%"))


async def stored(conn: AsyncConnection[Any], level: str, parent: str | None, staff: bool) -> list[dict[str, Any]]:
    """Every area of a level (under a parent) with its stored figures."""
    figures = sql.Identifier("area_figures" if staff else "area_stats_public")
    skip = {*fx._AREA_BASE, "level", "days_since_verval"}
    cols = ", ".join(f"f.{c}" for c in fx.AREA_PROPERTIES if c not in skip)
    query = sql.SQL(
        "SELECT " + _BASE_COLS + ", round(a.area_m2::numeric) AS area_m2, " + cols + ","
        " current_date - f.last_verval AS days_since_verval FROM area a JOIN {} f ON f.code = a.code"
        " WHERE a.level = {} AND {} ORDER BY a.code"
    ).format(figures, sql.Literal(level), _parent_cond(parent))
    return await _rows(conn, query)


async def filtered(
    conn: AsyncConnection[Any], level: str, parent: str | None, staff: bool, hf: HouseholdFilter
) -> list[dict[str, Any]]:
    """Figures of the families passing `hf`, per area of a level (suppressed unless staff)."""
    conds: list[sql.Composable] = [sql.SQL("h.active")]
    if hf.desil_min is not None:
        conds.append(sql.SQL("r.local_desil >= {}").format(sql.Literal(hf.desil_min)))
    if hf.desil_max is not None:
        conds.append(sql.SQL("r.local_desil <= {}").format(sql.Literal(hf.desil_max)))
    if hf.category is not None:
        conds.append(sql.SQL("r.category = {}").format(sql.Literal(hf.category)))
    if hf.program is not None:
        conds.append(sql.SQL("{} = ANY (h.programs)").format(sql.Literal(hf.program)))
    recipients = ", ".join(
        f"count(*) FILTER (WHERE '{p}' = ANY (h.programs)) AS recipients_{p.lower().replace('-', '_')}"
        for p in PROGRAMS
    )
    query = sql.SQL(
        "WITH c AS (SELECT left(h.rt_code, {n}) AS code, count(*) AS families, sum(h.jumlah_anggota) AS people,"
        " count(*) FILTER (WHERE h.bps_count >= {bps}) AS poor_bps_families,"
        " COALESCE(sum(h.jumlah_anggota) FILTER (WHERE h.bps_count >= {bps}), 0) AS poor_bps_people,"
        " count(*) FILTER (WHERE h.tgl_verval IS NOT NULL) AS verified_families, " + recipients + ""
        " FROM household h LEFT JOIN household_rank r ON r.household_id = h.id WHERE {conds}"
        " GROUP BY 1)"
        " SELECT " + _BASE_COLS + ", " + ", ".join(f"COALESCE(c.{c}, 0)::int AS {c}" for c in FILTERED_COUNTS) + ","
        " round(100.0 * c.verified_families / NULLIF(c.families, 0), 2) AS coverage_pct"
        " FROM area a LEFT JOIN c ON c.code = a.code WHERE a.level = {level} AND {parent} ORDER BY a.code"
    ).format(
        n=sql.Literal(PREFIX[level]), bps=sql.SQL("(SELECT peta_cfg('ranking', 'bps_poor_min'))"),
        conds=sql.SQL(" AND ").join(conds), level=sql.Literal(level), parent=_parent_cond(parent),
    )  # fmt: skip
    rows = await _rows(conn, query)
    if staff:
        return [dict(r, suppressed=[]) for r in rows]
    out = suppress(rows, FILTERED_COUNTS)
    for r in out:
        if r["verified_families"] is None or r["families"] is None:
            r["coverage_pct"] = None
    return out
