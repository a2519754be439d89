"""Issue 13, "one client must not stall the rest": bounds per role before a query runs, the expensive requests'
share of the pool, cancelling when the client leaves, the three kinds of 503, probes that need no pool
connection, 413 as soon as a body crosses the limit, and a bounded graceful shutdown.

Slow queries are made by locking a table the request reads (`area_stats_public`: only the published
figures, which anonymous and agency callers read; `household` for staff), from a connection of the test.
"""

from __future__ import annotations

import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import Request
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.deps import ConnDep
from api.limits import budget_for, claimed_tier, limit_statements
from api.policy import PUBLIC, allow
from core.settings import Settings, get_settings
from db.embedded import EmbeddedCluster
from gis.cql import parse
from gis.cql_bounds import FilterLimits, count_vertices
from peta.cli import app as cli
from portal.app import create_app
from tests.conftest import REPO, truncate_all
from tests.layers import load_sample_city
from tests.live import free_port
from tests.people import PASSWORD, add_users

ITEMS = "/ogc/collections/kelurahan/items"
HOUSEHOLDS = "/ogc/collections/households/items"
WITHIN = "/api/v1/spatial/households/within"
BUSY = "the server is busy: every database connection this request may use is taken"


@pytest.fixture(scope="module")
def city(committed_url, tmp_path_factory):
    """The sample city (4 kelurahan), an administrator and an agency key, committed."""
    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_sample_city(conn, tmp_path_factory.mktemp("city"), population_step=1000)
        conn.commit()
    add_users(committed_url, {"u.admin": ("admin", [])})
    get_settings.cache_clear()
    key = CliRunner().invoke(cli, ["keys", "create", "Dinkes"], env={"DATABASE_URL": committed_url})
    get_settings.cache_clear()
    yield committed_url, key.stdout.strip().splitlines()[-1]
    truncate_all(committed_url)


