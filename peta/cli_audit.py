"""`peta audit`: check the hash chain, show the newest entries."""

from __future__ import annotations

import typer
from rich.table import Table

from gis.audit import recent, verify_chain
from peta.common import cli_connect, console, handle_errors

app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)


@app.command()
@handle_errors
def verify() -> None:
    """Recompute the hash chain; exit 1 naming the first row changed or removed."""
    with cli_connect() as conn:
        report = verify_chain(conn)
    if not report.ok:
        console.print(f"[red]audit trail tampered:[/] {report.message}")
        raise typer.Exit(1)
    console.print(f"[green]ok[/]: {report.message}")


@app.command()
@handle_errors
def show(limit: int = typer.Option(20, min=1, max=1000, help="How many of the newest entries.")) -> None:
    """The newest audit entries: who, role, when, what, how many objects, why."""
    with cli_connect() as conn:
        rows = recent(conn, limit)
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
