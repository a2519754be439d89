"""/api/v1/campaigns and /api/v1/assignments: verification rounds, coverage gaps, priorities, assignments."""

from __future__ import annotations

import html
import io
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

import verval.assignments
import verval.backchecks
import verval.berita
import verval.campaigns
import verval.coverage
import verval.photos
import verval.prelist
import verval.progress
import verval.proposal
import verval.records
import verval.solver
import verval.visits
from api.deps import ConnDep, SecretKey
from api.policy import allow
from core import csvsafe
from core.errors import InputError, NotFound
from core.principal import User
from core.scope import area_scope, within
from gis.households import audit_read
from registry.prelist import read_prelist_upload
from verval.berita import berita_acara_pdf

router = APIRouter(tags=["verval"])
STAFF = ("admin", "coordinator")
Id = Annotated[int, Path(ge=1, le=2**62)]
Level = Literal["kota", "kecamatan", "kelurahan", "rw", "rt"]
RtCode = Annotated[
    str, Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}\.\d{3}\.\d{3}$", examples=["15.71.01.1001.002.005"])
]
Username = Annotated[str, Field(min_length=3, max_length=64)]


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
    rt_codes: list[RtCode] = Field(default_factory=list, max_length=500)
    household_ids: list[int] = Field(default_factory=list, max_length=5000)
    verifier: Username
    due_on: date


class StatusIn(BaseModel):
    status: Literal["in_progress", "submitted", "approved", "returned", "declined", "cancelled"]
    reason: str | None = Field(default=None, max_length=1000)


@router.get("/campaigns")
async def list_campaigns(conn: ConnDep, principal: Annotated[User, allow(*STAFF, "planner")]) -> list[dict[str, Any]]:
    """Every campaign with its number of target families, newest first (planners: the published count)."""
    return await verval.campaigns.campaigns(conn, published=principal.role == "planner")


@router.post("/campaigns", status_code=201)
async def create_campaign(conn: ConnDep, body: CampaignIn, principal: Annotated[User, allow(*STAFF)]) -> dict[str, Any]:
    """A new campaign; its target families (desil range or categories) are selected now."""
    spec = verval.campaigns.CampaignSpec(
        name=body.name, target_kind=body.target_kind, starts_on=body.starts_on, ends_on=body.ends_on,
        desil_min=body.desil_min, desil_max=body.desil_max, categories=tuple(body.categories),
        cutoff_day=body.cutoff_day,
    )  # fmt: skip
    return await verval.campaigns.create_campaign(conn, spec, principal.actor)


@router.get("/campaigns/{campaign_id}")
async def get_campaign(
    conn: ConnDep, campaign_id: Id, principal: Annotated[User, allow(*STAFF, "planner")]
) -> dict[str, Any]:
    """One campaign (planners: the published number of targets)."""
    return await verval.campaigns.campaign(conn, campaign_id, published=principal.role == "planner")


@router.get("/campaigns/{campaign_id}/coverage")
async def campaign_coverage(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[User, allow(*STAFF, "planner")],
    level: Level = "rt",
    parent: Annotated[str | None, Query(pattern=r"^\d{2}(\.\d{2}){1,2}(\.\d{4})?(\.\d{3})?$")] = None,
) -> list[dict[str, Any]]:
    """Coverage gaps of every area of a level: targets, verified, pending, unassigned, staleness (coordinators:
    the areas sharing ground with their scope, counting only the scope's targets).

    Planners get the published form: counts of 1-4 families (and their complements) are null and listed
    in `suppressed`, with the coverage % of a suppressed count."""
    return await verval.coverage.coverage(conn, campaign_id, level, parent, published=principal.role == "planner",
                                 scope=area_scope(principal))  # fmt: skip


