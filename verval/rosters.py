"""A programme's recipient roster matched to families by keyed hash, and kept as a version (issue 18).

The oracle rule of the prelist holds: a row is matched only to a family inside the uploader's area scope and in a
kab/kota where the programme runs; any other family does not exist for it, so a number known elsewhere in the
registry reads exactly as an unknown one ("no family with this KK number").
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from core.errors import InputError
from core.programmes import Programme
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.programmes import runs_in_sql
from gis.scope_sql import scope_param, scoped
from registry.rosters import Roster

_MATCH = """
SELECT e.row, e.kind, h.id, h.kota_code, h.active
FROM unnest(%(rows)s::int[], %(kinds)s::text[], %(hashes)s::text[]) AS e (row, kind, hash)
LEFT JOIN household h ON ((e.kind = 'kk' AND h.kk_hash = e.hash) OR (e.kind = 'nik' AND h.nik_kepala_hash = e.hash))
    AND IN_SCOPE(h.rt_code) AND {runs}
ORDER BY e.row, h.id
"""
_WHAT = {"kk": "KK number", "nik": "NIK"}
MAX_LIST = 500


def _judge(found: list[dict[str, Any]]) -> tuple[list[tuple[int, int, str]], list[str], list[str]]:
    """The recipients (family, row, kab/kota), the refused rows and the notes, from the match's rows."""
    by_row: dict[int, list[dict[str, Any]]] = {}
    for f in found:
        by_row.setdefault(f["row"], []).append(f)
    good: list[tuple[int, int, str]] = []
    issues: list[str] = []
    notes: list[str] = []
    seen: dict[int, int] = {}
    for row, hits in by_row.items():
        what = _WHAT[hits[0]["kind"]]
        families = [h for h in hits if h["id"] is not None]
        if not families:
            issues.append(f"row {row}: no family with this {what}")
        elif len(families) > 1:
            kotas = ", ".join(sorted({h["kota_code"] for h in families}))
            issues.append(f"row {row}: this {what} names {len(families)} families (kab/kota {kotas}); send one"
                          " roster per kab/kota")  # fmt: skip
        elif families[0]["id"] in seen:
            issues.append(f"row {row}: the same family as row {seen[families[0]['id']]}")
        else:
            h = families[0]
            seen[h["id"]] = row
            good.append((h["id"], row, h["kota_code"]))
            if not h["active"]:
                notes.append(f"row {row}: the family is no longer active in the registry (a possible inclusion error)")
    return good, issues, notes


async def upload_roster(
    conn: AsyncConnection[Any],
    p: Programme,
    period: str,
    roster: Roster,
    *,
    actor: str,
    role: str,
    scope: tuple[str, ...] | None,
    key_id: int | None = None,
    filename: str | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Match a roster's rows to families and keep it as a new version of the programme's roster for `period` in
    the uploader's `scope`; all or nothing unless `partial`: any unreadable, unmatched, ambiguous or repeated row
    refuses the whole roster (InputError listing every such row by number and reason)."""
    period = p.check_period(period)
    runs, params = runs_in_sql(p)
    found = await fetch_dicts(conn, scoped(_MATCH.format(runs=runs)), {
        **params, "scope": scope_param(scope), "rows": [e.row for e in roster.entries],
        "kinds": [e.by for e in roster.entries], "hashes": [e.hash for e in roster.entries]})  # fmt: skip
    good, issues, notes = _judge(found)
    issues = sorted(roster.issues + issues, key=lambda s: int(s.split(":")[0].removeprefix("row ")))
    if issues and not partial:
        raise InputError(f"roster refused, nothing kept: {len(issues)} of {roster.rows} rows are wrong", issues)
    async with conn.transaction():
        await acting_as(conn, actor, role)
        cur = await conn.execute(
            """INSERT INTO programme_roster (programme, period, scope_codes, uploaded_by, key_id, filename,
                                             file_sha256, rows, matched, unmatched, partial, issues)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, uploaded_at""",
            (p.code, period, sorted(scope or ()), actor, key_id, filename, roster.sha256, roster.rows, len(good),
             roster.rows - len(good), partial, Jsonb(issues)),
        )
        rid, at = await cur.fetchone()  # type: ignore[misc]
        await conn.execute(
            """INSERT INTO programme_recipient (roster_id, household_id, row, kota_code)
               SELECT %s, h, r, k FROM unnest(%s::bigint[], %s::int[], %s::text[]) AS x (h, r, k)""",
            (rid, [g[0] for g in good], [g[1] for g in good], [g[2] for g in good]),
        )
    version = await _version(conn, rid)
    return {"roster_id": rid, "programme": p.code, "period": period, "version": version, "uploaded_at": at,
            "rows": roster.rows, "matched": len(good), "unmatched": roster.rows - len(good), "issues": issues,
            "notes": notes}  # fmt: skip


async def _version(conn: AsyncConnection[Any], rid: int) -> int:
    cur = await conn.execute(
        """SELECT count(*) FROM programme_roster o JOIN programme_roster r ON r.id = %s
           WHERE o.programme = r.programme AND o.period = r.period AND o.id <= r.id""",
        (rid,),
    )
    return int((await cur.fetchone())[0])  # type: ignore[index]


_VERSIONS = """
SELECT r.id, r.programme, r.period,
       count(*) OVER (PARTITION BY r.programme, r.period ORDER BY r.id) AS version,
       r.scope_codes, r.uploaded_by, r.uploaded_at, r.filename, r.file_sha256, r.rows, r.matched, r.unmatched,
       r.partial, r.issues
FROM programme_roster r
WHERE r.programme = %(p)s
"""
_VISIBLE = """
SELECT * FROM ({versions}) v
WHERE (%(period)s::text IS NULL OR v.period = %(period)s) AND (%(id)s::bigint IS NULL OR v.id = %(id)s)
  AND (cardinality(v.scope_codes) = 0 OR %(scope)s::text[] IS NULL
       OR EXISTS (SELECT 1 FROM unnest(v.scope_codes) c WHERE SHARES_SCOPE(c)))
ORDER BY v.id DESC LIMIT %(limit)s
"""


async def versions(
    conn: AsyncConnection[Any], code: str, *, scope: tuple[str, ...] | None, period: str | None = None,
    roster_id: int | None = None, limit: int = 100,
) -> list[dict[str, Any]]:
    """The programme's roster versions (newest first) that speak for ground shared with `scope`: who sent what for
    which period, when, and how it matched (counts and the row report; no family is named)."""
    query = scoped(_VISIBLE.format(versions=_VERSIONS))
    return await fetch_dicts(conn, query, {"p": code, "period": period, "id": roster_id, "scope": scope_param(scope),
                                           "limit": min(limit, MAX_LIST)})  # fmt: skip
