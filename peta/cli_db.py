"""`peta db`: the embedded cluster and migrations."""

from __future__ import annotations

import json

import typer

from db import citus
from db import migrate as schema
from db.connect import connect, create_database, database_url
from db.embedded import EmbeddedCluster
from db.migrate import current_revision
from peta.common import console, handle_errors, settings

app = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)


def ensure_database(workers: int | None = None) -> str:
    """Bring the configured database up and migrate it; returns its URL. Without DATABASE_URL it is embedded:
    one cluster (`workers` 0), a Citus coordinator and `workers` workers, or (None, every command but
    `peta db up`) whichever of the two the last `peta db up` chose, so that `peta demo` after
    `peta db up --citus 2` loads into the coordinator."""
    s = settings()
    if workers is None and not s.database_url and citus.mode(s) == "citus":
        workers = citus.workers_on_disk(s)
    if s.database_url:
        if workers:
            raise typer.BadParameter("--citus starts embedded nodes: unset DATABASE_URL (or point it at a coordinator)")
        url = s.database_url
        schema.migrate(url)
        return url
    if workers:
        state = citus.up(s, workers)
        schema.migrate(state.url)
        citus.enable_app_role(s, state.url)
        return state.url
    cluster = EmbeddedCluster(s)
    state = cluster.start()
    url = create_database(state.url, state.dbname)
    schema.migrate(url)
    cluster.enable_app_role(url)
    citus.set_mode(s, "single")
    return url


@app.command()
@handle_errors
def up(
    workers: int = typer.Option(
        0, "--citus", metavar="N", help="Start an embedded Citus cluster instead: a coordinator and N workers (1-8)."
    ),
) -> None:
    """Create (once) and start the embedded PostgreSQL + PostGIS under $PETA_HOME, then migrate.

    With --citus N, a coordinator and N workers instead, each its own cluster under $PETA_HOME/citus (loopback
    only, citus and PostGIS on every node); `peta` then uses the coordinator until a plain `peta db up`.
    With DATABASE_URL set, only checks PostGIS and applies migrations there.
    """
    url = ensure_database(workers)
    s = settings()
    if s.database_url:
        where = "DATABASE_URL"
    elif workers:
        where = f"embedded Citus cluster in {citus.folder(s)}: a coordinator and {workers} workers"
    else:
        where = f"embedded cluster in {s.peta_home / 'pgdata'}"
    console.print(f"[green]database ready[/] ({where}) at {url.rsplit('@', 1)[-1]}")


@app.command()
@handle_errors
def down() -> None:
    """Stop the embedded cluster (and the nodes of the embedded Citus cluster, if any run)."""
    s = settings()
    stopped = EmbeddedCluster(s).stop()
    nodes = citus.down(s)
    if nodes:
        console.print(f"stopped the Citus nodes: {', '.join(nodes)}")
    console.print("stopped" if stopped else "the embedded cluster was not running")


@app.command()
@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Say which database is used, whether it runs, and where."""
    s = settings()
    info: dict[str, object] = {"database_url_set": bool(s.database_url)}
    info["embedded"] = EmbeddedCluster(s).status()
    if citus.folder(s).exists():
        info["citus"] = citus.status(s)
    try:
        with connect(database_url(s)) as conn:
            info["reachable"] = True
            info["revision"] = current_revision(conn)
            info["postgis"] = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
            info["postgis"] = info["postgis"][0] if info["postgis"] else None  # type: ignore[index]
    except Exception as exc:  # noqa: BLE001 - status reports any failure as text
        info["reachable"] = False
        info["error"] = str(exc).splitlines()[0]
    if as_json:
        console.print_json(json.dumps(info))
        return
    emb = info["embedded"]
    assert isinstance(emb, dict)
    which = "DATABASE_URL" if s.database_url else ("embedded Citus" if citus.mode(s) == "citus" else "embedded")
    console.print(f"database: {which}")
    console.print(
        f"embedded cluster: {emb['pgdata']} "
        f"({'running on port ' + str(emb['port']) if emb['running'] else 'not running'})"
    )
    cluster = info.get("citus")
    nodes: dict[str, dict[str, object]] = cluster["nodes"] if isinstance(cluster, dict) else {}
    for name, n in nodes.items():
        console.print(f"citus {name}: {'running on port ' + str(n['port']) if n['running'] else 'not running'}")
    console.print(
        f"reachable: {info['reachable']}"
        + (
            f" · migration {info.get('revision')} · PostGIS {info.get('postgis')}"
            if info["reachable"]
            else f" ({info.get('error')})"
        )
    )


@app.command()
@handle_errors
def migrate(revision: str = typer.Argument("head", help="Target Alembic revision.")) -> None:
    """Apply schema migrations to the configured database."""
    schema.migrate(database_url(settings()), revision)
    console.print(f"migrated to {revision}")
