"""Visits: recorded in the field (with the members as found), listed with their objectivity flags,
approved or returned, and their photos (/api/v1/verifications and /api/v1/campaigns/{id}/verifications)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

import verval.photos
import verval.records
import verval.visits
from api.deps import ConnDep, SecretKey
from api.policy import allow
from api.workflow import STAFF, CampaignId, Id
from core.errors import InputError
from core.principal import User
from gis.households import audit_read

router = APIRouter(tags=["verval"])


class MemberIn(BaseModel):
    nama: str = Field(min_length=1, max_length=200)
    hubungan: Literal[verval.records.RELATIONS] = "lainnya"  # type: ignore[valid-type]
    jenis_kelamin: Literal["L", "P"] | None = None
    tahun_lahir: int | None = Field(default=None, ge=1900, le=2100)
    nik: str | None = Field(default=None, pattern=r"^\d{16}$", description="Kept only as a keyed hash and masked")


class VisitIn(BaseModel):
    client_id: UUID
    campaign_id: int = Field(ge=1)
    household_id: int = Field(ge=1)
    result_code: int = Field(ge=1, le=7, description="1 verified, 2 not found, 3 moved, 4 part of another family, "
                             "5 duplicate, 6 deceased, 7 not eligible")  # fmt: skip
    visited_at: AwareDatetime
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    jumlah_anggota: int | None = Field(default=None, ge=1, le=30)
    criteria: list[bool] | None = Field(default=None, min_length=14, max_length=14)
    photo_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    notes: str | None = Field(default=None, max_length=2000)
    members: list[MemberIn] | None = Field(default=None, max_length=30, description="The members as found")


class BatchIn(BaseModel):
    visits: list[VisitIn] = Field(min_length=1, max_length=500)


class DecisionIn(BaseModel):
    decision: Literal["approve", "return"]
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/verifications/batch")
async def submit_visits(
    conn: ConnDep, body: BatchIn, principal: Annotated[User, allow("verifier")], key: SecretKey
) -> dict[str, list[dict[str, Any]]]:
    """Visits recorded in the field, possibly queued offline: each is created, a duplicate of one already
    received (same client_id: nothing is inserted twice), or rejected with the reason."""
    for v in body.visits:
        if (v.lon is None) != (v.lat is None):
            raise InputError(f"visit {v.client_id}: give both lon and lat, or neither")
    visits = [
        verval.records.Visit(
            client_id=str(v.client_id),
            campaign_id=v.campaign_id,
            household_id=v.household_id,
            result_code=v.result_code,
            visited_at=v.visited_at,
            lon=v.lon,
            lat=v.lat,
            accuracy_m=v.accuracy_m,
            jumlah_anggota=v.jumlah_anggota,
            criteria=tuple(v.criteria) if v.criteria is not None else None,
            photo_sha256=v.photo_sha256,
            notes=v.notes,
            members=None
            if v.members is None
            else verval.records.member_records([m.model_dump() for m in v.members], key),
        )  # fmt: skip
        for v in body.visits
    ]
    return {"results": await verval.visits.submit_visits(conn, visits, principal)}


@router.post("/verifications/{verification_id}/decision")
async def decide_visit(
    conn: ConnDep, verification_id: Id, body: DecisionIn, principal: Annotated[User, allow(*STAFF)]
) -> dict[str, Any]:
    """Approve a visit (the family's record, ranking and figures follow) or return it with a reason. Where approval
    takes two steps (verval.approval_steps), a first approval checks the visit ('checked') and a head of office, never
    the same person, decides it: 403 with the reason for anyone else."""
    return await verval.visits.decide(conn, verification_id, body.decision == "approve", body.reason, principal)


@router.get("/campaigns/{campaign_id}/verifications")
async def list_visits(
    conn: ConnDep,
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
    campaign_id: CampaignId,
    status: Literal["submitted", "checked", "approved", "returned"] | None = None,
    flagged: bool | None = None,
    verifier: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Visits with their objectivity flags, newest first: coordinators in their area, verifiers their own; each with
    the approval step it awaits and whether the caller may take it."""
    rows = await verval.visits.visits(conn, campaign_id, principal, status=status, flagged=flagged, verifier=verifier,
                               limit=limit, offset=offset)  # fmt: skip
    if rows:
        async with conn.transaction():
            await audit_read(conn, principal.actor, principal.role, "verification", [str(r["id"]) for r in rows])
    return rows


@router.post("/verifications/{verification_id}/photos", status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                 "image/png": {"schema": {"type": "string", "format": "binary"}},
                 "image/webp": {"schema": {"type": "string", "format": "binary"}}}}})  # fmt: skip
async def add_photo(
    conn: ConnDep, verification_id: Id, request: Request, principal: Annotated[User, allow("verifier")]
) -> dict[str, Any]:
    """Attach a photo of the house (JPEG, PNG or WebP, at most 5 MB and PETA_PHOTO_MAX_PIXELS, 5 per visit) to
    one's own visit."""
    data = await request.body()
    limit = request.app.state.settings.photo_max_pixels
    return await verval.photos.add_photo(conn, verification_id, data, principal, max_pixels=limit)


@router.get("/verifications/{verification_id}/photos/{sha256}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})  # fmt: skip
async def get_photo(
    conn: ConnDep,
    verification_id: Id,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
) -> Response:
    """A photo of a visit: its verifier, and staff in the family's area (the read is audited)."""
    data, kind = await verval.photos.photo(conn, verification_id, sha256, principal)
    async with conn.transaction():
        await audit_read(conn, principal.actor, principal.role, "verification_photo",
                         [f"{verification_id}:{sha256}"])  # fmt: skip
    return Response(data, media_type=kind, headers={"Cache-Control": "private, no-store", "ETag": f'"{sha256}"'})
