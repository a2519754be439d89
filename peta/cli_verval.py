"""`peta campaign`: verification rounds, their coverage gaps and priorities, and assigning RTs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

import verval.assignments
import verval.backchecks
import verval.berita
import verval.campaigns
import verval.coverage
import verval.prelist
import verval.progress
import verval.proposal
import verval.solver
import verval.visits
from core.levels import PREFIX
from core.principal import CliPrincipal
from peta.common import cli_actor, console, handle_errors, run_async

app = typer.Typer(help="Verification campaigns: targets, coverage gaps, priorities, assignments.",
                  no_args_is_help=True)  # fmt: skip


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _print(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table(*columns)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r[c]) for c in columns))
    console.print(table)


@app.command("create")
@handle_errors
def create(
    name: str = typer.Argument(..., help='e.g. "Verval 2026 tahap 1".'),
    starts: str = typer.Option(..., help="First day (YYYY-MM-DD)."),
    ends: str = typer.Option(..., help="Last day (YYYY-MM-DD)."),
    desil: str | None = typer.Option(None, help="Target local desil range, e.g. 1-2."),
    category: list[str] = typer.Option([], help="Target category (fakir_miskin, miskin, rentan), repeatable."),
    cutoff_day: int = typer.Option(17, min=1, max=28, help="Day of the month of the national cut-off."),
    prelist: bool = typer.Option(False, "--prelist", help="Targets come from a file: `peta campaign prelist`."),
    kota: str | None = typer.Option(
        None, metavar="CODE", help="The campaign's kab/kota (e.g. 15.71); needed when several are loaded."
    ),
) -> None:
    """Create a campaign; its target families are selected now (or imported with `peta campaign prelist`)."""
    lo = hi = None
    if desil:
        try:
            lo, hi = (int(v) for v in desil.split("-", 1)) if "-" in desil else (int(desil), int(desil))
        except ValueError as exc:
            raise ValueError(f"--desil: {desil!r} is not a range like 1-2") from exc
    if sum((desil is not None, bool(category), prelist)) != 1:
        raise ValueError("give one of --desil, --category or --prelist")
    spec = verval.campaigns.CampaignSpec(
        name=name, target_kind="desil" if desil else "category" if category else "prelist",
        starts_on=_date(starts, "--starts"), ends_on=_date(ends, "--ends"), desil_min=lo, desil_max=hi,
        categories=tuple(category), cutoff_day=cutoff_day, kota=kota,
    )  # fmt: skip
    c = run_async(lambda conn: verval.campaigns.create_campaign(conn, spec, cli_actor()))
    console.print(f"campaign {c['id']} {c['name']!r} in {c['kota_code']}: {c['targets']:,} target families")


@app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="JSON instead of a table.")) -> None:
    """Every campaign, newest first."""
    rows = run_async(verval.campaigns.campaigns)
    _print(rows, ["id", "name", "kota_code", "target_kind", "starts_on", "ends_on", "targets"], as_json)


@app.command("coverage")
@handle_errors
def coverage(
    campaign: int = typer.Argument(..., help="Campaign id."),
    level: str = typer.Option("kelurahan", help="kota, kecamatan, kelurahan, rw or rt."),
    parent: str | None = typer.Option(None, help="Only areas under this code."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Coverage gaps of every area of a level."""
    if level not in PREFIX:
        raise ValueError(f"--level must be one of {', '.join(PREFIX)}")
    rows = run_async(lambda conn: verval.coverage.coverage(conn, campaign, level, parent))
    cols = ["code", "name", "targets", "verified", "pending", "coverage_pct", "unassigned_targets", "days_since_verval"]
    _print(rows, cols, as_json)


