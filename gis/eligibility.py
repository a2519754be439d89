"""A programme's eligibility list for a period (issue 18): the active families its rule selects in the kab/kota where
it runs, fixed per kab/kota on the period's cut-off day, read inside the caller's area and audited per family.

Before the cut-off a list is provisional (the rule over today's registry); on or after it, the first pull stores
the families the rule selects then (programme_list, programme_eligible) and every later pull reads those.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from core.config import shipped
from core.privacy import keyed_hash
from core.programmes import INDICATOR_KEYS, Programme, Rule, cutoff_date
from core.scope import shares
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.households import audit_read
from gis.scope_sql import scope_param, scoped

BASE_FIELDS = ("pseudonym", "kota_code", "kk_hash", "nik_hash", "desil_resmi", "local_desil", "tgl_verval")
NAME_FIELDS = ("nama_kepala", "alamat", "rt_code")  # only under an agreement (api_key.programme_names)
HASH_FIELDS = ("kk_hash", "nik_hash")  # left out under an agreement (api_key.programme_hashes false): they link lists


def rule_sql(rule: Rule, cutoff: date) -> tuple[sql.Composable, dict[str, Any]]:
    """The rule as one condition over household h and household_rank r, with its parameters."""
    desil = sql.SQL("h.desil_resmi" if rule.desil == "official" else "r.local_desil")
    parts: list[sql.Composable] = [sql.SQL("{} BETWEEN %(r_lo)s AND %(r_hi)s").format(desil)]
    params: dict[str, Any] = {"r_lo": rule.desil_min, "r_hi": rule.desil_max}
    if rule.categories:
        parts.append(sql.SQL("r.category = ANY (%(r_cats)s::text[])"))
        params["r_cats"] = list(rule.categories)
    if rule.verified_within_months is not None:
        parts.append(sql.SQL("h.hasil_verval = 1 AND h.tgl_verval > %(r_cut)s::date - make_interval(months =>"
                             " %(r_months)s) AND h.tgl_verval <= %(r_cut)s::date"))  # fmt: skip
        params |= {"r_cut": cutoff, "r_months": rule.verified_within_months}
    if rule.bps_min is not None:
        parts.append(sql.SQL("h.bps_count >= %(r_bps)s"))
        params["r_bps"] = rule.bps_min
    parts += [sql.SQL("h.{}").format(sql.Identifier(k)) for k in rule.criteria if k in INDICATOR_KEYS]
    return sql.SQL(" AND ").join(parts), params


async def cutoff_of(conn: AsyncConnection[Any], period: str) -> date:
    """The cut-off day of a period under the stored settings (programs.cutoff_day, default the shipped one)."""
    cur = await conn.execute("SELECT value -> 'cutoff_day' FROM peta_config WHERE key = 'programs'")
    row = await cur.fetchone()
    day = row[0] if row and isinstance(row[0], int) else shipped("programs")["cutoff_day"]
    return cutoff_date(period, day)


async def _kotas(conn: AsyncConnection[Any], p: Programme, scope: tuple[str, ...] | None) -> list[str]:
    """The loaded kab/kota where the programme runs that share ground with the scope."""
    cur = await conn.execute("SELECT code FROM area WHERE level = 'kota' ORDER BY code")
    return [k for (k,) in await cur.fetchall() if p.runs_in(k) and shares(scope, k)]


_SELECT = """SELECT h.id AS household_id, h.kota_code, h.desil_resmi, r.local_desil, h.tgl_verval
FROM household h LEFT JOIN household_rank r ON r.household_id = h.id AND r.kota_code = h.kota_code
WHERE h.active AND h.kota_code = ANY (%(kotas)s::text[]) AND {rule}"""


class _Moved(Exception):
    """The families a list selects changed between its count and its rows."""


async def _fix(conn: AsyncConnection[Any], p: Programme, period: str, cutoff: date, kotas: list[str],
               actor: str, role: str) -> None:  # fmt: skip
    """Store the list of each of `kotas` not fixed yet for the period, as the rule selects it now: per kab/kota,
    under a lock of its (programme, period, kab/kota), the list row with the count of families the rule selects,
    then those families; should a family change between the two statements (the counts differ), the kab/kota's
    list is taken again. A concurrent first pull waits for the lock and finds the list fixed. One kab/kota per
    statement: on Citus each reaches one shard group."""
    assert p.rule is not None
    cur = await conn.execute("SELECT kota_code FROM programme_list WHERE programme = %s AND period = %s"
                             " AND kota_code = ANY (%s::text[])", (p.code, period, kotas))  # fmt: skip
    missing = sorted(set(kotas) - {k for (k,) in await cur.fetchall()})
    if not missing:  # the usual pull after the cut-off: nothing to select
        return
    cond, params = rule_sql(p.rule, cutoff)
    store = sql.SQL(
        "INSERT INTO programme_eligible (programme, period, household_id, kota_code, desil_resmi, local_desil,"
        " tgl_verval) SELECT %(p)s, %(period)s, s.household_id, s.kota_code, s.desil_resmi, s.local_desil,"
        " s.tgl_verval FROM ({select}) s"
    ).format(select=sql.SQL(_SELECT).format(rule=cond))
    count = sql.SQL("SELECT count(*) FROM ({select}) s").format(select=sql.SQL(_SELECT).format(rule=cond))
    async with conn.transaction():
        await acting_as(conn, actor, role)
        for kota in missing:
            args = {**params, "p": p.code, "period": period, "kotas": [kota]}
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                               (f"programme_list:{p.code}:{period}:{kota}",))  # fmt: skip
            taken = await conn.execute("SELECT 1 FROM programme_list WHERE programme = %s AND period = %s"
                                       " AND kota_code = %s", (p.code, period, kota))  # fmt: skip
            if await taken.fetchone():
                continue
            for _attempt in range(5):
                try:
                    async with conn.transaction():  # a savepoint: a list whose families moved is taken again
                        counted = await (await conn.execute(count, args)).fetchone()
                        families = int(counted[0]) if counted else 0
                        await conn.execute(
                            "INSERT INTO programme_list (programme, period, kota_code, cutoff, families, rule)"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            (p.code, period, kota, cutoff, families, Jsonb(p.rule.__dict__)),
                        )
                        stored = await conn.execute(store, args)
                        if stored.rowcount != families:
                            raise _Moved
                    break
                except _Moved:
                    continue
            else:
                raise RuntimeError(f"the eligible families of {kota} kept changing while their list was fixed")


_READ = """SELECT e.household_id, e.kota_code, h.kk_hash, h.nik_kepala_hash AS nik_hash, e.desil_resmi, e.local_desil,
       e.tgl_verval, h.nama_kepala, h.alamat, h.rt_code, count(*) OVER () AS total