@router.get("/campaigns/{campaign_id}/priorities")
async def campaign_priorities(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[User, allow(*STAFF)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    """RTs needing verification, most urgent first, with the parts of their priority score (coordinators: the RTs
    of their scope, ranked among themselves)."""
    return await verval.coverage.priorities(conn, campaign_id, limit, scope=area_scope(principal))


@router.post("/campaigns/{campaign_id}/assignments", status_code=201)
async def create_assignments(
    conn: ConnDep, campaign_id: Id, body: AssignIn, principal: Annotated[User, allow(*STAFF)]
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
    campaign_id: Id,
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
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
    conn: ConnDep, campaign_id: Id, principal: Annotated[User, allow(*STAFF)]
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
    """Approve a visit (the family's record, ranking and figures follow) or return it with a reason."""
    return await verval.visits.decide(conn, verification_id, body.decision == "approve", body.reason, principal)


@router.get(
    "/campaigns/{campaign_id}/berita-acara/{kelurahan}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "text/html": {}, "application/pdf": {}}}},
)
async def berita_acara(
    conn: ConnDep,
    campaign_id: Id,
    kelurahan: Annotated[str, Path(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")],
    principal: Annotated[User, allow(*STAFF)],
    f: Literal["csv", "html", "pdf"] = "csv",
) -> Response:
    """The kelurahan's results for the musyawarah (community meeting): CSV, a printable page, or a PDF."""
    if not within(area_scope(principal), kelurahan):
        raise NotFound(f"no kelurahan {kelurahan}")
    head, rows = await verval.berita.berita_acara(conn, campaign_id, kelurahan)
    async with conn.transaction():
        await audit_read(conn, principal.actor, principal.role, "verification",
                         [str(r["verification_id"]) for r in rows])  # fmt: skip
    cols = verval.berita.BERITA_COLUMNS
    headers = {"Cache-Control": "private, no-store"}
    if f == "pdf":
        headers["Content-Disposition"] = f'attachment; filename="berita-acara-{kelurahan}.pdf"'
        return Response(berita_acara_pdf(head, rows), media_type="application/pdf", headers=headers)
    if f == "csv":
        out = io.StringIO()
        writer = csvsafe.writer(out)
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


@router.get("/campaigns/{campaign_id}/verifications")
async def list_visits(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[User, allow("admin", "coordinator", "verifier")],
    status: Literal["submitted", "approved", "returned"] | None = None,
    flagged: bool | None = None,
    verifier: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Visits with their objectivity flags, newest first: coordinators in their area, verifiers their own."""
    rows = await verval.visits.visits(conn, campaign_id, principal, status=status, flagged=flagged, verifier=verifier,
                               limit=limit, offset=offset)  # fmt: skip
    if rows:
        async with conn.transaction():
            await audit_read(conn, principal.actor, principal.role, "verification", [str(r["id"]) for r in rows])
    return rows


@router.get("/campaigns/{campaign_id}/progress")
async def campaign_progress(
    conn: ConnDep,
    campaign_id: Id,
    principal: Annotated[User, allow(*STAFF)],
    by: Literal["day", "week", "month"] = "week",
    area: Annotated[str | None, Query(pattern=r"^\d{2}(\.\d{2}){1,2}(\.\d{4})?(\.\d{3}){0,2}$")] = None,
    verifier: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Progress over time (visits, decisions, flags, families verified, coverage %) for the campaign, an area
    or a verifier, with each verifier's totals (coordinators: their scope's targets and visits only; an area
    outside it is 404)."""
    return await verval.progress.progress(conn, campaign_id, by=by, area=area, verifier=verifier,
                                 scope=area_scope(principal))  # fmt: skip


class ProposalVerifier(BaseModel):
    username: Username
    capacity: int | None = Field(default=None, ge=1, le=10_000, description="Families; default from settings")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Home; default: the verifier's RT")
    lat: float | None = Field(default=None, ge=-90, le=90)


class ProposalIn(BaseModel):
    verifiers: list[ProposalVerifier] = Field(
        default_factory=list, max_length=5000, description="Empty: every active verifier (in your area)"
    )
    rt_codes: list[RtCode] | None = Field(default=None, max_length=5000, description="Only these RTs")
    keep_head_off_own_rt: bool | None = None


class PlanRow(BaseModel):
    rt_code: RtCode
    verifier: Username


class AcceptIn(BaseModel):
    due_on: date
    plan: list[PlanRow] = Field(min_length=1, max_length=5000, description="One row per RT: who verifies it")


@router.post("/campaigns/{campaign_id}/proposal")
async def propose(
    conn: ConnDep, campaign_id: Id, body: ProposalIn, principal: Annotated[User, allow(*STAFF)]
) -> dict[str, Any]:
    """Propose who verifies which unassigned priority RTs: within capacities, near home, balanced (nothing is
    written; edit it and accept it)."""
    for v in body.verifiers:
        if (v.lon is None) != (v.lat is None):
            raise InputError(f"verifier {v.username}: give both lon and lat, or neither")
    specs = [verval.solver.VerifierSpec(v.username, v.capacity, v.lon, v.lat) for v in body.verifiers]
    return await verval.proposal.propose(conn, campaign_id, specs, scope=area_scope(principal), rt_codes=body.rt_codes,
                                  keep_off_own=body.keep_head_off_own_rt)  # fmt: skip


@router.post("/campaigns/{campaign_id}/proposal/accept", status_code=201)
async def accept_proposal(
    conn: ConnDep, campaign_id: Id, body: AcceptIn, principal: Annotated[User, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """Assign a (possibly edited) proposal, all or nothing: 409 naming the RT when one was taken meanwhile."""
    groups: dict[str, list[str]] = {}
    for row in body.plan:
        groups.setdefault(row.verifier, []).append(row.rt_code)
    ids = await verval.proposal.accept(conn, campaign_id, list(groups.items()),
                                due_on=body.due_on, actor=principal.actor, scope=area_scope(principal))  # fmt: skip
    return [a for a in await verval.assignments.assignments(conn, campaign_id) if a["id"] in set(ids)]


class BackcheckIn(BaseModel):
    due_on: date
    rate: float | None = Field(default=None, gt=0, le=1, description="Share of each verifier's visits; default 5 %")
    pool: list[Username] | None = Field(default=None, max_length=5000, description="Who may re-check; default: "
                                   "the campaign's verifiers")  # fmt: skip
    seed: str = Field(default="", max_length=64, description="The same seed draws the same sample")


@router.post("/campaigns/{campaign_id}/backchecks", status_code=201)
async def draw_backchecks(
    conn: ConnDep, campaign_id: Id, body: BackcheckIn, principal: Annotated[User, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """Draw the back-checks still due (a share of each verifier's visits) and assign each to another verifier
    (coordinators: visits of their scope, checkers lying inside it; a pool naming anyone else is 404)."""
    return await verval.backchecks.draw(conn, campaign_id, due_on=body.due_on, actor=principal.actor, rate=body.rate,
                                pool=body.pool, seed=body.seed, scope=area_scope(principal))  # fmt: skip


@router.get("/campaigns/{campaign_id}/backchecks")
async def backcheck_rates(
    conn: ConnDep, campaign_id: Id, principal: Annotated[User, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """Per verifier: visits drawn for a back-check, back-checks done, disagreements and their rate, each pair."""
    return await verval.backchecks.disagreement(conn, campaign_id, area_scope(principal))


@router.post(
    "/campaigns/{campaign_id}/prelist",
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "partial": {"type": "boolean"}}}}}}},
)  # fmt: skip
async def import_prelist(conn: ConnDep, campaign_id: Id, request: Request,
                         principal: Annotated[User, allow(*STAFF)], key: SecretKey) -> dict[str, Any]:  # fmt: skip
    """Add a prelist (CSV or XLSX with a no_kk or household_id column) to a prelist campaign's targets.

    All or nothing unless partial=true: a refusal lists every wrong row, and adds nothing. A family outside the
    uploader's scope reads exactly as one that does not exist."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("file: a CSV or XLSX file is required (multipart form field 'file')")
    partial = str(form.get("partial", "false")).lower() in ("1", "true", "yes")
    entries = await run_in_threadpool(read_prelist_upload, upload.file, upload.filename or "prelist.csv")
    return await verval.prelist.add_prelist(conn, campaign_id, entries, key, partial=partial, actor=principal.actor,
                                    scope=area_scope(principal))  # fmt: skip


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


@router.get("/campaigns/{campaign_id}/verifiers")
async def campaign_verifiers(
    conn: ConnDep, campaign_id: Id, principal: Annotated[User, allow(*STAFF)]
) -> list[dict[str, Any]]:
    """The active verifiers a coordinator can assign (those whose RTs all lie in their area; all for an admin),
    with their home RT and this campaign's open work in that area."""
    return await verval.assignments.verifiers(conn, campaign_id, area_scope(principal))


@router.get("/assignments/mine")
async def my_assignments(conn: ConnDep, principal: Annotated[User, allow("verifier")]) -> list[dict[str, Any]]:
    """The caller's open assignments in every campaign, with the campaign's name and dates."""
    return await verval.assignments.my_assignments(conn, principal.username)
