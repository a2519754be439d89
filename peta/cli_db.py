"""`peta db`: the embedded cluster and migrations."""

from __future__ import annotations

import json

import typer

from db import migrate as schema
from db.connect import connect, create_database, database_url
from db.embedded import EmbeddedCluster
from db.migrate import current_revision
from peta.common import console, handle_errors, settings

app = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)


def ensure_database() -> str:
    """Bring the configured database up (embedded if no DATABASE_URL) and migrate it; returns its URL."""
    s = settings()
    if s.database_url:
        url = s.database_url
        schema.migrate(url)
        return url
    cluster = EmbeddedCluster(s)
    state = cluster.start()
    url = create_database(state.url, state.dbname)
    schema.migrate(url)
    cluster.enable_app_role(url)
    return url


@app.command()
@handle_errors
def up() -> None:
    """Create (once) and start the embedded PostgreSQL + PostGIS under $PETA_HOME, then migrate.

    With DATABASE_URL set, only checks PostGIS and applies migrations there.
    """
    url = ensure_database()
    s = settings()
    where = "DATABASE_URL" if s.database_url else f"embedded cluster in {s.peta_home / 'pgdata'}"
    console.print(f"[green]database ready[/] ({where}) at {url.rsplit('@', 1)[-1]}")


@app.command()
@handle_errors
def down() -> None:
    """Stop the embedded cluster."""
    stopped = EmbeddedCluster(settings()).stop()
    console.print("stopped" if stopped else "the embedded cluster was not running")


@app.command()
@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Say which database is used, whether it runs, and where."""
    s = settings()
    info: dict[str, object] = {"database_url_set": bool(s.database_url)}
    info["embedded"] = EmbeddedCluster(s).status()
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
    console.print(f"database: {'DATABASE_URL' if s.database_url else 'embedded'}")
    console.print(
        f"embedded cluster: {emb['pgdata']} "
        f"({'running on port ' + str(emb['port']) if emb['running'] else 'not running'})"
    )
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
