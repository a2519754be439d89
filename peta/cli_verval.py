"""`peta campaign`: verification rounds, their coverage gaps and priorities, and assigning RTs."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.table import Table

from gis import verval
from peta.cli_access import _run
from peta.common import cli_actor, console, handle_errors

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
) -> None:
    """Create a campaign; its target families are selected now."""
    lo = hi = None
    if desil:
        try:
            lo, hi = (int(v) for v in desil.split("-", 1)) if "-" in desil else (int(desil), int(desil))
        except ValueError as exc:
            raise ValueError(f"--desil: {desil!r} is not a range like 1-2") from exc
    if (desil is None) == (not category):
        raise ValueError("give either --desil or --category")
    spec = verval.CampaignSpec(
        name=name, target_kind="desil" if desil else "category", starts_on=_date(starts, "--starts"),
        ends_on=_date(ends, "--ends"), desil_min=lo, desil_max=hi, categories=tuple(category), cutoff_day=cutoff_day,
    )  # fmt: skip
    c = _run(lambda conn: verval.create_campaign(conn, spec, cli_actor()))
    console.print(f"campaign {c['id']} {c['name']!r}: {c['targets']:,} target families")


@app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="JSON instead of a table.")) -> None:
    """Every campaign, newest first."""
    _print(_run(verval.campaigns), ["id", "name", "target_kind", "starts_on", "ends_on", "targets"], as_json)


@app.command("coverage")
@handle_errors
def coverage(
    campaign: int = typer.Argument(..., help="Campaign id."),
    level: str = typer.Option("kelurahan", help="kota, kecamatan, kelurahan, rw or rt."),
    parent: str | None = typer.Option(None, help="Only areas under this code."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Coverage gaps of every area of a level."""
    if level not in verval.PREFIX:
        raise ValueError(f"--level must be one of {', '.join(verval.PREFIX)}")
    rows = _run(lambda conn: verval.coverage(conn, campaign, level, parent))
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
    rows = _run(lambda conn: verval.priorities(conn, campaign, limit))
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
    ids = _run(lambda conn: verval.assign(conn, campaign, rt_codes=rt, household_ids=family, verifier=verifier,
                                          due_on=_date(due, "--due"), actor=cli_actor()))  # fmt: skip
    console.print(f"{len(ids)} assignment(s) created for {verifier}: {', '.join(map(str, ids))}")


@app.command("workload")
@handle_errors
def workload(
    campaign: int = typer.Argument(..., help="Campaign id."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Each verifier's active assignments and the families still to verify."""
    rows = _run(lambda conn: verval.workload(conn, campaign))
    _print(rows, ["verifier", "active_assignments", "rts", "families_to_verify"], as_json)
