"""Errors as work (issue 18): per programme and period, the families whose receiving the programme disagrees with
its rule or with what verification found.

- recipient: named by the newest roster of the programme and period that covers the family's RT (an office's roster
  replaces its earlier ones for its own area; for offices scoped to a kab/kota: the newest per kab/kota); where no
  roster of the programme and period covers the RT yet, the registry's programme column (as last imported) says;
- eligible: the programme's rule as gis.eligibility applies it (the period's list where it was fixed at its
  cut-off, else the rule's own SQL condition, `rule_sql`, over the active families);
- inclusion error: a recipient who is not eligible, or whom verification found not found, moved, part of another
  family, a duplicate, deceased or not eligible (hasil 2..7: no longer an active family);
- exclusion error: an eligible family verified (hasil 1) that is not a recipient; "receives no programme" when the
  registry lists no programme for it and no other programme's current roster for an overlapping period names it.

Staff (admin, coordinator) count their own scope exactly; everyone else reads whole areas published by the
cell-key rule with small counts suppressed (gis.disclosure), the same rule as every other published figure.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import AsyncConnection, sql

from core.levels import PREFIX
from core.programmes import INDICATOR_KEYS, PERIOD_EXAMPLE, PERIODS, Programme, Rule
from core.scope import shares
from db.rows import fetch_dicts
from gis.disclosure import key_sum, mark_suppressed, shown
from gis.eligibility import cutoff_of, rule_sql
from gis.households import audit_read
from gis.scope_sql import scope_param, scoped

PUBLISHED = ("recipients", "eligible", "inclusion", "exclusion")
STAFF_ONLY = ("exclusion_no_programme",)  # links the other programmes' rosters: never published
RESULTS = {2: "not found", 3: "moved or building gone", 4: "part of another family on the list", 5: "a duplicate",
           6: "deceased", 7: "not eligible"}  # fmt: skip
REMOVAL_RESULTS = (3, 4, 5, 6, 7)  # found so at verification: propose removal; not found once (2): visit again
MAX_WORK = 5_000

# whether a roster's scope covers the family's RT, as one expression (its codes as an anchored pattern: area codes are
# digits and dots): Citus takes no correlated subquery over unnest() inside a query of the families
_COVERS = ("(cardinality({x}.scope_codes) = 0 OR h.rt_code ~ ('^(' || replace(array_to_string({x}.scope_codes, '|'),"
           " '.', '\\.') || ')(\\.|$)'))")  # fmt: skip
# each family with the newest roster of (programme, period) covering its RT
_FAMILIES = """
SELECT h.id, h.kota_code, h.rt_code, h.record_key, h.active, h.hasil_verval, h.tgl_verval, h.desil_resmi,
       r.local_desil, r.category, h.bps_count, {criteria}, h.nama_kepala, h.alamat,
       -- where a roster of the programme and period covers the RT it says; elsewhere the registry's programme column
       CASE WHEN cur.id IS NOT NULL THEN pr.household_id IS NOT NULL
            ELSE %(p)s = ANY (COALESCE(h.programs, ARRAY[]::text[])) END AS recipient,
       cur.id IS NOT NULL AS by_roster,
       CASE WHEN fl.kota_code IS NOT NULL THEN pe.household_id IS NOT NULL
            ELSE COALESCE(h.active AND {rule}, false) END AS eligible,
       fl.cutoff AS fixed_cutoff,
       cardinality(COALESCE(h.programs, ARRAY[]::text[])) = 0 AND NOT EXISTS (
           SELECT 1 FROM programme_recipient o JOIN programme_roster x ON x.id = o.roster_id
           WHERE o.household_id = h.id AND o.kota_code = h.kota_code AND x.programme <> %(p)s
             AND x.period = ANY (%(overlap)s::text[])
             AND x.id = (SELECT max(y.id) FROM programme_roster y WHERE y.programme = x.programme
                         AND y.period = x.period AND {covers_y})) AS no_programme
FROM household h
LEFT JOIN household_rank r ON r.household_id = h.id AND r.kota_code = h.kota_code
LEFT JOIN LATERAL (SELECT x.id FROM programme_roster x WHERE x.programme = %(p)s AND x.period = %(period)s
                   AND {covers_x} ORDER BY x.id DESC LIMIT 1) cur ON true
LEFT JOIN programme_recipient pr ON pr.roster_id = cur.id AND pr.household_id = h.id AND pr.kota_code = h.kota_code
LEFT JOIN programme_list fl ON fl.programme = %(p)s AND fl.period = %(period)s AND fl.kota_code = h.kota_code
LEFT JOIN programme_eligible pe ON pe.programme = %(p)s AND pe.period = %(period)s AND pe.kota_code = h.kota_code
    AND pe.household_id = h.id
