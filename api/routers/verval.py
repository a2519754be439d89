"""/api/v1/campaigns and /api/v1/assignments: verification rounds, coverage gaps, priorities, assignments."""

from __future__ import annotations

import csv
import html
import io
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from access.scope import covers
from api.deps import ConnDep
from api.policy import allow
from gis import verval
from gis.errors import InputError, NotFound
from gis.households import audit_read

router = APIRouter(tags=["verval"])
STAFF = ("admin", "coordinator")
Id = Annotated[int, Path(ge=1, le=2**62)]
Level = Literal["kota", "kecamatan", "kelurahan", "rw", "rt"]


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Verval 2026 tahap 1"])
    target_kind: Literal["desil", "category", "prelist"]
    desil_min: int | None = Field(default=None, ge=1, le=10)
    desil_max: int | None = Field(default=None, ge=1, le=10)
    categories: list[Literal["fakir_miskin", "miskin", "rentan"]] = Field(default_factory=list, max_length=3)
    starts_on: date
    ends_on: date
    cutoff_day: int = Field(default=17, ge=1, le=28)


class AssignIn(BaseModel):
    rt_codes: list[str] = Field(default_factory=list, max_length=500)
    household_ids: list[int] = Field(default_factory=list, max_length=5000)
    verifier: str = Field(min_length=3, max_length=64)
    due_on: date


class StatusIn(BaseModel):
    status: Literal["in_progress", "submitted", "approved", "returned", "declined", "cancelled"]
    reason: str | None = Field(default=None, max_length=1000)


def _actor(principal: Any) -> str:
    return f"user:{principal.username}"


@router.get("/campaigns")
async def list_campaigns(conn: ConnDep, principal: Annotated[Any, allow(*STAFF)]) -> list[dict[str, Any]]:
    """Every campaign with its number of target families, newest first."""
    return await verval.campaigns(conn)


@router.post("/campaigns", status_code=201)
async def create_campaign(conn: ConnDep, body: CampaignIn, principal: Annotated[Any, allow(*STAFF)]) -> dict[str, Any]:
    """A new campaign; its target families (desil range or categories) are selected now."""
    spec = verval.CampaignSpec(
        name=body.name, target_kind=body.target_kind, starts_on=body.starts_on, ends_on=body.ends_on,
        desil_min=body.desil_min, desil_max=body.desil_max, categories=tuple(body.categories),
        cutoff_day=body.cutoff_day,
    )  # fmt: skip
    return await verval.create_campaign(conn, spec, _actor(principal))


@router.get("/campaigns/{campaign_id}")
async def get_campaign(conn: ConnDep, campaign_id: Id, principal: Annotated[Any, allow(*STAFF)]) -> dict[str, Any]:
    """One campaign."""
    return await verval.campaign(conn, campaign_id)


@router.get("/campaigns/{campaign_id}/coverage")
async def campaign_coverage(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[Any, allow(*STAFF)],
    level: Level = "rt",
    parent: Annotated[str | None, Query(pattern=r"^\d{2}(\.\d{2}){1,2}(\.\d{4})?(\.\d{3})?$")] = None,
) -> list[dict[str, Any]]:
    """Coverage gaps of every area of a level: targets, verified, pending, unassigned, staleness."""
    return await verval.coverage(conn, campaign_id, level, parent)


