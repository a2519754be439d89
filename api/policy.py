"""Who may call which route, declared on every route in one place and enforced by one dependency."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from api.security import charge_public, current_principal
from core.errors import AuthError, Forbidden
from core.principal import Principal

PUBLIC = "public"  # anyone, no credentials: only non-personal data
PERSONS = ("admin", "coordinator", "verifier", "planner")
EVERYONE = (*PERSONS, "agency")


def allow(*roles: str) -> Any:
    """A dependency admitting the given roles (or PUBLIC); it also records the rule on the route."""
    if roles == (PUBLIC,):

        async def public(request: Request) -> None:
            await charge_public(request)

        public.peta_roles = (PUBLIC,)  # type: ignore[attr-defined]
        return Depends(public)

    async def check(request: Request, principal: Principal = Depends(current_principal)) -> Any:
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not use {request.method} {request.url.path}")
        return principal

    check.peta_roles = roles  # type: ignore[attr-defined]
    return Depends(check)


def route_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route admits, None when it declares no rule (a test fails on that)."""
    for dep in route.dependant.dependencies:
        roles = getattr(dep.call, "peta_roles", None)
        if roles is not None:
            return tuple(roles)
    return None


__all__ = ["EVERYONE", "PERSONS", "PUBLIC", "AuthError", "Forbidden", "allow", "route_roles"]
