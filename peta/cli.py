"""The `peta` command."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from peta import (
    cli_access,
    cli_audit,
    cli_boundaries,
    cli_db,
    cli_households,
    cli_programmes,
    cli_registry,
    cli_verval,
)
from peta.cli_db import ensure_database
from peta.common import cli_connect, console, handle_errors, progress_bar, settings

app = typer.Typer(
    help="Peta Verval: find, rank and verify the poorest families of a kab/kota (or many).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cli_db.app, name="db")
app.add_typer(cli_boundaries.app, name="boundaries")
app.add_typer(cli_households.app, name="households")
app.add_typer(cli_registry.rank_app, name="rank")
app.add_typer(cli_access.users_app, name="users")
app.add_typer(cli_access.keys_app, name="keys")
app.add_typer(cli_audit.app, name="audit")
app.add_typer(cli_verval.app, name="campaign")
app.add_typer(cli_programmes.app, name="programmes")
app.command("stats")(handle_errors(cli_registry.stats))


DEMO_GENERATOR = 2  # bump when the generator changes what a seed produces (2: the city from its boundary file)


@app.command()
@handle_errors
def demo(
    seed: int = typer.Option(2026, help="Random seed: the same seed gives the same city."),
    scale: float = typer.Option(1.0, min=0.01, max=20.0, help="Multiply residents, RTs and families (benchmarks)."),
    boundaries: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Real kelurahan polygons to build the city in (e.g. kelurahan.geojson): any kab/kota, whose code, "
        "UTM zone and dense centre are taken from the file.",
    ),
    kota: str | None = typer.Option(
        None,
        metavar="CODE",
        help="The kab/kota (e.g. 12.71): with --boundaries, the one to build from a file holding several; "
        "without, the synthetic city's code (Kota Jambi's 15.71 when not given).",
    ),
    add: bool = typer.Option(
        False,
        "--add",
        help="Keep the other kab/kota: replace only this city's areas and families (several cities in one database).",
    ),
    cities: int = typer.Option(
        1,
        "--cities",
        min=1,
        max=200,
        metavar="N",
        help="Build N synthetic cities (the demo city and N-1 more, each its own kab/kota at the same density) in one "
        "transaction: many cities in one deployment.",
    ),
    skip_if_loaded: bool = typer.Option(
        False, "--skip-if-loaded", help="Do nothing when the database already holds this very demo city."
    ),
    export_csv: Path | None = typer.Option(
        None, dir_okay=False, help="Only write the families as a registry CSV (import format); load nothing."
    ),
) -> None:
    """Generate the deterministic demo city and load it, replacing the current areas and households (with --add,
    only those of its own kab/kota)."""
    from boundaries.demo import DemoConfig, generate_city, load_city
    from core.settings import load_secret_key
    from db.meta import get_meta, set_meta

    config = DemoConfig(
        seed=seed, scale=scale, boundaries=boundaries, kota_code=kota, secret_key=load_secret_key(settings())
    )
    config.check()  # a bad --kota is refused before any database work
    if add and skip_if_loaded:
        raise typer.BadParameter("--skip-if-loaded compares with the one demo city loaded; it does not go with --add")
    configs = [config]
    if cities > 1:
        from boundaries.demo.cities import city_configs

        if export_csv is not None:
            raise typer.BadParameter("--export-csv writes one city's families; it does not go with --cities")
        try:
            configs = city_configs(cities, config)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    if export_csv is not None:
        from boundaries.demo.export import export_csv as write_csv

        with progress_bar("generating the demo city") as update:
            city = generate_city(config, update)
        console.print(f"wrote {write_csv(city, export_csv):,} families to {export_csv}")
        return
    url = ensure_database()
    wanted = {
        "seed": seed,
        "scale": scale,
        "boundaries": str(boundaries.resolve()) if boundaries else None,
        "kota": kota,
        "generator": DEMO_GENERATOR,
        **({"cities": cities} if cities > 1 else {}),
    }
    if skip_if_loaded:
        with cli_connect(url) as conn:
            if get_meta(conn, "demo") == wanted:
                console.print(f"the demo city (seed {seed}, scale {scale}) is already loaded; nothing to do")
                return
    started = time.perf_counter()
    totals: dict[str, int] = {}
    names = []
    # every city in one transaction: an interrupted run leaves the database as it was
    with cli_connect(url) as conn, conn.transaction():
        if not add:  # every kab/kota is replaced: so are the cities added beside the last one
            conn.execute("DELETE FROM app_meta WHERE key LIKE 'demo:%'")
        for i, cfg in enumerate(configs):
            of = f" {i + 1}/{len(configs)}" if len(configs) > 1 else ""
            with progress_bar(f"generating the demo city{of}") as update:
                city = generate_city(cfg, update)
            with progress_bar(f"loading into PostGIS{of}") as update:
                counts = load_city(conn, city, update, keep_others=add or i > 0)
            first = i == 0 and not add
            set_meta(conn, "demo" if first else f"demo:{city.kota().code}",
                     wanted if i == 0 else {**wanted, "seed": cfg.seed, "kota": cfg.kota_code})  # fmt: skip
            totals = {k: totals.get(k, 0) + v for k, v in counts.items()}
            names.append(f"{city.kota().name} ({city.kota().code})")
    took = time.perf_counter() - started
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    where = names[0] if len(names) == 1 else f"{len(names)} cities ({shown})"
    where += ", beside the other kab/kota" if add else ""
    console.print(
        f"[green]demo city loaded[/] in {took:.1f} s, {where}: " + ", ".join(f"{v:,} {k}" for k, v in totals.items())
    )


@app.command()
@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=16, help="Worker processes."),
) -> None:
    """Serve the API and the portal (http://HOST:PORT/portal)."""
    import uvicorn

    from db.connect import database_url

    database_url(settings())  # fail here, with a clear message, when no database is configured
    console.print(f"serving on http://{host}:{port}/ (Ctrl+C stops)")
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
        # on SIGTERM, requests under way get this long to finish, then are cancelled: a stalled client
        # cannot hold the shutdown (and the container's restart) indefinitely
        timeout_graceful_shutdown=settings().shutdown_timeout_s,
    )


if __name__ == "__main__":
    app()