def _bearer(base: str | TestClient) -> dict[str, str]:
    data = {"username": "u.admin", "password": PASSWORD}
    if isinstance(base, TestClient):
        token = base.post("/api/v1/auth/token", data=data).json()["access_token"]
    else:
        token = httpx.post(f"{base}/api/v1/auth/token", data=data, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _polygon(vertices: int) -> str:
    """A closed ring of `vertices` positions (the first repeated last) around the sample city."""
    ring = [(103.609 + 0.01 * math.cos(2 * math.pi * i / (vertices - 1)),
             -1.611 + 0.01 * math.sin(2 * math.pi * i / (vertices - 1))) for i in range(vertices - 1)]  # fmt: skip
    ring.append(ring[0])
    return "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"


@contextmanager
def locked(url: str, table: str) -> Iterator[None]:
    """`table` locked against every reader until the block ends (what a very slow query looks like)."""
    with psycopg.connect(url) as conn:
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


def _waiting(url: str) -> list[str]:
    """The queries of the app's connections that wait for a lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'peta'"
            " AND state = 'active' AND wait_event_type = 'Lock'"
        ).fetchall()
    return [r[0] for r in rows]


def _until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until `check()` held (polled every 20 ms); fails after `seconds`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < seconds, f"not within {seconds} s: {what}"
        time.sleep(0.02)
    return time.monotonic() - start


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app on a real uvicorn server on a free loopback port, stopped with a bounded graceful shutdown."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _until(lambda: server.started, 15, "the server starts")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _app(url: str, **env: str) -> Any:
    return create_app(Settings(**env), url=url)  # type: ignore[arg-type]


# --- cost bounds per role ---------------------------------------------------------------------------


def test_vertices_are_counted_in_every_geometry_literal():
    limits = FilterLimits(10_000, 30, 2_000)
    tree = parse(
        "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0))) AND population IN (1, 2) AND "
        "S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) OR S_WITHIN(geometry, GEOMETRYCOLLECTION(POINT(1 1), "
        "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((0 0, 1 0, 1 1, 0 0)))))",
        "cql2-text",
        limits,
    )
    assert count_vertices(tree) == 4 + 4 + 1 + 8  # the IN list is no geometry
    assert count_vertices(parse("population > 3", "cql2-text", limits)) == 0


def test_tiers_and_their_bounds():
    s = Settings(PETA_STATEMENT_TIMEOUT_MS="10000", PETA_STATEMENT_TIMEOUT_AGENCY_MS="20000")
    agency, staff = type("A", (), {"role": "agency"})(), type("U", (), {"role": "verifier"})()
    budgets = [budget_for(p, s) for p in (None, agency, staff)]
    assert [(b.tier, b.max_vertices, b.timeout_ms) for b in budgets] == [
        ("anonymous", 200, 3000),
        ("agency", 10_000, 10_000),  # never above the session's own (PETA_STATEMENT_TIMEOUT_MS)
        ("staff", 10_000, 10_000),
    ]
    claims = []
    for headers in ({}, {"x-api-key": "k"}, {"authorization": "Bearer t"}, {"cookie": "peta_session=s"}):
        scope = {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
        claims.append(claimed_tier(Request(scope)))
    assert claims == ["anonymous", "agency", "staff", "staff"]  # (only the share's wait trusts a claim)
    with pytest.raises(ValueError, match="PETA_POOL_EXPENSIVE .5. must be below PETA_POOL_SIZE .5."):
        Settings(PETA_POOL_SIZE="5", PETA_POOL_EXPENSIVE="5")


def test_a_filter_geometry_over_the_callers_vertex_bound_is_400(city):
    url, key = city
    big = {"filter": f"S_INTERSECTS(geometry, {_polygon(250)})"}
    with TestClient(_app(url)) as c:
        anonymous = c.get(ITEMS, params=big)
        assert (anonymous.status_code, anonymous.json()["detail"]) == (
            400, "filter: the geometries have 250 vertices; at most 200 for anonymous requests "
                 "(PETA_MAX_VERTICES_ANONYMOUS)")  # fmt: skip
        assert c.get("/api/v1/exports/kelurahan.geojson", params=big).status_code == 400  # the same parser
        staff = c.get(ITEMS, params=big, headers=_bearer(c))
        agency = c.get(ITEMS, params=big, headers={"X-API-Key": key})
        assert (staff.status_code, staff.json()["numberMatched"]) == (200, 4)
        assert (agency.status_code, agency.json()["numberMatched"]) == (200, 4)
        small = c.get(ITEMS, params={"filter": f"S_INTERSECTS(geometry, {_polygon(200)})"})
        assert (small.status_code, small.json()["numberMatched"]) == (200, 4)


def test_a_posted_polygon_over_the_vertex_bound_is_400(city):
    url, _ = city
    ring = [[103.6 + 0.018 * i / 59, -1.62] for i in range(60)] + [[103.618, -1.602], [103.6, -1.602], [103.6, -1.62]]
    with TestClient(_app(url, PETA_MAX_VERTICES="50")) as c:
        r = c.post(WITHIN, json={"type": "Polygon", "coordinates": [ring]}, headers=_bearer(c))
        assert (r.status_code, r.json()["detail"]) == (
            400, "the polygon has 63 vertices; at most 50 for staff requests (PETA_MAX_VERTICES)")  # fmt: skip
        ok = c.post(WITHIN, json={"type": "Polygon", "coordinates": [ring[:40] + ring[-3:]]}, headers=_bearer(c))
        assert ok.status_code == 200


def test_the_statement_timeout_is_set_per_role(city):
    import asyncio

    url, _ = city

    async def run() -> list[str]:
        s = Settings()
        out = []
        async with await psycopg.AsyncConnection.connect(url, options="-c statement_timeout=60000") as conn:

            async def show() -> None:
                row = await (await conn.execute("SHOW statement_timeout")).fetchone()
                out.append(str(row[0] if row else None))

            for principal in (None, type("A", (), {"role": "agency"})(), type("U", (), {"role": "admin"})()):
                await limit_statements(conn, budget_for(principal, s), s)
                await show()
                await conn.rollback()  # SET LOCAL: it ends with the transaction
            await show()
        return out

    assert asyncio.run(run()) == ["3s", "15s", "1min", "1min"]


def test_a_query_over_its_time_is_503_naming_the_bound(city):
    url, _ = city
    with TestClient(_app(url, PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS="300")) as c, locked(url, "area_stats_public"):
        started = time.monotonic()
        r = c.get(ITEMS, params={"filter": "population > 17"})
        took = time.monotonic() - started
        staff = c.get(ITEMS, params={"filter": "population > 17"}, headers=_bearer(c))  # staff: other figures
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and took < 3
    assert r.json() == {
        "code": "ServiceUnavailable",
        "description": r.json()["detail"],
        "detail": "the query took too long: over 300 ms, the bound for anonymous requests "
        "(PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS); narrow it (a smaller bbox, a simpler filter, a lower limit) "
        "or retry later",
        "error_code": "query_timeout",
    }
    assert staff.status_code == 200


def test_filtered_figures_are_bounded_by_the_callers_time_too(city):
    url, _ = city
    with TestClient(_app(url, PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS="300")) as c, locked(url, "household"):
        started = time.monotonic()
        r = c.get("/api/v1/stats/rt", params={"desil_max": 2})
        took = time.monotonic() - started
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and took < 3, r.text
    assert r.json()["detail"].startswith("the query took too long: over 300 ms, the bound for anonymous requests")


# --- the three kinds of 503 -------------------------------------------------------------------------


def test_an_outage_is_503_not_reachable_with_retry_after():
    with TestClient(_app("postgresql://peta:nope@127.0.0.1:1/peta", PETA_POOL_WAIT_MS="300")) as c:
        r = c.get("/api/v1/areas", params={"level": "kelurahan"})
        ogc = c.get("/ogc/collections")
        live, ready = c.get("/livez"), c.get("/readyz")
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (
        503, {"detail": "the database is not reachable", "error_code": "database_unreachable"}, "10")  # fmt: skip
    assert (ogc.status_code, ogc.json()["code"], ogc.json()["detail"]) == (
        503, "ServiceUnavailable", "the database is not reachable")  # fmt: skip
    assert (live.status_code, live.json()) == (200, {"status": "ok"})  # the process is alive
    assert (ready.status_code, ready.json(), ready.headers["retry-after"]) == (
        503, {"status": "unavailable", "database": "unreachable"}, "10")  # fmt: skip


def test_a_full_pool_is_503_busy_with_retry_after(city):
    url, _ = city
    with TestClient(_app(url, PETA_POOL_SIZE="3", PETA_POOL_EXPENSIVE="1", PETA_POOL_WAIT_MS="300")) as c:
        pool = c.app.state.pool
        held = [c.portal.call(pool.getconn) for _ in range(3)]  # type: ignore[union-attr]
        try:
            r = c.get("/api/v1/areas", params={"level": "kelurahan"})
            health = c.get("/healthz")
        finally:
            for conn in held:
                c.portal.call(pool.putconn, conn)  # type: ignore[union-attr]
        after = c.get("/api/v1/areas", params={"level": "kelurahan"})
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (
        503, {"detail": BUSY, "error_code": "server_busy"}, "2")  # fmt: skip
    assert (health.status_code, health.json()) == (200, {"status": "ok"})  # the probe has its own connection
    assert after.status_code == 200


# --- the expensive requests' share of the pool ------------------------------------------------------


def test_expensive_requests_leave_room_for_cheap_and_staff_ones(city):
    url, key = city
    app = _app(url, PETA_POOL_SIZE="4", PETA_POOL_EXPENSIVE="2", PETA_EXPENSIVE_WAIT_MS="300",
               PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS="60000")  # fmt: skip
    with serve(app) as base, ThreadPoolExecutor(4) as pool:
        staff = _bearer(base)
        with locked(url, "area_stats_public"):
            slow = [pool.submit(httpx.get, f"{base}{ITEMS}", params={"filter": f"population > {i}"}, timeout=30)
                    for i in range(2)]  # fmt: skip
            _until(lambda: len(_waiting(url)) == 2, 10, "two anonymous lists hold their connections")
            started = time.monotonic()
            third = httpx.get(f"{base}{ITEMS}", params={"filter": "population > 5"}, timeout=10)
            waited = time.monotonic() - started
            agency = httpx.get(f"{base}{ITEMS}", headers={"X-API-Key": key}, timeout=10)
            cheap = httpx.get(f"{base}/ogc/collections", timeout=10)
            areas = httpx.get(f"{base}/api/v1/areas", params={"level": "kelurahan"}, timeout=10)
            households = httpx.get(f"{base}{HOUSEHOLDS}", headers=staff, timeout=10)
            assert len(_waiting(url)) == 2  # the anonymous two never stopped waiting
        done = [f.result() for f in slow]
    assert (third.status_code, third.json()["detail"], third.headers["retry-after"]) == (503, BUSY, "2")
    assert 0.25 < waited < 3  # it waited PETA_EXPENSIVE_WAIT_MS for a slot
    assert (agency.status_code, agency.json()["detail"]) == (503, BUSY)  # agencies share the same slots
    assert [cheap.status_code, areas.status_code, households.status_code] == [200, 200, 200]
    assert [r.status_code for r in done] == [200, 200] and [r.json()["numberMatched"] for r in done] == [4, 4]


# --- cancelling when the client leaves --------------------------------------------------------------


def _raw_request(base: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(head.encode() + b"\r\n" + body)
    return sock


@pytest.mark.parametrize("who", ["anonymous list", "staff polygon"])
def test_a_client_that_leaves_cancels_its_query(city, who):
    url, _ = city
    # the statement timeouts are far away: only the cancel can end these queries in time
    app = _app(url, PETA_STATEMENT_TIMEOUT_ANONYMOUS_MS="60000")
    with serve(app) as base:
        if who == "anonymous list":
            table, args = "area_stats_public", ("GET", f"{ITEMS}?filter=population%20%3E%202", {})
        else:
            ring = "[[103.6,-1.62],[103.618,-1.62],[103.618,-1.602],[103.6,-1.62]]"
            body = ('{"type": "Polygon", "coordinates": [' + ring + "]}").encode()
            table = "household"
            args = ("POST", WITHIN, {**_bearer(base), "Content-Type": "application/json"}, body)  # type: ignore[assignment]
        with locked(url, table):
            sock = _raw_request(base, *args)  # type: ignore[arg-type]
            _until(lambda: len(_waiting(url)) == 1, 10, "the query runs (waiting for the lock)")
            sock.close()
            gone = _until(lambda: not _waiting(url), 5, "the query is cancelled")
        assert gone < 2
        after = httpx.get(f"{base}{ITEMS}", params={"filter": "population > 2"}, timeout=10)
        assert (after.status_code, after.json()["numberMatched"]) == (200, 4)  # its connection went back clean

        def all_back() -> bool:
            stats = app.state.pool.get_stats()
            return bool(stats["pool_available"] == stats["pool_size"] > 0)

        _until(all_back, 5, "every connection is back in the pool (none lost to the cancellation)")


# --- probes -----------------------------------------------------------------------------------------


def test_probes_answer_at_once_while_every_pool_connection_is_busy(city):
    url, _ = city
    app = _app(url, PETA_POOL_SIZE="2", PETA_POOL_EXPENSIVE="1", PETA_POOL_WAIT_MS="20000")
    with serve(app) as base, ThreadPoolExecutor(3) as pool:
        staff = _bearer(base)
        with locked(url, "household"):
            stuck = [pool.submit(httpx.get, f"{base}{HOUSEHOLDS}", params={"limit": i + 1}, headers=staff, timeout=30)
                     for i in range(3)]  # fmt: skip
            _until(lambda: len(_waiting(url)) == 2, 10, "both pool connections are held")
            answers = {}
            for path in ("/livez", "/healthz", "/readyz"):
                started = time.monotonic()
                r = httpx.get(f"{base}{path}", timeout=5)
                answers[path] = (r.status_code, r.json(), time.monotonic() - started < 1)
        assert [f.result().status_code for f in stuck] == [200, 200, 200]
    assert answers == {p: (200, {"status": "ok"}, True) for p in ("/livez", "/healthz", "/readyz")}


# --- stale connections after a database restart ------------------------------------------------------


@pytest.fixture
def own_cluster(monkeypatch):
    """A PostgreSQL cluster of this test's own (under the repository: the postgres account must reach it)."""
    home = REPO / ".peta-test" / f"restart-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    cluster = EmbeddedCluster(Settings(PETA_HOME=str(home)))
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_first_requests_after_a_database_restart_succeed(own_cluster):
    state = own_cluster.start()
    url = state.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:  # what the probes read
        conn.execute("CREATE TABLE alembic_version (version_num text); INSERT INTO alembic_version VALUES ('x')")
    app = _app(url, PETA_POOL_SIZE="8", PETA_POOL_EXPENSIVE="5", PETA_AUDIT_SEAL_SECONDS="0")  # no schema here

    @app.get("/backend", dependencies=[allow(PUBLIC)])
    async def backend(conn: ConnDep) -> int:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])

    with TestClient(app) as c:
        pool = c.app.state.pool
        held = [c.portal.call(pool.getconn) for _ in range(8)]  # type: ignore[union-attr]
        for conn in held:
            c.portal.call(pool.putconn, conn)  # type: ignore[union-attr]
        before = {c.get("/backend").json() for _ in range(8)}
        assert c.get("/readyz").status_code == 200  # the probe's own connection is open too
        probed = time.monotonic()
        own_cluster.stop()
        assert own_cluster.start().port == state.port
        answers = [c.get("/backend") for _ in range(8)]
        time.sleep(max(0.0, probed + c.app.state.probe.fresh_s + 0.05 - time.monotonic()))  # no answer reused
        ready = c.get("/readyz")
    assert [r.status_code for r in answers] == [200] * 8
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    assert not before & {r.json() for r in answers}  # new server processes: the stale connections were dropped


