"""/api/v1/campaigns: verification rounds and what is decided per campaign: targets, coverage gaps and
priorities, progress, the proposal, back-check draws and rates, prelists, the berita acara."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

import verval.assignments
import verval.backchecks
import verval.berita
import verval.campaigns
import verval.coverage
import verval.prelist
import verval.progress
import verval.proposal
import verval.solver
from api import render
from api.deps import ConnDep, SecretKey
from api.policy import allow
from api.workflow import STAFF, CampaignId, RtCode, Username
from core.errors import InputError, NotFound
from core.principal import User
from core.scope import area_scope, within
from gis.households import audit_read
from registry.prelist import read_prelist_upload
from verval.berita import berita_acara_pdf

router = APIRouter(tags=["verval"])
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
    kota: str | None = Field(
        default=None, pattern=r"^\d{2}\.\d{2}$", examples=["15.71"],
        description="The campaign's kab/kota; optional when one kab/kota is loaded",
    )  # fmt: skip


@router.get("/campaigns")
async def list_campaigns(conn: ConnDep, principal: Annotated[User, allow(*STAFF, "planner")]) -> list[dict[str, Any]]:
    """Every campaign with its kab/kota and number of target families, newest first (planners: the published count;
    coordinators: the campaigns of the kab/kota sharing ground with their scope)."""
    return await verval.campaigns.campaigns(conn, published=principal.role == "planner", scope=area_scope(principal))


@router.post("/campaigns", status_code=201)
async def create_campaign(conn: ConnDep, body: CampaignIn, principal: Annotated[User, allow(*STAFF)]) -> dict[str, Any]:
    """A new campaign of one kab/kota; its target families (desil range or categories) are selected now."""
    spec = verval.campaigns.CampaignSpec(
        name=body.name, target_kind=body.target_kind, starts_on=body.starts_on, ends_on=body.ends_on,
        desil_min=body.desil_min, desil_max=body.desil_max, categories=tuple(body.categories),
        cutoff_day=body.cutoff_day, kota=body.kota,
    )  # fmt: skip
    return await verval.campaigns.create_campaign(conn, spec, principal.actor, area_scope(principal))


@router.get("/campaigns/{campaign_id}")
async def get_campaign(
    conn: ConnDep, principal: Annotated[User, allow(*STAFF, "planner")], campaign_id: CampaignId
) -> dict[str, Any]:
    """One campaign (planners: the published number of targets)."""
    return await verval.campaigns.campaign(conn, campaign_id, published=principal.role == "planner")


@router.get("/campaigns/{campaign_id}/coverage")
async def campaign_coverage(
    conn: ConnDep,
    principal: Annotated[User, allow(*STAFF, "planner")],
    campaign_id: CampaignId,
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
    principal: Annotated[User, allow(*STAFF)],
    campaign_id: CampaignId,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    """RTs needing verification, most urgent first, with the parts of their priority score (coordinators: the RTs
    of their scope, ranked among themselves)."""
    return await verval.coverage.priorities(conn, campaign_id, limit, scope=area_scope(principal))


@router.get(
    "/campaigns/{campaign_id}/berita-acara/{kelurahan}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "text/html": {}, "application/pdf": {}}}},
)
async def berita_acara(
    conn: ConnDep,
    kelurahan: Annotated[str, Path(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")],
    principal: Annotated[User, allow(*STAFF)],
    campaign_id: CampaignId,
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
        headers["Content-Disposition"] = f'attachment; filename="berita-acara-{kelurahan}.csv"'
        table = render.csv_text(cols, ([r[c] for c in cols] for r in rows))
        return Response(table, media_type="text/csv; charset=utf-8", headers=headers)
    title = f"Berita Acara Musyawarah Kelurahan {head['kelurahan_name']} ({kelurahan}) — {head['campaign']}"
    page = render.page(
        title,
        f"<p>{len(rows)} keluarga dikunjungi.</p>"
        '<button onclick="window.print()">Cetak</button>'
        + render.table(cols, ([r[c] for c in cols] for r in rows))
        + "<p>Tanda tangan: Lurah ______________ &nbsp; Ketua RT ______________ &nbsp; Pendamping ______________</p>",
        style="body{font:12px sans-serif}table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;"
        "padding:3px}@media print{button{display:none}}",
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/campaigns/{campaign_id}/progress")
async def campaign_progress(
    conn: ConnDep,
    principal: Annotated[User, allow(*STAFF)],
    campaign_id: CampaignId,
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
    conn: ConnDep, body: ProposalIn, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
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
    conn: ConnDep, body: AcceptIn, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
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
    conn: ConnDep, body: BackcheckIn, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
) -> list[dict[str, Any]]:
    """Draw the back-checks still due (a share of each verifier's visits) and assign each to another verifier
    (coordinators: visits of their scope, checkers lying inside it; a pool naming anyone else is 404)."""
    return await verval.backchecks.draw(conn, campaign_id, due_on=body.due_on, actor=principal.actor, rate=body.rate,
                                pool=body.pool, seed=body.seed, scope=area_scope(principal))  # fmt: skip


@router.get("/campaigns/{campaign_id}/backchecks")
async def backcheck_rates(
    conn: ConnDep, principal: Annotated[User, allow(*STAFF)], campaign_id: CampaignId
) -> list[dict[str, Any]]:
    """Per verifier: visits drawn for a back-check, back-checks done, disagreements and their rate, each pair."""
    return await verval.backchecks.disagreement(conn, campaign_id, area_scope(principal))


@router.post(
    "/campaigns/{campaign_id}/prelist",
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "partial": {"type": "boolean"}}}}}}},
)  # fmt: skip
async def import_prelist(conn: ConnDep, request: Request, principal: Annotated[User, allow(*STAFF)],
                         campaign_id: CampaignId, key: SecretKey) -> dict[str, Any]:  # fmt: skip
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
