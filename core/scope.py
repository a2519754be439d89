"""Area scopes: the one place that decides whether a principal may see an object of an area.

The rule in Python, for one object (`within`, `lies_within`); gis.scope_sql writes the same rule in SQL for
lists and reads (`scoped`, `records_sql`), and the tests hold the two to one table:

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

from core.errors import Forbidden
from core.principal import Agency, Principal, Staff

# roles that may ever see a family's personal data, each only within its scope
PERSONAL_DATA_ROLES = ("admin", "coordinator", "verifier")
# roles that read the per-area figures before suppression (Dinsos staff); everyone else reads the published ones
STAFF_FIGURES = ("admin", "coordinator")


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


def shares(scope: tuple[str, ...] | list[str] | None, area_code: str | None) -> bool:
    """Whether an area shares ground with a scope (the Python form of SHARES_SCOPE): it lies inside one of the
    scope's areas or contains one. None (unbounded) shares everything; an area of no code (a campaign older than
    the kab/kota rule) is shared by everyone who may see the workflow at all."""
    if scope is None or area_code is None:
        return True
    return any(c == area_code or c.startswith(area_code + ".") or area_code.startswith(c + ".") for c in scope)


def lies_within(scope: tuple[str, ...] | list[str] | None, codes: tuple[str, ...] | list[str]) -> bool:
    """Whether a whole scope (e.g. a verifier's RTs) lies inside another: every one of its codes, none outside."""
    return scope is None or (bool(codes) and all(covers(tuple(scope), c) for c in codes))


def sees_staff_figures(principal: Principal | None) -> bool:
    """Whether a principal reads the figures before suppression (Dinsos staff), not the published ones."""
    return getattr(principal, "role", None) in STAFF_FIGURES


def household_view(principal: Principal | None) -> str:
    """'staff' or 'agency': which household fields a principal may read; Forbidden for the others."""
    if isinstance(principal, Agency):
        if principal.points_agreement:
            return "agency"
        raise Forbidden("this agency key has no agreement for household records (aggregates only)")
    role = getattr(principal, "role", None)
    if role in PERSONAL_DATA_ROLES:
        return "staff"
    raise Forbidden(f"the {role} role sees aggregates only, not household records")


def may_read_visit(principal: Staff, verifier: str, rt_code: str) -> bool:
    """Whether a person may read a visit: its own verifier, or staff whose scope holds the visit's RT."""
    if principal.role in ("admin", "coordinator"):
        return within(area_scope(principal), rt_code)
    return principal.role == "verifier" and principal.username == verifier