WHERE h.kota_code = ANY (%(kotas)s::text[]) AND {where}
"""
_KINDS = """
SELECT f.*, f.recipient AND NOT (f.eligible AND f.active) AS inclusion,
       f.eligible AND f.active AND f.hasil_verval = 1 AND NOT f.recipient AS exclusion
FROM ({families}) f
"""
_CONDITIONS = {"recipients": "k.recipient", "eligible": "k.eligible AND k.active", "inclusion": "k.inclusion",
               "exclusion": "k.exclusion", "exclusion_no_programme": "k.exclusion AND k.no_programme"}  # fmt: skip


def overlapping(period: str) -> list[str]:
    """The periods of any form whose months overlap `period` (2026-12: 2026-12, 2026-Q4, 2026)."""
    year, _, rest = period.partition("-")
    if not rest:
        months = range(1, 13)
    elif rest.startswith("Q"):
        months = range(3 * int(rest[1]) - 2, 3 * int(rest[1]) + 1)
    else:
        months = range(int(rest), int(rest) + 1)
    quarters = sorted({(m - 1) // 3 + 1 for m in months})
    return [year, *(f"{year}-Q{q}" for q in quarters), *(f"{year}-{m:02d}" for m in months)]


def current_period(form: str, today: date) -> str:
    """The period of a programme's form holding `today` (2026-12, 2026-Q4 or 2026)."""
    return {"month": f"{today:%Y-%m}", "quarter": f"{today.year}-Q{(today.month - 1) // 3 + 1}",
            "year": str(today.year)}[form]  # fmt: skip


async def programme_choices(conn: AsyncConnection[Any], known: dict[str, Programme], today: date
                            ) -> list[dict[str, str]]:  # fmt: skip
    """The programmes with a rule, as the portal offers them: code, name, the period to show first (the newest one
    a roster was sent for, else today's) with an example and the pattern of the programme's period form."""
    cur = await conn.execute("SELECT DISTINCT ON (programme) programme, period FROM programme_roster"
                             " ORDER BY programme, id DESC")  # fmt: skip
    newest = dict(await cur.fetchall())
    return [{"code": code, "name": p.name, "period": newest.get(code) or current_period(p.period, today),
             "example": PERIOD_EXAMPLE[p.period], "pattern": PERIODS[p.period].pattern}
            for code, p in sorted(known.items()) if p.rule is not None]  # fmt: skip


async def kotas_of(conn: AsyncConnection[Any], p: Programme, scope: tuple[str, ...] | None) -> list[str]:
    """The loaded kab/kota where the programme runs that share ground with the scope."""
    cur = await conn.execute("SELECT code FROM area WHERE level = 'kota' ORDER BY code")
    return [k for (k,) in await cur.fetchall() if p.runs_in(k) and shares(scope, k)]


async def has_area(conn: AsyncConnection[Any], code: str) -> bool:
    """Whether an area of this code is loaded."""
    cur = await conn.execute("SELECT 1 FROM area WHERE code = %s", (code,))
    return await cur.fetchone() is not None


def _kinds(rule: Rule, cutoff: date, where: str) -> tuple[sql.Composable, dict[str, Any]]:
    cond, params = rule_sql(rule, cutoff)
    families = sql.SQL(scoped(_FAMILIES)).format(
        criteria=sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(k)) for k in INDICATOR_KEYS),
        rule=cond, covers_x=sql.SQL(_COVERS.format(x="x")), covers_y=sql.SQL(_COVERS.format(x="y")),
        where=sql.SQL(scoped(where)),
    )  # fmt: skip
    return sql.SQL(_KINDS).format(families=families), params


async def _setup(conn: AsyncConnection[Any], p: Programme, period: str,
                 scope: tuple[str, ...] | None) -> tuple[date, dict[str, Any]]:  # fmt: skip
    assert p.rule is not None
    period = p.check_period(period)
    cutoff = await cutoff_of(conn, period)
    kotas = await kotas_of(conn, p, scope)
    return cutoff, {"p": p.code, "period": period, "kotas": kotas, "overlap": overlapping(period),
                    "scope": scope_param(scope)}  # fmt: skip


