"""The spatial API against raw SQL and against tipg, on the demo city, measured in the same run.

Cases (each repeated; medians; every HTTP server is one process, one worker, asked for identity
encoding so that nobody is timed compressing):
1. the whole RT layer (about 3,100 polygons) as GeoJSON with its figures:
   product GET /ogc/collections/rt/items?limit=10000 (public, so the suppressed figures)
   vs the same FeatureCollection built by one SQL query (json_agg) and fetched as text
   vs tipg serving a view of the same rows and figures;
2. the families in a bbox of about 2 x 2 km (about 8,000 points), as an admin:
   product GET /ogc/collections/households/items?bbox=... (scope check and read audit included)
   vs one SQL query vs tipg on a view with the same fields;
3. a z13 RT tile: product GET /tiles/rt/13/x/y.pbf (public figures; the server runs with its tile cache
   off, PETA_TILE_CACHE_SECONDS=0, so every request builds the tile) vs the raw ST_AsMVT query of the
   same columns;
4. memory: 1,000,000 synthetic families streamed by GET /api/v1/exports/households.geojson while the
   server's RSS is sampled (--stream-rows; 0 skips it).
tipg is installed with pip into its own venv (bench/.venv-tipg) so its pins never meet ours.
Prints ratios; asserts no time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from core.settings import get_settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402
from gis.features import AREA_PROPERTIES  # noqa: E402

HERE = Path(__file__).resolve().parent
DBNAME = "peta_bench_api"
TIPG_VENV = HERE / ".venv-tipg"
TIPG_VERSION = "1.6.1"
PASSWORD = "bench-password-123"
IDENTITY = {"Accept-Encoding": "identity"}


def server_url() -> str:
    s = get_settings()
    return s.database_url or EmbeddedCluster(s).start().url


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{what} did not start")


# --- setup -------------------------------------------------------------------------------------

VIEWS = """
CREATE VIEW bench_rt AS
SELECT a.code AS id, a.geom, a.code, a.name, a.level, a.parent_code, a.population, round(a.area_m2::numeric) AS area_m2,
       f.families, f.people, f.removed_families, f.poor_bps_families, f.poor_bps_people, f.poor_local_families,
       f.poor_local_people, f.poor_official_families, f.poor_official_people, f.fakir_miskin_families,
       f.miskin_families, f.rentan_families, f.verified_families, f.target_families, f.target_verified,
       f.recipients_pkh, f.recipients_bpnt, f.recipients_pbi_jk, f.recipients_bpjs_tk, f.recipients_local,
       f.poor_without_pkh, f.poor_without_bpnt, f.poor_without_pbi_jk, f.poor_without_bpjs_tk,
       f.poor_without_local, f.inclusion_errors, f.desil_disagree, f.last_verval,
       f.poverty_rate_pct, f.expected_poor_people, f.under_coverage_people, f.coverage_pct, f.target_coverage_pct,
       current_date - f.last_verval AS days_since_verval, f.suppressed
FROM area a JOIN area_stats_public f ON f.code = a.code WHERE a.level = 'rt';
CREATE VIEW bench_household AS
SELECT h.id, h.geom, h.rt_code, h.kk_masked, h.nik_kepala_masked, h.nama_kepala, h.alamat, h.jumlah_anggota,
       h.bps_count, r.score, r.local_desil, r.category, h.desil_resmi, h.programs, h.tgl_verval, h.hasil_verval,
       h.placement, h.k01, h.k02, h.k03, h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14
