"""Visits: a verifier's results taken in (once, however often sent), reviewed and decided, and listed."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

from core.errors import Conflict, InputError, NotFound
from core.principal import Staff
from core.scope import area_scope, within
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped
from verval.approval import PENDING, annotate, approval_steps, check_may_decide, is_head_of_office, step_of
from verval.assignments import verifier_id
from verval.campaigns import campaign
from verval.config import settings
from verval.flags import compare_backcheck, visit_flags
from verval.records import Visit


async def _assignment_for(
    conn: AsyncConnection[Any], v: Visit, verifier_id: int
) -> tuple[int, int | None, str] | None:
    """The open assignment a visit belongs to (a back-check first), with the visit it back-checks and the family's
    kab/kota."""
    cur = await conn.execute(
        """SELECT a.id, a.backcheck_of, a.kota_code
           FROM assignment a JOIN household h ON h.kota_code = a.kota_code AND h.id = %(h)s
           WHERE a.campaign_id = %(c)s AND a.verifier_id = %(v)s AND a.rt_code = h.rt_code
             AND (a.household_id IS NULL OR a.household_id = h.id)
             AND peta_assignment_visitable(a.status)
           ORDER BY a.kind = 'backcheck' DESC, a.household_id NULLS LAST LIMIT 1""",
        {"h": v.household_id, "c": v.campaign_id, "v": verifier_id},
    )
    row = await cur.fetchone()
    return (int(row[0]), row[1], row[2]) if row else None


async def submit_visits(conn: AsyncConnection[Any], visits: list[Visit], principal: Staff) -> list[dict[str, Any]]:
    """Record a batch of visits (chronologically); a client_id seen before is answered, not inserted again."""
    import json

    vid = await verifier_id(conn, principal.username)
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
        assignment_id, checked, kota = found
        flags = await visit_flags(conn, v, vid, cfg)
        async with conn.transaction():
            await acting_as(conn, principal.actor)
            cur = await conn.execute(
                """INSERT INTO verification (client_id, campaign_id, assignment_id, household_id, verifier_id,
                       result_code, jumlah_anggota, criteria, visit_geom, accuracy_m, visited_at, photo_sha256,
                       notes, flags, members, kota_code)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s,
                           CASE WHEN %s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%s, %s), 4326) END,
                           %s, %s, %s, %s, %s, %s,
                           %s) RETURNING id""",
                (v.client_id, v.campaign_id, assignment_id, v.household_id, vid, v.result_code, v.jumlah_anggota,
                 list(v.criteria) if v.criteria is not None else None, v.lon, v.lon, v.lat, v.accuracy_m,
                 v.visited_at, v.photo_sha256, v.notes, json.dumps(flags),
                 json.dumps(list(v.members)) if v.members is not None else None, kota),
            )  # fmt: skip
            new_id = int((await cur.fetchone() or [0])[0])
            if checked is not None:
                await compare_backcheck(conn, checked, new_id, principal.username)
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


async def _pending(conn: AsyncConnection[Any], verification_id: int, principal: Staff) -> dict[str, Any]:
    """The visit to decide, in the principal's area and still awaiting a decision."""
    rows = await fetch_dicts(
        conn,
        """SELECT v.id, v.status, v.result_code, COALESCE(v.jumlah_anggota, NULLIF(jsonb_array_length(v.members), 0))
                      AS jumlah_anggota, v.criteria, v.visited_at, v.household_id, v.kota_code, v.checked_by,
                  h.rt_code FROM verification v JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
           WHERE v.id = %s""",
        (verification_id,),
    )
    if not rows or not within(area_scope(principal), rows[0]["rt_code"]):
        raise NotFound(f"no verification {verification_id}")
    if rows[0]["status"] not in PENDING:
        raise Conflict(f"verification {verification_id} is already {rows[0]['status']}")
    return rows[0]


async def decide(
    conn: AsyncConnection[Any], verification_id: int, approve: bool, reason: str | None, principal: Staff
) -> dict[str, Any]:
    """Approve (the registry and, through its triggers, the ranking and figures follow) or return a visit; with two
    approval steps (verval.approval), a first approval only checks it and a head of office, never the same person,
    decides it."""
    v = await _pending(conn, verification_id, principal)
    if not approve and not (reason and reason.strip()):
        raise InputError("returning a visit needs a reason")
    steps = (await approval_steps(conn, [v["kota_code"]]))[v["kota_code"]]
    step = step_of(v["status"]) or 1
    actor = principal.actor
    head = step == 2 and await is_head_of_office(conn, principal)
    check_may_decide(verification_id, step, v["checked_by"], actor, head)
    checks = approve and step == 1 and steps == 2
    async with conn.transaction():
        await acting_as(conn, actor)
        if checks:
            sql = ("UPDATE verification SET status = 'checked', checked_by = %s, checked_at = now(),"
                   " decision_reason = %s WHERE kota_code = %s AND id = %s AND status = %s RETURNING id")  # fmt: skip
            params: tuple[Any, ...] = (actor, reason, v["kota_code"], verification_id, v["status"])
        else:
            sql = ("UPDATE verification SET status = %s, decided_by = %s, decided_at = now(), decision_reason = %s"
                   " WHERE kota_code = %s AND id = %s AND status = %s RETURNING id")  # fmt: skip
            decision = "approved" if approve else "returned"
            params = (decision, actor, reason, v["kota_code"], verification_id, v["status"])
        if await (await conn.execute(sql, params)).fetchone() is None:  # decided meanwhile by someone else
            raise Conflict(f"verification {verification_id} was decided meanwhile")
        if approve and not checks:
            await _into_registry(conn, v)
    rows = await fetch_dicts(conn, "SELECT id, status, checked_by, checked_at, decided_by, decided_at, decision_reason,"
                             " flags FROM verification WHERE id = %s", (verification_id,))  # fmt: skip
    return {**rows[0], "approval_steps": steps}


