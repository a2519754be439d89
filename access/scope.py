"""Area scopes: the one place that decides whether a principal may see an object of an area."""

from __future__ import annotations

from typing import Protocol

# roles that may ever see a family's personal data, each only within its scope
PERSONAL_DATA_ROLES = ("admin", "coordinator", "verifier")


class Scoped(Protocol):
    role: str
    scope_level: str
    scope_codes: tuple[str, ...]


def covers(scope_codes: tuple[str, ...], area_code: str) -> bool:
    """Whether an area (by code) lies inside one of the scope's areas: the code prefix is the hierarchy."""
    return any(area_code == c or area_code.startswith(c + ".") for c in scope_codes)


def may_see_family(principal: Scoped, rt_code: str | None) -> bool:
    """A family's personal data: admins everywhere, coordinators and verifiers inside their scope only."""
    if principal.role not in PERSONAL_DATA_ROLES:
        return False
    if principal.role == "admin":
        return True
    return rt_code is not None and covers(principal.scope_codes, rt_code)
