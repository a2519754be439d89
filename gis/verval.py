"""Verification campaigns: targets, coverage gaps per area, RT priorities, assignments and their statuses.

A family counts as verified for a campaign when its last verification (`household.tgl_verval`) falls
on or after the campaign's start. Coverage of an area is over the campaign's target families in it;
an RT is assigned when it has an active whole-RT assignment, a family when it or its RT has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection

from access.scope import area_scope, lies_within, scoped, within
from core.config import merge, shipped
from core.errors import Conflict, Forbidden, InputError, NotFound
from core.privacy import keyed_hash, mask_number
from db.acting import acting_as
from db.rows import fetch_dicts

ACTIVE = ("assigned", "in_progress", "submitted", "returned")
STATUSES = (*ACTIVE, "approved", "declined", "cancelled")
# status -> the statuses it may move to, and who may move it there
NEXT = {
    "assigned": {"in_progress", "submitted", "declined", "cancelled"},
    "in_progress": {"submitted", "declined", "cancelled"},
    "submitted": {"approved", "returned", "cancelled"},
    "returned": {"in_progress", "submitted", "cancelled"},
    "approved": set(),
    "declined": set(),
    "cancelled": set(),
}
VERIFIER_MOVES = {"in_progress", "submitted", "declined"}
COORDINATOR_MOVES = {"approved", "returned", "cancelled"}
PREFIX = {"kota": 5, "kecamatan": 8, "kelurahan": 13, "rw": 17, "rt": 21}


async def settings(conn: AsyncConnection[Any]) -> dict[str, Any]:
    """The verification settings in force (peta_config 'verval', over the shipped defaults)."""
    cur = await conn.execute("SELECT value FROM peta_config WHERE key = 'verval'")
    row = await cur.fetchone()
    return merge(shipped("verval"), row[0] if row else {})


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    target_kind: str  # desil, category or prelist
    starts_on: date
    ends_on: date
    desil_min: int | None = None
    desil_max: int | None = None
    categories: tuple[str, ...] = ()
    cutoff_day: int = 17


async def create_campaign(conn: AsyncConnection[Any], spec: CampaignSpec, actor: str) -> dict[str, Any]:
    """A new campaign with its targets selected now (desil range or categories of the active families)."""
    if spec.target_kind == "desil" and (spec.desil_min is None or spec.desil_max is None):
        raise InputError("a desil campaign needs desil_min and desil_max")
    if spec.target_kind == "category" and not spec.categories:
        raise InputError("a category campaign needs at least one category")
    if spec.desil_min is not None and spec.desil_max is not None and spec.desil_min > spec.desil_max:
        raise InputError(f"desil_min {spec.desil_min} is above desil_max {spec.desil_max}")
    if spec.ends_on < spec.starts_on:
        raise InputError(f"ends_on {spec.ends_on} is before starts_on {spec.starts_on}")
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """INSERT INTO campaign (name, target_kind, desil_min, desil_max, categories, starts_on, ends_on,
                                         cutoff_day, created_by)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (spec.name.strip(), spec.target_kind, spec.desil_min, spec.desil_max, list(spec.categories) or None,
                 spec.starts_on, spec.ends_on, spec.cutoff_day, actor),
            )  # fmt: skip
            row = await cur.fetchone()
            assert row is not None
            cid = int(row[0])
            if spec.target_kind != "prelist":
                await conn.execute(
                    """INSERT INTO campaign_target (campaign_id, household_id, rt_code)
                       SELECT %(c)s, h.id, h.rt_code FROM household h JOIN household_rank r ON r.household_id = h.id
                       WHERE h.active AND h.rt_code IS NOT NULL
                         AND ((%(kind)s = 'desil' AND r.local_desil BETWEEN %(lo)s AND %(hi)s)
                              OR (%(kind)s = 'category' AND r.category = ANY (%(cats)s)))""",
                    {"c": cid, "kind": spec.target_kind, "lo": spec.desil_min, "hi": spec.desil_max,
                     "cats": list(spec.categories)},
                )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"a campaign named {spec.name.strip()!r} already exists") from exc
    except psycopg.errors.CheckViolation as exc:  # the table's own rules, should a case slip past the above
        raise InputError(f"campaign refused: {exc.diag.message_primary}") from exc
    return await campaign(conn, cid)


# a campaign's number of targets; published (planners) by the cell-key rule like every other count
_TARGETS = """(SELECT count(*) FROM campaign_target t WHERE t.campaign_id = c.id)"""
_TARGETS_PUBLISHED = """(SELECT peta_shown(count(*), COALESCE(sum(h.record_key), 0)::bigint, 1)
                         FROM campaign_target t JOIN household h ON h.id = t.household_id WHERE t.campaign_id = c.id)"""


async def campaign(conn: AsyncConnection[Any], cid: int, *, published: bool = False) -> dict[str, Any]:
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    rows = await fetch_dicts(
        conn,
        f"""SELECT c.id, c.name, c.target_kind, c.desil_min, c.desil_max, c.categories, c.starts_on, c.ends_on,
                  c.cutoff_day, c.created_by, c.created_at, {targets} AS targets
           FROM campaign c WHERE c.id = %s""",
        (cid,),
    )
    if not rows:
        raise NotFound(f"no campaign {cid}")
    return rows[0]


async def campaigns(conn: AsyncConnection[Any], *, published: bool = False) -> list[dict[str, Any]]:
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    return await fetch_dicts(
        conn,
        f"""SELECT c.id, c.name, c.target_kind, c.starts_on, c.ends_on, c.cutoff_day, {targets} AS targets
           FROM campaign c ORDER BY c.starts_on DESC, c.id DESC""",
    )