@router.get("/campaigns/{campaign_id}/priorities")
async def campaign_priorities(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[Any, allow(*STAFF)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    """RTs needing verification, most urgent first, with the parts of their priority score."""
    return await verval.priorities(conn, campaign_id, limit)


@router.post("/campaigns/{campaign_id}/assignments", status_code=201)
async def create_assignments(
    conn: ConnDep, campaign_id: Id, body: AssignIn, principal: Annotated[Any, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """Assign RTs and/or families to a verifier, all or nothing; 409 when one is already assigned."""
    scope = None if principal.role == "admin" else tuple(principal.scope_codes)
    ids = await verval.assign(
        conn, campaign_id, rt_codes=body.rt_codes, household_ids=body.household_ids, verifier=body.verifier,
        due_on=body.due_on, actor=_actor(principal), scope=scope,
    )  # fmt: skip
    return [a for a in await verval.assignments(conn, campaign_id) if a["id"] in set(ids)]


@router.get("/campaigns/{campaign_id}/assignments")
async def list_assignments(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[Any, allow("admin", "coordinator", "verifier")],
    verifier: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        Literal["assigned", "in_progress", "submitted", "approved", "returned", "declined", "cancelled"] | None,
        Query(),
    ] = None,
) -> list[dict[str, Any]]:
    """Assignments of a campaign with their history (a verifier sees only their own)."""
    await verval.campaign(conn, campaign_id)
    if principal.role == "verifier":
        if verifier not in (None, principal.username):
            raise InputError("a verifier sees only their own assignments")
        verifier = principal.username
    return await verval.assignments(conn, campaign_id, verifier=verifier, status=status)


@router.get("/campaigns/{campaign_id}/workload")
async def campaign_workload(
    conn: ConnDep, campaign_id: Id, principal: Annotated[Any, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """Each verifier's active assignments, RTs and families still to verify."""
    return await verval.workload(conn, campaign_id)


@router.post("/assignments/{assignment_id}/status")
async def set_assignment_status(
    conn: ConnDep,
    assignment_id: Id,
    body: StatusIn,
    principal: Annotated[Any, allow("admin", "coordinator", "verifier")],
) -> dict[str, Any]:
    """Move an assignment: verifiers start, submit or decline their own; coordinators approve, return or cancel."""
    return await verval.set_status(conn, assignment_id, body.status, reason=body.reason, principal=principal)


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


class BatchIn(BaseModel):
    visits: list[VisitIn] = Field(min_length=1, max_length=500)


class DecisionIn(BaseModel):
    decision: Literal["approve", "return"]
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/verifications/batch")
async def submit_visits(
    conn: ConnDep, body: BatchIn, principal: Annotated[Any, allow("verifier")]
) -> dict[str, list[dict[str, Any]]]:
    """Visits recorded in the field, possibly queued offline: each is created, a duplicate of one already
    received (same client_id: nothing is inserted twice), or rejected with the reason."""
    for v in body.visits:
        if (v.lon is None) != (v.lat is None):
            raise InputError(f"visit {v.client_id}: give both lon and lat, or neither")
    visits = [
        verval.Visit(
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
        )  # fmt: skip
        for v in body.visits
    ]
    return {"results": await verval.submit_visits(conn, visits, principal)}


@router.post("/verifications/{verification_id}/decision")
async def decide_visit(
    conn: ConnDep, verification_id: Id, body: DecisionIn, principal: Annotated[Any, allow(*STAFF)]
) -> dict[str, Any]:
    """Approve a visit (the family's record, ranking and figures follow) or return it with a reason."""
    return await verval.decide(conn, verification_id, body.decision == "approve", body.reason, principal)


@router.get(
    "/campaigns/{campaign_id}/berita-acara/{kelurahan}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
async def berita_acara(
    conn: ConnDep,
    campaign_id: Id,
    kelurahan: Annotated[str, Path(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")],
    principal: Annotated[Any, allow(*STAFF)],
    f: Literal["csv", "html"] = "csv",
) -> Response:
    """The kelurahan's results for the musyawarah (community meeting): CSV, or a printable page."""
    if principal.role == "coordinator" and not covers(principal.scope_codes, kelurahan):
        raise NotFound(f"no kelurahan {kelurahan}")
    head, rows = await verval.berita_acara(conn, campaign_id, kelurahan)
    async with conn.transaction():
        await audit_read(conn, f"user:{principal.username}", principal.role, "verification",
                         [str(r["verification_id"]) for r in rows])  # fmt: skip
    cols = ["rt_code", "kk_masked", "nama_kepala", "alamat", "hasil", "jumlah_anggota", "visited_on", "verifier",
            "status", "flags"]  # fmt: skip
    headers = {"Cache-Control": "private, no-store"}
    if f == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(cols)
        writer.writerows([r[c] for c in cols] for r in rows)
        headers["Content-Disposition"] = f'attachment; filename="berita-acara-{kelurahan}.csv"'
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    title = f"Berita Acara Musyawarah Kelurahan {head['kelurahan_name']} ({kelurahan}) — {head['campaign']}"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if r[c] is None else str(r[c]))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    page = (
        f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font:12px sans-serif}table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;"
        "padding:3px}@media print{button{display:none}}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{len(rows)} keluarga dikunjungi.</p>"
        '<button onclick="window.print()">Cetak</button><table><tr>'
        + "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        + "</tr>"
        + body
        + "</table>"
        "<p>Tanda tangan: Lurah ______________ &nbsp; Ketua RT ______________ &nbsp; Pendamping ______________</p>"
        "</body></html>"
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)
