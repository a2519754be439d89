"""`peta programmes`: the configured programmes, keys bound to one programme, and recipient rosters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.table import Table

from access.keys import create_key
from core.principal import CliPrincipal
from core.settings import load_secret_key
from gis.programmes import configured, programme
from peta.cli_access import CODES_HELP, _scope_codes
from peta.common import console, handle_errors, run_async, settings
from registry.rosters import read_roster
from verval.rosters import upload_roster, versions

app = typer.Typer(help="Programmes (PKH, BPNT, Kartu Bahagia, ...): keys, recipient rosters, eligibility lists.",
                  no_args_is_help=True)  # fmt: skip
roster_app = typer.Typer(help="Recipient rosters: import a programme's roster, list its versions.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(roster_app, name="roster")


@app.command("list")
@handle_errors
def programmes_list() -> None:
    """Every configured programme: code, name, owner, period, where it runs and its eligibility rule."""
    table = Table("code", "name", "owner", "period", "runs", "eligibility")
    for code, p in sorted(run_async(configured).items()):
        runs = "everywhere" if p.national else ", ".join(p.kotas) or ("deployment" if p.deployment else "")
        rule = "" if p.rule is None else f"desil {p.rule.desil} {p.rule.desil_min}-{p.rule.desil_max}"
        table.add_row(code, p.name, p.owner, p.period, runs, rule)
    console.print(table)


@app.command("key")
@handle_errors
def programmes_key(
    name: str = typer.Argument(..., help="The programme office, e.g. 'Dinsos Kota Jambi (PKH)'."),
    programme_code: str = typer.Option(..., "--programme", help="The programme the key serves, e.g. PKH."),
    scope_level: str = typer.Option("kota", help="provinsi (codes like 15), kota, kecamatan or kelurahan."),
    scope: list[str] | None = typer.Option(None, help=CODES_HELP),
    names_agreement: bool = typer.Option(
        False, "--names-agreement", help="An agreement lets its eligibility lists carry names, addresses and RTs."
    ),
    hashes: bool = typer.Option(
        True, "--hashes/--no-hashes",
        help="Its eligibility lists carry the shared keyed KK/NIK hashes (the default); --no-hashes leaves them out, so"
        " that its list cannot be linked with another agency's through them.",
    ),
) -> None:
    """Create a key bound to one programme (its rosters and lists, nothing else); printed once."""

    async def create(conn: psycopg.AsyncConnection[Any]) -> str:
        p = await programme(conn, programme_code)
        return await create_key(conn, name, scope_level, await _scope_codes(conn, scope_level, scope),
                                programme=p.code, programme_names=names_agreement, programme_hashes=hashes)  # fmt: skip

    key = run_async(create)
    console.print(f"API key for {name}, programme {programme_code} (store it now, it is not shown again):")
    print(key)


@roster_app.command("import")
@handle_errors
def roster_import(
    programme_code: str = typer.Argument(..., help="The programme, e.g. PKH."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX: no_kk, nik, kk_hash or nik_hash."),
    period: str = typer.Option(..., help="The period the roster is for: 2026-12 (month), 2026-Q4 or 2026."),
    partial: bool = typer.Option(False, "--partial", help="Keep the matched rows and report the others."),
) -> None:
    """Import a programme's recipient roster as a new version (all or nothing unless --partial)."""
    key = load_secret_key(settings())
    roster = read_roster(file, key)

    async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
        p = await programme(conn, programme_code)
        async with conn.transaction():
            return await upload_roster(conn, p, period, roster, actor=CliPrincipal.current().actor, role="admin",
                                       scope=None, filename=file.name, partial=partial)  # fmt: skip

    out = run_async(work)
    console.print(f"roster {out['roster_id']} of {out['programme']} {out['period']} (version {out['version']}):"
                  f" {out['matched']} of {out['rows']} rows matched, {out['unmatched']} not")  # fmt: skip
    for line in out["issues"] + out["notes"]:
        console.print(f"  - {line}", highlight=False, markup=False)


@roster_app.command("list")
@handle_errors
def roster_list(
    programme_code: str = typer.Argument(..., help="The programme, e.g. PKH."),
    period: str | None = typer.Option(None, help="Only this period."),
) -> None:
    """The programme's roster versions, newest first."""

    async def work(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
        await programme(conn, programme_code)
        return await versions(conn, programme_code, scope=None, period=period)

    table = Table("id", "period", "version", "sent by", "at", "rows", "matched", "unmatched", "scope")
    for r in run_async(work):
        table.add_row(str(r["id"]), r["period"], str(r["version"]), r["uploaded_by"],
                      f"{r['uploaded_at']:%Y-%m-%d %H:%M}", str(r["rows"]), str(r["matched"]), str(r["unmatched"]),
                      ", ".join(r["scope_codes"]) or "all")  # fmt: skip
    console.print(table)


@app.command("eligible")
@handle_errors
def programmes_eligible(
    programme_code: str = typer.Argument(..., help="The programme, e.g. PKH."),
    period: str = typer.Option(..., help="The period: 2026-12 (month), 2026-Q4 or 2026."),
    output: Path = typer.Option(..., dir_okay=False, help="Where to write the list (CSV)."),
) -> None:
    """Write the programme's eligible families for a period as CSV (fixed from the cut-off day; reads audited)."""
    from datetime import date

    from core import csvsafe
    from core.errors import InputError
    from gis.eligibility import eligible

    key = load_secret_key(settings())

    async def work(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
        p = await programme(conn, programme_code)
        if p.rule is None:
            raise InputError(f"programme {p.code} has no eligibility rule in the configuration (eligibility: ...)")
        async with conn.transaction():
            return await eligible(conn, p, period, key=key, actor=CliPrincipal.current().actor, role="admin",
                                  scope=None, names=True, today=date.today(), limit=10_000_000)  # fmt: skip

    out = run_async(work)
    with output.open("w", newline="") as stream:
        writer = csvsafe.writer(stream)
        writer.writerow(out["fields"])
        writer.writerows([("" if i[c] is None else i[c]) for c in out["fields"]] for i in out["items"])
    state = "fixed" if out["fixed"] else f"provisional until the cut-off {out['cutoff']}"
    console.print(f"{out['total']} families eligible for {out['programme']} {out['period']} ({state}) -> {output}")