async def area_counts(
    conn: AsyncConnection[Any], p: Programme, period: str, *, level: str, parent: str | None,
    scope: tuple[str, ...] | None, staff: bool,
) -> dict[str, Any]:
    """Per area of `level` (under `parent`, sharing ground with `scope`): recipients, eligible, inclusion and
    exclusion errors. Staff: exact counts of the families inside `scope`; anyone else: the whole areas' counts as
    published (cell-key noise, 1..4 suppressed)."""
    cutoff, params = await _setup(conn, p, period, scope)
    assert p.rule is not None
    kinds, extra = _kinds(p.rule, cutoff, "IN_SCOPE(h.rt_code)" if staff else "TRUE")
    cols = PUBLISHED + (STAFF_ONLY if staff else ())
    sums = ", ".join(f"count(*) FILTER (WHERE {_CONDITIONS[c]}) AS {c}, {key_sum(_CONDITIONS[c], 'k.record_key')}"
                     f" AS k_{c}" for c in cols)  # fmt: skip
    if staff:
        out: list[sql.Composable] = [sql.SQL(f"COALESCE(c.{c}, 0)::int AS {c}") for c in cols]
    else:
        out = [sql.SQL("{} AS {}").format(shown(f"COALESCE(c.{c}, 0)", f"COALESCE(c.k_{c}, 0)"), sql.Identifier(c))
               for c in cols]  # fmt: skip
    query = sql.SQL(
        "WITH k AS ({kinds}), c AS (SELECT left(k.rt_code, {n}) AS code, " + sums + " FROM k GROUP BY 1)"
        " SELECT a.code, a.name, a.level, a.parent_code, {out} FROM area a LEFT JOIN c ON c.code = a.code"
        " WHERE a.level = %(level)s AND left(a.code, 5) = ANY (%(kotas)s::text[])"
        " AND (%(parent)s::text IS NULL OR starts_with(a.code, %(parent)s || '.'))"
        " AND " + scoped("SHARES_SCOPE(a.code)") + " ORDER BY a.code"
    ).format(kinds=kinds, n=sql.Literal(PREFIX[level]), out=sql.SQL(", ").join(out))
    rows = await fetch_dicts(conn, query, {**params, **extra, "level": level, "parent": parent})
    areas = [dict(r, suppressed=[]) for r in rows] if staff else mark_suppressed(rows, cols)
    return {"programme": p.code, "period": params["period"], "cutoff": cutoff, "level": level, "parent": parent,
            "published": not staff, "kab_kota": params["kotas"], "counts": list(cols), "areas": areas}  # fmt: skip


async def work_list(
    conn: AsyncConnection[Any], p: Programme, period: str, *, area: str | None, scope: tuple[str, ...] | None,
    actor: str, role: str, limit: int, offset: int = 0,
) -> dict[str, Any]:
    """The inclusion and exclusion errors of the families inside `scope` (and `area`) with their reasons and the
    proposed action, exclusions of families receiving nothing first; no KK or NIK; every family read audited."""
    cutoff, params = await _setup(conn, p, period, scope)
    assert p.rule is not None
    kinds, extra = _kinds(p.rule, cutoff, "IN_SCOPE(h.rt_code) AND (%(area)s::text IS NULL OR h.rt_code = %(area)s"
                                          " OR starts_with(h.rt_code, %(area)s || '.'))")  # fmt: skip
    query = sql.SQL(
        "SELECT k.*, count(*) OVER () AS total FROM ({kinds}) k WHERE k.inclusion OR k.exclusion"
        " ORDER BY k.exclusion AND k.no_programme DESC, k.inclusion DESC, k.rt_code, k.id"
        " LIMIT %(limit)s OFFSET %(offset)s"
    ).format(kinds=kinds)
    rows = await fetch_dicts(conn, query, {**params, **extra, "area": area, "limit": limit, "offset": offset})
    items = [_item(r, p.rule, cutoff) for r in rows]
    async with conn.transaction():
        await audit_read(conn, actor, role, "household", [str(r["id"]) for r in rows])
    return {"programme": p.code, "period": params["period"], "cutoff": cutoff, "area": area,
            "kab_kota": params["kotas"], "total": rows[0]["total"] if rows else 0, "items": items}  # fmt: skip


def _item(r: dict[str, Any], rule: Rule, cutoff: date) -> dict[str, Any]:
    kind = "inclusion" if r["inclusion"] else "exclusion"
    reasons = _inclusion(r, rule, cutoff) if kind == "inclusion" else _exclusion(r)
    return {"household_id": r["id"], "kota_code": r["kota_code"], "rt_code": r["rt_code"],
            "nama_kepala": r["nama_kepala"], "alamat": r["alamat"], "kind": kind, "reasons": reasons,
            "action": _action(kind, r, reasons), "desil_resmi": r["desil_resmi"], "local_desil": r["local_desil"],
            "hasil_verval": r["hasil_verval"], "tgl_verval": r["tgl_verval"]}  # fmt: skip


