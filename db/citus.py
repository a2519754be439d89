"""An embedded Citus cluster on this machine (`peta db up --citus N`): a coordinator and N workers, each its own
PostgreSQL cluster under $PETA_HOME/citus/<node>, listening on loopback only, with citus and PostGIS in the
`peta` database of every node, the workers registered with the coordinator.

Development, tests and benchmarks only: a real deployment installs Citus's packages on real machines, or uses a
managed Citus, and points DATABASE_URL at its coordinator. The nodes share one generated password for the `peta`
superuser; the coordinator reaches the workers with it through Citus's own pg_dist_authinfo (no password file).
Which cluster `peta` uses without DATABASE_URL is the one the last `peta db up` started (`mode`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from core.errors import ConfigError
from core.settings import Settings
from db.embedded import APP_ROLE, DB_USER, ClusterState, EmbeddedCluster, _major_version, _redact, find_bindir, sharedir

CITUS_DIR = "citus"
COORDINATOR = "coordinator"
MODE_FILE = "mode"  # under $PETA_HOME: "citus" after `peta db up --citus N`, "single" after `peta db up`
MAX_WORKERS = 8
BUILD_HINT = (
    "build it into this machine's PostgreSQL with `make citus` (../shared/vendor/citus/build-citus.sh, as root), "
    "or install Citus's packages (postgresql-15-citus-13.2)"
)


def folder(settings: Settings) -> Path:
    return settings.peta_home / CITUS_DIR


def node(settings: Settings, name: str) -> EmbeddedCluster:
    """One node's cluster: its own pgdata, log and state file under $PETA_HOME/citus/<name>."""
    return EmbeddedCluster(settings, home=folder(settings) / name)


def worker_names(count: int) -> list[str]:
    return [f"worker{i}" for i in range(1, count + 1)]


def check_citus(bindir: Path) -> None:
    """Raise a ConfigError saying how to get Citus when the extension is not installed."""
    control = sharedir(bindir) / "extension" / "citus.control"
    if not control.exists():
        major = _major_version(bindir)
        raise ConfigError(f"Citus is not installed for PostgreSQL {major} (no {control}): {BUILD_HINT}")


def set_mode(settings: Settings, mode: str) -> None:
    settings.peta_home.mkdir(parents=True, exist_ok=True)
    (settings.peta_home / MODE_FILE).write_text(mode + "\n")


def mode(settings: Settings) -> str:
    """'citus' when the last `peta db up` started the embedded Citus cluster, else 'single'."""
    path = settings.peta_home / MODE_FILE
    return path.read_text().strip() if path.exists() else "single"


def coordinator_state(settings: Settings) -> ClusterState | None:
    return node(settings, COORDINATOR).load_state()


def _workers_on_disk(settings: Settings) -> list[str]:
    root = folder(settings)
    if not root.exists():
        return []
    names = [p.name for p in root.iterdir() if p.name.startswith("worker") and p.name[6:].isdigit()]
    return sorted(names, key=lambda n: int(n[6:]))


def workers_on_disk(settings: Settings) -> int:
    """How many workers the embedded Citus cluster has (0 when there is none)."""
    return len(_workers_on_disk(settings))


def up(settings: Settings, workers: int) -> ClusterState:
    """Start (creating on first use) the coordinator and `workers` workers, each with citus and PostGIS in the
    `peta` database, and register the workers; returns the coordinator's state (its URL is the database's)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--citus takes 1 to {MAX_WORKERS} workers, got {workers}")
    on_disk = _workers_on_disk(settings)
    if len(on_disk) > workers:
        raise ConfigError(
            f"the embedded Citus cluster has {len(on_disk)} workers; it cannot shrink to {workers} "
            f"(remove {folder(settings)} to start afresh)"
        )
    check_citus(find_bindir(settings))
    coordinator = node(settings, COORDINATOR)
    known = coordinator.load_state()
    password = known.password if known else secrets.token_urlsafe(18)
    names = [COORDINATOR, *worker_names(workers)]
    states = {name: node(settings, name).start(password, preload="citus") for name in names}
    for name, state in states.items():
        if state.password != password:
            raise ConfigError(
                f"Citus node {name} was made with another password: remove {folder(settings)} to start afresh"
            )
        _prepare_database(state)
    main = states[COORDINATOR]
    _register(main.url, states, password)
    set_mode(settings, "citus")
    return main


def enable_app_role(settings: Settings, url: str) -> None:
    """The application's least-privilege role logs in to the coordinator (after migrations: they make the role,
    which Citus propagates to the workers), and the coordinator reaches the workers as that role too."""
    state = node(settings, COORDINATOR).enable_app_role(url)
    workers = [node(settings, name).load_state() for name in _workers_on_disk(settings)]
    for target in [url, *(w.url for w in workers if w is not None)]:  # every node reaches every other as the app
        _authinfo(target, APP_ROLE, state.app_password or "")


def _authinfo(url: str, role: str, password: str) -> None:
    """On the node of `url`: how it reaches every node (nodeid 0: all of them) as `role`, through Citus's own
    pg_dist_authinfo (no password file)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, %s, %s)"
            " ON CONFLICT (nodeid, rolename) DO UPDATE SET authinfo = EXCLUDED.authinfo",
            (role, f"password={password}"),
        )


