"""Back-checks: a sample of each verifier's visits re-visited by another verifier, and disagreement rates.

For each verifier with visits in a campaign, ceil(rate x visits) of them are drawn (rate from the
'verval' settings, default 5 %), reproducibly for a given seed. Each drawn visit becomes a back-check
assignment of that one family for another verifier of the pool: the one with the fewest back-checks so
far, then the nearest to the family; never the first verifier, nor a verifier of that family (same KK).
When the back-check visit arrives it is compared with the first visit (result, members, criteria), and
a disagreement flags the first visit (verval.flags).

A back-check opens its family to the checker, so a coordinator draws only within their scope
(core.scope): the visits of families inside it, for verifiers lying wholly inside it.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection

from core.errors import Conflict, InputError, NotFound
from core.scope import lies_within
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.queries import metric_srid
from gis.scope_sql import scope_param, scoped
from verval.assignments import assignments
from verval.campaigns import campaign
from verval.config import settings
from verval.flags import differences

_DRAWABLE = scoped("""
SELECT v.id, v.verifier_id, v.household_id, h.rt_code, h.kk_hash, b.id AS backcheck_id,
       ST_X(ST_Transform(h.geom, %(srid)s)) AS x, ST_Y(ST_Transform(h.geom, %(srid)s)) AS y,
       count(*) OVER (PARTITION BY v.verifier_id) AS visits,
       count(*) FILTER (WHERE b.id IS NOT NULL) OVER (PARTITION BY v.verifier_id) AS drawn
FROM verification v
JOIN assignment a ON a.kota_code = v.kota_code AND a.id = v.assignment_id AND a.kind = 'visit'
JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
LEFT JOIN assignment b ON b.kota_code = v.kota_code AND b.backcheck_of = v.id AND b.kind = 'backcheck'
    AND peta_assignment_live(b.status)
WHERE v.campaign_id = %(c)s AND v.status IN ('submitted', 'checked', 'approved') AND IN_SCOPE(h.rt_code)
ORDER BY v.verifier_id, md5(v.id::text || ':' || %(seed)s)
""")


_POOL = """
SELECT u.id, u.username, u.kk_hash, u.scope_codes, ST_X(home.p) AS hx, ST_Y(home.p) AS hy,
       (SELECT count(*) FROM assignment b WHERE (%(k)s::text IS NULL OR b.kota_code = %(k)s)
            AND b.verifier_id = u.id AND b.campaign_id = %(c)s AND b.kind = 'backcheck'
            AND peta_assignment_live(b.status)) AS backchecks
FROM app_user u
LEFT JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(r.geom), %(srid)s) AS p FROM area r
                   WHERE r.code = u.scope_codes[1]) home ON true
WHERE u.role = 'verifier' AND u.disabled_at IS NULL
  AND (%(names)s::text[] IS NULL OR u.username = ANY (%(names)s))
  AND (%(names)s::text[] IS NOT NULL OR EXISTS (
        SELECT 1 FROM assignment a WHERE (%(k)s::text IS NULL OR a.kota_code = %(k)s) AND a.verifier_id = u.id
           AND a.campaign_id = %(c)s AND a.kind = 'visit'))
