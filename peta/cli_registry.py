"""`peta stats` and `peta rank`: per-area figures and the poverty ranking."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.table import Table

from core import csvsafe
from core.config import load_config
from core.levels import check_level
from gis.config import apply_config, stored_config
from gis.figures import read_public, read_stats
from gis.ranking import desil_crosstab, explain, ranked
from peta.common import console, handle_errors, run_async

rank_app = typer.Typer(help="The explainable poverty ranking of families.", no_args_is_help=True)

SUMMARY = (
    ("code", "kode"), ("name", "nama"), ("population", "penduduk"), ("families", "KK"), ("people", "jiwa"),
    ("poor_bps_people", "miskin (BPS) jiwa"), ("poverty_rate_pct", "% miskin"),
    ("under_coverage_people", "kurang terdata"), ("verified_families", "KK diverval"),
    ("coverage_pct", "% cakupan"), ("days_since_verval", "hari sejak verval"),
)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def stats(
    level: str = typer.Argument(..., help="kota, kecamatan, kelurahan, rw or rt."),
    parent: str | None = typer.Option(None, help="Only areas under this code."),
    as_json: bool = typer.Option(False, "--json", help="Every figure of every area as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Every figure of every area as CSV."),
    public: bool = typer.Option(
        False, "--public", help="As published outside Dinsos: counts with cell-key noise, shown counts of 1-4 hidden."
    ),
) -> None:
    """Per-area population, registry, poverty under each definition, verification coverage and programme gaps."""
    level = check_level(level)
    read = read_public if public else read_stats
    rows = [{k: _plain(v) for k, v in r.items()} for r in run_async(lambda conn: read(conn, level, parent=parent))]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif as_csv:
        writer = csvsafe.dict_writer(sys.stdout, fieldnames=list(rows[0]) if rows else ["code"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=f"{level}: {len(rows)} areas")
        for _, title in SUMMARY:
            table.add_column(title, justify="left" if title in ("kode", "nama") else "right")
        for r in rows:
            table.add_row(
                *("–" if r[k] is None else f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k, _ in SUMMARY)
            )
        console.print(table)


@rank_app.command("apply")
@handle_errors
def rank_apply(config: Path = typer.Option(..., exists=True, dir_okay=False, help="YAML settings file.")) -> None:
    """Validate a settings file (weights, category thresholds, …) and recompute every score and figure."""
    cfg = load_config(config)
    run_async(lambda conn: apply_config(conn, cfg))
    console.print(f"applied {config}: scores, desil and aggregates recomputed")


@rank_app.command("show")
@handle_errors
def rank_show(
    kota: str | None = typer.Option(None, help="Rank within this kab/kota code (e.g. 15.71)."),
    kelurahan: str | None = typer.Option(None, help="Rank within this kelurahan code (its kab/kota's families)."),
    limit: int = typer.Option(20, min=1, max=1000, help="How many families."),
) -> None:
    """The poorest families first, with score, BPS count, local and official desil (masked KK only); every kab/kota
    of the deployment together unless --kota or --kelurahan names one."""
    rows = run_async(lambda conn: ranked(conn, kota=kota, kelurahan=kelurahan, limit=limit))
    where = kelurahan or kota
    table = Table(title="Peringkat keluarga" + (f" di {where}" if where else ""))
    for col in ("rank", "id", "KK", "RT", "score", "BPS", "desil lokal", "desil resmi", "selisih", "kategori"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            *(
                str(x) if x is not None else "–"
                for x in (
                    r["rank_in_scope"],
                    r["id"],
                    r["kk_masked"],
                    r["rt_code"],
                    r["score"],
                    r["bps_count"],
                    r["local_desil"],
                    r["desil_resmi"],
                    r["desil_diff"],
                    r["category"],
                )
            )
        )
    console.print(table)


@rank_app.command("explain")
@handle_errors
def rank_explain(household_id: int = typer.Argument(..., help="Family id.")) -> None:
    """Why a family ranks where it does: each indicator's contribution to its score."""
    info = run_async(lambda conn: explain(conn, household_id))
    if info is None:
        raise typer.Exit(_missing(household_id))
    console.print(
        f"score {info['score']:.2f} · BPS {info['bps_count']}/14 · rank {info['local_rank']:,} of "
        f"{info['ranked_families']:,} (kelurahan {info['kelurahan_rank']:,}) · desil lokal {info['local_desil']}"
        f" · desil resmi {info['desil_resmi'] or '–'} · kategori {info['category'] or '–'}"
    )
    for c in info["contributions"]:
        console.print(f"  {'✔' if c['met'] else '·'} {c['indicator']} {c['label']}: +{c['points']:.2f}")


def _missing(household_id: int) -> int:
    console.print(f"[red]error:[/] no ranked family {household_id} (unknown, or removed after verification)")
    return 1


@rank_app.command("desil")
@handle_errors
def rank_desil() -> None:
    """Local desil against the official one: families per cell."""

    async def read(conn: psycopg.AsyncConnection[Any]) -> tuple[list[tuple[int, int | None, int]], Any]:
        return await desil_crosstab(conn), (await stored_config(conn)).get("ranking", {}).get("categories")

    cells, categories = run_async(read)
    official = sorted({o for _, o, _ in cells if o is not None}) + [None]
    table = Table(title="desil lokal (baris) × desil resmi (kolom)")
    table.add_column("lokal")
    for o in official:
        table.add_column(str(o) if o else "–", justify="right")
    grid = {(loc, o): n for loc, o, n in cells}
    for loc in sorted({loc for loc, _, _ in cells}):
        table.add_row(str(loc), *(f"{grid.get((loc, o), 0):,}" for o in official))
    console.print(table)
    console.print(f"category thresholds (minimum score): {json.dumps(categories)}")
