"""The assignment proposal of a campaign: the problem loaded from the database, solved (verval.solver), accepted."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from psycopg import AsyncConnection

from core.errors import InputError, NotFound
from core.scope import lies_within
from db.rows import fetch_dicts
from gis.queries import metric_srid
from verval.assignments import assign_plan
from verval.campaigns import campaign
from verval.config import settings
from verval.coverage import priorities
from verval.solver import Problem, VerifierSpec, solve

_VERIFIERS = """
SELECT u.username, u.scope_level, u.scope_codes,
       ST_X(ST_Transform(ST_PointOnSurface(r.geom), %(srid)s)) AS x,
       ST_Y(ST_Transform(ST_PointOnSurface(r.geom), %(srid)s)) AS y
FROM app_user u LEFT JOIN area r ON r.code = u.scope_codes[1]
WHERE u.role = 'verifier' AND u.disabled_at IS NULL
  AND (%(names)s::text[] IS NULL OR u.username = ANY (%(names)s))
ORDER BY u.username
"""


_RT_POINTS = """
SELECT r.code, ST_X(ST_Transform(ST_PointOnSurface(r.geom), %(srid)s)) AS x,
       ST_Y(ST_Transform(ST_PointOnSurface(r.geom), %(srid)s)) AS y
FROM area r WHERE r.code = ANY (%(codes)s)
"""


_ASSIGNED_RTS = """
SELECT DISTINCT a.rt_code FROM assignment a
WHERE a.campaign_id = %s AND a.kind = 'visit' AND a.household_id IS NULL
  AND peta_assignment_active(a.status)
"""


async def load_problem(
    conn: AsyncConnection[Any],
    cid: int,
    verifiers: list[VerifierSpec],
    *,
    scope: tuple[str, ...] | None = None,
    rt_codes: list[str] | None = None,
    keep_off_own: bool | None = None,
) -> Problem:
    """The RTs to share (unassigned targets, in the caller's scope) and the verifiers with homes and capacities
    (with a scope: only verifiers lying wholly inside it, core.scope; naming another is naming no one)."""
    cfg = (await settings(conn))["proposal"]
    prio = await priorities(conn, cid, limit=100_000, scope=scope)
    taken = {r[0] for r in await (await conn.execute(_ASSIGNED_RTS, (cid,))).fetchall()}
    wanted = set(rt_codes) if rt_codes is not None else None
    rts = [
        {"code": p["code"], "load": int(p["unassigned_targets"]), "priority": float(p["priority"])}
        for p in prio
        if p["unassigned_targets"] > 0 and p["code"] not in taken
        and (wanted is None or p["code"] in wanted)
    ]  # fmt: skip
    if wanted is not None:
        missing = sorted(wanted - {r["code"] for r in rts})
        if missing:
            raise InputError(f"not unassigned RTs with targets to verify (in your area): {', '.join(missing[:20])}")
    codes = [r["code"] for r in rts]
    srid = await metric_srid(conn, codes)  # the plane in metres of these RTs' UTM zone
    cur = await conn.execute(_RT_POINTS, {"codes": codes, "srid": srid})
    points = {c: (x, y) for c, x, y in await cur.fetchall()}
    for r in rts:
        r["x"], r["y"] = points[r["code"]]
    specs = {v.username: v for v in verifiers}
    rows = await fetch_dicts(conn, _VERIFIERS, {"names": list(specs) or None, "srid": srid})
    rows = [r for r in rows if lies_within(scope, r["scope_codes"])]  # a coordinator's own verifiers
    if specs:
        unknown = sorted(set(specs) - {r["username"] for r in rows})
        if unknown:
            raise NotFound(f"no active verifiers {', '.join(unknown)}")
    people = []
    for r in rows:
        spec = specs.get(r["username"]) or VerifierSpec(r["username"])
        x, y = r["x"], r["y"]
        if spec.lon is not None and spec.lat is not None:
            x, y = await _projected(conn, spec.lon, spec.lat, srid)
        if x is None:
            raise InputError(f"{r['username']}: no home (no scope RT): give lon and lat")
        cap = spec.capacity if spec.capacity is not None else int(cfg["default_capacity"])
        if cap < 1:
            raise InputError(f"{r['username']}: capacity must be at least 1 family")
        own = set(r["scope_codes"]) if r["scope_level"] == "rt" else set()
        people.append({"username": r["username"], "capacity": cap, "x": x, "y": y, "own": own})
    if not people:
        raise InputError("no verifiers to propose for")
    keep = bool(cfg["keep_head_off_own_rt"]) if keep_off_own is None else keep_off_own
    return Problem(rts=rts, verifiers=people, keep_off_own=keep, balance_weight=float(cfg["balance_weight"]))


async def _projected(conn: AsyncConnection[Any], lon: float, lat: float, srid: int) -> tuple[float, float]:
    cur = await conn.execute(
        "SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) p", (lon, lat, srid)
    )
    row = await cur.fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


async def propose(
    conn: AsyncConnection[Any],
    cid: int,
    verifiers: list[VerifierSpec],
    *,
    scope: tuple[str, ...] | None = None,
    rt_codes: list[str] | None = None,
    keep_off_own: bool | None = None,
) -> dict[str, Any]:
    """A proposal for the campaign's unassigned RTs (nothing is written)."""
    problem = await load_problem(conn, cid, verifiers, scope=scope, rt_codes=rt_codes, keep_off_own=keep_off_own)
    return solve(problem)


async def accept(
    conn: AsyncConnection[Any],
    cid: int,
    plan: list[tuple[str, list[str]]],
    *,
    due_on: date,
    actor: str,
    scope: tuple[str, ...] | None = None,
) -> list[int]:
    """Assign an (edited) proposal: every verifier's RTs, all or nothing; Conflict names a taken RT."""
    await campaign(conn, cid)
    counts = Counter(c for _, rts in plan for c in rts)
    doubled = sorted(c for c, n in counts.items() if n > 1)
    if doubled:
        raise InputError(f"RTs given to more than one verifier: {', '.join(doubled)}")
    merged: dict[str, tuple[list[str], list[int]]] = {}
    for name, rts in plan:
        merged.setdefault(name, ([], []))[0].extend(rts)
    return await assign_plan(conn, cid, merged, due_on=due_on, actor=actor, scope=scope)
