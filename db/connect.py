"""Where the database is, connections to it, and creating or dropping a database (with PostGIS)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from core.errors import DatabaseUnavailable
from core.settings import Settings, get_settings
from db import citus
from db.embedded import EmbeddedCluster


def database_url(settings: Settings | None = None) -> str:
    """DATABASE_URL if set, else the URL recorded by `peta db up`."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    state = _embedded(settings).load_state()
    if state is None:
        raise DatabaseUnavailable(
            f"no database configured: set DATABASE_URL or run `peta db up` (PETA_HOME={settings.peta_home})"
        )
    return state.url


def app_database_url(settings: Settings | None = None) -> str:
    """The URL the served application uses: the least-privilege role where one is configured."""
    settings = settings or get_settings()
    if settings.app_database_url:
        return settings.app_database_url
    if settings.database_url:
        return settings.database_url
    state = _embedded(settings).load_state()
    if state is not None and state.app_url:
        return state.app_url
    return database_url(settings)


def _embedded(settings: Settings) -> EmbeddedCluster:
    """The embedded cluster the last `peta db up` started: the single one, or the Citus coordinator."""
    return citus.node(settings, citus.COORDINATOR) if citus.mode(settings) == "citus" else EmbeddedCluster(settings)


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    """A new connection; a DatabaseUnavailable error when the server does not answer."""
    target = url or database_url()
    try:
        return psycopg.connect(target, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise _unavailable(target, exc) from exc


async def connect_async(url: str | None = None) -> psycopg.AsyncConnection[Any]:
    """`connect` for the async data layer (the command line's `run_async`)."""
    target = url or database_url()
    try:
        return await psycopg.AsyncConnection.connect(target, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise _unavailable(target, exc) from exc


def _unavailable(target: str, exc: psycopg.OperationalError) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot reach the database at {_host_of(target)}: {str(exc).strip().splitlines()[-1]}"
        " (is it running? try `peta db up` or `peta db status`)"
    )


def _host_of(url: str) -> str:
    return url.rsplit("@", 1)[-1]


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    base, _, rest = url.rpartition("/")
    query = ("?" + rest.split("?", 1)[1]) if "?" in rest else ""
    return f"{base}/{dbname}{query}"


def create_database(url: str, dbname: str, *, drop_first: bool = False) -> str:
    """Create `dbname` on the server of `url` (if missing) with PostGIS; returns its URL."""
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        if drop_first:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    target = with_database(url, dbname)
    with connect(target, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return target


def drop_database(url: str, dbname: str) -> None:
    """Drop `dbname` on the server of `url`, closing its sessions."""
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