FROM household h LEFT JOIN household_rank r ON r.household_id = h.id;
"""


def setup(server: str) -> str:
    url = create_database(server, DBNAME, drop_first=True)
    migrate(url)
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        load_city(conn, generate_city(DemoConfig()))
        conn.execute(VIEWS)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        n = conn.execute("SELECT (SELECT count(*) FROM area WHERE level = 'rt'), (SELECT count(*) FROM household)")
        rts, families = n.fetchone() or (0, 0)
    print(f"setup: demo city, {rts:,} RTs, {families:,} families, in {time.perf_counter() - start:.1f} s")
    return url


def start_product(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = (
        "import uvicorn; from portal.app import create_app; "
        f"uvicorn.run(create_app(url={url!r}), host='127.0.0.1', port={port}, log_level='warning')"
    )
    env = dict(os.environ, PETA_RATE_PER_MINUTE="1000000", PETA_TILE_CACHE_SECONDS="0")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=HERE.parent, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/healthz", proc, "the product")
    return proc, base


def ensure_tipg() -> Path | None:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing tipg {TIPG_VERSION} into {TIPG_VENV} …")
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        r = subprocess.run([str(python), "-m", "pip", "install", "-q", f"tipg=={TIPG_VERSION}", "uvicorn"])
        if r.returncode != 0:
            print("tipg could not be installed: its column is skipped")
            return None
    return python


def start_tipg(url: str) -> tuple[subprocess.Popen[bytes], str] | None:
    python = ensure_tipg()
    if python is None:
        return None
    port = free_port()
    env = dict(
        os.environ, DATABASE_URL=url, TIPG_DB_SCHEMAS='["public"]',
        TIPG_DB_TABLES='["public.bench_rt","public.bench_household"]',
        TIPG_MAX_FEATURES_PER_QUERY="10000", TIPG_DEFAULT_FEATURES_LIMIT="10000",
    )  # fmt: skip
    cmd = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir())
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/collections", proc, "tipg")
    return proc, base


def admin_token(url: str, base: str) -> str:
    import asyncio

    from access.users import add_user

    async def add() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await add_user(conn, "bench.admin", PASSWORD, "admin", "kota", ["15.71"])
            await conn.commit()

    asyncio.run(add())
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "bench.admin", "password": PASSWORD})
    return str(r.json()["access_token"])


# --- timing ------------------------------------------------------------------------------------


def timed(fn, repeat: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    fn()  # warm
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, size


def http(client: httpx.Client, url: str, headers: dict[str, str] | None = None, features: int | None = None):  # type: ignore[no-untyped-def]
    def call() -> int:
        r = client.get(url, headers={**IDENTITY, **(headers or {})})
        r.raise_for_status()
        if features is not None:
            got = len(r.json()["features"])
            if got != features:
                sys.exit(f"{url}: {got} features, expected {features}")
        return len(r.content)

    return call


def sql_text(url: str, query: str, params: tuple[object, ...] = ()):  # type: ignore[no-untyped-def]
    conn = psycopg.connect(url, autocommit=True)

    def call() -> int:
        row = conn.execute(query, params).fetchone()
        return len(row[0]) if row and row[0] is not None else 0

    return call


RT_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature', 'id', v.id, 'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), 6)::json,
    'properties', to_jsonb(v) - 'geom' - 'id') ORDER BY v.id))::text
FROM bench_rt v
"""
BBOX_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature', 'id', v.id, 'geometry', ST_AsGeoJSON(v.geom, 6)::json,
    'properties', to_jsonb(v) - 'geom') ORDER BY v.id))::text
FROM bench_household v WHERE ST_Intersects(v.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
"""
# the same tile as the product's: every figure as an attribute ('suppressed' joined as text), and the
# features within the 64-pixel buffer around the tile (so that outlines continue across tile edges)
TILE_SQL = """
SELECT ST_AsMVT(q, 'rt', 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(v.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom,
           {cols}, array_to_string(v.suppressed, ';') AS suppressed
    FROM bench_rt v WHERE v.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64 / 4096.0), 4326)) q