_COVERAGE = scoped("""
WITH c AS (SELECT * FROM campaign WHERE id = %(c)s),
t AS (
    SELECT t.rt_code, h.id, h.record_key, h.tgl_verval, h.tgl_verval >= c.starts_on AS verified,
           EXISTS (SELECT 1 FROM assignment a WHERE a.campaign_id = c.id AND a.rt_code = t.rt_code AND a.kind = 'visit'
                   AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned', 'approved')
                   AND (a.household_id IS NULL OR a.household_id = h.id)) AS assigned
    FROM campaign_target t JOIN household h ON h.id = t.household_id CROSS JOIN c
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
    published table. `scope` (access.scope.area_scope): only the areas sharing ground with it, their counts
    over the scope's targets only.
    """
    await campaign(conn, cid)
    query = _COVERAGE.format(figures="area_stats_public" if published else "area_figures")
    params = {"c": cid, "n": PREFIX[level], "level": level, "parent": parent, "scope": _codes(scope)}
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
        "c": cid, "n": PREFIX["rt"], "level": "rt", "parent": None, "limit": limit, "scope": _codes(scope),
        "w1": w["unverified_targets"], "w2": w["poverty_density"], "w3": w["staleness"], "w4": w["under_coverage"],
    })  # fmt: skip


def _codes(scope: tuple[str, ...] | None) -> list[str] | None:
    """A scope as the text[] parameter of access.scope's SQL (None: no bound)."""
    return None if scope is None else list(scope)


async def _verifier_id(conn: AsyncConnection[Any], username: str) -> int:
    cur = await conn.execute("SELECT id, role, disabled_at IS NOT NULL FROM app_user WHERE username = %s", (username,))
    row = await cur.fetchone()
    if row is None:
        raise InputError(f"no user {username!r}")
    if row[1] != "verifier":
        raise InputError(f"{username!r} is a {row[1]}, not a verifier")
    if row[2]:
        raise InputError(f"{username!r} is disabled")
    return int(row[0])


async def assign(
    conn: AsyncConnection[Any],
    cid: int,
    *,
    rt_codes: list[str],
    household_ids: list[int],
    verifier: str,
    due_on: date,
    actor: str,
    scope: tuple[str, ...] | None = None,
) -> list[int]:
    """Assign RTs and/or single families to a verifier, all or nothing; Conflict when one is already taken."""
    if not rt_codes and not household_ids:
        raise InputError("give at least one RT code or household id")
    return await assign_plan(conn, cid, {verifier: (rt_codes, household_ids)}, due_on=due_on, actor=actor,
                             scope=scope)  # fmt: skip


async def assign_plan(
    conn: AsyncConnection[Any],
    cid: int,
    plan: dict[str, tuple[list[str], list[int]]],
    *,
    due_on: date,
    actor: str,
    scope: tuple[str, ...] | None = None,
) -> list[int]:
    """Assign each verifier's RTs and families in one statement, all or nothing (a few queries in all,
    however many verifiers: an accepted proposal for the whole city takes one transaction).

    With a `scope` (a coordinator's, access.scope): the verifiers must lie wholly inside it, and so must the RTs
    and families; any other user, RT or family does not exist for the caller (NotFound, exactly as for an
    unknown one), since an assignment opens the families to the verifier."""
    c = await campaign(conn, cid)
    if due_on < date.today():
        raise InputError(f"due_on {due_on} is in the past")
    if due_on > c["ends_on"]:
        raise InputError(f"due_on {due_on} is after the campaign ends ({c['ends_on']})")
    cur = await conn.execute(
        "SELECT username, id, role, disabled_at IS NOT NULL, scope_codes FROM app_user WHERE username = ANY (%s)",
        (list(plan),),
    )
    users = {r[0]: r[1:] for r in await cur.fetchall() if lies_within(scope, r[4])}
    for name in plan:
        if name not in users:
            raise NotFound(f"no user {name!r}")
        if users[name][1] != "verifier":
            raise InputError(f"{name!r} is a {users[name][1]}, not a verifier")
        if users[name][2]:
            raise InputError(f"{name!r} is disabled")
    rt_codes = [code for rts, _ in plan.values() for code in rts]
    household_ids = [h for _, hs in plan.values() for h in hs]
    cur = await conn.execute("SELECT code FROM area WHERE level = 'rt' AND code = ANY (%s)", (rt_codes,))
    known = {r[0] for r in await cur.fetchall() if within(scope, r[0])}
    unknown = sorted(set(rt_codes) - known)
    if unknown:
        raise NotFound(f"no RT {', '.join(unknown)}")
    cur = await conn.execute("SELECT h.id, h.rt_code FROM household h WHERE h.id = ANY (%s)", (household_ids,))
    families = {int(i): rt for i, rt in await cur.fetchall() if within(scope, rt)}
    missing = sorted(set(household_ids) - set(families))
    if missing:
        raise NotFound(f"no families {', '.join(map(str, missing))}")
    rows: list[tuple[str, int | None, int]] = [(code, None, users[name][0]) for name, (rts, _) in plan.items()
                                               for code in rts]  # fmt: skip
    rows += [(families[h], h, users[name][0]) for name, (_, hs) in plan.items() for h in hs]
    try:
        async with conn.transaction():
            await acting_as(conn, actor)
            cur = await conn.execute(
                """INSERT INTO assignment (campaign_id, rt_code, household_id, verifier_id, assigned_by, due_on)
                   SELECT %s, r, h, v, %s, %s FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS x(r, h, v)
                   RETURNING id""",
                (cid, actor, due_on, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )
            ids = [int(r[0]) for r in await cur.fetchall()]
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"already assigned in this campaign: {exc.diag.message_primary or 'an RT or family'}") from exc
    return ids


def _principal_actor(principal: Any) -> str:
    """How the audit names the caller: the CLI passes its own actor (cli:<os user>), the API a user."""
    return getattr(principal, "actor", None) or f"user:{principal.username}"


