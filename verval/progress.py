"""A campaign's progress over time, per area and per verifier."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.errors import InputError, NotFound
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped
from verval.campaigns import campaign

_PROGRESS = scoped("""
WITH c AS (SELECT * FROM campaign WHERE id = %(c)s),
tg AS (
    SELECT h.id, (h.tgl_verval)::date AS verified_on
    FROM campaign_target t JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id CROSS JOIN c
    WHERE (%(k)s::text IS NULL OR t.kota_code = %(k)s) AND t.campaign_id = c.id
      AND (%(area)s::text IS NULL OR t.rt_code = %(area)s OR starts_with(t.rt_code, %(area)s || '.'))
      AND IN_SCOPE(t.rt_code)
),
vv AS (
    SELECT date_trunc(%(by)s, v.visited_at AT TIME ZONE peta_timezone(h.rt_code))::date AS period, v.status, v.flags,
           v.household_id
    FROM verification v JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
    JOIN app_user u ON u.id = v.verifier_id
    WHERE (%(k)s::text IS NULL OR v.kota_code = %(k)s) AND v.campaign_id = %(c)s
      AND (%(area)s::text IS NULL OR h.rt_code = %(area)s OR starts_with(h.rt_code, %(area)s || '.'))
      AND IN_SCOPE(h.rt_code)
      AND (%(verifier)s::text IS NULL OR u.username = %(verifier)s)
),
periods AS (
    SELECT generate_series(date_trunc(%(by)s, c.starts_on),
                           date_trunc(%(by)s, GREATEST(c.starts_on, LEAST(c.ends_on, j.today))),
                           ('1 ' || %(by)s)::interval)::date AS period
    -- days are the kab/kota's own (WIB, WITA or WIT: peta_timezone), the area's or the campaign's first target's
    FROM c CROSS JOIN LATERAL (
        SELECT (now() AT TIME ZONE peta_timezone(
                   COALESCE(%(area)s, (SELECT min(t.rt_code) FROM campaign_target t
                                     WHERE (%(k)s::text IS NULL OR t.kota_code = %(k)s) AND t.campaign_id = c.id))
               ))::date AS today
    ) j
),
done AS (
    SELECT date_trunc(%(by)s, tg.verified_on)::date AS period, count(*) AS verified
    FROM tg CROSS JOIN c WHERE tg.verified_on >= c.starts_on GROUP BY 1
),
seen AS (
    SELECT period, count(*) AS visits, count(DISTINCT household_id) AS families_visited,
           count(*) FILTER (WHERE status = 'approved') AS approved,
           count(*) FILTER (WHERE status = 'returned') AS returned,
           count(*) FILTER (WHERE jsonb_array_length(flags) > 0) AS flagged
    FROM vv GROUP BY 1
)
SELECT p.period, COALESCE(s.visits, 0)::int AS visits, COALESCE(s.families_visited, 0)::int AS families_visited,
       COALESCE(s.approved, 0)::int AS approved, COALESCE(s.returned, 0)::int AS returned,
       COALESCE(s.flagged, 0)::int AS flagged, COALESCE(d.verified, 0)::int AS verified,
       (sum(COALESCE(d.verified, 0)) OVER (ORDER BY p.period))::int AS verified_cumulative,
       round(100.0 * sum(COALESCE(d.verified, 0)) OVER (ORDER BY p.period)
             / NULLIF((SELECT count(*) FROM tg), 0), 2)::float8 AS coverage_pct
FROM periods p LEFT JOIN seen s USING (period) LEFT JOIN done d USING (period)
ORDER BY p.period
""")


_BY_VERIFIER = scoped("""
SELECT u.username AS verifier, count(v.id)::int AS visits, count(DISTINCT v.household_id)::int AS families_visited,
       count(v.id) FILTER (WHERE v.status = 'approved')::int AS approved,
       count(v.id) FILTER (WHERE v.status = 'returned')::int AS returned,
       count(v.id) FILTER (WHERE jsonb_array_length(v.flags) > 0)::int AS flagged,
       min(v.visited_at) AS first_visit, max(v.visited_at) AS last_visit
FROM verification v JOIN app_user u ON u.id = v.verifier_id
JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
WHERE (%(k)s::text IS NULL OR v.kota_code = %(k)s) AND v.campaign_id = %(c)s
  AND (%(area)s::text IS NULL OR h.rt_code = %(area)s OR starts_with(h.rt_code, %(area)s || '.'))
  AND IN_SCOPE(h.rt_code)
GROUP BY u.username ORDER BY visits DESC, u.username
""")


_AREA_IN_SCOPE = scoped("SELECT 1 FROM area a WHERE a.code = %(area)s AND SHARES_SCOPE(a.code)")


async def progress(
    conn: AsyncConnection[Any],
    cid: int,
    *,
    by: str = "week",
    area: str | None = None,
    verifier: str | None = None,
    scope: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Progress over time (per day, week or month): visits, decisions, flags, families verified and coverage,
    for the whole campaign, an area (by code prefix) or one verifier's visits; and the per-verifier totals.
    With a `scope`, only its targets and visits count, and an area sharing no ground with it does not exist."""
    if by not in ("day", "week", "month"):
        raise InputError("by must be day, week or month")
    c = await campaign(conn, cid)
    # the campaign's kab/kota named on every table it reads: one shard group answers on Citus
    params = {"c": cid, "k": c["kota_code"], "by": by, "area": area, "verifier": verifier,
              "scope": scope_param(scope)}  # fmt: skip
    if area is not None and not await fetch_dicts(conn, _AREA_IN_SCOPE, params):
        raise NotFound(f"no area {area}")
    series = await fetch_dicts(conn, _PROGRESS, params)
    return {"campaign_id": cid, "campaign": c["name"], "by": by, "area": area, "verifier": verifier,
            "series": series, "verifiers": await fetch_dicts(conn, _BY_VERIFIER, params)}  # fmt: skip
