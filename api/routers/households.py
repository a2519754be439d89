"""/api/v1/households: a family's record, for the roles that may see personal data, inside their scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import ConnDep
from api.policy import allow
from core.errors import NotFound
from core.principal import Principal, User
from core.scope import PERSONAL_DATA_ROLES
from gis.households import audit_read, family, trail

router = APIRouter(prefix="/households", tags=["households"])


async def _visible(conn: Any, principal: Principal, household_id: int) -> dict[str, Any]:
    """The family's record when the caller may read it; 404 otherwise (out of scope does not exist)."""
    record = await family(conn, household_id, principal)
    if record is None:
        raise NotFound(f"no family {household_id}")
    return record


@router.get("/{household_id}/trail")
async def get_trail(
    conn: ConnDep,
    household_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: Annotated[User, allow(*PERSONAL_DATA_ROLES)],
) -> dict[str, Any]:
    """The family's score explained (each criterion's points), its earlier versions and its visits."""
    await _visible(conn, principal, household_id)
    out = await trail(conn, household_id)
    async with conn.transaction():
        await audit_read(conn, principal.actor, principal.role, "household", [str(household_id)])
    return out


@router.get("/{household_id}")
async def get_family(
    conn: ConnDep,
    household_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: Annotated[User, allow(*PERSONAL_DATA_ROLES)],
) -> dict[str, Any]:
    """One family: masked KK/NIK, name, address, point, indicators, score and verification state.

    Outside the caller's area scope the family does not exist (404), so scopes leak nothing. A verifier
    also sees the families of their open assignments (an RT outside their own, a back-check).
    """
    record = await _visible(conn, principal, household_id)
    async with conn.transaction():
        await audit_read(conn, principal.actor, principal.role, "household", [str(household_id)])
    return record
