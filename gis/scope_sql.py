"""The scope rule of core.scope in SQL: marks expanded over a text[] parameter, literal conditions for
Composable statements, and the household rows each principal may read (a verifier's open assignments are
read through the workflow's view, open_assignment).
"""

from __future__ import annotations

import re
from functools import lru_cache

from psycopg import sql

from core.levels import level_of_code
from core.principal import Principal, User
from core.scope import area_scope


def scope_param(scope: tuple[str, ...] | None) -> list[str] | None:
    """A scope as the text[] parameter of the SQL below (None: no bound)."""
    return None if scope is None else list(scope)


_WITHIN = (
    "({codes}::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest({codes}::text[]) s"
    " WHERE {col} = s OR starts_with({col}, s || '.')))"
)


# a verifier also sees the families of their open assignments (a back-check, an RT outside their own)
# (the workflow's state read through its view, db/sql/0014: which assignments are open is the workflow's rule)
_ASSIGNED = (
    "EXISTS (SELECT 1 FROM open_assignment a WHERE a.kota_code = {kota} AND a.verifier_id = {uid} AND a.rt_code = {rt}"
    " AND (a.household_id IS NULL OR a.household_id = {hid}))"
)


def _within_sql(column: str, codes: str) -> str:
    return _WITHIN.format(col=column, codes=codes)


def _shares_sql(column: str, codes: str) -> str:
    # the area lies inside the scope, or contains one of its areas (a kecamatan holding the caller's kelurahan)
    return (
        f"({codes}::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest({codes}::text[]) s"
        f" WHERE {column} = s OR starts_with({column}, s || '.') OR starts_with(s, {column} || '.')))"
    )


_MARKS = re.compile(r"\b(IN_SCOPE|SHARES_SCOPE)\(([A-Za-z_][A-Za-z_0-9.]*)\)")


@lru_cache(maxsize=256)
def scoped(query: str) -> str:
    """A query written with the scope rule's two marks, expanded to SQL over the text[] parameter %(scope)s
    (NULL: unbounded, as `area_scope` gives None):

    - IN_SCOPE(col): the area code in col lies inside the scope (the SQL form of `covers`);
    - SHARES_SCOPE(col): the area in col shares ground with the scope: inside it, or containing one of its
      areas (listed with figures counting only the scope's part).
    """
    return _MARKS.sub(
        lambda m: (_within_sql if m.group(1) == "IN_SCOPE" else _shares_sql)(m.group(2), "%(scope)s"), query
    )


def within_literal(column: str, scope: tuple[str, ...] | list[str] | None) -> sql.Composable:
    """IN_SCOPE(column) with the scope inlined, for statements built as sql.Composable.

    RT codes of the scope (a verifier's) are compared by equality, which an index on the column answers: nothing
    lies below an RT, so `col = s OR starts_with(col, s || '.')` is `col = s` for them. Wider areas keep the
    prefix test, evaluated row by row."""
    if scope is None:
        return sql.SQL("TRUE")
    if not scope:
        return sql.SQL("FALSE")
    rts = [c for c in scope if level_of_code(c) == "rt"]
    wider = [c for c in scope if level_of_code(c) != "rt"]
    parts = [sql.SQL("{} = ANY({}::text[])").format(sql.SQL(column), sql.Literal(rts))] if rts else []
    if wider:
        parts.append(sql.SQL(_WITHIN).format(col=sql.SQL(column), codes=sql.Literal(wider)))
    return sql.SQL("({})").format(sql.SQL(" OR ").join(parts))


def assigned_sql(
    uid: sql.Composable, rt: str = "h.rt_code", hid: str = "h.id", kota: str = "h.kota_code"
) -> sql.Composable:
    """SQL: the family (`rt`, `hid`, in kab/kota `kota`) is in one of user `uid`'s open assignments (whole RT or
    the family). The kab/kota equality is the co-located join Citus asks of a correlation between its tables."""
    return sql.SQL(_ASSIGNED).format(uid=uid, rt=sql.SQL(rt), hid=sql.SQL(hid), kota=sql.SQL(kota))


# The same rule as _ASSIGNED in a form the planner can answer from indexes: the verifier's assigned RTs and
# families are read once (InitPlans) and matched with `= ANY`, on the RT code and family id indexes. A family
# assignment still names the family's RT (a family moved to another RT since is not in it), checked on the few
# rows the id matches. _ASSIGNED as a per-row EXISTS scanned every family of the kab/kota, and its row estimate
# (three quarters of them) put the query over the JIT threshold: ~0.8 s for a verifier's 150 families of 95,000.
_ASSIGNED_ANY = (
    "({rt} = ANY (ARRAY(SELECT a.rt_code FROM open_assignment a WHERE a.verifier_id = {uid}"
    " AND a.household_id IS NULL))"
    " OR ({hid} = ANY (ARRAY(SELECT a.household_id FROM open_assignment a WHERE a.verifier_id = {uid}"
    " AND a.household_id IS NOT NULL)) AND " + _ASSIGNED + "))"
)


def records_sql(
    principal: Principal | None, rt: str = "h.rt_code", hid: str = "h.id", kota: str = "h.kota_code"
) -> sql.Composable:
    """SQL: the household rows a principal may read in any form (personal for staff, pseudonymous for agencies
    with a points agreement); FALSE for everyone else."""
    role = getattr(principal, "role", None)
    if role == "admin":
        return sql.SQL("TRUE")
    if role == "coordinator" or (role == "agency" and getattr(principal, "points_agreement", False)):
        return within_literal(rt, area_scope(principal))
    if role == "verifier" and isinstance(principal, User):
        assigned = sql.SQL(_ASSIGNED_ANY).format(
            uid=sql.Literal(principal.id), rt=sql.SQL(rt), hid=sql.SQL(hid), kota=sql.SQL(kota)
        )
        return sql.SQL("({} OR {})").format(within_literal(rt, area_scope(principal)), assigned)
    return sql.SQL("FALSE")