async def _into_registry(conn: AsyncConnection[Any], v: dict[str, Any]) -> None:
    """A finally approved visit's findings written to the family's record (a new version of it).

    Every value is given as a plain parameter (the day in the family's own time zone looked up first, one parameter
    per criterion): an expression over the row's columns and an array parameter's elements in the SET list crashed
    the Citus coordinator (13.2, a router UPDATE with parameters)."""
    cur = await conn.execute("SELECT peta_timezone(%s)", (v["kota_code"],))  # the kab/kota's WIB, WITA or WIT
    tz = await cur.fetchone()
    assert tz is not None
    crit = v["criteria"] or []
    sets = "".join(f", k{i:02d} = %(k{i:02d})s" for i in range(1, len(crit) + 1))
    await conn.execute(
        "UPDATE household SET hasil_verval = %(rc)s, tgl_verval = %(day)s,"
        " jumlah_anggota = COALESCE(%(n)s, jumlah_anggota)" + sets + ", version = version + 1, updated_at = now()"
        " WHERE kota_code = %(kota)s AND id = %(h)s",
        {"rc": v["result_code"], "day": v["visited_at"].astimezone(ZoneInfo(tz[0])).date(), "n": v["jumlah_anggota"],
         "h": v["household_id"], "kota": v["kota_code"], **{f"k{i:02d}": bool(c) for i, c in enumerate(crit, 1)}},
    )  # fmt: skip


async def visits(
    conn: AsyncConnection[Any],
    cid: int,
    principal: Staff,
    *,
    status: str | None = None,
    flagged: bool | None = None,
    verifier: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A campaign's visits with their flags for review (coordinators: their area; verifiers: their own), each with
    the family's registered point, the visit's distance from it in metres, the approval step it awaits and whether
    the caller may take it (verval.approval)."""
    await campaign(conn, cid)
    scope = area_scope(principal)
    if principal.role == "verifier":
        scope, verifier = None, principal.username
    rows = await fetch_dicts(
        conn,
        scoped("""SELECT v.id, v.client_id, v.household_id, h.rt_code, h.kk_masked, h.nama_kepala,
                  u.username AS verifier, a.kind, a.backcheck_of, v.result_code, v.jumlah_anggota, v.criteria,
                  v.members,
                  round(ST_X(v.visit_geom)::numeric, 6)::float8 AS lon, round(ST_Y(v.visit_geom)::numeric, 6)::float8
                  AS lat, v.accuracy_m, v.visited_at, v.notes, v.flags, v.status, v.checked_by, v.checked_at,
                  v.decided_by, v.decided_at, v.decision_reason,
                  round(ST_X(h.geom)::numeric, 6)::float8 AS family_lon, round(ST_Y(h.geom)::numeric, 6)::float8
                  AS family_lat,
                  round(ST_Distance(h.geom::geography, v.visit_geom::geography)::numeric, 1)::float8
                  AS family_distance_m,
                  (SELECT coalesce(json_agg(p.sha256 ORDER BY p.uploaded_at), '[]') FROM verification_photo p
                   WHERE p.kota_code = v.kota_code AND p.verification_id = v.id) AS photos
           FROM verification v JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
           JOIN app_user u ON u.id = v.verifier_id
           LEFT JOIN assignment a ON a.kota_code = v.kota_code AND a.id = v.assignment_id
           WHERE v.campaign_id = %(c)s
             AND IN_SCOPE(h.rt_code)
             AND (%(status)s::text IS NULL OR v.status = %(status)s)
             AND (%(flagged)s::boolean IS NULL OR (jsonb_array_length(v.flags) > 0) = %(flagged)s)
             AND (%(verifier)s::text IS NULL OR u.username = %(verifier)s)
           ORDER BY v.visited_at DESC, v.id DESC LIMIT %(limit)s OFFSET %(offset)s"""),
        {"c": cid, "scope": scope_param(scope), "status": status, "flagged": flagged, "verifier": verifier,
         "limit": limit, "offset": offset},
    )  # fmt: skip
    return await annotate(conn, rows, principal)