# --- 413 as soon as the limit is crossed --------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_413_with_its_code_in_the_clients_language():
    """Refused before anything is read (no database needed), worded like every other error: error_code, the
    detail in the Accept-Language asked for (English without it), the OGC exception fields under /ogc."""
    with TestClient(_app("postgresql://peta:nope@127.0.0.1:1/peta", PETA_MAX_BODY_BYTES="2048")) as c:
        big = b"x" * 5000
        form = {"content-type": "application/x-www-form-urlencoded"}
        plain = c.post("/api/v1/auth/token", content=big, headers=form)
        worded = c.post("/api/v1/auth/token", content=big, headers={**form, "Accept-Language": "id-ID,id;q=0.9"})
        english = c.post("/api/v1/auth/token", content=big, headers={**form, "Accept-Language": "en-GB"})
        ogc = c.post("/ogc/collections/rt/items", content=big, headers={"Accept-Language": "id"})
    assert [r.status_code for r in (plain, worded, english, ogc)] == [413] * 4
    assert plain.json() == english.json() == {"detail": "request body larger than 2,048 bytes",
                                              "error_code": "body_too_large"}  # fmt: skip
    assert worded.json() == {"detail": "Isi permintaan lebih besar dari 2,048 bita", "error_code": "body_too_large"}
    assert [r.headers["content-language"] for r in (plain, worded, english)] == ["en", "id", "en"]
    assert worded.headers["vary"] == "Accept-Language" and worded.headers["connection"] == "close"
    assert ogc.json() == {"code": "PayloadTooLarge", "description": "Isi permintaan lebih besar dari 2,048 bita",
                          "detail": "Isi permintaan lebih besar dari 2,048 bita", "error_code": "body_too_large"}