FROM ({source}) e JOIN household h ON h.id = e.household_id AND h.kota_code = e.kota_code
WHERE IN_SCOPE(h.rt_code)
ORDER BY e.kota_code, e.household_id LIMIT %(limit)s OFFSET %(offset)s"""
_FIXED = ("SELECT household_id, kota_code, desil_resmi, local_desil, tgl_verval FROM programme_eligible"
          " WHERE programme = %(p)s AND period = %(period)s AND kota_code = ANY (%(kotas)s::text[])")  # fmt: skip


async def eligible(
    conn: AsyncConnection[Any], p: Programme, period: str, *, key: bytes, actor: str, role: str,
    scope: tuple[str, ...] | None, names: bool, today: date, limit: int, offset: int = 0, hashes: bool = True,
) -> dict[str, Any]:
    """The period's eligible families inside `scope`, with the fields allowed (`names`: the agreement's; without
    `hashes`, no shared keyed KK/NIK hash), each read audited; `fixed` says whether the list is the period's fixed one
    or a provisional one (before the cut-off)."""
    assert p.rule is not None
    period = p.check_period(period)
    cutoff = await cutoff_of(conn, period)
    kotas = await _kotas(conn, p, scope)
    fixed = today >= cutoff
    params: dict[str, Any] = {"p": p.code, "period": period, "kotas": kotas, "scope": scope_param(scope),
                              "limit": limit, "offset": offset}  # fmt: skip
    if fixed:
        await _fix(conn, p, period, cutoff, kotas, actor, role)
        source: sql.Composable = sql.SQL(_FIXED)
    else:
        cond, extra = rule_sql(p.rule, cutoff)
        source, params = sql.SQL(_SELECT).format(rule=cond), {**params, **extra}
    rows = await fetch_dicts(conn, sql.SQL(scoped(_READ)).format(source=source), params)
    fields = tuple(f for f in BASE_FIELDS if hashes or f not in HASH_FIELDS) + (NAME_FIELDS if names else ())
    items = []
    for r in rows:
        r["pseudonym"] = keyed_hash(key, f"programme:{p.code}:{r['kota_code']}:{r['household_id']}")[:24]
        items.append({f: r[f] for f in fields})
    async with conn.transaction():
        await audit_read(conn, actor, role, "household", [str(r["household_id"]) for r in rows])
    return {"programme": p.code, "period": period, "cutoff": cutoff, "fixed": fixed, "kab_kota": kotas,
            "total": rows[0]["total"] if rows else 0, "fields": list(fields), "items": items}  # fmt: skip
