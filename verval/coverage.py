"""Coverage gaps per area and RT priorities of a campaign, for staff and as published figures.

Coverage of an area is over the campaign's target families in it; an RT is assigned when it has an
active whole-RT assignment, a family when it or its RT has one.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.levels import PREFIX
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped
from verval.campaigns import campaign
from verval.config import settings

_COVERAGE = scoped("""
WITH c AS (SELECT * FROM campaign WHERE id = %(c)s),
t AS (
    SELECT t.rt_code, h.id, h.record_key, h.tgl_verval, h.tgl_verval >= c.starts_on AS verified,
           EXISTS (SELECT 1 FROM assignment a WHERE a.kota_code = t.kota_code AND a.campaign_id = c.id
                   AND a.rt_code = t.rt_code AND a.kind = 'visit' AND peta_assignment_live(a.status)
                   AND (a.household_id IS NULL OR a.household_id = h.id)) AS assigned
    FROM campaign_target t JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id CROSS JOIN c
    WHERE t.campaign_id = c.id AND IN_SCOPE(t.rt_code)
),
g AS (
    SELECT left(t.rt_code, %(n)s) AS code, count(*) AS targets,
           count(*) FILTER (WHERE verified) AS verified,
           count(*) FILTER (WHERE NOT COALESCE(verified, false) AND NOT assigned) AS unassigned,
           count(*) FILTER (WHERE NOT COALESCE(verified, false) AND assigned) AS assigned_pending,
           sum(record_key)::bigint AS k_targets,
           COALESCE(sum(record_key) FILTER (WHERE verified), 0)::bigint AS k_verified,
           COALESCE(sum(record_key) FILTER (WHERE NOT COALESCE(verified, false) AND NOT assigned), 0)::bigint
               AS k_unassigned,
           COALESCE(sum(record_key) FILTER (WHERE NOT COALESCE(verified, false) AND assigned), 0)::bigint
               AS k_assigned_pending
    FROM t GROUP BY 1
)
SELECT a.code, a.name, a.level, COALESCE(g.targets, 0)::int AS targets, COALESCE(g.verified, 0)::int AS verified,
       (COALESCE(g.targets, 0) - COALESCE(g.verified, 0))::int AS pending,
       round(100.0 * g.verified / NULLIF(g.targets, 0), 2)::float8 AS coverage_pct,
       COALESCE(g.unassigned, 0)::int AS unassigned_targets, COALESCE(g.assigned_pending, 0)::int AS assigned_pending,
       f.last_verval, current_date - f.last_verval AS days_since_verval,
       f.expected_poor_people, f.poor_bps_people AS registered_poor_people, f.under_coverage_people,
       COALESCE(g.k_targets, 0) AS k_targets, COALESCE(g.k_verified, 0) AS k_verified,
       COALESCE(g.k_unassigned, 0) AS k_unassigned, COALESCE(g.k_assigned_pending, 0) AS k_assigned_pending
FROM area a LEFT JOIN g ON g.code = a.code LEFT JOIN {figures} f ON f.code = a.code
WHERE a.level = %(level)s AND (%(parent)s::text IS NULL OR a.code LIKE %(parent)s || '.%%')
  AND SHARES_SCOPE(a.code)
  -- the campaign's own kab/kota only (a campaign older than the rule: every area)
  AND (SELECT c.kota_code IS NULL OR a.code = c.kota_code OR starts_with(a.code, c.kota_code || '.') FROM c)
ORDER BY a.code
""")


async def coverage(
    conn: AsyncConnection[Any],
    cid: int,
    level: str,
    parent: str | None = None,
    *,
    published: bool = False,
    scope: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Targets, verified, pending, coverage %, unassigned targets, staleness and under-coverage per area.

    `published`: as it may leave Dinsos (planners): small counts suppressed, area figures from the
    published table. `scope` (core.scope.area_scope): only the areas sharing ground with it, their counts
    over the scope's targets only.
    """
    await campaign(conn, cid)
    query = _COVERAGE.format(figures="area_stats_public" if published else "area_figures")
    params = {"c": cid, "n": PREFIX[level], "level": level, "parent": parent, "scope": scope_param(scope)}
    if published:
        return await published_coverage(conn, query, params)
    return [{k: v for k, v in r.items() if not k.startswith("k_")} for r in await fetch_dicts(conn, query, params)]


