"""`peta boundaries`: import, check and derive areas."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from boundaries.check import CheckReport, check_boundaries
from boundaries.derive import DeriveReport, derive_parents, derive_rt
from boundaries.importer import ImportReport, import_boundaries
from boundaries.reader import FieldNames, read_points
from core.levels import LEVELS
from peta.common import cli_connect, console, err_console, handle_errors

app = typer.Typer(help="Import, check and derive administrative boundaries.", no_args_is_help=True)

LEVEL_HELP = f"Level of the areas: {', '.join(LEVELS)}."


def _connect():  # type: ignore[no-untyped-def]
    return cli_connect()


@app.command("import")
@handle_errors
def import_(
    path: Path = typer.Argument(..., help="GeoJSON, zipped Shapefile, GeoPackage or KML file."),
    level: str = typer.Option(..., "--level", "-l", help=LEVEL_HELP),
    code_field: str | None = typer.Option(None, help="Attribute holding the area code (default: kode/code)."),
    name_field: str | None = typer.Option(None, help="Attribute holding the name (default: nama/name)."),
    parent_field: str | None = typer.Option(None, help="Attribute holding the parent code (default: code prefix)."),
    population_field: str | None = typer.Option(None, help="Attribute holding the population, if any."),
    crs: str | None = typer.Option(
        None, help="CRS of a file that declares none (or declares it wrongly), e.g. EPSG:327zz (UTM zz S)."
    ),
    layer: str | None = typer.Option(None, help="Layer to read in a multi-layer file."),
    repair: bool = typer.Option(
        False, "--repair", help="Repair invalid geometries with ST_MakeValid instead of failing."
    ),
    source: str | None = typer.Option(None, help="Source recorded with the areas (default: file name)."),
    derive_parents: bool = typer.Option(
        False, "--derive-parents", help="Create missing parent areas by dissolving these areas by code prefix."
    ),
    outside_parent: bool = typer.Option(
        False, "--outside-parent", help="Import areas lying mostly outside their loaded parent (refused otherwise)."
    ),
) -> None:
    """Import one boundary layer in a single transaction (upsert by code, previous versions kept)."""
    fields = FieldNames(code=code_field, name=name_field, parent=parent_field, population=population_field)
    with _connect() as conn, err_console.status(f"importing {path.name} as {level}"):
        report = import_boundaries(
            conn,
            path,
            level,
            fields=fields,
            crs=crs,
            layer=layer,
            repair=repair,
            source=source,
            derive_missing_parents=derive_parents,
            outside_parent=outside_parent,
        )
    print_import(report)


def print_import(r: ImportReport) -> None:
    """Summarise an import."""
    for rep in r.repairs:
        console.print(
            f"repaired feature {rep.index} (code {rep.code}): {rep.reason}; "
            f"area {rep.area_before_m2:,.0f} m² → {rep.area_after_m2:,.0f} m²"
        )
    console.print(
        f"[green]{r.path}[/]: {r.features} {r.level} feature(s) from {r.source_crs}: "
        f"{len(r.inserted)} new, {len(r.updated)} updated, {r.unchanged} unchanged, {len(r.repairs)} repaired"
    )
    if r.derived_parents:
        console.print(f"derived {len(r.derived_parents)} missing parent area(s): {', '.join(r.derived_parents)}")


@app.command()
@handle_errors
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    min_area: float = typer.Option(1.0, help="Ignore overlaps and gaps below this many m²."),
    level: list[str] | None = typer.Option(None, "--level", "-l", help="Only these levels (repeatable)."),
) -> None:
    """Report overlaps, gaps, children outside their parent and parent/children disagreement, per level."""
    with _connect() as conn, err_console.status("checking boundaries"):
        report = check_boundaries(conn, min_area_m2=min_area, levels=level or None)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_check(report)


def print_check(r: CheckReport) -> None:
    """The report as two tables and the worst cases."""
    t = Table(title="Overlapping areas of the same level")
    for col in ("level", "areas", "pairs", "of which siblings", "total m²", "largest m²", "% of level"):
        t.add_column(col, justify="right" if col != "level" else "left")
    for o in r.overlaps:
        t.add_row(
            o.level,
            str(o.areas),
            str(o.pairs),
            str(o.sibling_pairs),
            f"{o.total_m2:,.0f}",
            f"{o.max_m2:,.0f}",
            f"{o.pct_of_level:.3f}",
        )
    console.print(t)
    for o in r.overlaps:
        for item in o.items[:3]:
            console.print(
                f"  {o.level}: {item.a} × {item.b}: {item.m2:,.0f} m² ({item.pct_of_smaller:.2f} % of the smaller)"
            )
    h = Table(title="Parent layer against its children")
    for col in ("parent", "child", "gap m²", "children outside m²", "disagreement m²", "%", "orphans"):
        h.add_column(col, justify="right" if col not in ("parent", "child") else "left")
    for x in r.hierarchy:
        h.add_row(
            x.parent_level,
            x.child_level,
            f"{x.gap_m2:,.0f}",
            f"{x.outside_m2:,.0f}",
            f"{x.disagreement_m2:,.0f}",
            f"{x.disagreement_pct:.2f}",
            str(len(x.orphans)),
        )
    console.print(h)


def _print_derive(r: DeriveReport) -> None:
    console.print(f"[green]{r.level}[/]: {len(r.inserted)} new, {len(r.updated)} updated, {r.unchanged} unchanged")
    for idx, code in r.outside_kelurahan[:20]:
        console.print(f"  point {idx} (RT {code}) lies outside its kelurahan: not inside its RT")
    if len(r.outside_kelurahan) > 20:
        console.print(f"  … and {len(r.outside_kelurahan) - 20} more points outside their kelurahan")


@app.command("derive-parents")
@handle_errors
def derive_parents_cmd(
    level: str = typer.Option(..., "--level", "-l", help="Level to derive from the level below, e.g. kecamatan."),
    replace: bool = typer.Option(False, "--replace", help="Replace existing areas of the level (kept as versions)."),
) -> None:
    """Dissolve children by code prefix into their parents (e.g. kelurahan → kecamatan)."""
    with _connect() as conn, err_console.status(f"deriving {level}"):
        report = derive_parents(conn, level, replace=replace)
    _print_derive(report)


@app.command("derive-rt")
@handle_errors
def derive_rt_cmd(
    points: Path | None = typer.Argument(
        None, help="Points labelled with RT codes (CSV lon/lat, GeoJSON, GPKG…); default: the households table."
    ),
    code_field: str = typer.Option("kode_rt", help="Attribute holding the RT code."),
    crs: str | None = typer.Option(
        None, help="CRS of the points when the file declares none, e.g. EPSG:327zz (UTM zz S)."
    ),
) -> None:
    """Build RT (and missing RW) polygons from labelled household points.

    Voronoi cells of the points, dissolved by RT code and clipped to the kelurahan.
    """
    pts = read_points(points, code_field=code_field, crs=crs) if points else None
    with _connect() as conn, err_console.status("deriving RT areas"):
        report = derive_rt(conn, pts)
    _print_derive(report)
