"""The served app under load, stalled clients, database restarts and crashes, and a held COMMIT (issue 13).

Sections (`--only`, default all; each is bounded in time):

cache    the whole RT layer (/ogc/collections/rt/items?limit=10000) and the RT figures (/api/v1/stats/rt),
         for gzip clients (Accept-Encoding: gzip, as browsers and GDAL send) and identity clients: warm (median
         of --repeat) and cold (the first request after a real write to one family, which bumps the data
         version the API's cache is keyed by, where there is one). Baselines in the same run, on the same
         rows: the identity-encoded SQL floor (one query building the same FeatureCollection / figures as
         text, fetched with psycopg), tipg 1.6.1 and pygeoapi 0.21.0 (each in its own venv under bench/, one
         uvicorn worker). Goals: warm gzip at least 5x faster than both peers; cold within 1.3x of the floor.
load     closed-loop clients (asyncio, one request in flight each; a minimal keep-alive HTTP/1.1 client, since
         httpx costs the shared 2 cores several times more CPU per request: --client httpx) at --levels clients for
         --duration seconds each: /api/v1/stats/rt (gzip), and a mix (an OGC page of RTs, an RT tile,
         /healthz, an admin's read of one family). Throughput, p50/p95/p99, answers by status. Goal:
         stats/rt above 200 requests/s at 32 clients, p99 under 1 s, no 5xx.
stall    clients that request the families' GeoJSON export as an admin and stop reading (one, then
         --stall-exports at once), the same number of exports read to the end, and clients that send half a
         request's headers and stop; meanwhile /healthz (/livez, /readyz where they exist) and a small
         public read are probed, and the server's database sessions sampled.
restart  on a private PostgreSQL cluster (initdb into a temp dir, loopback only): mixed load while the
         cluster is restarted (pg_ctl restart -m fast) and crashed (pg_ctl stop -m immediate, then start);
         errors by status before, during and after, and how many requests fail once the database is back.
commit   acknowledged vs present writes on the private cluster: coordinators assigning RTs and verifiers
         sending visits over HTTP while the cluster crashes and comes back; then a TCP proxy between a
         second app process and the database holds a write's COMMIT (or the COMMIT's answer) while the
         cluster crashes. Each acknowledged write must be present afterwards.

The load is generated in this process, on the same machine as the server and the database. Every server,
cluster and proxy listens on 127.0.0.1 only and is stopped at the end (and by a watchdog after
--max-seconds if this process is killed). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_api  # noqa: E402  (free_port, the views and SQL of the RT layer, tipg's venv)

from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from core.settings import Settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402

DBNAME = "peta_bench_load"
PASSWORD = "bench-password-123"
SECRET = "bench-load-secret-key-0123456789abcdef"
PYGEOAPI_VENV = HERE / ".venv-pygeoapi"
PYGEOAPI_VERSION = "0.21.0"  # the last release for Python 3.11 (0.22 and later need 3.12)
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
SECTIONS = ("cache", "load", "stall", "restart", "commit")

# The identity-encoded SQL floor: one query building the same document as text. The properties come from
# bench_rt_figures (bench_rt without its geometry) so that no geometry is turned into JSON only to be dropped.
RT_LAYER_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature', 'id', f.id, 'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(a.geom), 6)::json,
    'properties', to_jsonb(f) - 'id') ORDER BY f.id))::text
FROM bench_rt_figures f JOIN area a ON a.code = f.id
"""
# the RT figures as one JSON document, like /api/v1/stats/rt (public figures, the same rows)
FIGURES_SQL = """
SELECT json_build_object('level', 'rt', 'parent', NULL, 'filters', '{}'::json, 'suppressed', true,
    'areas', json_agg(to_jsonb(f) - 'id' ORDER BY f.code))::text
FROM bench_rt_figures f
"""


def say(*parts: object) -> None:
    print(*parts, flush=True)


