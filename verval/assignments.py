"""Assignments of RTs and families to verifiers: the statuses, who may move them where, and the listings."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection

from core.errors import Conflict, Forbidden, InputError, NotFound
from core.principal import Staff
from core.scope import area_scope, lies_within, within
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped
from verval.campaigns import campaign

# The states of an assignment, named once; SQL reads the same sets through peta_assignment_active, _visitable
# and _live and the open_assignment view (db/sql/0014), and a test checks that the two agree.
ACTIVE = ("assigned", "in_progress", "submitted", "returned")  # open: the RT or family is taken
VISITABLE = ("assigned", "in_progress", "returned")  # its verifier may record a visit now
STATUSES = (*ACTIVE, "approved", "declined", "cancelled")
LIVE = tuple(s for s in STATUSES if s not in ("declined", "cancelled"))  # still counts: approved is covered

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


async def verifier_id(conn: AsyncConnection[Any], username: str) -> int:
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

    With a `scope` (a coordinator's, core.scope): the verifiers must lie wholly inside it, and so must the RTs
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
                """INSERT INTO assignment (campaign_id, rt_code, household_id, verifier_id, assigned_by, due_on,
                                          kota_code)
                   SELECT %s, r, h, v, %s, %s, left(r, 5)
                   FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS x(r, h, v)
                   RETURNING id""",
                (cid, actor, due_on, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )
            ids = [int(r[0]) for r in await cur.fetchall()]
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"already assigned in this campaign: {exc.diag.message_primary or 'an RT or family'}") from exc
    return ids


async def set_status(
    conn: AsyncConnection[Any], assignment_id: int, status: str, *, reason: str | None, principal: Staff
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
    actor = principal.actor
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
                  a.status, peta_assignment_active(a.status) AS active, a.reason, a.created_at, a.updated_at,
                  (SELECT json_agg(json_build_object('status', e.status, 'reason', e.reason, 'actor', e.actor,
                                                     'at', e.at) ORDER BY e.id)
                   FROM assignment_event e WHERE e.kota_code = a.kota_code AND e.assignment_id = a.id) AS history
           FROM assignment a JOIN app_user u ON u.id = a.verifier_id
           WHERE (%(c)s::bigint IS NULL OR a.campaign_id = %(c)s) AND (%(a)s::bigint IS NULL OR a.id = %(a)s)
             AND (%(v)s::text IS NULL OR u.username = %(v)s) AND (%(s)s::text IS NULL OR a.status = %(s)s)
             AND IN_SCOPE(a.rt_code)
           ORDER BY a.id"""),
        {"c": cid, "a": assignment_id, "v": verifier, "s": status, "scope": scope_param(scope)},
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
           LEFT JOIN campaign_target t ON t.kota_code = a.kota_code AND t.campaign_id = a.campaign_id
                AND t.rt_code = a.rt_code AND a.kind = 'visit'
                AND (a.household_id IS NULL OR t.household_id = a.household_id)
           LEFT JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id
           WHERE a.campaign_id = %(c)s AND peta_assignment_active(a.status)
             AND IN_SCOPE(a.rt_code)
           GROUP BY u.username ORDER BY families_to_verify DESC, u.username"""),
        {"c": cid, "scope": scope_param(scope)},
    )


async def verifiers(conn: AsyncConnection[Any], cid: int, scope: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The active verifiers one may assign (core.scope: every RT of theirs inside the scope) with their home RT
    and their open work in the campaign (inside the scope)."""
    kota = (await campaign(conn, cid))["kota_code"]  # named: one shard group answers on Citus
    rows = await fetch_dicts(
        conn,
        scoped("""SELECT u.username, u.full_name, u.scope_codes,
                  (SELECT count(*) FROM assignment a WHERE (%(k)s::text IS NULL OR a.kota_code = %(k)s)
                      AND a.verifier_id = u.id AND a.campaign_id = %(c)s
                      AND peta_assignment_active(a.status)
                      AND IN_SCOPE(a.rt_code))::int AS open_assignments
           FROM app_user u WHERE u.role = 'verifier' AND u.disabled_at IS NULL ORDER BY u.username"""),
        {"c": cid, "k": kota, "scope": scope_param(scope)},
    )
    return [r for r in rows if lies_within(scope, r["scope_codes"])]


async def my_assignments(conn: AsyncConnection[Any], username: str) -> list[dict[str, Any]]:
    """A verifier's open assignments with their campaign, and each one's target families (`targets`: the family
    assigned, or the campaign's targets in the RT) with the status of the family's latest visit in the campaign
    (`visit`: None when not visited; a back-check counts only the visits made for it)."""
    return await fetch_dicts(
        conn,
        """SELECT a.id, a.campaign_id, c.name AS campaign, c.ends_on, a.kind, a.rt_code, a.household_id, a.due_on,
                  a.status, ar.name AS rt_name,
                  (SELECT COALESCE(json_agg(json_build_object('id', t.id, 'visit', (
                              SELECT v.status FROM verification v
                              WHERE v.kota_code = a.kota_code AND v.campaign_id = a.campaign_id
                                AND v.household_id = t.id
                                AND (a.kind = 'visit' OR v.assignment_id = a.id)
                              ORDER BY v.visited_at DESC, v.id DESC LIMIT 1)) ORDER BY t.id), '[]')
                   FROM (SELECT a.household_id AS id WHERE a.household_id IS NOT NULL
                         UNION ALL
                         SELECT ct.household_id FROM campaign_target ct
                         WHERE a.household_id IS NULL AND ct.kota_code = a.kota_code AND ct.campaign_id = a.campaign_id
                           AND ct.rt_code = a.rt_code) t) AS targets
           FROM assignment a JOIN app_user u ON u.id = a.verifier_id JOIN campaign c ON c.id = a.campaign_id
           LEFT JOIN area ar ON ar.code = a.rt_code
           WHERE u.username = %s AND peta_assignment_visitable(a.status)
           ORDER BY a.due_on, a.id""",
        (username,),
    )