_PRIORITY = """
WITH cov AS ({coverage}),
x AS (
    SELECT cov.*, ar.area_m2,
           cov.pending::float8 AS unverified,
           COALESCE(f.poor_bps_families, 0) / GREATEST(ar.area_m2 / 1e6, 0.01) AS density,
           LEAST(COALESCE(cov.days_since_verval, 3650), 3650)::float8 AS stale,
           GREATEST(COALESCE(cov.under_coverage_people, 0), 0)::float8
               / GREATEST(COALESCE(ar.population, 0), 1) AS under
    FROM cov JOIN area ar ON ar.code = cov.code LEFT JOIN area_figures f ON f.code = cov.code
    WHERE cov.pending > 0
),
s AS (
    SELECT x.*,
           unverified / NULLIF(max(unverified) OVER (), 0) AS c_unverified,
           density / NULLIF(max(density) OVER (), 0) AS c_density,
           stale / NULLIF(max(stale) OVER (), 0) AS c_stale,
           under / NULLIF(max(under) OVER (), 0) AS c_under
    FROM x
)
SELECT code, name, targets, verified, pending, unassigned_targets, days_since_verval,
       round((%(w1)s * COALESCE(c_unverified, 0) + %(w2)s * COALESCE(c_density, 0) + %(w3)s * COALESCE(c_stale, 0)
              + %(w4)s * COALESCE(c_under, 0))::numeric * 100, 1)::float8 AS priority,
       json_build_object(
           'unverified_targets', round((%(w1)s * COALESCE(c_unverified, 0) * 100)::numeric, 1)::float8,
           'poverty_density', round((%(w2)s * COALESCE(c_density, 0) * 100)::numeric, 1)::float8,
           'staleness', round((%(w3)s * COALESCE(c_stale, 0) * 100)::numeric, 1)::float8,
           'under_coverage', round((%(w4)s * COALESCE(c_under, 0) * 100)::numeric, 1)::float8) AS explanation
FROM s
ORDER BY priority DESC, pending DESC, code
LIMIT %(limit)s
"""


async def priorities(
    conn: AsyncConnection[Any], cid: int, limit: int = 100, *, scope: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """RTs with unverified targets, most urgent first, each with its score's parts (they sum to the score).

    With a `scope`, only its RTs, ranked among themselves (nothing outside it weighs in)."""
    await campaign(conn, cid)
    w = (await settings(conn))["priority_weights"]
    query = _PRIORITY.format(coverage=_COVERAGE.format(figures="area_figures"))
    return await fetch_dicts(conn, query, {
        "c": cid, "n": PREFIX["rt"], "level": "rt", "parent": None, "limit": limit, "scope": scope_param(scope),
        "w1": w["unverified_targets"], "w2": w["poverty_density"], "w3": w["staleness"], "w4": w["under_coverage"],
    })  # fmt: skip


COVERAGE_COUNTS = ("targets", "verified", "pending", "unassigned_targets", "assigned_pending")
_COVERAGE_KEYS = {"targets": "k_targets", "verified": "k_verified", "pending": "k_targets - k_verified",
                  "unassigned_targets": "k_unassigned", "assigned_pending": "k_assigned_pending"}  # fmt: skip


async def published_coverage(
    conn: AsyncConnection[Any], coverage_sql: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Coverage for roles without personal data, by the cell-key rule of gis.disclosure: every count noisy
    (the same targets always show the same value), shown counts of 1..4 hidden, percentages from what is shown."""
    from psycopg import sql as q

    from gis.disclosure import mark_suppressed, shown

    cols = q.SQL(", ").join(
        q.SQL("{} AS {}").format(shown(f"x.{c}", f"x.{k}"), q.Identifier(c)) for c, k in _COVERAGE_KEYS.items()
    )
    query = q.SQL(
        "SELECT y.*, peta_pct(y.verified, y.targets)::float8 AS coverage_pct"
        " FROM (SELECT x.code, x.name, x.level, {cols}, x.last_verval, x.days_since_verval, x.expected_poor_people,"
        " x.registered_poor_people, x.under_coverage_people FROM ({cov}) x) y ORDER BY y.code"
    ).format(cols=cols, cov=q.SQL(coverage_sql))  # type: ignore[arg-type]
    rows = mark_suppressed(await fetch_dicts(conn, query, params), COVERAGE_COUNTS)  # type: ignore[arg-type]
    for r in rows:
        if r["registered_poor_people"] is None:
            r["suppressed"].append("registered_poor_people")
    return rows
