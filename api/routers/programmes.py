"""/api/v1/programmes: the configured programmes, each programme's recipient rosters sent in by its office with a
key bound to it (purpose limitation: a programme key reaches its own programme and nothing else), its eligibility
lists, and its inclusion and exclusion errors per area and as the coordinators' work list."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

import gis.eligibility
import gis.programme_errors
import gis.programmes
import verval.rosters
from access.keys import key_hashes
from api import render
from api.deps import ConnDep, SecretKey
from api.policy import PUBLIC, allow
from api.security import OptionalPrincipalDep
from core.errors import Forbidden, InputError, NotFound
from core.levels import LEVELS, level_of_code
from core.principal import Agency, User
from core.programmes import PERIOD_EXAMPLE, Programme
from core.scope import area_scope, sees_staff_figures, shares
from registry.rosters import read_roster_upload

router = APIRouter(prefix="/programmes", tags=["programmes"])
# who exchanges a programme's lists: the administrator, and a key bound to the programme
EXCHANGE = ("admin", "programme")
READERS = ("admin", "coordinator", "programme")
Code = Annotated[str, Path(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$", max_length=40, examples=["PKH"])]
Period = Annotated[str, Query(pattern=r"^20\d\d(-(0[1-9]|1[0-2])|-Q[1-4])?$", examples=["2026-12"])]
AREA = r"^\d{2}\.\d{2}(\.\d{2}(\.\d{4}(\.\d{3}(\.\d{3})?)?)?)?$"
MAX_ELIGIBLE = 200_000
Principal = User | Agency


async def _own(conn: Any, principal: Principal | None, code: str) -> Programme:
    """The programme when the caller may act for it: a programme key only for its own (403 otherwise)."""
    if principal is not None and principal.role == "programme" and getattr(principal, "programme", None) != code:
        raise Forbidden(f"this key serves programme {getattr(principal, 'programme', None)} only, not {code}")
    return await gis.programmes.programme(conn, code)


@router.get("")
async def list_programmes(
    conn: ConnDep, principal: Annotated[Principal, allow("admin", "coordinator", "planner", "programme")]
) -> list[dict[str, Any]]:
    """Every configured programme: code, name, owner agency, period, eligibility rule and where it runs (a
    programme key: its own programme only)."""
    known = await gis.programmes.configured(conn)
    mine = getattr(principal, "programme", None) if principal.role == "programme" else None
    return [gis.programmes.as_dict(p) for code, p in sorted(known.items()) if mine is None or code == mine]


@router.post(
    "/{code}/rosters",
    status_code=201,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "period"], "properties": {
            "file": {"type": "string", "format": "binary"}, "period": {"type": "string", "examples": ["2026-12"]},
            "partial": {"type": "boolean"}}}}}}},
)  # fmt: skip
async def upload_roster(
    conn: ConnDep, request: Request, code: Code, principal: Annotated[Principal, allow(*EXCHANGE)], key: SecretKey
) -> dict[str, Any]:
    """Send the programme's recipient roster for a period (CSV or XLSX with no_kk, nik, kk_hash or nik_hash), matched
    to the families of your area by keyed hash; kept as a new version.

    All or nothing unless partial=true: a refusal lists every wrong row by number and reason and keeps nothing. A
    number of a family outside your area, or of a kab/kota where the programme does not run, reads exactly as a
    number the registry does not know."""
    p = await _own(conn, principal, code)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("file: a CSV or XLSX file is required (multipart form field 'file')")
    period = form.get("period")
    if not isinstance(period, str) or not period.strip():
        raise InputError(f"period: the roster's period is required (programme {code} runs by {p.period}, e.g."
                         f" {PERIOD_EXAMPLE[p.period]})")  # fmt: skip
    partial = str(form.get("partial", "false")).lower() in ("1", "true", "yes")
    p.check_period(period)
    roster = await run_in_threadpool(read_roster_upload, upload.file, upload.filename or "roster.csv", key)
    return await verval.rosters.upload_roster(
        conn, p, period, roster, actor=principal.actor, role=principal.role, scope=area_scope(principal),
        key_id=principal.id if isinstance(principal, Agency) else None,
        filename=(upload.filename or "")[:200] or None, partial=partial,
    )  # fmt: skip


@router.get("/{code}/rosters")
async def list_rosters(
    conn: ConnDep,
    code: Code,
    principal: Annotated[Principal, allow(*READERS)],
    period: Annotated[str | None, Query(pattern=r"^20\d\d(-(0[1-9]|1[0-2])|-Q[1-4])?$")] = None,
    limit: Annotated[int, Query(ge=1, le=verval.rosters.MAX_LIST)] = 100,
) -> list[dict[str, Any]]:
    """The programme's roster versions, newest first: period, who sent it and when, the file's SHA-256, rows matched
    and unmatched and the row report (no family is named; those of your area only)."""
    await _own(conn, principal, code)
    return await verval.rosters.versions(conn, code, scope=area_scope(principal), period=period, limit=limit)


@router.get("/{code}/rosters/{roster_id}")
async def get_roster(
    conn: ConnDep,
    code: Code,
    roster_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: Annotated[Principal, allow(*READERS)],
) -> dict[str, Any]:
    """One roster version with its row report (404 outside your area, as if it did not exist)."""
    await _own(conn, principal, code)
    found = await verval.rosters.versions(conn, code, scope=area_scope(principal), roster_id=roster_id, limit=1)
    if not found:
        raise NotFound(f"no roster {roster_id} of programme {code}")
    return found[0]


@router.get(
    "/{code}/eligible",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {},
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)  # fmt: skip
async def eligible(
    conn: ConnDep,
    code: Code,
    period: Period,
    principal: Annotated[Principal, allow(*EXCHANGE)],
    key: SecretKey,
    f: Literal["json", "csv", "xlsx"] = "json",
    limit: Annotated[int, Query(ge=1, le=MAX_ELIGIBLE)] = 50_000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """The programme's eligible families of your area for a period: a pseudonym of this programme, the keyed KK and
    NIK hashes, desil and verification date (names, addresses and RT only under an agreement), every family's read
    audited. Fixed on the period's cut-off day (programs.cutoff_day, default the 17th); provisional before it."""
    p = await _own(conn, principal, code)
    if p.rule is None:
        raise InputError(f"programme {code} has no eligibility rule in the configuration (eligibility: ...)")
    names = principal.role == "admin" or bool(getattr(principal, "programme_names", False))
    hashes = not isinstance(principal, Agency) or await key_hashes(conn, principal.id)
    out = await gis.eligibility.eligible(
        conn, p, period, key=key, actor=principal.actor, role=principal.role, scope=area_scope(principal),
        names=names, today=date.today(), limit=limit, offset=offset, hashes=hashes,
    )  # fmt: skip
    if f == "json":
        return out
    headers = {"Cache-Control": "private, no-store", "X-Total-Count": str(out["total"]),
               "X-List-Fixed": "true" if out["fixed"] else "false"}  # fmt: skip
    rows = [[i[c] for c in out["fields"]] for i in out["items"]]
    name = f"eligible-{code}-{out['period']}"
    if f == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(render.csv_text(out["fields"], rows), media_type="text/csv; charset=utf-8", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    body = await run_in_threadpool(_xlsx, out["fields"], rows)
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=headers)  # fmt: skip