ORDER BY u.username
"""


async def draw(
    conn: AsyncConnection[Any],
    cid: int,
    *,
    due_on: date,
    actor: str,
    rate: float | None = None,
    pool: list[str] | None = None,
    seed: str = "",
    scope: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Draw the back-checks still due and assign them; the new back-check assignments. With a `scope` (the
    drawer's), only visits inside it are drawn, and only verifiers lying inside it check them: a pool naming
    anyone else is refused as naming an unknown verifier."""
    c = await campaign(conn, cid)
    if due_on < date.today() or due_on > c["ends_on"]:
        raise InputError(f"due_on {due_on} must be between today and the campaign's end ({c['ends_on']})")
    share = rate if rate is not None else float((await settings(conn))["backcheck_rate"])
    if not 0 < share <= 1:
        raise InputError(f"rate {share} must be above 0 and at most 1")
    srid = await metric_srid(conn, scope)  # the plane in metres of the drawer's area (or of every area)
    visits = await fetch_dicts(conn, _DRAWABLE, {"c": cid, "seed": seed, "scope": scope_param(scope), "srid": srid})
    # the campaign's kab/kota named in every subquery: on Citus one shard group answers (a correlated subquery over
    # the verifiers, a reference table, is refused across shards)
    candidates = await fetch_dicts(conn, _POOL, {"c": cid, "k": c["kota_code"], "names": pool, "srid": srid})
    checkers = [p for p in candidates if lies_within(scope, p["scope_codes"])]
    if pool is not None:
        unknown = sorted(set(pool) - {p["username"] for p in checkers})
        if unknown:
            raise NotFound(f"no active verifiers {', '.join(unknown)}")
    load = {p["id"]: int(p["backchecks"]) for p in checkers}
    picks: list[tuple[dict[str, Any], dict[str, Any]]] = []
    taken: dict[int, int] = {}
    for v in visits:
        due = math.ceil(share * v["visits"]) - v["drawn"] - taken.get(v["verifier_id"], 0)
        if due <= 0 or v["backcheck_id"] is not None:
            continue
        eligible = [p for p in checkers if p["id"] != v["verifier_id"] and (p["kk_hash"] is None
                    or p["kk_hash"] != v["kk_hash"])]  # fmt: skip
        if not eligible:
            raise InputError(f"no other verifier to back-check visit {v['id']}: give a larger pool")
        best = min(eligible, key=lambda p: (load[p["id"]], _distance(p, v), p["username"]))
        load[best["id"]] += 1
        taken[v["verifier_id"]] = taken.get(v["verifier_id"], 0) + 1
        picks.append((v, best))
    ids = []
    try:
        async with conn.transaction():
            await acting_as(conn, actor)
            for v, p in picks:
                cur = await conn.execute(
                    """INSERT INTO assignment (campaign_id, kind, rt_code, household_id, backcheck_of, verifier_id,
                                              assigned_by, due_on, kota_code)
                       VALUES (%s, 'backcheck', %s, %s, %s, %s, %s, %s, left(%s, 5)) RETURNING id""",
                    (cid, v["rt_code"], v["household_id"], v["id"], p["id"], actor, due_on, v["rt_code"]),
                )
                ids.append(int((await cur.fetchone() or [0])[0]))
    except psycopg.errors.UniqueViolation as exc:  # drawn at the same moment by another coordinator
        raise Conflict("these visits were just drawn for a back-check by someone else; draw again") from exc
    return [a for a in await assignments(conn, cid) if a["id"] in set(ids)]


def _distance(p: dict[str, Any], v: dict[str, Any]) -> float:
    if p["hx"] is None or v["x"] is None:
        return math.inf
    return math.hypot(p["hx"] - v["x"], p["hy"] - v["y"])


_RATES = scoped("""
SELECT u.username AS verifier, o.id AS visit_id, b.id AS backcheck_id, o.household_id,
       o.result_code AS result, b.result_code AS backcheck_result,
       o.jumlah_anggota AS members, b.jumlah_anggota AS backcheck_members,
       (SELECT count(*) FROM unnest(o.criteria) WITH ORDINALITY x(v, i) JOIN unnest(b.criteria) WITH ORDINALITY y(v, i)
            USING (i) WHERE x.v IS DISTINCT FROM y.v) AS criteria_differ,
       cb.username AS checked_by
FROM assignment a
JOIN verification o ON o.kota_code = a.kota_code AND o.id = a.backcheck_of
JOIN app_user u ON u.id = o.verifier_id
JOIN app_user cb ON cb.id = a.verifier_id
LEFT JOIN LATERAL (SELECT * FROM verification x WHERE x.kota_code = a.kota_code AND x.assignment_id = a.id
                   ORDER BY x.visited_at DESC LIMIT 1) b ON true
WHERE a.campaign_id = %(c)s AND a.kind = 'backcheck' AND peta_assignment_live(a.status)
  AND IN_SCOPE(a.rt_code)
ORDER BY u.username, o.id
""")


async def disagreement(
    conn: AsyncConnection[Any], cid: int, scope: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Per verifier: visits back-checked, back-checks done, disagreements and their rate, and each pair."""
    await campaign(conn, cid)
    pairs = await fetch_dicts(conn, _RATES, {"c": cid, "scope": scope_param(scope)})
    out: dict[str, dict[str, Any]] = {}
    for p in pairs:
        r = out.setdefault(p["verifier"], {"verifier": p["verifier"], "drawn": 0, "checked": 0, "disagreements": 0,
                                           "disagreement_pct": None, "pairs": []})  # fmt: skip
        r["drawn"] += 1
        if p["backcheck_id"] is None:
            continue
        diff = differences(p["result"], p["backcheck_result"], p["members"], p["backcheck_members"],
                           p["criteria_differ"])  # fmt: skip
        r["checked"] += 1
        r["disagreements"] += bool(diff)
        r["pairs"].append({"visit_id": p["visit_id"], "backcheck_id": p["backcheck_id"],
                           "household_id": p["household_id"], "checked_by": p["checked_by"],
                           "agrees": not diff, "differences": diff})  # fmt: skip
    for r in out.values():
        if r["checked"]:
            r["disagreement_pct"] = round(100 * r["disagreements"] / r["checked"], 1)
    return sorted(out.values(), key=lambda r: (-(r["disagreement_pct"] or 0), r["verifier"]))
