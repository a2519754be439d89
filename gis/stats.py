"""Per-area poverty and verification figures, read from the trigger-maintained `area_stats`, and their data version."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from db.rows import fetch_dicts

# Counts stored per area; every one of them sums from RTs up to the city.
COUNTS = (
    "families", "people", "removed_families",
    "poor_bps_families", "poor_bps_people", "poor_local_families", "poor_local_people",
    "poor_official_families", "poor_official_people",
    "fakir_miskin_families", "miskin_families", "rentan_families",
    "verified_families", "target_families", "target_verified",
    "recipients_pkh", "recipients_bpnt", "recipients_pbi_jk", "recipients_bpjs_tk", "recipients_kartu_bahagia",
    "poor_without_pkh", "poor_without_bpnt", "poor_without_pbi_jk", "poor_without_bpjs_tk",
    "poor_without_kartu_bahagia", "inclusion_errors", "desil_disagree",
)  # fmt: skip

STATS_SQL = f"""
SELECT s.code, a.name, s.level, a.parent_code, s.population, {", ".join("s." + c for c in COUNTS)},
       s.last_verval,
       round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) AS poverty_rate_pct,
       round(s.population * peta_cfg('aggregates', 'city_poverty_rate'))::int AS expected_poor_people,
       round(s.population * peta_cfg('aggregates', 'city_poverty_rate'))::int - s.poor_bps_people
           AS under_coverage_people,
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
""".format(counts=", ".join("p." + c for c in COUNTS))


async def read_public(
    conn: AsyncConnection[Any], level: str, *, parent: str | None = None
) -> list[dict[str, Any]]:
    """The figures of a level as they may leave Dinsos (gis.disclosure: noisy counts, small ones hidden)."""
    return await fetch_dicts(conn, PUBLIC_SQL, {"level": level, "parent": parent})


# The version of the public data (migration 0012) with today's date: what a cached public body depends
# on besides the request (days_since_verval counts from current_date).
VERSION_SQL = (
    "SELECT version::text || '.' || bumped_by::text || '.' || current_date::text FROM data_version"
    " WHERE name = 'public'"
)


async def data_version(conn: AsyncConnection[Any]) -> str:
    """The current generation of the public layers and figures; it changes with every committed write to them."""
    cur = await conn.execute(VERSION_SQL)
    row = await cur.fetchone()
    assert row is not None, "data_version has no 'public' row (migration 0012)"
    return str(row[0])