@app.command("priorities")
@handle_errors
def priorities(
    campaign: int = typer.Argument(..., help="Campaign id."),
    limit: int = typer.Option(30, min=1, max=5000, help="How many RTs."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """RTs needing verification, most urgent first, with their score's parts."""
    rows = run_async(lambda conn: verval.coverage.priorities(conn, campaign, limit))
    for r in rows:
        r["why"] = ", ".join(f"{k} {v}" for k, v in (r["explanation"] or {}).items())
    _print(rows, ["code", "name", "pending", "unassigned_targets", "priority", "why"], as_json)


@app.command("assign")
@handle_errors
def assign(
    campaign: int = typer.Argument(..., help="Campaign id."),
    verifier: str = typer.Option(..., help="The verifier's username."),
    due: str = typer.Option(..., help="Due date (YYYY-MM-DD)."),
    rt: list[str] = typer.Option([], help="RT code, repeatable."),
    family: list[int] = typer.Option([], help="Household id, repeatable."),
) -> None:
    """Assign RTs and/or families to a verifier (all or nothing; refused when one is already assigned)."""
    ids = run_async(lambda conn: verval.assignments.assign(conn, campaign, rt_codes=rt, household_ids=family,
                                                      verifier=verifier, due_on=_date(due, "--due"),
                                                      actor=cli_actor()))  # fmt: skip
    console.print(f"{len(ids)} assignment(s) created for {verifier}: {', '.join(map(str, ids))}")


@app.command("workload")
@handle_errors
def workload(
    campaign: int = typer.Argument(..., help="Campaign id."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Each verifier's active assignments and the families still to verify."""
    rows = run_async(lambda conn: verval.assignments.workload(conn, campaign))
    _print(rows, ["verifier", "active_assignments", "rts", "families_to_verify"], as_json)


@app.command("prelist")
@handle_errors
def prelist(
    campaign: int = typer.Argument(..., help="Campaign id (a campaign created with --prelist)."),
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV or XLSX with a no_kk or household_id column."
    ),
    sheet: str | None = typer.Option(None, help="XLSX sheet (default: the first)."),
    partial: bool = typer.Option(False, help="Add the good rows and report the others (default: all or nothing)."),
) -> None:
    """Add a prelist's families to a prelist campaign's targets (every wrong row is reported by number)."""
    from core.settings import load_secret_key
    from peta.common import settings
    from registry.prelist import read_prelist

    entries = read_prelist(file, sheet)
    key = load_secret_key(settings())
    out = run_async(
        lambda conn: verval.prelist.add_prelist(conn, campaign, entries, key, partial=partial, actor=cli_actor())
    )
    console.print(f"{out['added']:,} families added ({out['already_targets']:,} already targets, "
                  f"{out['refused']:,} rows refused); the campaign has {out['targets']:,} targets")  # fmt: skip
    for issue in out["issues"]:
        console.print(f"  - {issue}")


@app.command("propose")
@handle_errors
def propose(
    campaign: int = typer.Argument(..., help="Campaign id."),
    verifier: list[str] = typer.Option([], help="NAME or NAME:CAPACITY, repeatable (default: every verifier)."),
    capacity: int | None = typer.Option(None, min=1, help="Families per verifier when not given per verifier."),
    rt: list[str] = typer.Option([], help="Only these RTs, repeatable (default: every unassigned RT with targets)."),
    allow_own_rt: bool = typer.Option(False, help="Let an RT head verify their own RT."),
    accept: bool = typer.Option(False, help="Assign the proposal at once (needs --due)."),
    due: str | None = typer.Option(None, help="Due date of the assignments when accepting (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="The whole proposal as JSON."),
) -> None:
    """Propose who verifies which unassigned RTs (capacities, near home, balanced); --accept assigns it."""
    specs = []
    for v in verifier:
        name, _, cap = v.partition(":")
        if cap and not cap.isdigit():
            raise ValueError(f"--verifier {v!r}: the capacity after ':' must be a whole number")
        specs.append(verval.solver.VerifierSpec(name, int(cap) if cap else capacity))
    if not specs and capacity is not None:
        raise ValueError("--capacity without --verifier: name the verifiers (or set verval.proposal.default_capacity)")
    if accept and not due:
        raise ValueError("--accept needs --due")
    with console.status("computing the proposal"):
        plan = run_async(lambda conn: verval.proposal.propose(conn, campaign, specs, rt_codes=rt or None,
                                                  keep_off_own=False if allow_own_rt else None))  # fmt: skip
    if as_json:
        console.print_json(json.dumps(plan, default=str))
    else:
        s = plan["summary"]
        console.print(f"{s['rts']:,} RTs ({s['families']:,} families) for {s['verifiers_used']} of {s['verifiers']} "
                      f"verifiers; workload {s['smallest_workload']}–{s['largest_workload']} families; "
                      f"travel {s['travel_km']:,} km (mean {s['mean_distance_km']} km); "
                      f"{s['rts_left_out']} RTs left out")  # fmt: skip
        cols = ["verifier", "capacity", "families", "rt_codes", "travel_km", "farthest_km", "spread_km"]
        _print([dict(r, rt_codes=len(r["rt_codes"])) for r in plan["verifiers"]], cols, False)
    if accept:
        items = [(r["verifier"], r["rt_codes"]) for r in plan["verifiers"] if r["rt_codes"]]
        ids = run_async(lambda conn: verval.proposal.accept(conn, campaign, items, due_on=_date(due or "", "--due"),
                                                actor=cli_actor()))  # fmt: skip
        console.print(f"{len(ids)} assignments created")


@app.command("backcheck")
@handle_errors
def backcheck_draw(
    campaign: int = typer.Argument(..., help="Campaign id."),
    due: str = typer.Option(..., help="Due date (YYYY-MM-DD)."),
    rate: float | None = typer.Option(None, min=0.001, max=1, help="Share of each verifier's visits (default 0.05)."),
    pool: list[str] = typer.Option([], help="Who may re-check, repeatable (default: the campaign's verifiers)."),
    seed: str = typer.Option("", help="The same seed draws the same sample."),
) -> None:
    """Draw the back-checks still due and assign each to another verifier."""
    rows = run_async(lambda conn: verval.backchecks.draw(conn, campaign, due_on=_date(due, "--due"), actor=cli_actor(),
                                            rate=rate, pool=pool or None, seed=seed))  # fmt: skip
    _print(rows, ["id", "household_id", "rt_code", "backcheck_of", "verifier", "due_on"], False)
    console.print(f"{len(rows)} back-checks assigned")


@app.command("disagreement")
@handle_errors
def disagreement(
    campaign: int = typer.Argument(..., help="Campaign id."),
    as_json: bool = typer.Option(False, "--json", help="JSON (with every pair) instead of a table."),
) -> None:
    """Per verifier: visits back-checked, disagreements and their rate."""
    rows = run_async(lambda conn: verval.backchecks.disagreement(conn, campaign))
    _print(rows, ["verifier", "drawn", "checked", "disagreements", "disagreement_pct"], as_json)


@app.command("progress")
@handle_errors
def progress(
    campaign: int = typer.Argument(..., help="Campaign id."),
    by: str = typer.Option("week", help="day, week or month."),
    area: str | None = typer.Option(None, help="Only this area (code)."),
    verifier: str | None = typer.Option(None, help="Only this verifier's visits."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of tables."),
) -> None:
    """Progress over time: visits, decisions, flags, families verified and coverage %; totals per verifier."""
    out = run_async(lambda conn: verval.progress.progress(conn, campaign, by=by, area=area, verifier=verifier))
    if as_json:
        console.print_json(json.dumps(out, default=str))
        return
    _print(out["series"], ["period", "visits", "approved", "returned", "flagged", "verified", "verified_cumulative",
                           "coverage_pct"], False)  # fmt: skip
    _print(out["verifiers"], ["verifier", "visits", "approved", "returned", "flagged", "last_visit"], False)


@app.command("visits")
@handle_errors
def visits(
    campaign: int = typer.Argument(..., help="Campaign id."),
    status: str | None = typer.Option(None, help="submitted, checked, approved or returned."),
    flagged: bool | None = typer.Option(None, "--flagged/--not-flagged", help="Only visits with (without) flags."),
    limit: int = typer.Option(100, min=1, max=5000),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """A campaign's visits with their objectivity flags, newest first (the read is audited)."""
    from gis.households import audit_read

    async def read(conn: Any) -> list[dict[str, Any]]:
        rows = await verval.visits.visits(conn, campaign, CliPrincipal.current(), status=status, flagged=flagged,
                                   limit=limit)  # fmt: skip
        async with conn.transaction():
            await audit_read(conn, cli_actor(), "admin", "verification", [str(r["id"]) for r in rows])
        return rows

    rows = run_async(read)
    for r in rows:
        r["flags"] = ", ".join(f["code"] for f in r["flags"])
    _print(rows, ["id", "household_id", "rt_code", "verifier", "result_code", "visited_at", "status", "flags"], as_json)


@app.command("status")
@handle_errors
def status(
    assignment: int = typer.Argument(..., help="Assignment id."),
    new_status: str = typer.Argument(..., metavar="STATUS", help="approved, returned, cancelled, ..."),
    reason: str | None = typer.Option(None, help="Why (needed to decline, return or cancel)."),
) -> None:
    """Move an assignment along its workflow (as an administrator)."""
    a = run_async(lambda conn: verval.assignments.set_status(conn, assignment, new_status, reason=reason,
                                            principal=CliPrincipal.current()))  # fmt: skip
    console.print(f"assignment {a['id']} ({a['rt_code']}, {a['verifier']}) is now {a['status']}")


@app.command("decide")
@handle_errors
def decide(
    visit: int = typer.Argument(..., help="Verification (visit) id."),
    decision: str = typer.Argument(..., help="approve or return."),
    reason: str | None = typer.Option(None, help="Why (needed to return)."),
) -> None:
    """Approve a visit (the registry, ranking and figures follow) or return it to the verifier; with two approval
    steps, a submitted visit is checked and a checked one decided (never both by the same person)."""
    if decision not in ("approve", "return"):
        raise ValueError("DECISION must be approve or return")
    v = run_async(lambda conn: verval.visits.decide(conn, visit, decision == "approve", reason, CliPrincipal.current()))
    console.print(f"visit {v['id']} {v['status']}")


@app.command("berita-acara")
@handle_errors
def berita_acara(
    campaign: int = typer.Argument(..., help="Campaign id."),
    kelurahan: str = typer.Argument(..., help="Kelurahan code, e.g. 15.71.01.1001."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write: .pdf or .csv."),
) -> None:
    """The kelurahan's visit results for the community meeting, as PDF or CSV (the read is audited)."""
    from core import csvsafe
    from gis.households import audit_read
    from verval.berita import berita_acara_pdf

    if out.suffix.lower() not in (".pdf", ".csv"):
        raise ValueError(f"--out {out}: give a .pdf or .csv file")

    async def read(conn: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        head, rows = await verval.berita.berita_acara(conn, campaign, kelurahan)
        async with conn.transaction():
            await audit_read(conn, cli_actor(), "admin", "verification", [str(r["verification_id"]) for r in rows])
        return head, rows

    head, rows = run_async(read)
    if out.suffix.lower() == ".pdf":
        out.write_bytes(berita_acara_pdf(head, rows))
    else:
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csvsafe.writer(f)
            writer.writerow(verval.berita.BERITA_COLUMNS)
            writer.writerows([r[c] for c in verval.berita.BERITA_COLUMNS] for r in rows)
    console.print(f"{out}: {len(rows)} families of {head['kelurahan_name']}")
