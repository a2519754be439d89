"""Assignments: RTs and families given to verifiers, their status moves, workloads, the assignable
verifiers and a verifier's own open tasks (/api/v1/campaigns/{id}/... and /api/v1/assignments)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

import verval.assignments
import verval.campaigns
from api.deps import ConnDep
from api.policy import allow
from api.workflow import STAFF, CampaignId, Id, RtCode, Username
from core.errors import InputError
from core.principal import User
from core.scope import area_scope

router = APIRouter(tags=["verval"])


class AssignIn(BaseModel):
    rt_codes: list[RtCode] = Field(default_factory=list, max_length=500)
    household_ids: list[int] = Field(default_factory=list, max_length=5000)
    verifier: Username
    due_on: date


class StatusIn(BaseModel):
    status: Literal["in_progress", "submitted", "approved", "returned", "declined", "cancelled"]
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/campaigns/{campaign_id}/assignments", status_code=201)
async def create_assignments(
    conn: ConnDep, body: AssignIn, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
) -> list[dict[str, Any]]:
    """Assign RTs and/or families to a verifier, all or nothing; 409 when one is already assigned. A coordinator
    assigns only RTs and families of their scope to verifiers lying wholly inside it: others are 404."""
    ids = await verval.assignments.assign(
        conn, campaign_id, rt_codes=body.rt_codes, household_ids=body.household_ids, verifier=body.verifier,
        due_on=body.due_on, actor=principal.actor, scope=area_scope(principal),
    )  # fmt: skip
    return [a for a in await verval.assignments.assignments(conn, campaign_id) if a["id"] in set(ids)]


@router.get("/campaigns/{campaign_id}/assignments")
async def list_assignments(
    conn: ConnDep,
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
    campaign_id: CampaignId,
    verifier: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        Literal["assigned", "in_progress", "submitted", "approved", "returned", "declined", "cancelled"] | None,
        Query(),
    ] = None,
) -> list[dict[str, Any]]:
    """Assignments of a campaign with their history (a coordinator those of their scope, a verifier their own)."""
    await verval.campaigns.campaign(conn, campaign_id)
    scope = area_scope(principal)
    if principal.role == "verifier":
        if verifier not in (None, principal.username):
            raise InputError("a verifier sees only their own assignments")
        scope, verifier = None, principal.username
    return await verval.assignments.assignments(conn, campaign_id, verifier=verifier, status=status, scope=scope)


@router.get("/campaigns/{campaign_id}/workload")
async def campaign_workload(
    conn: ConnDep, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
) -> list[dict[str, Any]]:
    """Each verifier's active assignments, RTs and families still to verify (coordinators: in their scope)."""
    return await verval.assignments.workload(conn, campaign_id, area_scope(principal))


@router.post("/assignments/{assignment_id}/status")
async def set_assignment_status(
    conn: ConnDep,
    assignment_id: Id,
    body: StatusIn,
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
) -> dict[str, Any]:
    """Move an assignment: verifiers start, submit or decline their own; coordinators approve, return or cancel."""
    return await verval.assignments.set_status(
        conn, assignment_id, body.status, reason=body.reason, principal=principal
    )


@router.get("/campaigns/{campaign_id}/verifiers")
async def campaign_verifiers(
    conn: ConnDep, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
) -> list[dict[str, Any]]:
    """The active verifiers a coordinator can assign (those whose RTs all lie in their area; all for an admin),
    with their home RT and this campaign's open work in that area."""
    return await verval.assignments.verifiers(conn, campaign_id, area_scope(principal))


@router.get("/assignments/mine")
async def my_assignments(conn: ConnDep, principal: Annotated[User, allow("verifier")]) -> list[dict[str, Any]]:
    """The caller's open assignments in every campaign, with the campaign's name and dates."""
    return await verval.assignments.my_assignments(conn, principal.username)