async def set_status(
    conn: AsyncConnection[Any], assignment_id: int, status: str, *, reason: str | None, principal: Any
) -> dict[str, Any]:
    """Move an assignment along its workflow; verifiers move their own, coordinators those in their area."""
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    rows = await fetch_dicts(
        conn,
        "SELECT a.id, a.status, a.rt_code, u.username AS verifier FROM assignment a"
        " JOIN app_user u ON u.id = a.verifier_id WHERE a.id = %s",
        (assignment_id,),
    )
    if not rows:
        raise NotFound(f"no assignment {assignment_id}")
    a = rows[0]
    role = principal.role
    mine = role == "verifier" and a["verifier"] == principal.username
    in_scope = role in ("admin", "coordinator") and within(area_scope(principal), a["rt_code"])
    if not (mine or in_scope):
        raise NotFound(f"no assignment {assignment_id}")  # others' work does not exist for the caller
    if role == "verifier" and status not in VERIFIER_MOVES:
        raise Forbidden(f"a verifier may set {', '.join(sorted(VERIFIER_MOVES))}, not {status}")
    if role == "coordinator" and status not in COORDINATOR_MOVES:
        raise Forbidden(f"a coordinator may set {', '.join(sorted(COORDINATOR_MOVES))}, not {status}")
    if status not in NEXT[a["status"]]:
        allowed = ", ".join(sorted(NEXT[a["status"]])) or "nothing (final)"
        raise Conflict(f"assignment {assignment_id} is {a['status']}: it can move to {allowed}, not {status}")
    if status in ("declined", "returned", "cancelled") and not (reason and reason.strip()):
        raise InputError(f"{status} needs a reason")
    actor = _principal_actor(principal)
    async with conn.transaction():
        await acting_as(conn, actor)
        await conn.execute(
            "UPDATE assignment SET status = %s, reason = %s, updated_at = now() WHERE id = %s",
            (status, reason, assignment_id),
        )
    return (await assignments(conn, assignment_id=assignment_id))[0]


