"""Area scopes: the one place that decides whether a principal may see an object of an area.

The rule, in Python for one object (`within`, `lies_within`) and in SQL for lists and reads (`scoped`,
`records_sql`), both built here so that they cannot drift apart:

- an area code lies inside a scope when it equals one of the scope's codes or starts with one of them
  followed by '.' (the code prefix is the hierarchy);
- families (personal records): admins everywhere; coordinators inside their scope; verifiers inside
  their scope (their RTs) and in their open assignments; planners and agencies never;
- agencies with a points agreement read pseudonymous, geomasked records, bounded by their area scope
  exactly as a coordinator's records are; agencies without one and planners read no record at all;
- lists of workflow objects (assignments, visits, workloads, priorities, coverage) hold only what lies
  inside the caller's scope; admins (and the command line) are not bounded;
- a coordinator may assign a verifier (name them, put them in a pool, accept a plan for them, see them
  as assignable) only when every RT of the verifier's scope lies inside the coordinator's scope
  (`lies_within`): a verifier straddling two areas is assigned by someone whose scope holds both. And
  only RTs and families inside the coordinator's scope. A user outside that rule does not exist for the
  coordinator;
- outside the scope an object does not exist: the caller gets exactly what a missing object gives (404).
"""

from __future__ import annotations

import re
from functools import lru_cache

from psycopg import sql

from core.principal import Principal, User

# roles that may ever see a family's personal data, each only within its scope
PERSONAL_DATA_ROLES = ("admin", "coordinator", "verifier")


def covers(scope_codes: tuple[str, ...] | list[str], area_code: str) -> bool:
    """Whether an area (by code) lies inside one of the scope's areas: the code prefix is the hierarchy."""
    return any(area_code == c or area_code.startswith(c + ".") for c in scope_codes)


def area_scope(principal: Principal | None) -> tuple[str, ...] | None:
    """The area codes bounding what a principal reads of families and of the workflow, and where it may write;
    None: unbounded. Admins (and the command line) are unbounded; so are planners, who read only published
    figures, the same for every area, and never a family (records_sql)."""
    if principal is None or getattr(principal, "role", None) in ("admin", "planner"):
        return None
    return tuple(principal.scope_codes)


def within(scope: tuple[str, ...] | list[str] | None, area_code: str | None) -> bool:
    """Whether an area code lies inside a scope as `area_scope` gives it (None: everywhere)."""
    if scope is None:
        return True
    return area_code is not None and covers(tuple(scope), area_code)


def lies_within(scope: tuple[str, ...] | list[str] | None, codes: tuple[str, ...] | list[str]) -> bool:
    """Whether a whole scope (e.g. a verifier's RTs) lies inside another: every one of its codes, none outside."""
    return scope is None or (bool(codes) and all(covers(tuple(scope), c) for c in codes))


# --- the same rule in SQL ---------------------------------------------------------------------------


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
    "EXISTS (SELECT 1 FROM open_assignment a WHERE a.verifier_id = {uid} AND a.rt_code = {rt}"
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
    """IN_SCOPE(column) with the scope inlined, for statements built as sql.Composable."""
    if scope is None:
        return sql.SQL("TRUE")
    if not scope:
        return sql.SQL("FALSE")
    return sql.SQL(_WITHIN).format(col=sql.SQL(column), codes=sql.Literal(list(scope)))


def assigned_sql(uid: sql.Composable, rt: str = "h.rt_code", hid: str = "h.id") -> sql.Composable:
    """SQL: the family (`rt`, `hid`) is in one of user `uid`'s open assignments (whole RT or the family)."""
    return sql.SQL(_ASSIGNED).format(uid=uid, rt=sql.SQL(rt), hid=sql.SQL(hid))


def records_sql(principal: Principal | None, rt: str = "h.rt_code", hid: str = "h.id") -> sql.Composable:
    """SQL: the household rows a principal may read in any form (personal for staff, pseudonymous for agencies
    with a points agreement); FALSE for everyone else."""
    role = getattr(principal, "role", None)
    if role == "admin":
        return sql.SQL("TRUE")
    if role == "coordinator" or (role == "agency" and getattr(principal, "points_agreement", False)):
        return within_literal(rt, area_scope(principal))
    if role == "verifier" and isinstance(principal, User):
        return sql.SQL("({} OR {})").format(
            within_literal(rt, area_scope(principal)), assigned_sql(sql.Literal(principal.id), rt, hid)
        )
    return sql.SQL("FALSE")
