"""Real PostGIS for the tests: the embedded cluster or TEST_DATABASE_URL's server, one throwaway database a session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from db.connect import create_database, drop_database
from db.embedded import EmbeddedCluster
from db.migrate import migrate
from tests.bridge import Api, Bridge, bridge

REPO = Path(__file__).resolve().parents[1]
JAMBI = REPO.parent / "shared" / "data" / "kota-jambi"
needs_jambi = pytest.mark.skipif(not JAMBI.exists(), reason=f"real Kota Jambi layers not found at {JAMBI}")
# the newest migration, by its file name (an independent check of what `alembic_version` reports)
HEAD_REVISION = max(p.name[:4] for p in (REPO / "db" / "migrations" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _embedded() -> EmbeddedCluster:
    home = Path(os.environ.get("PETA_TEST_HOME", REPO / ".peta-test"))
    return EmbeddedCluster(Settings(PETA_HOME=str(home)))


def pytest_configure(config: pytest.Config) -> None:
    # Rich wraps CLI errors at 80 columns when there is no terminal, and a worker's tmp paths are long: an
    # error naming a file would then be split mid-name. Tests read whole lines.
    os.environ.setdefault("COLUMNS", "200")
    # With xdist (`make test` runs `-n auto`), the controller starts the embedded cluster once and hands it to
    # the workers; each worker still makes its own throwaway databases on it.
    if os.environ.get("TEST_DATABASE_URL") or os.environ.get("TEST_CITUS_HOME") or hasattr(config, "workerinput"):
        return
    if not config.pluginmanager.hasplugin("xdist") or not config.getoption("numprocesses", None):
        return
    cluster = _embedded()
    was_running = cluster.is_running()
    os.environ["TEST_DATABASE_URL"] = cluster.start().url
    if not was_running:  # leave the machine as we found it
        config.add_cleanup(cluster.stop)


ON_CITUS = bool(os.environ.get("TEST_CITUS_HOME"))  # `make test-citus`: the suite's core on an embedded Citus cluster


def _citus() -> Settings | None:
    """The embedded Citus cluster the tests run on (`make test-citus` sets TEST_CITUS_HOME), or None."""
    home = os.environ.get("TEST_CITUS_HOME")
    return Settings(PETA_HOME=home) if home else None


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server with PostGIS: TEST_DATABASE_URL, else the embedded cluster under .peta-test; with
    TEST_CITUS_HOME, the coordinator of that embedded Citus cluster (`make test-citus`)."""
    citus_settings = _citus()
    if citus_settings is not None:
        from db import citus

        state = citus.coordinator_state(citus_settings)
        assert state is not None, f"no embedded Citus cluster under {citus_settings.peta_home}"
        yield state.url
        return
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    cluster = _embedded()
    was_running = cluster.is_running()
    yield cluster.start().url
    if not was_running:  # leave the machine as we found it
        cluster.stop()


def _throwaway(server_url: str, tag: str) -> Iterator[str]:
    name = f"peta_test_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    citus_settings = _citus()
    if citus_settings is not None:  # the database on every node, the schema distributed by its migrations
        from db import citus

        url = citus.create_database(citus_settings, name)
        migrate(url)
        try:
            yield url
        finally:
            citus.drop_database(citus_settings, name)
        return
    url = create_database(server_url, name, drop_first=True)
    migrate(url)
    try:
        yield url
    finally:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A migrated database for this test session, dropped at the end; tests roll back their changes."""
    yield from _throwaway(server_url, "main")


@pytest.fixture(scope="session")
def committed_url(server_url: str) -> Iterator[str]:
    """A second migrated database for code that commits on its own connections (CLI, HTTP app)."""
    yield from _throwaway(server_url, "commit")


@pytest.fixture
def db(database_url: str) -> Iterator[Bridge]:
    """An async connection in a transaction rolled back after the test, driven from sync code (tests/bridge.py)."""
    with bridge(database_url) as b:
        yield b


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction rolled back after the test (DDL included)."""
    with psycopg.connect(database_url) as c:
        c.execute("SELECT 1")  # open the outer transaction: code under test gets savepoints
        try:
            yield c
        finally:
            c.rollback()


def truncate_all(url: str) -> None:
    """Empty the data tables of a committed database."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            # household_rank has no foreign key (its refresh deletes the rows of removed families; TRUNCATE
            # fires no row trigger), so it is named here, or a later module sees an earlier city's ranks
            "TRUNCATE household, household_rank, household_version, area_version, area, app_meta, app_user, api_key,"
            " login_attempt, login_throttle, campaign, programme_roster, programme_list RESTART IDENTITY CASCADE"
        )


@pytest.fixture
def clean_committed(committed_url: str) -> Iterator[str]:
    """The committed database, emptied before and after the test."""
    truncate_all(committed_url)
    yield committed_url
    truncate_all(committed_url)


# --- one seeded city per session, each test's requests rolled back -------------------------------------------

# who the seeded city's people are: {username: (role, scope level or None, index of the RT in `Seeded.rts`
# or -1 for the kelurahan)}
SEED_PEOPLE = {
    "admin": ("admin", None, 0), "plan": ("planner", None, 0), "koor": ("coordinator", "kelurahan", -1),
    "rt.satu": ("verifier", "rt", 0), "rt.dua": ("verifier", "rt", 1),
    "rt.a": ("verifier", "rt", 0), "rt.b": ("verifier", "rt", 1), "rt.c": ("verifier", "rt", 2),
    "rt.d": ("verifier", "rt", 3),
}  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    """The session's committed city (demo scale 0.05, seed 7): its busiest kelurahan of poor families, that
    kelurahan's four RTs with the most of them, and a bearer token per person of SEED_PEOPLE."""

    url: str
    kel: str
    rts: list[str]
    tokens: dict[str, str]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture(scope="session")
def seeded(server_url: str) -> Iterator[Seeded]:
    """Loaded, its people made and logged in once a session; nothing may commit to it afterwards (`api`)."""
    from fastapi.testclient import TestClient

    from portal.app import create_app
    from tests.people import PASSWORD, add_users, verval_city

    with contextmanager(_throwaway)(server_url, "seed") as url:
        kel, rts = verval_city(url, 4)
        add_users(url, {
            name: (role, [] if level is None else ["--scope-level", level, "--scope", kel if i < 0 else rts[i]])
            for name, (role, level, i) in SEED_PEOPLE.items()
        })  # fmt: skip
        with TestClient(create_app(url=url)) as client:
            tokens = {name: client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
                      .json()["access_token"] for name in SEED_PEOPLE}  # fmt: skip
        yield Seeded(url, kel, rts, tokens)


@pytest.fixture
def api(seeded: Seeded) -> Iterator[Api]:
    """The portal app over the seeded city, every request's transaction a savepoint of the test's own, all of
    it rolled back after the test (tests/bridge.py `Api`); `api.db` reads and writes in that transaction."""
    from portal.app import create_app

    with bridge(seeded.url) as b:
        served = Api(b, create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=seeded.url))
        try:
            yield served
        finally:
            served.close()