async def assignments(
    conn: AsyncConnection[Any],
    cid: int | None = None,
    *,
    assignment_id: int | None = None,
    verifier: str | None = None,
    status: str | None = None,
    scope: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Assignments with their verifier and history (with a `scope`: only those of its RTs)."""
    return await fetch_dicts(
        conn,
        scoped("""SELECT a.id, a.campaign_id, a.kind, a.rt_code, a.household_id, a.backcheck_of, u.username AS verifier,
                  a.assigned_by, a.due_on,
                  a.status, a.reason, a.created_at, a.updated_at,
                  (SELECT json_agg(json_build_object('status', e.status, 'reason', e.reason, 'actor', e.actor,
                                                     'at', e.at) ORDER BY e.id)
                   FROM assignment_event e WHERE e.assignment_id = a.id) AS history
           FROM assignment a JOIN app_user u ON u.id = a.verifier_id
           WHERE (%(c)s::bigint IS NULL OR a.campaign_id = %(c)s) AND (%(a)s::bigint IS NULL OR a.id = %(a)s)
             AND (%(v)s::text IS NULL OR u.username = %(v)s) AND (%(s)s::text IS NULL OR a.status = %(s)s)
             AND IN_SCOPE(a.rt_code)
           ORDER BY a.id"""),
        {"c": cid, "a": assignment_id, "v": verifier, "s": status, "scope": _codes(scope)},
    )


async def workload(conn: AsyncConnection[Any], cid: int, scope: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Per verifier: active assignments, their RTs and the target families still to verify in them (with a
    `scope`: counting only the assignments of its RTs)."""
    await campaign(conn, cid)
    return await fetch_dicts(
        conn,
        scoped("""SELECT u.username AS verifier,
                  count(DISTINCT a.id) FILTER (WHERE a.kind = 'visit') AS active_assignments,
                  count(DISTINCT a.rt_code) FILTER (WHERE a.kind = 'visit') AS rts,
                  count(t.household_id) FILTER (WHERE h.tgl_verval IS NULL OR h.tgl_verval < c.starts_on)
                      AS families_to_verify,
                  count(DISTINCT a.id) FILTER (WHERE a.kind = 'backcheck') AS backchecks
           FROM assignment a JOIN app_user u ON u.id = a.verifier_id JOIN campaign c ON c.id = a.campaign_id
           LEFT JOIN campaign_target t ON t.campaign_id = a.campaign_id AND t.rt_code = a.rt_code AND a.kind = 'visit'
                AND (a.household_id IS NULL OR t.household_id = a.household_id)
           LEFT JOIN household h ON h.id = t.household_id
           WHERE a.campaign_id = %(c)s AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned')
             AND IN_SCOPE(a.rt_code)
           GROUP BY u.username ORDER BY families_to_verify DESC, u.username"""),
        {"c": cid, "scope": _codes(scope)},
    )


# --- field results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    client_id: str
    campaign_id: int
    household_id: int
    result_code: int
    visited_at: Any  # an aware datetime
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    jumlah_anggota: int | None = None
    criteria: tuple[bool, ...] | None = None
    photo_sha256: str | None = None
    notes: str | None = None
    members: tuple[dict[str, Any], ...] | None = None  # as `member_records` makes them: no NIK in clear


RELATIONS = ("kepala", "suami_istri", "anak", "menantu", "cucu", "orang_tua", "mertua", "famili_lain", "lainnya")


def member_records(members: list[dict[str, Any]], key: bytes) -> tuple[dict[str, Any], ...]:
    """Members as stored with a visit: a NIK becomes its keyed hash and masked form (the number is dropped)."""
    out = []
    for i, m in enumerate(members, 1):
        rec = {k: m.get(k) for k in ("nama", "hubungan", "jenis_kelamin", "tahun_lahir")}
        nik = (m.get("nik") or "").strip()
        if nik:
            if not (len(nik) == 16 and nik.isdigit()):
                raise InputError(f"member {i}: a NIK has 16 digits")
            rec["nik_hash"], rec["nik_masked"] = keyed_hash(key, nik), mask_number(nik)
        out.append(rec)
    return tuple(out)


async def _assignment_for(conn: AsyncConnection[Any], v: Visit, verifier_id: int) -> tuple[int, int | None] | None:
    """The open assignment a visit belongs to (a back-check first), with the visit it back-checks."""
    cur = await conn.execute(
        """SELECT a.id, a.backcheck_of FROM assignment a JOIN household h ON h.id = %(h)s
           WHERE a.campaign_id = %(c)s AND a.verifier_id = %(v)s AND a.rt_code = h.rt_code
             AND (a.household_id IS NULL OR a.household_id = h.id)
             AND a.status IN ('assigned', 'in_progress', 'returned')
           ORDER BY a.kind = 'backcheck' DESC, a.household_id NULLS LAST LIMIT 1""",
        {"h": v.household_id, "c": v.campaign_id, "v": verifier_id},
    )
    row = await cur.fetchone()
    return (int(row[0]), row[1]) if row else None


_FLAGS = """
WITH me AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p, %(at)s::timestamptz AS at),
prev AS (
    SELECT v.visit_geom, v.visited_at FROM verification v
    WHERE v.verifier_id = %(v)s AND v.visited_at < %(at)s AND v.visit_geom IS NOT NULL
    ORDER BY v.visited_at DESC LIMIT 1
)
SELECT
    (SELECT ST_Distance(h.geom::geography, me.p::geography) FROM household h, me WHERE h.id = %(h)s),
    (SELECT ST_Distance(prev.visit_geom::geography, me.p::geography) FROM prev, me),
    (SELECT extract(epoch FROM me.at - prev.visited_at) FROM prev, me),
    (SELECT count(*) FROM verification v WHERE v.verifier_id = %(v)s
        AND v.visited_at BETWEEN %(at)s::timestamptz - make_interval(mins => %(burst_min)s) AND %(at)s),
    (SELECT count(*) FROM (
        SELECT v.result_code, v.jumlah_anggota, v.criteria FROM verification v
        WHERE v.verifier_id = %(v)s AND v.visited_at < %(at)s ORDER BY v.visited_at DESC LIMIT %(run)s - 1) r
     WHERE (r.result_code, r.jumlah_anggota, r.criteria)
           IS NOT DISTINCT FROM (%(rc)s::smallint, %(n)s::smallint, %(k)s::boolean[])),
    (SELECT u.kk_hash = h.kk_hash FROM app_user u, household h WHERE u.id = %(v)s AND h.id = %(h)s)
"""


async def _flags(conn: AsyncConnection[Any], v: Visit, verifier_id: int, cfg: dict[str, Any]) -> list[dict[str, str]]:
    """The objectivity checks of one visit, each explained (thresholds from the 'verval' settings)."""
    max_distance_m, max_speed_kmh, max_accuracy_m = cfg["max_distance_m"], cfg["max_speed_kmh"], cfg["max_accuracy_m"]
    burst_visits, burst_minutes, identical_run = cfg["burst_visits"], cfg["burst_minutes"], cfg["identical_run"]
    cur = await conn.execute(_FLAGS, {
        "lon": v.lon, "lat": v.lat, "at": v.visited_at, "v": verifier_id, "h": v.household_id,
        "burst_min": burst_minutes, "run": identical_run, "rc": v.result_code, "n": v.jumlah_anggota,
        "k": list(v.criteria) if v.criteria is not None else None,
    })  # fmt: skip
    home_m, hop_m, hop_s, recent, same, own = await cur.fetchone() or (None, None, None, 0, 0, None)
    flags = []
    if own:
        flags.append({"code": "own_family", "detail": "the verifier is a member of this family (same KK)"})
    if v.lon is None:
        flags.append({"code": "no_position", "detail": "the visit has no GPS position"})
    if home_m is not None and home_m > max_distance_m:
        flags.append({"code": "far_from_family", "detail": f"visit {home_m:,.0f} m from the family's point "
                                                           f"(more than {max_distance_m:,.0f} m)"})  # fmt: skip
    if v.accuracy_m is not None and v.accuracy_m > max_accuracy_m:
        flags.append({"code": "imprecise_gps", "detail": f"GPS accuracy {v.accuracy_m:,.0f} m"})
    if hop_m is not None and hop_s is not None:
        speed = hop_m / 1000 / max(float(hop_s) / 3600, 1e-9)
        if speed > max_speed_kmh:
            flags.append({"code": "implausible_speed", "detail": f"{hop_m:,.0f} m in {float(hop_s):,.0f} s since the "
                          f"previous visit: {speed:,.0f} km/h (more than {max_speed_kmh:,.0f})"})  # fmt: skip
    if recent + 1 > burst_visits:
        flags.append({"code": "too_many_visits", "detail": f"{recent + 1} visits within {burst_minutes} minutes "
                                                           f"(more than {burst_visits})"})  # fmt: skip
    if same >= identical_run - 1:
        flags.append({"code": "identical_answers", "detail": f"the same answers as the previous {same} visits"})
    return flags


_DIFFERENCES = """
SELECT o.result_code, b.result_code, o.jumlah_anggota, b.jumlah_anggota,
       (SELECT count(*) FROM unnest(o.criteria) WITH ORDINALITY x(v, i) JOIN unnest(b.criteria) WITH ORDINALITY y(v, i)
            USING (i) WHERE x.v IS DISTINCT FROM y.v)
FROM verification o, verification b WHERE o.id = %s AND b.id = %s
"""


def differences(orig_rc: int, rc: int, orig_n: int | None, n: int | None, criteria_differ: int | None) -> list[str]:
    """How a back-check disagrees with the visit it re-checks, in words (empty: they agree)."""
    out = []
    if orig_rc != rc:
        out.append(f"result {rc} ({RESULTS.get(rc)}) where {orig_rc} ({RESULTS.get(orig_rc)}) was recorded")
    if orig_n is not None and n is not None and orig_n != n:
        out.append(f"{n} members where {orig_n} were recorded")
    if criteria_differ:
        out.append(f"{criteria_differ} of the 14 criteria answered differently")
    return out


async def _compare_backcheck(conn: AsyncConnection[Any], original: int, backcheck: int, by: str) -> None:
    """A back-check that disagrees flags the visit it re-checked, so the coordinator sees it there."""
    import json

    cur = await conn.execute(_DIFFERENCES, (original, backcheck))
    row = await cur.fetchone()
    if row is None:
        return
    diff = differences(*row)
    if diff:
        flag = {"code": "backcheck_disagrees", "detail": f"back-check {backcheck} by {by}: " + "; ".join(diff)}
        await conn.execute("UPDATE verification SET flags = flags || %s::jsonb WHERE id = %s",
                           (json.dumps([flag]), original))  # fmt: skip


async def submit_visits(conn: AsyncConnection[Any], visits: list[Visit], principal: Any) -> list[dict[str, Any]]:
    """Record a batch of visits (chronologically); a client_id seen before is answered, not inserted again."""
    import json

    vid = await _verifier_id(conn, principal.username)
    cfg = await settings(conn)
    out: list[dict[str, Any]] = []
    for v in sorted(visits, key=lambda x: x.visited_at):
        # the same batch re-sent at the same moment (a phone retrying) waits here for the first one's
        # transaction, which commits before it answers, and then finds the visit: `duplicate`, never a 500
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('peta_visit:' || %s, 0))", (v.client_id,))
        seen = await _visit_seen(conn, v.client_id, vid)
        if seen is not None:
            out.append(seen)
            continue
        found = await _assignment_for(conn, v, vid)
        if found is None:
            out.append({"client_id": v.client_id, "status": "rejected",
                        "reason": f"family {v.household_id} is not in an open assignment of yours "
                                  f"in campaign {v.campaign_id}"})  # fmt: skip
            continue
        assignment_id, checked = found
        flags = await _flags(conn, v, vid, cfg)
        async with conn.transaction():
            await acting_as(conn, f"user:{principal.username}")
            cur = await conn.execute(
                """INSERT INTO verification (client_id, campaign_id, assignment_id, household_id, verifier_id,
                       result_code, jumlah_anggota, criteria, visit_geom, accuracy_m, visited_at, photo_sha256,
                       notes, flags, members)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s,
                           CASE WHEN %s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%s, %s), 4326) END,
                           %s, %s, %s, %s, %s, %s) RETURNING id""",
                (v.client_id, v.campaign_id, assignment_id, v.household_id, vid, v.result_code, v.jumlah_anggota,
                 list(v.criteria) if v.criteria is not None else None, v.lon, v.lon, v.lat, v.accuracy_m,
                 v.visited_at, v.photo_sha256, v.notes, json.dumps(flags),
                 json.dumps(list(v.members)) if v.members is not None else None),
            )  # fmt: skip
            new_id = int((await cur.fetchone() or [0])[0])
            if checked is not None:
                await _compare_backcheck(conn, checked, new_id, principal.username)
        out.append({"client_id": v.client_id, "status": "created", "id": new_id, "flags": flags})
    return out