def test_a_chunked_body_over_the_limit_is_413_as_soon_as_it_crosses(city):
    url, _ = city
    limit, piece = 64 * 1024, 8 * 1024
    with serve(_app(url, PETA_MAX_BODY_BYTES=str(limit))) as base:
        host, port = base.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Accept-Language: id-ID,id;q=0.9\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")  # fmt: skip
        sent, answer = 0, b""
        chunk = f"{piece:x}\r\n".encode() + b"u" * piece + b"\r\n"
        try:
            while sent < 20 * limit:
                if select.select([sock], [], [], 0.005)[0]:
                    answer = sock.recv(65536)
                    break
                sock.sendall(chunk)
                sent += piece
        except (BrokenPipeError, ConnectionResetError):  # closed after the answer: read what came
            pass
        while not answer.endswith(b'"}') and (more := sock.recv(65536)):  # the rest of the answer, to its end
            answer += more
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert answer.endswith(b'\r\n\r\n{"detail": "Isi permintaan lebih besar dari 65,536 bita", '
                           b'"error_code": "body_too_large"}')  # in the client's language, like every error
    assert b"\r\ncontent-language: id\r\n" in answer.lower()
    assert b"\r\nconnection: close\r\n" in answer.lower()  # the rest of the body is not read
    assert sent <= limit + 4 * piece, sent  # answered when the limit was crossed, not after reading on


# --- a bounded graceful shutdown --------------------------------------------------------------------


def test_sigterm_with_a_stalled_client_stops_within_the_bound(city, tmp_path):
    url, _ = city
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PETA_HOME": str(tmp_path), "PETA_SHUTDOWN_TIMEOUT_S": "2"}
    env.pop("PETA_APP_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "peta.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/livez", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _until(up, 30, "peta serve answers")
        # a client that declares a body and stops sending it: the request never completes by itself
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=u")  # fmt: skip
        time.sleep(0.5)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        took = time.monotonic() - started
        sock.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = server.stderr.read().decode() if server.stderr else ""
    assert 1.5 < took < 5, log  # it waited the graceful 2 s for the stalled client, and no longer
    assert "timeout graceful shutdown exceeded" in log.lower() or "cancel" in log.lower(), log