def heading(title: str) -> None:
    say(f"\n=== {title} " + "=" * max(0, 96 - len(title)))


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of sorted values."""
    if not values:
        return float("nan")
    return values[max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))]


def counts(c: Counter[str]) -> str:
    return " ".join(f"{k}x{v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


# --- processes ---------------------------------------------------------------------------------------


class Procs:
    """Every child process and temp path of the run, stopped and removed in `close`."""

    def __init__(self, max_seconds: int) -> None:
        self.max_seconds = max_seconds
        self.tmp = Path(tempfile.mkdtemp(prefix="peta-bench-load-"))
        self.tmp.chmod(0o755)  # the private cluster runs as 'postgres' when we are root
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.closers: list[Callable[[], None]] = []

    def spawn(self, label: str, cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        """A server process that stops by itself after --max-seconds (coreutils timeout) if nobody stops it."""
        log = open(self.logs / f"{label}.log", "ab")  # noqa: SIM115 - closed with the process
        bounded = ["timeout", "-k", "5", str(self.max_seconds + 60), *cmd]
        proc = subprocess.Popen(bounded, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log_errors(self, label: str) -> int:
        path = self.logs / f"{label}.log"
        return path.read_text(errors="replace").count("Traceback") if path.exists() else 0

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                say(f"cleanup: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_up(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 90) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            say(f"{what} exited with {proc.returncode}")
            return False
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    say(f"{what} did not start within {timeout:.0f} s")
    return False


def start_product(procs: Procs, url: str, label: str) -> tuple[subprocess.Popen[bytes], str]:
    """The app as `peta serve` runs it (one uvicorn process), with the anonymous rate limit lifted: every
    client of this benchmark comes from 127.0.0.1."""
    port = bench_api.free_port()
    code = (
        "import uvicorn; from portal.app import create_app; "
        f"uvicorn.run(create_app(url={url!r}), host='127.0.0.1', port={port}, log_level='warning', "
        "timeout_graceful_shutdown=3)"
    )
    home = procs.tmp / f"home-{label}"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, PETA_RATE_PER_MINUTE="1000000", PETA_SECRET_KEY=SECRET, PETA_HOME=str(home))
    proc = procs.spawn(label, [sys.executable, "-c", code], env, HERE.parent)
    base = f"http://127.0.0.1:{port}"
    if not wait_up(f"{base}/healthz", proc, label):
        raise SystemExit(f"{label} did not start (log: {procs.logs / (label + '.log')})")
    return proc, base


def start_tipg(procs: Procs, url: str) -> str | None:
    python = bench_api.ensure_tipg()
    if python is None:
        return None
    port = bench_api.free_port()
    env = dict(
        os.environ, DATABASE_URL=url, TIPG_DB_SCHEMAS='["public"]',
        TIPG_DB_TABLES='["public.bench_rt","public.bench_rt_figures"]', TIPG_DB_ONLY_SPATIAL_TABLES="false",
        TIPG_MAX_FEATURES_PER_QUERY="10000", TIPG_DEFAULT_FEATURES_LIMIT="10000",
    )  # fmt: skip
    cmd = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--workers", "1"]  # fmt: skip
    proc = procs.spawn("tipg", cmd, env, procs.tmp)
    base = f"http://127.0.0.1:{port}"
    return base if wait_up(f"{base}/collections", proc, "tipg") else None


def ensure_pygeoapi() -> Path | None:
    exe = PYGEOAPI_VENV / "bin" / "pygeoapi"
    if not exe.exists():
        say(f"installing pygeoapi {PYGEOAPI_VERSION} into {PYGEOAPI_VENV} …")
        subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
        (PYGEOAPI_VENV / ".gitignore").write_text("*\n")  # git ignores the venv without a line in ours
        r = subprocess.run([str(PYGEOAPI_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", f"pygeoapi=={PYGEOAPI_VERSION}", "psycopg2-binary",
                            "SQLAlchemy", "GeoAlchemy2", "starlette", "uvicorn"])  # fmt: skip
        if r.returncode != 0 or not exe.exists():
            say("pygeoapi could not be installed: its column is skipped")
            return None
    return PYGEOAPI_VENV / "bin" / "python"


def start_pygeoapi(procs: Procs, url: str) -> str | None:
    """pygeoapi's Starlette app (one uvicorn worker) with its PostgreSQL provider over the view bench_rt,
    gzip on; the figures are the same collection with skipGeometry=true."""
    python = ensure_pygeoapi()
    if python is None:
        return None
    info = conninfo_to_dict(url)
    port = bench_api.free_port()
    base = f"http://127.0.0.1:{port}"
    data = {"host": info.get("host") or "127.0.0.1", "port": int(info.get("port") or 5432),
            "dbname": info["dbname"], "user": info.get("user") or "postgres", "password": info.get("password") or "",
            "search_path": ["public"]}  # fmt: skip
    contact = {k: "bench" for k in ("name", "position", "address", "city", "stateorprovince", "postalcode",
                                     "country", "phone", "fax", "email", "url", "hours", "instructions")}  # fmt: skip
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port}, "url": base,
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "gzip": True,
                   "languages": ["en-US"], "pretty_print": False,
                   "limits": {"default_items": 10000, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "none", "url": base},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": base},
            "contact": {**contact, "role": "pointOfContact"},
        },
        "resources": {"rt": {
            "type": "collection", "title": "rt", "description": "RT polygons with their published figures",
            "keywords": ["rt"], "extents": {"spatial": {"bbox": [-180, -90, 180, 90],
                                                       "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", "name": "PostgreSQL", "data": data, "id_field": "id",
                           "table": "bench_rt", "geom_field": "geom"}],
        }},
    }  # fmt: skip
    cfg, openapi = procs.tmp / "pygeoapi-config.yml", procs.tmp / "pygeoapi-openapi.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(openapi))
    gen = subprocess.run([str(PYGEOAPI_VENV / "bin" / "pygeoapi"), "openapi", "generate", str(cfg),
                          "--output-file", str(openapi)],
                         env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    if gen.returncode != 0:
        say(f"pygeoapi: its OpenAPI document could not be generated: {(gen.stderr or gen.stdout).strip()[-500:]}")
        return None
    cmd = [str(python), "-m", "uvicorn", "pygeoapi.starlette_app:APP", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--workers", "1"]  # fmt: skip
    proc = procs.spawn("pygeoapi", cmd, env, procs.tmp)
    return base if wait_up(f"{base}/collections", proc, "pygeoapi") else None


# --- databases ---------------------------------------------------------------------------------------


def load_database(server: str, scale: float, where: str) -> str:
    """The scratch database on `server`: migrated, the demo city, the benchmark views."""
    start = time.perf_counter()
    url = create_database(server, DBNAME, drop_first=True)
    migrate(url)
    with psycopg.connect(url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=scale)))
        conn.execute(bench_api.VIEWS)
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'bench_rt'::regclass AND attnum > 0"
            " AND NOT attisdropped AND attname <> 'geom' ORDER BY attnum").fetchall()]  # fmt: skip
        conn.execute(f"CREATE VIEW bench_rt_figures AS SELECT {', '.join(cols)} FROM bench_rt")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        rts, families = conn.execute(
            "SELECT (SELECT count(*) FROM area WHERE level = 'rt'), (SELECT count(*) FROM household)"
        ).fetchone() or (0, 0)
    say(f"setup ({where}): demo city at scale {scale}, {rts:,} RTs, {families:,} families, "
        f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return url


async def add_users(url: str, users: list[tuple[str, str, str, list[str]]]) -> None:
    from access.users import add_user

    async with await psycopg.AsyncConnection.connect(url) as conn:
        for name, role, level, codes in users:
            await add_user(conn, name, PASSWORD, role, level, codes)
        await conn.commit()


def token(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def kota_code(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SELECT code FROM area WHERE level = 'kota' ORDER BY code LIMIT 1").fetchone()[0])  # type: ignore[index]


class PrivateCluster:
    """A PostgreSQL cluster of our own under the run's temp dir (the project's EmbeddedCluster: initdb,
    loopback only, a free port), which the restart and commit sections may restart and crash."""

    def __init__(self, procs: Procs) -> None:
        self.procs = procs
        self.cluster = EmbeddedCluster(Settings(PETA_HOME=procs.tmp / "cluster"))  # type: ignore[call-arg]
        self.watchdog: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        state = self.cluster.start()
        self.bindir = Path(state.bindir)
        if self.watchdog is None:
            # if this process dies, the cluster still stops (SIGQUIT: immediate shutdown) after --max-seconds
            pid = self.cluster.pgdata / "postmaster.pid"
            script = (f"sleep {self.procs.max_seconds + 60}; [ -f {pid} ] && kill -QUIT $(head -1 {pid}); "
                      f"sleep 5; rm -rf {self.procs.tmp}")  # fmt: skip
            self.watchdog = subprocess.Popen(["bash", "-c", script], start_new_session=True)
            self.procs.closers.append(self.close)
        return state.url

    def pg_ctl(self, *args: str) -> float:
        start = time.perf_counter()
        self.cluster._run([str(self.bindir / "pg_ctl"), *args, "-D", str(self.cluster.pgdata)])
        return time.perf_counter() - start

    def restart_fast(self) -> float:
        return self.pg_ctl("restart", "-m", "fast", "-w", "-t", "60", "-l", str(self.cluster.logfile))

    def crash(self) -> float:
        return self.pg_ctl("stop", "-m", "immediate", "-w")

    def start_again(self) -> float:
        start = time.perf_counter()
        self.cluster.start()
        return time.perf_counter() - start

    def close(self) -> None:
        if self.cluster.is_running():
            self.pg_ctl("stop", "-m", "immediate", "-w")
        if self.watchdog is not None and self.watchdog.poll() is None:
            os.killpg(self.watchdog.pid, signal.SIGTERM)
            self.watchdog.wait(5)


# --- timing of single requests -----------------------------------------------------------------------


@dataclass
class Fetch:
    ms: float
    status: int
    wire: int  # bytes as sent (compressed when the server compressed)
    encoding: str
    body: bytes  # the raw bytes


def fetch(client: httpx.Client, url: str, headers: dict[str, str]) -> Fetch:
    """One GET timed to its last byte as sent: a gzip client is not charged for inflating."""
    start = time.perf_counter()
    with client.stream("GET", url, headers=headers) as r:
        raw = b"".join(r.iter_raw())
    ms = (time.perf_counter() - start) * 1000
    return Fetch(ms, r.status_code, len(raw), r.headers.get("content-encoding", "identity"), raw)


def decoded(f: Fetch) -> bytes:
    return gzip.decompress(f.body) if f.encoding == "gzip" else f.body


def timed(call: Callable[[], float], repeat: int, budget_s: float) -> float:
    """Median ms of up to `repeat` runs after one warm-up (at least 3 runs, then stop past `budget_s`)."""
    call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - start < budget_s):
        times.append(call())
    return statistics.median(times)


# --- closed-loop clients -----------------------------------------------------------------------------


@dataclass
class Req:
    name: str
    path: str
    headers: dict[str, str]
    method: str = "GET"
    body: Any = None


@dataclass
class Sample:
    t0: float
    t1: float
    name: str
    status: str  # the HTTP status, or the transport error's name
    detail: str = ""  # the start of an error answer's body

    @property
    def ok(self) -> bool:
        return self.status.startswith("2") or self.status == "304"

    @property
    def ms(self) -> float:
        return (self.t1 - self.t0) * 1000


class RawHttp:
    """One keep-alive HTTP/1.1 connection, written by hand: a fraction of httpx's CPU per request, so that a
    load generator sharing the machine's 2 cores with the server measures the server rather than itself."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, the first 160 bytes of the body); the body is read to its end and dropped."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        reader, writer = self.reader, self.writer
        assert reader is not None
        head = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        writer.write((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("connection closed by the server")
        status = int(line.split()[1])
        length, chunked, close = None, False, False
        while (h := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = h.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = value == "close"
        first = b""
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                data = await reader.readexactly(size + 2)
                first = first or data[:160]
            await reader.readline()
        elif length:
            left = length
            while left:
                data = await reader.read(min(left, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(first, length)
                first, left = first or data[:160], left - len(data)
        elif length is None and status not in (204, 304):
            first = (await reader.read())[:160]
            close = True
        if close:
            self.close()
        return status, first


async def closed_loop(
    base: str,
    pick: Callable[[int, int], Req],
    clients: int,
    duration: float,
    stop: asyncio.Event | None = None,
    timeout: float = 30.0,
    client: str = "raw",
) -> tuple[list[Sample], float]:
    """`clients` clients, each with one request in flight, until `duration` has passed (or `stop` is set).
    A client pauses 50 ms after a transport error (the server or the database away) rather than spin.
    client="raw": each client its own keep-alive HTTP/1.1 connection (RawHttp); "httpx": one httpx.AsyncClient."""
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    start = time.perf_counter()
    deadline = start + duration
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as hx:

        async def one(conn: RawHttp, req: Req) -> tuple[str, str]:
            if client == "raw" and req.method == "GET":
                try:
                    async with asyncio.timeout(timeout):
                        status, first = await conn.get(req.path, req.headers)
                except (OSError, EOFError, ValueError, IndexError, TimeoutError) as exc:
                    conn.close()
                    return type(exc).__name__, str(exc)[:160]
                return str(status), first.decode(errors="replace") if status >= 400 else ""
            try:
                r = await hx.send(
                    hx.build_request(req.method, req.path, headers=req.headers, json=req.body), stream=True
                )
                try:
                    if r.status_code >= 400:
                        return str(r.status_code), (await r.aread())[:160].decode(errors="replace")
                    async for _ in r.aiter_raw():
                        pass
                finally:
                    await r.aclose()
                return str(r.status_code), ""
            except httpx.HTTPError as exc:
                return type(exc).__name__, str(exc)[:160]

        async def worker(i: int) -> None:
            conn = RawHttp(host, int(port))
            n = 0
            try:
                while time.perf_counter() < deadline and not (stop and stop.is_set()):
                    req = pick(i, n)
                    n += 1
                    t0 = time.perf_counter()
                    status, detail = await one(conn, req)
                    samples.append(Sample(t0, time.perf_counter(), req.name, status, detail))
                    if not status.isdigit():
                        await asyncio.sleep(0.05)
            finally:
                conn.close()

        tasks = [asyncio.create_task(worker(i)) for i in range(clients)]
        _, pending = await asyncio.wait(tasks, timeout=duration + timeout + 10)
        for t in pending:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return samples, time.perf_counter() - start


def summary_row(label: str, clients: int, samples: list[Sample], elapsed: float) -> str:
    lat = sorted(s.ms for s in samples)
    st = Counter(s.status for s in samples)
    return (f"{label:<22}{clients:>8}{len(samples):>9}{len(samples) / elapsed:>9.1f}{pct(lat, 0.5):>9.1f}"
            f"{pct(lat, 0.95):>9.1f}{pct(lat, 0.99):>9.1f}{(lat[-1] if lat else float('nan')):>9.1f}"
            f"  {counts(st)}")  # fmt: skip


SUMMARY_HEAD = (
    f"{'workload':<22}{'clients':>8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    "  answers"
)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its living descendants."""
    total, stack, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class Cpu:
    """CPU used over a span by the server (its process tree), this load generator, and the PostgreSQL backends
    of the benchmark's database (those connected at the end; one that exited meanwhile is not counted), each
    as % of one core."""

    def __init__(self, server_pid: int, url: str) -> None:
        self.pid, self.url = server_pid, url
        self.start, self.backends = self._now(), self._backends()

    def _backends(self) -> dict[int, float]:
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()]  # fmt: skip
        except psycopg.Error:
            return {}
        return {pid: proc_cpu(pid) for pid in pids}

    def _now(self) -> tuple[float, float, float]:
        t = os.times()
        return time.perf_counter(), tree_cpu(self.pid), t.user + t.system

    def __str__(self) -> str:
        end, backends = self._now(), self._backends()
        wall = end[0] - self.start[0]
        srv, cli = ((end[k] - self.start[k]) / wall * 100 for k in (1, 2))
        pg = sum(v - self.backends.get(pid, 0.0) for pid, v in backends.items()) / wall * 100
        return f"cpu server {srv:.0f}%, clients {cli:.0f}%, postgres {pg:.0f}%"


def fivexx(samples: list[Sample]) -> int:
    return sum(1 for s in samples if s.status.startswith("5"))


# --- the world of the served city ---------------------------------------------------------------------


@dataclass
class World:
    url: str
    base: str
    proc: subprocess.Popen[bytes]
    rts: int
    households: list[int]
    tiles: list[tuple[int, int, int]]
    admin: dict[str, str] = field(default_factory=dict)

    def mixed(self) -> Callable[[int, int], Req]:
        rnd = random.Random(13)
        kinds = ("ogc page", "tile", "healthz", "household")

        def pick(i: int, n: int) -> Req:
            kind = kinds[(i + n) % len(kinds)]
            if kind == "ogc page":
                return Req(
                    kind, f"/ogc/collections/rt/items?limit=100&offset={rnd.randrange(0, max(1, self.rts - 100))}", GZIP
                )
            if kind == "tile":
                z, x, y = rnd.choice(self.tiles)
                return Req(kind, f"/tiles/rt/{z}/{x}/{y}.pbf", GZIP)
            if kind == "healthz":
                return Req(kind, "/healthz", GZIP)
            return Req(kind, f"/api/v1/households/{rnd.choice(self.households)}", {**GZIP, **self.admin})

        return pick


def make_world(url: str, base: str, proc: subprocess.Popen[bytes]) -> World:
    with psycopg.connect(url) as conn:
        rts = conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()[0]  # type: ignore[index]
        ids = [r[0] for r in conn.execute("SELECT id FROM household WHERE active ORDER BY random() LIMIT 500")]
        x0, y0, x1, y1 = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM area"
            " WHERE level = 'rt') q"
        ).fetchone()  # type: ignore[misc]
    z = 14
    (ax, ay), (bx, by) = bench_api.tile_of(x0, y1, z), bench_api.tile_of(x1, y0, z)
    tiles = [(z, x, y) for x in range(ax, bx + 1) for y in range(ay, by + 1)]
    return World(url, base, proc, int(rts), ids, tiles)


# --- cache -------------------------------------------------------------------------------------------


class Bump:
    """A real write that changes what the public layers show: one family's size, +1 then -1 (the ranking,
    the RT's figures and their publication follow through the triggers, and so does the data version)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.id = self.conn.execute(
            "SELECT id FROM household WHERE active AND jumlah_anggota BETWEEN 3 AND 8 ORDER BY id LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        self.sign = 1
        self.has_version = self.conn.execute("SELECT to_regclass('data_version') IS NOT NULL").fetchone()[0]  # type: ignore[index]
        self.ms: list[float] = []

    def version(self) -> int | None:
        if not self.has_version:
            return None
        row = self.conn.execute("SELECT version FROM data_version WHERE name = 'public'").fetchone()
        return int(row[0]) if row else None

    def __call__(self) -> None:
        start = time.perf_counter()
        self.conn.execute(
            "UPDATE household SET jumlah_anggota = jumlah_anggota + %s WHERE id = %s", (self.sign, self.id)
        )
        self.ms.append((time.perf_counter() - start) * 1000)
        self.sign = -self.sign


def section_cache(world: World, peers: dict[str, str | None], args: argparse.Namespace) -> None:
    heading("cache: the whole RT layer and the RT figures, warm and cold, gzip and identity clients")
    client = httpx.Client(timeout=120)
    sql = psycopg.connect(world.url, autocommit=True)
    bump = Bump(world.url)
    targets = [
        ("RT layer", "/ogc/collections/rt/items?limit=10000", RT_LAYER_SQL,
         {"tipg": "/collections/public.bench_rt/items?limit=10000",
          "pygeoapi": "/collections/rt/items?limit=10000&f=json"}, "features"),
        ("RT figures", "/api/v1/stats/rt", FIGURES_SQL,
         {"tipg": "/collections/public.bench_rt_figures/items?limit=10000",
          "pygeoapi": "/collections/rt/items?limit=10000&skipGeometry=true&f=json"}, "areas"),
    ]  # fmt: skip
    v0 = bump.version()
    bump()
    bump()
    v1 = bump.version()
    if v0 is None:
        say("data_version: no such table (migration 0012 absent): cold = the first request after the write anyway")
    else:
        say(f"data_version: {v0} -> {v1} over two writes to family {bump.id} (bumped: {'yes' if v1 != v0 else 'NO'})")
    rows = []
    for name, path, query, peer_paths, key in targets:

        def sql_call(query: str = query) -> float:
            start = time.perf_counter()
            row = sql.execute(query).fetchone()
            assert row and row[0]
            return (time.perf_counter() - start) * 1000

        floor = timed(sql_call, args.repeat, args.case_budget)
        ours = world.base + path
        first = fetch(client, ours, IDENTITY)
        doc = json.loads(first.body)
        got = len(doc.get(key) or [])
        if first.status != 200 or got != world.rts:
            say(f"{name}: the product answered {first.status} with {got} items (expected {world.rts})")
        peer_ok: dict[str, str | None] = {}
        for peer, base in peers.items():
            if base is None:
                peer_ok[peer] = None
                continue
            f = fetch(client, base + peer_paths[peer], GZIP)
            n = len(json.loads(decoded(f)).get("features") or []) if f.status == 200 else 0
            if f.status != 200 or n != world.rts:
                say(f"{name}: {peer} answered {f.status} with {n} features (expected {world.rts}): column skipped")
                peer_ok[peer] = None
            else:
                peer_ok[peer] = base + peer_paths[peer]
        for enc, headers in (("gzip", GZIP), ("identity", IDENTITY)):
            last: list[Fetch] = []

            def ours_call(headers: dict[str, str] = headers, last: list[Fetch] = last, ours: str = ours) -> float:
                f = fetch(client, ours, headers)
                last[:] = [f]
                return f.ms

            warm = timed(ours_call, args.repeat, args.case_budget)
            wire, encoding = last[0].wire, last[0].encoding
            before = hashlib.blake2b(decoded(last[0])).digest()
            cold_ms, same = [], 0
            for _ in range(args.cold):
                bump()
                f = fetch(client, ours, headers)
                cold_ms.append(f.ms)
                digest = hashlib.blake2b(decoded(f)).digest()
                same += digest == before
                before = digest
            cold = statistics.median(cold_ms)
            peer_ms: dict[str, float | None] = {}
            peer_enc: dict[str, str] = {}
            for peer, purl in peer_ok.items():
                if purl is None:
                    peer_ms[peer] = None
                    continue
                got_enc: list[str] = []

                def peer_call(
                    purl: str = purl, headers: dict[str, str] = headers, got_enc: list[str] = got_enc
                ) -> float:
                    f = fetch(client, purl, headers)
                    got_enc[:] = [f.encoding]
                    return f.ms

                peer_ms[peer] = timed(peer_call, args.repeat, args.case_budget)
                peer_enc[peer] = got_enc[0] if got_enc else "?"
            rows.append((name, enc, warm, cold, floor, peer_ms, wire, encoding, peer_enc, same))
            if same:
                say(f"{name} {enc}: {same} of {args.cold} cold answers had the same body as the answer before the "
                    "write (a stale cache, or a write the published figures do not show)")  # fmt: skip
    say(f"\n{'case':<12}{'client':<10}{'ours warm':>10}{'ours cold':>10}{'SQL floor':>10}{'tipg':>9}{'pygeoapi':>9}"
        f"{'tipg/ours':>10}{'pygeo/ours':>11}{'cold/SQL':>9}{'ours bytes':>12}"
        "  sent as (ours, tipg, pygeoapi)")  # fmt: skip
    for name, enc, warm, cold, floor, peer_ms, wire, encoding, peer_enc, _ in rows:
        t, p = peer_ms.get("tipg"), peer_ms.get("pygeoapi")
        say(f"{name:<12}{enc:<10}{warm:>10.1f}{cold:>10.1f}{floor:>10.1f}"
            f"{(f'{t:.1f}' if t else '-'):>9}{(f'{p:.1f}' if p else '-'):>9}"
            f"{(f'{t / warm:.2f}x' if t else '-'):>10}{(f'{p / warm:.2f}x' if p else '-'):>11}"
            f"{cold / floor:>9.2f}{wire:>12,}"
            f"  {encoding}, {peer_enc.get('tipg', '-')}, {peer_enc.get('pygeoapi', '-')}")  # fmt: skip
    say(f"(ms, medians: warm of up to {args.repeat} runs after a warm-up, cold of {args.cold} first requests after a "
        f"write of {statistics.median(bump.ms):.0f} ms; the SQL floor is the identity text from psycopg)")  # fmt: skip
    for name in ("RT layer", "RT figures"):
        g = next(r for r in rows if r[0] == name and r[1] == "gzip")
        i = next(r for r in rows if r[0] == name and r[1] == "identity")
        speed = ", ".join(f"{peer} {ms / g[2]:.2f}x" for peer, ms in g[5].items() if ms) or "no peer"
        say(f"goal {name}: warm gzip >= 5x faster than tipg and pygeoapi: {speed}; "
            f"cold <= 1.3x the SQL floor: gzip {g[3] / g[4]:.2f}x, identity {i[3] / i[4]:.2f}x")  # fmt: skip
    client.close()
    sql.close()
    bump.conn.close()


# --- load --------------------------------------------------------------------------------------------


async def section_load(world: World, args: argparse.Namespace) -> None:
    heading(f"load: closed-loop clients, {args.duration:.0f} s per level")
    stats = Req("stats/rt gzip", "/api/v1/stats/rt", GZIP)
    workloads: list[tuple[str, Callable[[int, int], Req]]] = [
        ("stats/rt gzip", lambda i, n: stats),
        ("mixed", world.mixed()),
    ]
    say("mixed = an OGC page of 100 RTs, a z14 RT tile, /healthz, an admin's read of one family (audited), in turn")
    say(f"client: {args.client}; the clients run in this process (one Python event loop: at most 100% of one core")
    say("of the machine's 2; 'raw' is a hand-written keep-alive HTTP/1.1 client, far lighter than httpx);")
    say("cpu = % of one core used by the server process, the clients and the database's backends, over each run")
    goal: list[Sample] = []
    goal_elapsed = 0.0
    for label, pick in workloads:
        await closed_loop(world.base, pick, 4, 1.0, client=args.client)  # warm-up
        say(SUMMARY_HEAD)
        for clients in args.levels:
            cpu = Cpu(world.proc.pid, world.url)
            samples, elapsed = await closed_loop(world.base, pick, clients, args.duration, client=args.client)
            say(summary_row(label, clients, samples, elapsed) + f"  ({cpu})")
            for bad in sorted({s.status for s in samples if not s.ok}):
                first = next(s for s in samples if s.status == bad)
                say(f"{'':<22}first {bad} ({first.name}): {first.detail.strip()[:120]}")
            if label == "mixed":
                for kind in ("ogc page", "tile", "healthz", "household"):
                    part = sorted(s.ms for s in samples if s.name == kind)
                    st = Counter(s.status for s in samples if s.name == kind)
                    say(f"{'  ' + kind:<22}{'':>8}{len(part):>9}{len(part) / elapsed:>9.1f}{pct(part, 0.5):>9.1f}"
                        f"{pct(part, 0.95):>9.1f}{pct(part, 0.99):>9.1f}{(part[-1] if part else float('nan')):>9.1f}"
                        f"  {counts(st)}")  # fmt: skip
            if label == "stats/rt gzip" and clients == 32:
                goal, goal_elapsed = samples, elapsed
    if goal:
        lat = sorted(s.ms for s in goal)
        rate, p99, n5xx = len(goal) / goal_elapsed, pct(lat, 0.99), fivexx(goal)
        met = rate > 200 and p99 < 1000 and n5xx == 0
        say(f"goal /api/v1/stats/rt at 32 clients: > 200 req/s, p99 < 1 s, no 5xx: {rate:.1f} req/s, "
            f"p99 {p99:.0f} ms, {n5xx} 5xx -> {'met' if met else 'NOT met'}")  # fmt: skip


# --- stall -------------------------------------------------------------------------------------------


class Sessions:
    """Samples the app's database sessions: active, idle in a transaction, blocked writing to the app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rows: list[tuple[int, int, int, int]] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                cur = await conn.execute(
                    """SELECT count(*) FILTER (WHERE state = 'active'),
                              count(*) FILTER (WHERE state LIKE 'idle in transaction%%'),
                              count(*) FILTER (WHERE wait_event = 'ClientWrite'), count(*)
                       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                         AND backend_type = 'client backend'"""
                )
                self.rows.append(await cur.fetchone())  # type: ignore[arg-type]
                with_timeout = asyncio.create_task(self.stop.wait())
                await asyncio.wait([with_timeout], timeout=0.5)
                with_timeout.cancel()

    def max(self) -> str:
        if not self.rows:
            return "-"
        a, i, w, t = (max(r[k] for r in self.rows) for k in range(4))
        return f"max {a} active, {i} idle in transaction, {w} blocked sending, {t} in all"

    def busy(self) -> int:
        return (self.rows[-1][0] + self.rows[-1][1]) if self.rows else 0


async def probe(base: str, stop: asyncio.Event, paths: list[tuple[str, str]]) -> list[Sample]:
    """Each path by its own client, one request every 0.2 s (10 s timeout), until `stop`: a slow path does not
    delay the others."""
    out: list[Sample] = []

    async def one(name: str, path: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    status = str((await client.get(path, headers=GZIP)).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                out.append(Sample(t0, time.perf_counter(), name, status))
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(name, path) for name, path in paths))
    return out


async def open_stalled(port: int, request: bytes) -> tuple[asyncio.StreamWriter, asyncio.Task[bytes]]:
    """A connection that sends `request`, reads the status line and then nothing (a 4 KiB receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(request)
    return writer, asyncio.create_task(reader.readline())


async def stall_phase(
    paths: list[tuple[str, str]], world: World, title: str, seconds: float, setup: Callable[[], Any]
) -> Any:
    stop = asyncio.Event()
    sessions = Sessions(world.url)
    mon = asyncio.create_task(sessions.run())
    probes = asyncio.create_task(probe(world.base, stop, paths))
    start = time.perf_counter()
    try:
        extra = await setup()
        rest = seconds - (time.perf_counter() - start)
        if rest > 0:
            await asyncio.sleep(rest)
    finally:
        stop.set()
        samples = await probes
        sessions.stop.set()
        await mon
    parts = []
    for name, _ in paths:
        lat = sorted(s.ms for s in samples if s.name == name)
        st = Counter(s.status for s in samples if s.name == name)
        parts.append(f"{name}: {counts(st)}, p50 {pct(lat, 0.5):.0f} / p99 {pct(lat, 0.99):.0f} / "
                     f"max {(lat[-1] if lat else float('nan')):.0f} ms")  # fmt: skip
    say(f"{title} ({time.perf_counter() - start:.0f} s)")
    for p in parts:
        say(f"    {p}")
    say(f"    database sessions of the server: {sessions.max()}")
    return extra


async def section_stall(world: World, args: argparse.Namespace) -> None:
    heading("stall: stalled export readers, many exports, half-sent requests")
    port = int(world.base.rsplit(":", 1)[1])
    auth = world.admin["Authorization"]
    export = (f"GET /api/v1/exports/households.geojson HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
              "Accept-Encoding: identity\r\n\r\n").encode()  # fmt: skip
    n = args.stall_exports
    paths = [("healthz", "/healthz")]
    for extra in ("/livez", "/readyz"):
        if httpx.get(world.base + extra, timeout=10).status_code != 404:
            paths.append((extra.strip("/"), extra))
    paths.append(("stats/kecamatan", "/api/v1/stats/kecamatan"))
    say(f"export: /api/v1/exports/households.geojson as an admin (every family); probes, each every 0.2 s by its own "
        f"client: {', '.join(p for _, p in paths)}")  # fmt: skip

    async def baseline() -> None:
        return None

    await stall_phase(paths, world, "baseline, nothing stalled", min(5.0, args.stall_seconds), baseline)

    async def stalled(k: int) -> list[tuple[asyncio.StreamWriter, asyncio.Task[bytes]]]:
        return [await open_stalled(port, export) for _ in range(k)]

    for k in (1, n):
        conns: list[tuple[asyncio.StreamWriter, asyncio.Task[bytes]]] = []

        async def setup(k: int = k, conns: list[Any] = conns) -> None:
            conns.extend(await stalled(k))

        await stall_phase(paths, world, f"{k} stalled export reader{'s' if k > 1 else ''}", args.stall_seconds, setup)
        lines: Counter[str] = Counter()
        for w, status in conns:
            lines[status.result().decode(errors="replace").strip() if status.done() else "no status line yet"] += 1
            status.cancel()
            w.close()
        say(f"    their status lines: {counts(lines)}")
        gone = time.perf_counter()
        sessions = Sessions(world.url)
        mon = asyncio.create_task(sessions.run())
        while time.perf_counter() - gone < 30:
            await asyncio.sleep(0.5)
            if sessions.rows and sessions.busy() == 0:
                break
        sessions.stop.set()
        await mon
        say(f"    after the clients went: the server's sessions were idle {time.perf_counter() - gone:.1f} s later"
            if sessions.busy() == 0 else "    after the clients went: sessions still busy 30 s later")  # fmt: skip

    results: list[tuple[str, float, int]] = []

    async def full_exports() -> None:
        async def one() -> None:
            start = time.perf_counter()
            size = 0
            try:
                async with httpx.AsyncClient(timeout=args.export_timeout) as client:
                    async with client.stream("GET", f"{world.base}/api/v1/exports/households.geojson",
                                             headers={**GZIP, **world.admin}) as r:  # fmt: skip
                        async for chunk in r.aiter_raw():
                            size += len(chunk)
                        status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            results.append((status, time.perf_counter() - start, size))

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), args.export_timeout + 10)

    await stall_phase(paths, world, f"{n} exports read to the end at once (gzip)", 0, full_exports)
    secs = sorted(r[1] for r in results)
    say(f"    exports: {counts(Counter(r[0] for r in results))}; seconds min {secs[0]:.1f} / median "
        f"{statistics.median(secs):.1f} / max {secs[-1]:.1f}; {statistics.median(r[2] for r in results) / 1e6:.1f} MB "
        "each as sent")  # fmt: skip

    slow: list[asyncio.StreamWriter] = []

    async def half_requests() -> None:
        for _ in range(args.slow_clients):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"GET /api/v1/stats/kecamatan HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end
            slow.append(w)

    title = f"{args.slow_clients} clients that sent half a request's headers"
    await stall_phase(paths, world, title, args.stall_seconds, half_requests)
    for w in slow:
        w.close()


# --- restart -----------------------------------------------------------------------------------------


@dataclass
class Private:
    cluster: PrivateCluster
    world: World
    procs: Procs


async def wait_healthy(base: str, timeout: float = 60) -> float:
    """Seconds until /healthz answered 200 three times in a row (stale pooled connections are spent)."""
    start = time.perf_counter()
    ok = 0
    async with httpx.AsyncClient(timeout=5) as client:
        while time.perf_counter() - start < timeout and ok < 3:
            try:
                ok = ok + 1 if (await client.get(f"{base}/healthz")).status_code == 200 else 0
            except httpx.HTTPError:
                ok = 0
            if ok < 3:
                await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def section_restart(p: Private, args: argparse.Namespace) -> None:
    heading(f"restart: mixed load ({args.restart_clients} clients) while the private cluster restarts and crashes")
    world, cluster = p.world, p.cluster
    stats = Req("stats/rt", "/api/v1/stats/rt", GZIP)
    mixed = world.mixed()

    def pick(i: int, n: int) -> Req:
        return stats if (i + n) % 5 == 0 else mixed(i, n)

    stop = asyncio.Event()
    events: dict[str, tuple[float, float, str]] = {}
    window = args.restart_window

    async def chaos() -> None:
        try:
            await asyncio.sleep(window)
            t = time.perf_counter()
            took = await asyncio.to_thread(cluster.restart_fast)
            events["restart (pg_ctl restart -m fast)"] = (t, time.perf_counter(), f"pg_ctl restart took {took:.1f} s")
            await asyncio.sleep(window)
            t = time.perf_counter()
            down = await asyncio.to_thread(cluster.crash)
            await asyncio.sleep(1.0)
            up = await asyncio.to_thread(cluster.start_again)
            events["crash (stop -m immediate, 1 s down, start)"] = (
                t,
                time.perf_counter(),
                f"stop {down:.1f} s, down 1 s, start (with crash recovery) {up:.1f} s",
            )
            await asyncio.sleep(window)
        finally:
            stop.set()

    chaos_task = asyncio.create_task(chaos())
    samples, elapsed = await closed_loop(world.base, pick, args.restart_clients, 4 * window + 120, stop,
                                         client=args.client)  # fmt: skip
    await chaos_task
    marks = sorted(events.items(), key=lambda kv: kv[1][0])
    say(f"{len(samples):,} requests in {elapsed:.0f} s; all answers: {counts(Counter(s.status for s in samples))}")
    if marks:
        before = [s for s in samples if s.t1 < marks[0][1][0]]
        bad = [s for s in before if not s.ok]
        say(
            f"before anything: {len(before)} requests, {len(bad)} failed"
            + (f" ({counts(Counter(f'{s.name} {s.status}' for s in bad))})" if bad else "")
        )
    for k, (name, (a, b, note)) in enumerate(marks):
        nxt = marks[k + 1][1][0] if k + 1 < len(marks) else float("inf")
        during = [s for s in samples if a <= s.t0 < b or (s.t0 < a and s.t1 > a)]
        after = [s for s in samples if b <= s.t0 and s.t1 < nxt]
        failed = [s for s in after if not s.ok]
        first_ok = min((s.t1 for s in after if s.ok), default=None)
        say(f"{name}: {note}")
        say(
            f"    requests in flight at its start or sent until the database was back: {len(during)}: "
            f"{counts(Counter(s.status for s in during))}"
        )
        say(
            f"    sent after the database was back: {len(failed)} of {len(after)} failed"
            + (f", the last sent {max(s.t0 for s in failed) - b:.1f} s after" if failed else "")
            + (f"; first success {first_ok - b:.2f} s after" if first_ok else "; no success after")
        )
        if failed:
            say(f"    those failures by request: {counts(Counter(f'{s.name} {s.status}' for s in failed))}")
            offsets = sorted(round(s.t0 - b, 1) for s in failed)
            say(
                f"    sent at (s after the database was back): {', '.join(f'{o:.1f}' for o in offsets[:40])}"
                + (" …" if len(offsets) > 40 else "")
            )
    shown: set[tuple[str, str]] = set()
    for s in samples:
        if not s.ok and (s.name, s.status) not in shown:
            shown.add((s.name, s.status))
            say(f"    first {s.name} {s.status}: {s.detail.strip()}")


# --- commit ------------------------------------------------------------------------------------------


@dataclass
class Write:
    kind: str  # "assignment" | "visit"
    key: str  # the RT code, or the visit's client_id
    status: str
    ack: bool
    note: str = ""
    body: Any = None


class Writer:
    """Writes through the API as people do: a coordinator assigns one RT at a time to a verifier, verifiers
    send one visit at a time (each with a new client_id) to families of their open assignments."""

    def __init__(self, url: str, verifiers: list[str], koor: str) -> None:
        self.url, self.verifiers, self.koor = url, verifiers, koor
        self.tokens: dict[str, dict[str, str]] = {}
        self.due = str(date.today() + timedelta(days=14))

    def login(self, base: str) -> None:
        for user in [self.koor, *self.verifiers]:
            self.tokens[user] = token(base, user)

    def prepare(self, base: str, own_rts: list[str], per_verifier: int) -> None:
        """A campaign (desil 1-2), `per_verifier` RTs assigned to each verifier for their visits, and the rest of
        the RTs with targets left for the coordinator to assign during the run."""
        today = date.today()
        body = {"name": f"bench load {uuid.uuid4().hex[:8]}", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
                "starts_on": str(today - timedelta(days=30)), "ends_on": str(today + timedelta(days=60))}  # fmt: skip
        r = httpx.post(f"{base}/api/v1/campaigns", json=body, headers=self.tokens[self.koor], timeout=60)
        r.raise_for_status()
        self.cid = int(r.json()["id"])
        with psycopg.connect(self.url) as conn:
            rts = [r[0] for r in conn.execute(
                "SELECT rt_code FROM campaign_target WHERE campaign_id = %s GROUP BY 1 ORDER BY count(*) DESC, 1",
                (self.cid,)).fetchall()]  # fmt: skip
        rts = [rt for rt in rts if rt not in own_rts]
        self.families: dict[str, list[tuple[int, float, float]]] = {}
        for k, v in enumerate(self.verifiers):
            mine = rts[k * per_verifier : (k + 1) * per_verifier]
            r = httpx.post(f"{base}/api/v1/campaigns/{self.cid}/assignments", headers=self.tokens[self.koor],
                           json={"rt_codes": mine, "verifier": v, "due_on": self.due}, timeout=60)  # fmt: skip
            r.raise_for_status()
            with psycopg.connect(self.url) as conn:
                self.families[v] = [(int(i), float(x), float(y)) for i, x, y in conn.execute(
                    """SELECT h.id, ST_X(h.geom), ST_Y(h.geom) FROM campaign_target t JOIN household h
                       ON h.id = t.household_id WHERE t.campaign_id = %s AND t.rt_code = ANY(%s) ORDER BY h.id""",
                    (self.cid, mine)).fetchall()]  # fmt: skip
        self.free_rts = rts[len(self.verifiers) * per_verifier :]
        random.Random(7).shuffle(self.free_rts)
        self.turn = 0
        self.clock = datetime.now(UTC) - timedelta(hours=6)

    async def assignment(self, client: httpx.AsyncClient, base: str) -> Write | None:
        if not self.free_rts:
            return None
        rt = self.free_rts.pop()
        verifier = self.verifiers[self.turn % len(self.verifiers)]
        self.turn += 1
        try:
            r = await client.post(f"{base}/api/v1/campaigns/{self.cid}/assignments", headers=self.tokens[self.koor],
                                  json={"rt_codes": [rt], "verifier": verifier, "due_on": self.due})  # fmt: skip
            return Write("assignment", rt, str(r.status_code), r.status_code == 201)
        except httpx.HTTPError as exc:
            return Write("assignment", rt, type(exc).__name__, False)

    def visit_body(self, verifier: str, n: int) -> dict[str, Any]:
        fams = self.families[verifier]
        hid, lon, lat = fams[n % len(fams)]
        self.clock += timedelta(seconds=7)
        return {"visits": [{"client_id": str(uuid.uuid4()), "campaign_id": self.cid, "household_id": hid,
                            "result_code": 1, "visited_at": self.clock.isoformat(), "lon": lon, "lat": lat,
                            "accuracy_m": 8, "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5}]}  # fmt: skip

    async def visit(self, client: httpx.AsyncClient, base: str, verifier: str, n: int,
                    body: dict[str, Any] | None = None) -> Write:  # fmt: skip
        body = body or self.visit_body(verifier, n)
        key = body["visits"][0]["client_id"]
        try:
            r = await client.post(f"{base}/api/v1/verifications/batch", json=body, headers=self.tokens[verifier])
        except httpx.HTTPError as exc:
            return Write("visit", key, type(exc).__name__, False, body=body)
        note = ""
        if r.status_code == 200:
            note = r.json()["results"][0]["status"]
        return Write("visit", key, str(r.status_code), r.status_code == 200 and note == "created", note, body)

    def present(self, writes: list[Write]) -> set[str]:
        rts = [w.key for w in writes if w.kind == "assignment"]
        ids = [w.key for w in writes if w.kind == "visit"]
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            got = {r[0] for r in conn.execute(
                "SELECT rt_code FROM assignment WHERE campaign_id = %s AND rt_code = ANY(%s) AND kind <> 'backcheck'",
                (self.cid, rts)).fetchall()}  # fmt: skip
            got |= {str(r[0]) for r in conn.execute(
                "SELECT client_id FROM verification WHERE client_id = ANY(%s::uuid[])", (ids,)).fetchall()}  # fmt: skip
        return got


def tally(writes: list[Write], present: set[str], label: str) -> None:
    acked = [w for w in writes if w.ack]
    lost = [w for w in acked if w.key not in present]
    errored = [w for w in writes if not w.status.startswith("2")]
    ambiguous = [w for w in errored if w.key in present]
    say(f"{label}: acknowledged {len(acked)}, present {len(acked) - len(lost)}, lost {len(lost)}"
        + (f" ({', '.join(f'{w.kind} {w.key}' for w in lost[:5])})" if lost else ""))  # fmt: skip
    answers = Counter(f"{w.kind} {w.status}" + (f" {w.note}" if w.note else "") for w in writes)
    say(f"    {len(writes)} writes: {counts(answers)}")
    say(f"    answered with an error but present (committed, the answer lost): {len(ambiguous)}"
        + (f" ({counts(Counter(w.kind for w in ambiguous))})" if ambiguous else ""))  # fmt: skip


class PgProxy:
    """A TCP proxy for the PostgreSQL wire protocol that can hold the next COMMIT: either before it reaches the
    server ("request") or the server's answer to it ("reply"). Loopback only."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode: str | None = None
        self.marker = b""
        self.held = asyncio.Event()
        self.conns: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task[Any]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def arm(self, mode: str, marker: bytes) -> None:
        """Hold the next COMMIT of a transaction that sent a statement containing `marker` (upper case): the
        app's background tasks (the audit sealer, pings) commit on other connections meanwhile."""
        self.held.clear()
        self.marker = marker
        self.mode = mode

    def drop_all(self) -> None:
        for w in list(self.conns):
            w.transport.abort()

    async def close(self) -> None:
        self.server.close()
        self.drop_all()
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=5)
        await self.server.wait_closed()

    @staticmethod
    def _ends_transaction(kind: bytes, body: bytes) -> str | None:
        """ "commit" or "rollback" when the message is one (simple Query, or Parse in the extended protocol)."""
        if kind == b"Q":
            text = body
        elif kind == b"P":  # Parse: statement name, then the query text
            parts = body.split(b"\0")
            text = parts[1] if len(parts) > 1 else b""
        else:
            return None
        word = text.rstrip(b"\0").strip().rstrip(b";").strip().upper()
        if word in (b"COMMIT", b"END", b"COMMIT TRANSACTION"):
            return "commit"
        if word in (b"ROLLBACK", b"ABORT", b"ROLLBACK TRANSACTION"):
            return "rollback"
        return None

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        if me is not None:
            self.handlers.add(me)
        try:
            await self._pump(creader, cwriter)
        except asyncio.CancelledError:
            pass  # the event loop is closing
        finally:
            if me is not None:
                self.handlers.discard(me)

    async def _pump(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            cwriter.transport.abort()
            return
        self.conns |= {cwriter, uwriter}
        hold_replies = False
        marked = False  # the current transaction sent the armed statement

        async def client_to_server() -> None:
            nonlocal hold_replies, marked
            while True:  # untyped: SSL/GSS requests, then the startup packet (or a cancel request)
                head = await creader.readexactly(4)
                body = await creader.readexactly(int.from_bytes(head, "big") - 4)
                uwriter.write(head + body)
                await uwriter.drain()
                if int.from_bytes(body[:4], "big") not in (80877103, 80877104):
                    break
            while True:
                kind = await creader.readexactly(1)
                head = await creader.readexactly(4)
                body = await creader.readexactly(int.from_bytes(head, "big") - 4)
                if self.mode and kind in (b"Q", b"P") and self.marker in body.upper():
                    marked = True
                end = self._ends_transaction(kind, body)
                if end and not (marked and self.mode and end == "commit"):
                    marked = False
                if end == "commit" and marked and self.mode:
                    marked = False
                    mode, self.mode = self.mode, None
                    self.held.set()
                    if mode == "request":
                        await asyncio.Event().wait()  # never sent: the connection ends with the server
                    hold_replies = True
                uwriter.write(kind + head + body)
                await uwriter.drain()

        async def server_to_client() -> None:
            while data := await ureader.read(65536):
                if hold_replies:
                    continue  # the COMMIT's answer (and anything after it) never reaches the app
                cwriter.write(data)
                await cwriter.drain()

        tasks = [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for w in (cwriter, uwriter):
                w.transport.abort()
                self.conns.discard(w)


async def section_commit(p: Private, writer: Writer, args: argparse.Namespace) -> None:
    heading("commit: acknowledged vs present writes across a crash, and with a held COMMIT")
    world, cluster = p.world, p.cluster
    base = world.base
    writes: list[Write] = []
    stop = asyncio.Event()
    crash_at = args.commit_seconds * 0.35
    times: dict[str, float] = {}

    async def assigner() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while not stop.is_set():
                w = await writer.assignment(client, base)
                if w is None:
                    return
                writes.append(w)
                if not w.ack:
                    await asyncio.sleep(0.1)

    async def visitor(v: str) -> None:
        n = 0
        async with httpx.AsyncClient(timeout=30) as client:
            while not stop.is_set():
                w = await writer.visit(client, base, v, n)
                n += 1
                writes.append(w)
                if not w.ack:
                    await asyncio.sleep(0.1)

    async def crash() -> None:
        await asyncio.sleep(crash_at)
        times["crash"] = time.perf_counter()
        await asyncio.to_thread(cluster.crash)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.start_again)
        times["back"] = time.perf_counter()
        await asyncio.sleep(max(0.0, args.commit_seconds - crash_at - (times["back"] - times["crash"])))
        stop.set()

    tasks = [asyncio.create_task(crash())]
    tasks += [asyncio.create_task(assigner()) for _ in range(args.assigners)]
    tasks += [asyncio.create_task(visitor(v)) for v in writer.verifiers]
    await asyncio.wait_for(asyncio.gather(*tasks), args.commit_seconds + 120)
    say(f"{args.assigners} coordinator clients assigning RTs and {len(writer.verifiers)} verifiers sending visits for "
        f"{args.commit_seconds:.0f} s; the cluster crashed (stop -m immediate) at {crash_at:.0f} s and was back "
        f"{times['back'] - times['crash']:.1f} s later")  # fmt: skip
    present = writer.present(writes)
    tally(writes, present, "crash under writes")
    await resend_ambiguous(writer, base, writes, present)

    # --- the held COMMIT ---
    proxy = PgProxy(cluster.cluster.load_state().port)  # type: ignore[union-attr]
    pport = await proxy.start()
    info = conninfo_to_dict(world.url)
    via = (f"postgresql://{info['user']}:{info['password']}@127.0.0.1:{pport}/{info['dbname']}"
           "?sslmode=disable&gssencmode=disable")  # fmt: skip
    proc2, base2 = await asyncio.to_thread(start_product, p.procs, via, "product-via-proxy")
    held_writes: list[Write] = []
    try:
        say(f"\nheld COMMIT: a second app process reaches the database through a TCP proxy; per trial the proxy holds "
            f"the next COMMIT (or its answer) for {args.hold:.0f} s, the cluster crashes, the app answers, the "
            "cluster comes back")  # fmt: skip
        modes = ["request"] * args.held_trials + ["reply"] * args.held_reply_trials
        async with httpx.AsyncClient(timeout=30) as client:
            for k, mode in enumerate(modes):
                await wait_healthy(base2)
                kind = "visit" if k % 2 == 0 else "assignment"
                proxy.arm(mode, b"INSERT INTO VERIFICATION (" if kind == "visit" else b"INSERT INTO ASSIGNMENT (")
                v = writer.verifiers[k % len(writer.verifiers)]
                task = asyncio.create_task(
                    writer.visit(client, base2, v, 10_000 + k) if kind == "visit" else writer.assignment(client, base2)
                )
                held = asyncio.create_task(proxy.held.wait())
                await asyncio.wait([task, held], timeout=15, return_when=asyncio.FIRST_COMPLETED)
                if not proxy.held.is_set():
                    held.cancel()
                    proxy.mode = None
                    w = await task
                    if w is not None:
                        say(f"  trial {k + 1} ({mode}, {kind}): answered {w.status} {w.note} before any COMMIT")
                        held_writes.append(w)
                    continue
                await asyncio.wait([task], timeout=args.hold)
                early = task.done()
                await asyncio.to_thread(cluster.crash)
                proxy.drop_all()
                try:
                    w = await asyncio.wait_for(task, 30)
                except TimeoutError:
                    w = Write(kind, "?", "no answer", False)
                await asyncio.to_thread(cluster.start_again)
                if w is None:
                    continue
                held_writes.append(w)
                here = w.key in writer.present([w])
                say(f"  trial {k + 1} ({'COMMIT held before the server' if mode == 'request' else 'COMMIT answer held'}"
                    f", {kind}): answered {w.status}{' ' + w.note if w.note else ''}"
                    f"{' WHILE THE COMMIT WAS HELD' if early else ' after the crash'}; present afterwards: "
                    f"{'yes' if here else 'no'}")  # fmt: skip
        present = writer.present(held_writes)
        tally(held_writes, present, "held COMMIT")
        await wait_healthy(base2)
        await resend_ambiguous(writer, base2, held_writes, present)
    finally:
        p.procs.stop(proc2)
        await proxy.close()


async def resend_ambiguous(writer: Writer, base: str, writes: list[Write], present: set[str]) -> None:
    """The visits answered with an error that were committed all the same, sent again with the same client_id
    (as the phone does): each should be answered `duplicate`, and still be there once."""
    again = [w for w in writes if w.kind == "visit" and not w.status.startswith("2") and w.key in present]
    if not again:
        return
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for w in again:
            hid = w.body["visits"][0]["household_id"]
            verifier = next(v for v in writer.verifiers if any(f[0] == hid for f in writer.families[v]))
            out.append(await writer.visit(client, base, verifier, 0, w.body))
    with psycopg.connect(writer.url) as conn:
        rows = conn.execute("SELECT count(*) FROM verification WHERE client_id = ANY(%s::uuid[])",
                            ([w.key for w in again],)).fetchone()[0]  # type: ignore[index]  # fmt: skip
    say(
        f"    those visits sent again with the same client_id: {counts(Counter(w.note or w.status for w in out))}; "
        f"rows for them: {rows} (one each: {'yes' if rows == len(again) else 'NO'})"
    )


# --- main --------------------------------------------------------------------------------------------


def setup_private(procs: Procs, args: argparse.Namespace) -> tuple[Private, Writer]:
    cluster = PrivateCluster(procs)
    start = time.perf_counter()
    server = cluster.start()
    say(f"private cluster: initdb and start in {time.perf_counter() - start:.1f} s, port "
        f"{cluster.cluster.load_state().port}")  # type: ignore[union-attr]  # fmt: skip
    url = load_database(server, args.scale, "private cluster")
    with psycopg.connect(url) as conn:
        own = [r[0] for r in conn.execute(
            "SELECT code FROM area WHERE level = 'rt' ORDER BY code LIMIT %s",
            (args.verifiers,)).fetchall()]  # fmt: skip
    kota = kota_code(url)
    verifiers = [f"bench.v{k + 1}" for k in range(args.verifiers)]
    users = [("bench.admin", "admin", "kota", [kota]), ("bench.koor", "coordinator", "kota", [kota])]
    users += [(v, "verifier", "rt", [own[k]]) for k, v in enumerate(verifiers)]
    asyncio.run(add_users(url, users))
    proc, base = start_product(procs, url, "product-private")
    world = make_world(url, base, proc)
    world.admin = token(base, "bench.admin")
    writer = Writer(url, verifiers, "bench.koor")
    writer.login(base)
    writer.prepare(base, own, args.rts_per_verifier)
    return Private(cluster, world, procs), writer


class OutOfTime(Exception):
    """Raised by SIGALRM when --max-seconds has passed."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run (default: {','.join(SECTIONS)})")
    parser.add_argument("--no-peers", action="store_true", help="skip tipg and pygeoapi (no install, no column)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city scale (default 1.0: ~3,100 RTs)")
    parser.add_argument("--repeat", type=int, default=10, help="cache: warm runs per case (default 10)")
    parser.add_argument("--cold", type=int, default=5, help="cache: cold requests per case (default 5)")
    parser.add_argument(
        "--case-budget",
        type=float,
        default=6.0,
        help="cache: stop repeating a case after this many seconds (min 3 runs; default 6)",
    )
    parser.add_argument("--duration", type=float, default=8.0, help="load: seconds per concurrency level (default 8)")
    parser.add_argument("--levels", default="1,8,32,64", help="load: concurrent clients (default 1,8,32,64)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load/restart: the HTTP client of the closed loops (default raw: a minimal HTTP/1.1 "
                             "client; httpx costs several times more CPU per request)")  # fmt: skip
    parser.add_argument("--stall-seconds", type=float, default=12.0, help="stall: seconds per phase (default 12)")
    parser.add_argument("--stall-exports", type=int, default=12, help="stall: exports at once (default 12)")
    parser.add_argument("--export-timeout", type=float, default=120.0, help="stall: bound of the full exports")
    parser.add_argument("--slow-clients", type=int, default=64, help="stall: half-request clients (default 64)")
    parser.add_argument(
        "--restart-window",
        type=float,
        default=8.0,
        help="restart: seconds of load before, between and after the restart and the crash",
    )
    parser.add_argument("--restart-clients", type=int, default=16, help="restart: concurrent clients (default 16)")
    parser.add_argument("--commit-seconds", type=float, default=20.0, help="commit: seconds of writes (default 20)")
    parser.add_argument("--assigners", type=int, default=2, help="commit: coordinator clients (default 2)")
    parser.add_argument("--verifiers", type=int, default=4, help="commit: verifier clients (default 4)")
    parser.add_argument("--rts-per-verifier", type=int, default=10, help="commit: RTs assigned to each verifier")
    parser.add_argument("--held-trials", type=int, default=4, help="commit: trials with the COMMIT held (default 4)")
    parser.add_argument(
        "--held-reply-trials", type=int, default=2, help="commit: trials with the COMMIT's answer held (default 2)"
    )
    parser.add_argument("--hold", type=float, default=2.0, help="commit: seconds a COMMIT is held before the crash")
    parser.add_argument(
        "--max-seconds", type=int, default=1500, help="stop everything after this many seconds (default 1500)"
    )
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(SECTIONS)}")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    def out_of_time(signum: int, frame: Any) -> None:
        raise OutOfTime(f"--max-seconds {args.max_seconds} reached: stopped")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.max_seconds)
    procs = Procs(args.max_seconds)
    server: str | None = None
    status = 0
    clock: dict[str, float] = {}
    began = time.perf_counter()
    try:
        if only & {"cache", "load", "stall"}:
            start = time.perf_counter()
            server = bench_api.server_url()
            where = conninfo_to_dict(server)
            url = load_database(server, args.scale, f"{where.get('host')}:{where.get('port')}")
            asyncio.run(add_users(url, [("bench.admin", "admin", "kota", [kota_code(url)])]))
            proc, base = start_product(procs, url, "product")
            world = make_world(url, base, proc)
            world.admin = token(base, "bench.admin")
            peers: dict[str, str | None] = {"tipg": None, "pygeoapi": None}
            if "cache" in only and not args.no_peers:
                peers = {"tipg": start_tipg(procs, url), "pygeoapi": start_pygeoapi(procs, url)}
                say(f"peers: tipg {'up' if peers['tipg'] else 'unavailable'}, "
                    f"pygeoapi {PYGEOAPI_VERSION} {'up' if peers['pygeoapi'] else 'unavailable'}")  # fmt: skip
            clock["setup (shared server)"] = time.perf_counter() - start
            for name, run in (("cache", lambda: section_cache(world, peers, args)),
                              ("load", lambda: asyncio.run(section_load(world, args))),
                              ("stall", lambda: asyncio.run(section_stall(world, args)))):  # fmt: skip
                if name in only:
                    start = time.perf_counter()
                    run()
                    clock[name] = time.perf_counter() - start
                    tb = procs.log_errors("product")
                    say(f"[{name}: {clock[name]:.0f} s; tracebacks in the server's log so far: {tb}]")
            for proc_ in procs.procs:
                procs.stop(proc_)
        if only & {"restart", "commit"}:
            heading("private cluster for the restart and commit sections")
            start = time.perf_counter()
            private, writer = setup_private(procs, args)
            clock["setup (private cluster)"] = time.perf_counter() - start
            if "restart" in only:
                start = time.perf_counter()
                asyncio.run(section_restart(private, args))
                clock["restart"] = time.perf_counter() - start
                say(f"[restart: {clock['restart']:.0f} s; tracebacks in the server's log so far: "
                    f"{procs.log_errors('product-private')}]")  # fmt: skip
            if "commit" in only:
                start = time.perf_counter()
                asyncio.run(section_commit(private, writer, args))
                clock["commit"] = time.perf_counter() - start
                direct, proxied = procs.log_errors("product-private"), procs.log_errors("product-via-proxy")
                say(
                    f"[commit: {clock['commit']:.0f} s; tracebacks in the servers' logs: {direct} direct, "
                    f"{proxied} via the proxy]"
                )
    except OutOfTime as exc:
        say(f"\n{exc}")
        status = 2
    finally:
        signal.alarm(0)
        procs.close()
        if server is not None:
            try:
                drop_database(server, DBNAME)
            except Exception as exc:  # noqa: BLE001
                say(f"cleanup: could not drop {DBNAME}: {exc}")
        say("\ntimes: " + ", ".join(f"{k} {v:.0f} s" for k, v in clock.items())
            + f"; total {time.perf_counter() - began:.0f} s")  # fmt: skip
    sys.exit(status)


if __name__ == "__main__":
    main()