async def _visit_seen(conn: AsyncConnection[Any], client_id: str, vid: int) -> dict[str, Any] | None:
    """The answer for a client_id already received: `duplicate` for its own verifier, `rejected` for another."""
    cur = await conn.execute("SELECT id, verifier_id, flags FROM verification WHERE client_id = %s", (client_id,))
    seen = await cur.fetchone()
    if seen is None:
        return None
    if seen[1] != vid:
        return {"client_id": client_id, "status": "rejected", "reason": "client_id already used"}
    return {"client_id": client_id, "status": "duplicate", "id": seen[0], "flags": seen[2]}


async def decide(
    conn: AsyncConnection[Any], verification_id: int, approve: bool, reason: str | None, principal: Any
) -> dict[str, Any]:
    """Approve (the registry and, through its triggers, the ranking and figures follow) or return a visit."""
    rows = await fetch_dicts(
        conn,
        """SELECT v.id, v.status, v.result_code, COALESCE(v.jumlah_anggota, NULLIF(jsonb_array_length(v.members), 0))
                      AS jumlah_anggota, v.criteria, v.visited_at, v.household_id,
                  h.rt_code FROM verification v JOIN household h ON h.id = v.household_id WHERE v.id = %s""",
        (verification_id,),
    )
    if not rows:
        raise NotFound(f"no verification {verification_id}")
    v = rows[0]
    if not within(area_scope(principal), v["rt_code"]):
        raise NotFound(f"no verification {verification_id}")
    if v["status"] != "submitted":
        raise Conflict(f"verification {verification_id} is already {v['status']}")
    if not approve and not (reason and reason.strip()):
        raise InputError("returning a visit needs a reason")
    actor = _principal_actor(principal)
    async with conn.transaction():
        await acting_as(conn, actor)
        await conn.execute(
            "UPDATE verification SET status = %s, decided_by = %s, decided_at = now(), decision_reason = %s"
            " WHERE id = %s",
            ("approved" if approve else "returned", actor, reason, verification_id),
        )
        if approve:
            crit = v["criteria"]
            sets = ", ".join(f"k{i:02d} = (%(k)s::boolean[])[{i}]" for i in range(1, 15)) if crit else ""
            await conn.execute(
                "UPDATE household SET hasil_verval = %(rc)s, tgl_verval = (%(at)s::timestamptz AT TIME ZONE"
                " 'Asia/Jakarta')::date, jumlah_anggota = COALESCE(%(n)s, jumlah_anggota)"
                + (", " + sets if sets else "") + ", version = version + 1, updated_at = now() WHERE id = %(h)s",
                {"rc": v["result_code"], "at": v["visited_at"], "n": v["jumlah_anggota"], "k": crit,
                 "h": v["household_id"]},
            )  # fmt: skip
    rows = await fetch_dicts(conn, "SELECT id, status, decided_by, decided_at, decision_reason, flags FROM verification"
                             " WHERE id = %s", (verification_id,))  # fmt: skip
    return rows[0]