def _action(kind: str, r: dict[str, Any], reasons: list[dict[str, Any]]) -> str:
    if kind == "exclusion":
        return "propose_for_programme"
    if r["hasil_verval"] in REMOVAL_RESULTS:
        return "propose_removal"
    # verified and still outside the rule: removal; never verified, not found once or verified too long ago: a visit
    decided = r["hasil_verval"] == 1 and any(x["code"] != "not_verified_recently" for x in reasons)
    return "propose_removal" if decided else "re_verify"


def _reason(code: str, text: str, **values: Any) -> dict[str, Any]:
    return {"code": code, "text": text, **values}


def _exclusion(r: dict[str, Any]) -> list[dict[str, Any]]:
    when = r["tgl_verval"].isoformat() if r["tgl_verval"] else ""
    if r["no_programme"]:
        return [_reason("no_programme", f"eligible and verified {when}, receives no programme", date=when)]
    if r["by_roster"]:
        return [_reason("not_recipient", f"eligible and verified {when}, not on the programme's roster", date=when)]
    return [_reason("not_recipient_registry", f"eligible and verified {when}, not a recipient in the registry (no"
                    " roster of this period covers the RT)", date=when)]  # fmt: skip


def _months_before(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m + 1, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _inclusion(r: dict[str, Any], rule: Rule, cutoff: date) -> list[dict[str, Any]]:
    """Why a recipient is an inclusion error, in words: what verification found, then each part of the rule it
    fails (the decision itself is the rule's SQL; these words explain it)."""
    out: list[dict[str, Any]] = []
    hasil, when = r["hasil_verval"], r["tgl_verval"].isoformat() if r["tgl_verval"] else ""
    if hasil in RESULTS:
        out.append(_reason("found_at_verification", f"recipient, found {RESULTS[hasil]} at verification {when}",
                           result=hasil, date=when))  # fmt: skip
    if r["eligible"]:
        return out
    if r["fixed_cutoff"] is not None:
        out.append(_reason("not_on_fixed_list", f"recipient, not on the period's eligibility list fixed on"
                           f" {r['fixed_cutoff'].isoformat()}", date=r["fixed_cutoff"].isoformat()))  # fmt: skip
    which = "desil" if rule.desil == "official" else "local desil"
    d = r["desil_resmi"] if rule.desil == "official" else r["local_desil"]
    if d is None:
        out.append(_reason("desil_missing", f"recipient, no {which}", desil=rule.desil))
    elif d > rule.desil_max:
        out.append(_reason("desil_above", f"recipient, {which} {d} above the rule's {rule.desil_max}",
                           desil=rule.desil, value=d, limit=rule.desil_max))  # fmt: skip
    elif d < rule.desil_min:
        out.append(_reason("desil_below", f"recipient, {which} {d} below the rule's {rule.desil_min}",
                           desil=rule.desil, value=d, limit=rule.desil_min))  # fmt: skip
    if rule.categories and r["category"] not in rule.categories:
        out.append(_reason("category", f"recipient, category {r['category'] or 'none'} not in the rule's"
                           f" {', '.join(rule.categories)}", value=r["category"], allowed=list(rule.categories)))
    if rule.verified_within_months is not None:
        since = _months_before(cutoff, rule.verified_within_months)
        tgl = r["tgl_verval"]
        if not (hasil == 1 and tgl is not None and since < tgl <= cutoff):
            out.append(_reason("not_verified_recently", f"recipient, not verified in the {rule.verified_within_months}"
                               f" months before the cut-off {cutoff.isoformat()}",
                               months=rule.verified_within_months, cutoff=cutoff.isoformat()))  # fmt: skip
    if rule.bps_min is not None and (r["bps_count"] or 0) < rule.bps_min:
        out.append(_reason("bps_below", f"recipient, {r['bps_count']} BPS criteria met, the rule asks {rule.bps_min}",
                           value=r["bps_count"], limit=rule.bps_min))  # fmt: skip
    out += [_reason("criterion", f"recipient, criterion {k} not met", criterion=k) for k in rule.criteria
            if k in INDICATOR_KEYS and not r[k]]  # fmt: skip
    if not out:  # the rule's SQL said no where none of the words above applies (should not happen): say so plainly
        out.append(_reason("not_eligible", "recipient, outside the programme's rule"))
    return out
