"""`peta households`: import the registry's families."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from core.config import load_config
from core.settings import load_secret_key
from peta.common import cli_connect, console, err_console, handle_errors, progress_bar, settings
from registry.importer import import_households
from registry.mapping import load_mapping

app = typer.Typer(help="Import the registry's families.", no_args_is_help=True)


def _default_report(path: Path) -> Path:
    """`<file>.report.csv` beside the input, or in the working directory when that folder is read-only."""
    beside = path.with_name(path.stem + ".report.csv")
    try:
        beside.touch()
        beside.unlink()
        return beside
    except OSError:
        return Path.cwd() / beside.name


@app.command("import")
@handle_errors
def import_cmd(
    path: Path = typer.Argument(..., help="CSV or XLSX file of families (see the README for its columns)."),
    mapping: Path | None = typer.Option(None, exists=True, dir_okay=False, help="YAML file renaming the columns."),
    crs: str | None = typer.Option(
        None, help="CRS of x/y columns, e.g. EPSG:327zz (UTM zz S) (overrides the mapping's)."
    ),
    trust: str = typer.Option("point", help="When the point and the RT code disagree: 'point' or 'code'."),
    tolerance: float | None = typer.Option(
        None, min=0, help="Metres outside every RT a point may lie (default: config)."
    ),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid rows; report the rejected ones."),
    report: Path | None = typer.Option(None, help="Where to write every issue as CSV (default: <file>.report.csv)."),
) -> None:
    """Import families in one transaction: any bad row rejects the file unless --skip-invalid."""
    if trust not in ("point", "code"):
        raise typer.BadParameter("use 'point' or 'code'", param_hint="--trust")
    chosen = load_mapping(mapping)
    if crs:
        chosen = dataclasses.replace(chosen, crs=crs)
    tol = tolerance if tolerance is not None else float(load_config()["placement"]["tolerance_m"])
    target = report or _default_report(path)
    with cli_connect() as conn, progress_bar(f"importing {path.name}") as update:
        result = import_households(
            conn,
            path,
            key=load_secret_key(settings()),
            mapping=chosen,
            trust=trust,
            tolerance_m=tol,
            skip_invalid=skip_invalid,
            report=target,
            progress=lambda f: update("reading rows", f),
        )
    for line in result.lines()[:50]:
        err_console.print(line, highlight=False, markup=False)
    console.print(
        f"[green]{path}[/]: {result.rows:,} rows: {result.inserted:,} new, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.rejected_rows:,} rejected, {result.warnings:,} warnings"
        + (f"; every issue is in {target}" if result.rejected_rows or result.warnings else "")
    )
