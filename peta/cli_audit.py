"""`peta audit`: check the hash chain, show the newest entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.table import Table

from core.settings import load_secret_key
from gis.audit import Anchor, ChainReport, check_anchor, recent, seal, take_anchors, verify_chain
from gis.subject import subject_export
from peta.common import cli_actor, console, handle_errors, run_async, settings

app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)


@app.command()
@handle_errors
def verify(
    anchor: list[str] | None = typer.Option(
        None,
        help="An anchor printed earlier by `peta audit anchor`: its chain must still hold that row and hash"
        " (repeat the option for each chain's anchor).",
    ),
) -> None:
    """Seal the committed rows, then recompute the hash chain (each row with its own encoding); exit 1 naming the
    first row changed or removed, or, with --anchor, how the chain no longer holds the anchored row."""
    pinned = [Anchor.parse(a) for a in anchor or []]

    async def check(conn: psycopg.AsyncConnection[Any]) -> list[ChainReport]:
        await seal(conn)
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)  # rows and head from one snapshot
        async with conn.transaction():
            reports = [await verify_chain(conn)]
            for one in pinned:
                reports.append(await check_anchor(conn, one))
        return reports

    reports = run_async(check)
    for report in reports:
        if report.ok:
            console.print(f"[green]ok[/]: {report.message}", soft_wrap=True)
        else:
            console.print(f"[red]audit trail tampered:[/] {report.message}", soft_wrap=True)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@app.command()
@handle_errors
def anchor() -> None:
    """Print the head of every (verified) chain to keep outside the database, one line each: its row id, hash
    and the time. There is a chain per kab/kota and the deployment's own chain (users, keys, settings).

    Later, `peta audit verify --anchor VALUE` proves that no row of that chain up to that one was changed,
    removed or rewritten since, even by someone who could rewrite the whole table and its heads."""

    async def take(conn: psycopg.AsyncConnection[Any]) -> list[Anchor]:
        await seal(conn)
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        return await take_anchors(conn)

    for pinned in run_async(take):
        print(pinned)  # alone on stdout, unwrapped, to be copied or redirected


@app.command("seal")
@handle_errors
def seal_command() -> None:
    """Chain the committed audit rows not sealed yet (the served application does this every second; this is
    for a deployment that runs no server, or before a backup)."""
    sealed = run_async(seal)
    console.print(f"sealed {sealed:,} audit rows")


@app.command()
@handle_errors
def show(limit: int = typer.Option(20, min=1, max=1000, help="How many of the newest entries.")) -> None:
    """The newest audit entries: who, role, when, what, how many objects, why."""
    rows = run_async(lambda conn: recent(conn, limit))
    table = Table("id", "at", "actor", "role", "action", "object", "objects", "reason")
    for r in rows:
        table.add_row(
            str(r["id"]),
            f"{r['at']:%Y-%m-%d %H:%M:%S}",
            r["actor"],
            r["role"] or "",
            r["action"],
            r["object_type"],
            f"{r['objects']:,}",
            r["reason"] or "",
        )
    console.print(table)


@app.command()
@handle_errors
def subject(
    kk: str = typer.Option(..., prompt=True, hide_input=True, help="The family's 16-digit KK number."),
    output: Path = typer.Option(..., dir_okay=False, help="Where to write the JSON document."),
) -> None:
    """A family's own data and processing trail (subject access); the export is audited."""
    from core.privacy import keyed_hash

    kk_hash = keyed_hash(load_secret_key(settings()), kk.strip())
    document = run_async(lambda conn: subject_export(conn, kk_hash, cli_actor()))
    if document is None:
        console.print("[red]error:[/] no family with that KK number")
        raise typer.Exit(1)
    output.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False))
    console.print(f"wrote the family's data and {len(document['processing'])} processing entries to {output}")