async def _ruled(conn: Any, principal: Principal | None, code: str) -> Programme:
    """The caller's programme (`_own`) when it has an eligibility rule: errors are judged against it."""
    p = await _own(conn, principal, code)
    if p.rule is None:
        raise InputError(f"programme {code} has no eligibility rule in the configuration (eligibility: ...)")
    return p


@router.get("/{code}/errors", dependencies=[allow(PUBLIC)])
async def errors(
    conn: ConnDep,
    code: Code,
    period: Period,
    principal: OptionalPrincipalDep,
    level: Literal["kota", "kecamatan", "kelurahan", "rt"] = "rt",
    parent: Annotated[str | None, Query(pattern=AREA, description="Only areas under this code")] = None,
) -> dict[str, Any]:
    """Per area of a level: the programme's recipients (newest roster of the period covering each RT), eligible
    families (its rule), inclusion errors (recipients not eligible, or found not found, moved, part of another
    family, a duplicate, deceased or not eligible at verification) and exclusion errors (eligible, verified, not
    recipients).

    Dinsos staff (admin, coordinator) read exact counts of their own area; everyone else, planners included, the
    published figures: whole areas, each count with the cell-key noise of its families and 1-4 suppressed (null,
    named in `suppressed`), as every published figure. A programme key reads its own programme only."""
    p = await _ruled(conn, principal, code)
    if parent is not None:
        above = level_of_code(parent)
        if above is None or LEVELS.index(above) >= LEVELS.index(level):
            raise InputError(f"parent: {parent} is not an area code above the {level} level")
    return await gis.programme_errors.area_counts(
        conn, p, period, level=level, parent=parent, scope=area_scope(principal), staff=sees_staff_figures(principal)
    )


@router.get("/{code}/errors/families")
async def error_families(
    conn: ConnDep,
    code: Code,
    period: Period,
    principal: Annotated[Principal, allow("admin", "coordinator")],
    area: Annotated[str | None, Query(pattern=AREA, description="Only families of this area")] = None,
    limit: Annotated[int, Query(ge=1, le=gis.programme_errors.MAX_WORK)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The coordinators' work list: each family of your area that is an inclusion or exclusion error of the
    programme for the period, with the reasons in words and the proposed action (re_verify, propose_for_programme,
    propose_removal); exclusions of families receiving no programme first. No KK or NIK; every family read is
    audited."""
    p = await _ruled(conn, principal, code)
    scope = area_scope(principal)
    # outside the scope an area does not exist
    if area is not None and (not shares(scope, area) or not await gis.programme_errors.has_area(conn, area)):
        raise NotFound(f"no area {area}")
    return await gis.programme_errors.work_list(
        conn, p, period, area=area, scope=scope, actor=principal.actor, role=principal.role, limit=limit,
        offset=offset,
    )  # fmt: skip


def _xlsx(columns: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    from gis.export import sheet_rows

    book = Workbook(write_only=True)
    sheet = book.create_sheet("eligible")
    sheet.append(columns)
    sheet_rows(sheet, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