""".format(cols=", ".join(f"v.{c}" for c in AREA_PROPERTIES if c != "suppressed"))


def busiest_bbox(url: str, target: int = 8000) -> tuple[tuple[float, float, float, float], int]:
    """A square box around the densest part of the city, 2 km wide or grown until it holds `target` families."""
    with psycopg.connect(url) as conn:
        lon, lat = conn.execute(
            """SELECT ST_X(c), ST_Y(c) FROM (
                   SELECT ST_Centroid(ST_Collect(geom)) c FROM household
                   WHERE rt_code LIKE (SELECT left(rt_code, 8) || '%%' FROM household
                                       GROUP BY left(rt_code, 8) ORDER BY count(*) DESC LIMIT 1)) q"""
        ).fetchone()
        half = 1000.0
        while True:
            d_lat, d_lon = half / 110_574, half / 111_320
            box = tuple(round(v, 6) for v in (lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat))
            n = conn.execute(
                "SELECT count(*) FROM household WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", box
            )
            count = (n.fetchone() or (0,))[0]
            if count >= target or half > 10_000:
                print(f"bbox: {2 * half / 1000:.1f} x {2 * half / 1000:.1f} km around ({lon:.4f}, {lat:.4f}): "
                      f"{count:,} families")  # fmt: skip
                return box, count  # type: ignore[return-value]
            half *= 1.1


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


# --- memory --------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 1024


def stream_memory(url: str, base: str, token: str, pid: int, rows: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no ranking/aggregate triggers for filler rows
        start = time.perf_counter()
        conn.execute(
            """INSERT INTO household (kk_hash, kk_masked, nik_kepala_hash, nik_kepala_masked, nama_kepala, alamat,
                   kode_rt, rt_code, kota_code, geom, jumlah_anggota, k01, k02, k03, k04, k05, k06, k07, k08, k09,
                   k10, k11, k12, k13, k14, programs, source)
               SELECT 'synthetic-' || g, h.kk_masked, 'synthetic-nik-' || g, h.nik_kepala_masked, h.nama_kepala,
                      h.alamat, h.kode_rt, h.rt_code, h.kota_code, h.geom, h.jumlah_anggota, h.k01, h.k02, h.k03,
                      h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14, h.programs, 'bench'
               FROM generate_series(1, %s) g
               JOIN household h ON h.id = (SELECT min(id) FROM household) + g %% 90000""",
            (rows,),
        )
        conn.commit()
        total = conn.execute("SELECT count(*) FROM household").fetchone()[0]  # type: ignore[index]
    print(f"\nmemory: {rows:,} synthetic families added ({total:,} in all) in {time.perf_counter() - start:.1f} s")
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_mib(pid))
            time.sleep(0.1)

    before = rss_mib(pid)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    size = 0
    with httpx.stream("GET", f"{base}/api/v1/exports/households.geojson", timeout=3600,
                      headers={**IDENTITY, "Authorization": f"Bearer {token}"}) as r:  # fmt: skip
        r.raise_for_status()
        for chunk in r.iter_bytes():
            size += len(chunk)
    elapsed = time.perf_counter() - start
    done.set()
    thread.join()
    print(f"streamed {total:,} features, {size / (1 << 20):,.0f} MiB of GeoJSON, in {elapsed:.1f} s")
    print(f"server RSS before {before:.0f} MiB, peak while streaming {max(samples):.0f} MiB, "
          f"after {rss_mib(pid):.0f} MiB (growth {max(samples) - before:+.0f} MiB)")  # fmt: skip


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs of each case (default 10)")
    parser.add_argument("--no-tipg", action="store_true", help="skip tipg (no install, no column)")
    parser.add_argument("--stream-rows", type=int, default=1_000_000, help="synthetic families for the memory case")
    args = parser.parse_args()
    server = server_url()
    url = setup(server)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        product, base = start_product(url)
        procs.append(product)
        tipg = None if args.no_tipg else start_tipg(url)
        if tipg:
            procs.append(tipg[0])
        token = admin_token(url, base)
        auth = {"Authorization": f"Bearer {token}"}
        client = httpx.Client(timeout=120)
        with psycopg.connect(url) as conn:
            rts = conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()[0]  # type: ignore[index]
        box, in_box = busiest_bbox(url)
        bbox = ",".join(f"{v:.6f}" for v in box)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x, y = tile_of(cx, cy, 13)
        rows: list[tuple[str, str, float, float | None, float | None, int]] = []

        def case(name: str, product_fn, sql_fn, tipg_fn) -> None:  # type: ignore[no-untyped-def]
            p, size = timed(product_fn, args.repeat)
            s, _ = timed(sql_fn, args.repeat)
            t = timed(tipg_fn, args.repeat)[0] if tipg_fn else None
            rows.append((name, "", p, s, t, size))

        case(
            f"RT layer, {rts:,} polygons with figures",
            http(client, f"{base}/ogc/collections/rt/items?limit=10000", features=rts),
            sql_text(url, RT_SQL),
            http(client, f"{tipg[1]}/collections/public.bench_rt/items?limit=10000", features=rts) if tipg else None,
        )
        case(
            f"families in a bbox ({in_box:,} points)",
            http(client, f"{base}/ogc/collections/households/items?bbox={bbox}&limit=10000", auth, in_box),
            sql_text(url, BBOX_SQL, box),
            http(client, f"{tipg[1]}/collections/public.bench_household/items?bbox={bbox}&limit=10000", features=in_box)
            if tipg
            else None,
        )
        case(
            f"z13 RT tile {x}/{y}",
            http(client, f"{base}/tiles/rt/13/{x}/{y}.pbf"),
            sql_text(url, TILE_SQL, {"z": 13, "x": x, "y": y}),  # type: ignore[arg-type]
            http(client, f"{tipg[1]}/collections/public.bench_rt/tiles/WebMercatorQuad/13/{x}/{y}") if tipg else None,
        )

        print(f"\n{'case':<46}{'product ms':>11}{'SQL ms':>9}{'tipg ms':>9}{'÷ SQL':>8}{'÷ tipg':>8}{'bytes':>12}")
        for name, _, p, s, t, size in rows:
            ts = f"{t:9.1f}" if t is not None else f"{'-':>9}"
            rt = f"{p / t:8.2f}" if t else f"{'-':>8}"
            print(f"{name:<46}{p:11.1f}{s:9.1f}{ts}{p / s:8.2f}{rt}{size:12,}")
        print(f"targets: RT layer and bbox within 1.3x of SQL and faster than tipg; the tile within 1.3x of SQL "
              f"(repeat {args.repeat}, medians)")  # fmt: skip
        if args.stream_rows:
            stream_memory(url, base, token, product.pid, args.stream_rows)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        drop_database(server, DBNAME)


if __name__ == "__main__":
    main()