RESULTS = {1: "terverifikasi", 2: "tidak ditemukan", 3: "pindah / bangunan tidak ada", 4: "bagian keluarga lain",
           5: "ganda", 6: "meninggal", 7: "tidak layak"}  # fmt: skip


BERITA_COLUMNS = ["rt_code", "kk_masked", "nama_kepala", "alamat", "hasil", "jumlah_anggota", "visited_on", "verifier",
                  "status", "flags"]  # fmt: skip


async def berita_acara(
    conn: AsyncConnection[Any], cid: int, kelurahan: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The kelurahan's visit results for the community meeting: the latest visit of each family, by RT."""
    c = await campaign(conn, cid)
    cur = await conn.execute("SELECT code, name FROM area WHERE code = %s AND level = 'kelurahan'", (kelurahan,))
    area = await cur.fetchone()
    if area is None:
        raise NotFound(f"no kelurahan {kelurahan}")
    rows = await fetch_dicts(
        conn,
        """SELECT DISTINCT ON (v.household_id) h.rt_code, h.kk_masked, h.nama_kepala, h.alamat, v.result_code,
                  v.jumlah_anggota, (v.visited_at AT TIME ZONE 'Asia/Jakarta')::date AS visited_on,
                  u.username AS verifier, v.status, jsonb_array_length(v.flags) AS flags, v.id AS verification_id
           FROM verification v JOIN household h ON h.id = v.household_id JOIN app_user u ON u.id = v.verifier_id
           WHERE v.campaign_id = %s AND h.rt_code LIKE %s
           ORDER BY v.household_id, v.visited_at DESC""",
        (cid, kelurahan + ".%"),
    )
    rows.sort(key=lambda r: (r["rt_code"], r["nama_kepala"] or ""))
    for r in rows:
        r["hasil"] = RESULTS.get(r["result_code"], str(r["result_code"]))
    return {"campaign": c["name"], "kelurahan": area[0], "kelurahan_name": area[1]}, rows


# --- prelist ---------------------------------------------------------------------------------------

_PRELIST = scoped("""
SELECT e.row, e.kk_hash, e.hid, h.id, h.active, h.rt_code,
       EXISTS (SELECT 1 FROM campaign_target t WHERE t.campaign_id = %(c)s AND t.household_id = h.id) AS already
FROM unnest(%(rows)s::int[], %(hashes)s::text[], %(hids)s::bigint[]) AS e(row, kk_hash, hid)
LEFT JOIN household h ON ((e.kk_hash IS NOT NULL AND h.kk_hash = e.kk_hash) OR h.id = e.hid)
    AND IN_SCOPE(h.rt_code)
ORDER BY e.row
""")


@dataclass(frozen=True)
class PrelistEntry:
    row: int  # the row number in the file, for the report
    no_kk: str | None = None
    household_id: int | None = None


async def add_prelist(
    conn: AsyncConnection[Any],
    cid: int,
    entries: list[PrelistEntry],
    key: bytes,
    *,
    partial: bool,
    actor: str,
    scope: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Add a prelist's families (by KK number or household id) to a prelist campaign's targets.

    All or nothing by default: any row that names no active, placed family refuses the whole list with a
    report of every such row. With `partial`, the good rows are added and the others reported. With a
    `scope` (the uploader's), a family outside it does not exist: its row reads exactly as an unknown one's.
    """
    c = await campaign(conn, cid)
    if c["target_kind"] != "prelist":
        raise InputError(f"campaign {cid} takes its targets by {c['target_kind']}, not from a prelist")
    issues: list[str] = []
    rows, hashes, hids = [], [], []
    for e in entries:
        kk = (e.no_kk or "").strip()
        if kk and not (len(kk) == 16 and kk.isdigit()):
            issues.append(f"row {e.row}: no_kk {mask_number(kk)!r} is not 16 digits")
            continue
        if not kk and e.household_id is None:
            issues.append(f"row {e.row}: neither no_kk nor household_id")
            continue
        rows.append(e.row)
        hashes.append(keyed_hash(key, kk) if kk else None)
        hids.append(e.household_id if not kk else None)
    found = await fetch_dicts(conn, _PRELIST, {"c": cid, "rows": rows, "hashes": hashes, "hids": hids,
                                         "scope": _codes(scope)})  # fmt: skip
    seen: dict[int, int] = {}
    good: list[tuple[int, str]] = []
    already = 0
    for f in found:
        what = f"KK {'*' * 6}" if f["kk_hash"] else f"household {f['hid']}"
        if f["id"] is None:
            issues.append(f"row {f['row']}: no family with this {'KK number' if f['kk_hash'] else 'id'}")
        elif not f["active"]:
            issues.append(f"row {f['row']}: {what} is no longer an active family")
        elif f["rt_code"] is None:
            issues.append(f"row {f['row']}: family {f['id']} has no RT (unplaced)")
        elif f["id"] in seen:
            issues.append(f"row {f['row']}: the same family as row {seen[f['id']]}")
        elif f["already"]:
            seen[f["id"]] = f["row"]
            already += 1
        else:
            seen[f["id"]] = f["row"]
            good.append((f["id"], f["rt_code"]))
    if issues and not partial:
        raise InputError(f"prelist refused, nothing added: {len(issues)} of {len(entries)} rows are wrong", issues)
    async with conn.transaction():
        await acting_as(conn, actor)
        await conn.execute(
            "INSERT INTO campaign_target (campaign_id, household_id, rt_code)"
            " SELECT %s, h, r FROM unnest(%s::bigint[], %s::text[]) AS x(h, r)",
            (cid, [g[0] for g in good], [g[1] for g in good]),
        )
    return {"rows": len(entries), "added": len(good), "already_targets": already, "refused": len(issues),
            "issues": issues, "targets": (await campaign(conn, cid))["targets"]}  # fmt: skip


# --- progress ------------------------------------------------------------------------------------

_PROGRESS = scoped("""
WITH c AS (SELECT * FROM campaign WHERE id = %(c)s),
tg AS (
    SELECT h.id, (h.tgl_verval)::date AS verified_on
    FROM campaign_target t JOIN household h ON h.id = t.household_id CROSS JOIN c
    WHERE t.campaign_id = c.id
      AND (%(area)s::text IS NULL OR t.rt_code = %(area)s OR starts_with(t.rt_code, %(area)s || '.'))
      AND IN_SCOPE(t.rt_code)
),
vv AS (
    SELECT date_trunc(%(by)s, v.visited_at AT TIME ZONE 'Asia/Jakarta')::date AS period, v.status, v.flags,
           v.household_id
    FROM verification v JOIN household h ON h.id = v.household_id JOIN app_user u ON u.id = v.verifier_id
    WHERE v.campaign_id = %(c)s
      AND (%(area)s::text IS NULL OR h.rt_code = %(area)s OR starts_with(h.rt_code, %(area)s || '.'))
      AND IN_SCOPE(h.rt_code)
      AND (%(verifier)s::text IS NULL OR u.username = %(verifier)s)
),
periods AS (
    SELECT generate_series(date_trunc(%(by)s, c.starts_on),
                           date_trunc(%(by)s, GREATEST(c.starts_on, LEAST(c.ends_on, j.today))),
                           ('1 ' || %(by)s)::interval)::date AS period
    FROM c, (SELECT (now() AT TIME ZONE 'Asia/Jakarta')::date AS today) j  -- days are Jambi's days
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
FROM verification v JOIN app_user u ON u.id = v.verifier_id JOIN household h ON h.id = v.household_id
WHERE v.campaign_id = %(c)s
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
    params = {"c": cid, "by": by, "area": area, "verifier": verifier, "scope": _codes(scope)}
    if area is not None and not await fetch_dicts(conn, _AREA_IN_SCOPE, params):
        raise NotFound(f"no area {area}")
    series = await fetch_dicts(conn, _PROGRESS, params)
    return {"campaign_id": cid, "campaign": c["name"], "by": by, "area": area, "verifier": verifier,
            "series": series, "verifiers": await fetch_dicts(conn, _BY_VERIFIER, params)}  # fmt: skip


# --- published coverage (planners) ------------------------------------------------------------------

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


# --- photos and the list of visits ----------------------------------------------------------------

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5


def _image_type(data: bytes, max_pixels: int) -> str:
    """The content type of a JPEG, PNG or WebP image, checked by reading its header (never decoding its
    pixels: a few KB can declare gigapixels); InputError otherwise, or when it declares over `max_pixels`."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # the header only
                _check_pixels(img.size, max_pixels)
                if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
                    _check_pixels(img.size, Image.MAX_IMAGE_PIXELS or 0)  # Pillow's own bound
                img.verify()
                kind = img.format or ""
    except Image.DecompressionBombError as exc:  # over twice Pillow's bound: it says so before the size is known
        raise InputError(f"the photo declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; at most "
                         f"{max_pixels:,} pixels (PETA_PHOTO_MAX_PIXELS)") from exc  # fmt: skip
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the photo is not a readable image: {exc}") from exc
    if kind not in PHOTO_TYPES:
        raise InputError(f"photos are JPEG, PNG or WebP, not {kind or 'unknown'}")
    return PHOTO_TYPES[kind]


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise InputError(f"the photo declares {width:,} x {height:,} pixels ({width * height:,}); at most "
                         f"{max_pixels:,} pixels (PETA_PHOTO_MAX_PIXELS)")  # fmt: skip


async def add_photo(
    conn: AsyncConnection[Any], verification_id: int, data: bytes, principal: Any, *, max_pixels: int
) -> dict[str, Any]:
    """Attach a photo of the house to one's own visit while it awaits a decision; the same photo twice is one.

    A photo declaring more than `max_pixels` pixels is refused before it is decoded."""
    import hashlib

    if not data:
        raise InputError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError(f"the photo has {len(data):,} bytes; at most {MAX_PHOTO_BYTES:,}")
    cur = await conn.execute(
        "SELECT v.status, u.username, (SELECT count(*) FROM verification_photo p WHERE p.verification_id = v.id)"
        " FROM verification v JOIN app_user u ON u.id = v.verifier_id WHERE v.id = %s",
        (verification_id,),
    )
    row = await cur.fetchone()
    if row is None or row[1] != principal.username:
        raise NotFound(f"no visit {verification_id} of yours")
    if row[0] != "submitted":
        raise Conflict(f"visit {verification_id} is already {row[0]}: photos can no longer be added")
    kind = _image_type(data, max_pixels)
    digest = hashlib.sha256(data).hexdigest()
    async with conn.transaction():
        await acting_as(conn, f"user:{principal.username}")
        cur = await conn.execute(
            """INSERT INTO verification_photo (verification_id, sha256, content_type, size_bytes, data, uploaded_by)
               SELECT %s, %s, %s, %s, %s, %s
               WHERE (SELECT count(*) FROM verification_photo WHERE verification_id = %s) < %s
               ON CONFLICT DO NOTHING RETURNING sha256""",
            (verification_id, digest, kind, len(data), data, f"user:{principal.username}", verification_id,
             MAX_PHOTOS),
        )  # fmt: skip
        created = await cur.fetchone() is not None
    if not created:
        cur = await conn.execute(
            "SELECT 1 FROM verification_photo WHERE verification_id = %s AND sha256 = %s", (verification_id, digest)
        )
        if await cur.fetchone() is None:
            raise Conflict(f"visit {verification_id} already has {MAX_PHOTOS} photos")
    return {"verification_id": verification_id, "sha256": digest, "content_type": kind, "size_bytes": len(data),
            "created": created}  # fmt: skip


async def photo(conn: AsyncConnection[Any], verification_id: int, sha256: str, principal: Any) -> tuple[bytes, str]:
    """A photo's bytes and type, for its verifier, and staff in the family's area."""
    cur = await conn.execute(
        """SELECT p.data, p.content_type, u.username, h.rt_code FROM verification_photo p
           JOIN verification v ON v.id = p.verification_id JOIN app_user u ON u.id = v.verifier_id
           JOIN household h ON h.id = v.household_id WHERE p.verification_id = %s AND p.sha256 = %s""",
        (verification_id, sha256),
    )
    row = await cur.fetchone()
    if row is None or not _may_read_visit(principal, row[2], row[3]):
        raise NotFound(f"no photo {sha256} of visit {verification_id}")
    return bytes(row[0]), str(row[1])


def _may_read_visit(principal: Any, verifier: str, rt_code: str) -> bool:
    if principal.role in ("admin", "coordinator"):
        return within(area_scope(principal), rt_code)
    return principal.role == "verifier" and principal.username == verifier


async def visits(
    conn: AsyncConnection[Any],
    cid: int,
    principal: Any,
    *,
    status: str | None = None,
    flagged: bool | None = None,
    verifier: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A campaign's visits with their flags for review (coordinators: their area; verifiers: their own)."""
    await campaign(conn, cid)
    scope = area_scope(principal)
    if principal.role == "verifier":
        scope, verifier = None, principal.username
    return await fetch_dicts(
        conn,
        scoped("""SELECT v.id, v.client_id, v.household_id, h.rt_code, h.kk_masked, h.nama_kepala,
                  u.username AS verifier, a.kind, a.backcheck_of, v.result_code, v.jumlah_anggota, v.criteria,
                  v.members,
                  round(ST_X(v.visit_geom)::numeric, 6)::float8 AS lon, round(ST_Y(v.visit_geom)::numeric, 6)::float8
                  AS lat, v.accuracy_m, v.visited_at, v.notes, v.flags, v.status, v.decided_by, v.decided_at,
                  v.decision_reason,
                  (SELECT coalesce(json_agg(p.sha256 ORDER BY p.uploaded_at), '[]') FROM verification_photo p
                   WHERE p.verification_id = v.id) AS photos
           FROM verification v JOIN household h ON h.id = v.household_id JOIN app_user u ON u.id = v.verifier_id
           LEFT JOIN assignment a ON a.id = v.assignment_id
           WHERE v.campaign_id = %(c)s
             AND IN_SCOPE(h.rt_code)
             AND (%(status)s::text IS NULL OR v.status = %(status)s)
             AND (%(flagged)s::boolean IS NULL OR (jsonb_array_length(v.flags) > 0) = %(flagged)s)
             AND (%(verifier)s::text IS NULL OR u.username = %(verifier)s)
           ORDER BY v.visited_at DESC, v.id DESC LIMIT %(limit)s OFFSET %(offset)s"""),
        {"c": cid, "scope": _codes(scope), "status": status, "flagged": flagged, "verifier": verifier,
         "limit": limit, "offset": offset},
    )  # fmt: skip


async def verifiers(conn: AsyncConnection[Any], cid: int, scope: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The active verifiers one may assign (access.scope: every RT of theirs inside the scope) with their home RT
    and their open work in the campaign (inside the scope)."""
    await campaign(conn, cid)
    rows = await fetch_dicts(
        conn,
        scoped("""SELECT u.username, u.full_name, u.scope_codes,
                  (SELECT count(*) FROM assignment a WHERE a.verifier_id = u.id AND a.campaign_id = %(c)s
                      AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned')
                      AND IN_SCOPE(a.rt_code))::int AS open_assignments
           FROM app_user u WHERE u.role = 'verifier' AND u.disabled_at IS NULL ORDER BY u.username"""),
        {"c": cid, "scope": _codes(scope)},
    )
    return [r for r in rows if lies_within(scope, r["scope_codes"])]


async def my_assignments(conn: AsyncConnection[Any], username: str) -> list[dict[str, Any]]:
    """A verifier's open assignments with their campaign."""
    return await fetch_dicts(
        conn,
        """SELECT a.id, a.campaign_id, c.name AS campaign, c.ends_on, a.kind, a.rt_code, a.household_id, a.due_on,
                  a.status, ar.name AS rt_name
           FROM assignment a JOIN app_user u ON u.id = a.verifier_id JOIN campaign c ON c.id = a.campaign_id
           LEFT JOIN area ar ON ar.code = a.rt_code
           WHERE u.username = %s AND a.status IN ('assigned', 'in_progress', 'returned')
           ORDER BY a.due_on, a.id""",
        (username,),
    )