def _prepare_database(state: ClusterState) -> None:
    """The `peta` database on one node, with citus (first, as Citus asks) and PostGIS."""
    admin = state.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (state.dbname,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(state.dbname)))
    with psycopg.connect(state.url, autocommit=True) as conn:
        have = {name for (name,) in conn.execute("SELECT extname FROM pg_extension")}
        # only when missing: a worker that holds Citus metadata refuses any DDL, IF NOT EXISTS included
        for extension in ("citus", "postgis"):
            if extension not in have:
                conn.execute(sql.SQL("CREATE EXTENSION {}").format(sql.Identifier(extension)))


def _register(url: str, states: dict[str, ClusterState], password: str) -> None:
    """In the database at `url` on the coordinator: how it reaches every node, the coordinator's own address and
    the workers (Citus keeps its nodes per database)."""
    _authinfo(url, DB_USER, password)  # the coordinator reaches every node as peta with the shared password
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", (states[COORDINATOR].port,))
        registered = {row[0] for row in conn.execute("SELECT nodeport FROM pg_dist_node WHERE noderole = 'primary'")}
        for name, state in states.items():
            if name != COORDINATOR and state.port not in registered:
                conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (state.port,))
    # and every worker reaches every node too: a shard's trigger may run a query of its own there
    for name, state in states.items():
        if name != COORDINATOR:
            _authinfo(state.url, DB_USER, password)


def create_database(settings: Settings, dbname: str) -> str:
    """Another database on every node of the running embedded cluster, with citus and PostGIS and the workers
    registered (a throwaway database for the tests: `make test-citus`); returns its URL on the coordinator."""
    states: dict[str, ClusterState] = {}
    for name in [COORDINATOR, *_workers_on_disk(settings)]:
        state = node(settings, name).load_state()
        if state is None:
            raise ConfigError(f"Citus node {name} has not been made: run `peta db up --citus N` first")
        states[name] = replace(state, dbname=dbname)
    for state in states.values():
        _drop(state)
        _prepare_database(state)
    url = states[COORDINATOR].url
    _register(url, states, states[COORDINATOR].password)
    return url


def add_login(settings: Settings, dbname: str, role: str, password: str, member_of: str) -> None:
    """A login role on every node of the running embedded cluster (a member of `member_of`), and how each node
    reaches the others as it in `dbname` (pg_dist_authinfo): a test's own application login (`make test-citus`)."""
    for name in [COORDINATOR, *_workers_on_disk(settings)]:
        state = node(settings, name).load_state()
        if state is None:
            raise ConfigError(f"Citus node {name} has not been made: run `peta db up --citus N` first")
        with psycopg.connect(state.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(role), sql.Literal(password), sql.Identifier(member_of)))  # fmt: skip
        _authinfo(replace(state, dbname=dbname).url, role, password)


def drop_login(settings: Settings, role: str) -> None:
    """Drop a role made by add_login on every node (its databases dropped first)."""
    for name in [*reversed(_workers_on_disk(settings)), COORDINATOR]:
        state = node(settings, name).load_state()
        if state is not None:
            with psycopg.connect(state.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def drop_database(settings: Settings, dbname: str) -> None:
    """Drop a database made by create_database on every node (workers first)."""
    for name in [*reversed(_workers_on_disk(settings)), COORDINATOR]:
        state = node(settings, name).load_state()
        if state is not None:
            _drop(replace(state, dbname=dbname))


def _drop(state: ClusterState) -> None:
    admin = state.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(state.dbname)))


def down(settings: Settings) -> list[str]:
    """Stop every node that runs (workers first); the names of those stopped."""
    stopped = []
    for name in [*reversed(_workers_on_disk(settings)), COORDINATOR]:
        if node(settings, name).stop():
            stopped.append(name)
    return stopped


def status(settings: Settings) -> dict[str, Any]:
    """Each node: running, port, data folder; and the workers the coordinator has registered."""
    info: dict[str, Any] = {"mode": mode(settings), "nodes": {}}
    for name in [COORDINATOR, *_workers_on_disk(settings)]:
        cluster = node(settings, name)
        state = cluster.load_state()
        info["nodes"][name] = {
            "running": cluster.is_running(),
            "port": state.port if state else None,
            "pgdata": str(cluster.pgdata),
            "url": _redact(state.url) if state else None,
        }
    state = coordinator_state(settings)
    if state is not None and info["nodes"][COORDINATOR]["running"]:
        with psycopg.connect(state.url, connect_timeout=5) as conn:
            active = conn.execute("SELECT * FROM citus_get_active_worker_nodes() ORDER BY 2")
            info["active_workers"] = [f"{host}:{port}" for host, port in active]
    return info


def state_json(settings: Settings) -> str:
    return json.dumps(status(settings), indent=2)
