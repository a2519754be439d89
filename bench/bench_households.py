"""Household import against a raw COPY + plain spatial join of the same rows, measured in the same run.

The project path is `import_households` of the demo city's registry CSV into an empty `household`
table (read, validate, hash, stage, check, place, upsert, and the ranking/aggregate triggers). The
baseline is what a competent engineer would write to get the same rows into the same RTs: a
server-side COPY of the file's bytes into a text table, then a point-in-polygon join against the RT
polygons. The issue's baseline is the plain join as one writes it (point-driven: each point probes the
RT polygons' GiST index); a hand-tuned RT-driven join over an indexed point table is printed beside it
as a stricter reference.
Every repeat runs in a transaction that is rolled back. Prints the ratio; asserts no time.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from boundaries.demo.config import REFERENCE_DATE  # noqa: E402
from boundaries.demo.export import HEADER, export_csv  # noqa: E402
from core.settings import get_settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402
from registry import Household, Mapping, read_households  # noqa: E402
from registry.importer import import_households  # noqa: E402

DBNAME = "peta_bench"
KEY = b"bench"
TODAY: date = REFERENCE_DATE  # the demo's dates are relative to this day, never to the real today
CHUNK = 1 << 20


def server_url() -> str:
    s = get_settings()
    return s.database_url or EmbeddedCluster(s).start().url


def raise_rollback() -> None:
    raise psycopg.Rollback()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / (1 << 20)


def hwm_rss_mib() -> float:
    """This address space's peak RSS (VmHWM): unlike ru_maxrss, not inherited from the parent across exec."""
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return kib / 1024


# --- project path ------------------------------------------------------------------------------


def project(conn: psycopg.Connection, path: Path, expected: int) -> float:
    start = time.perf_counter()
    with conn.transaction():
        result = import_households(conn, path, key=KEY, today=TODAY)
        elapsed = time.perf_counter() - start
        if result.inserted != expected:
            sys.exit(f"import inserted {result.inserted} of {expected} rows ({result.rejected_rows} rejected)")
        raise_rollback()
    return elapsed


def read_only(path: Path) -> tuple[float, int]:
    """The read/validate/hash pass alone (no database): seconds and valid rows."""
    start = time.perf_counter()
    valid = sum(1 for r in read_households(path, Mapping(), KEY, today=TODAY) if isinstance(r, Household))
    return time.perf_counter() - start, valid


# --- baseline ----------------------------------------------------------------------------------

_RAW = "CREATE TEMP TABLE raw ({}) ON COMMIT DROP".format(", ".join(f"{c} text" for c in HEADER))
_COPY = "COPY raw ({}) FROM STDIN WITH (FORMAT csv, HEADER true)".format(", ".join(HEADER))
# point-driven, exactly as one writes it: the planner probes the RT polygons' GiST index per point
_JOIN_POINTS = """
CREATE TEMP TABLE joined ON COMMIT DROP AS
SELECT r.*, a.code FROM raw r
JOIN area a ON a.level = 'rt' AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(r.lon::float8, r.lat::float8), 4326))
"""
# RT-driven: points materialised and indexed, each RT polygon tested against the points it covers
_JOIN_RTS = (
    """CREATE TEMP TABLE pts ON COMMIT DROP AS
       SELECT r.*, ST_SetSRID(ST_MakePoint(r.lon::float8, r.lat::float8), 4326) AS geom FROM raw r""",
    "CREATE INDEX ON pts USING gist (geom)",
    "ANALYZE pts (geom)",  # the join needs only the points' statistics
    """CREATE TEMP TABLE joined ON COMMIT DROP AS
       SELECT p.*, a.code FROM area a JOIN pts p ON ST_Covers(a.geom, p.geom) WHERE a.level = 'rt'""",
)


def copy_raw(conn: psycopg.Connection, path: Path) -> None:
    conn.execute(_RAW)
    with conn.cursor().copy(_COPY) as copy, path.open("rb") as f:
        while chunk := f.read(CHUNK):
            copy.write(chunk)


def baseline(conn: psycopg.Connection, path: Path, variant: str, expected: int) -> tuple[float, float]:
    """Seconds of (COPY, COPY + join) for one variant, rolled back."""
    start = time.perf_counter()
    with conn.transaction():
        copy_raw(conn, path)
        copied = time.perf_counter() - start
        for sql in (_JOIN_POINTS,) if variant == "points" else _JOIN_RTS:
            conn.execute(sql)
        elapsed = time.perf_counter() - start
        joined = conn.execute("SELECT count(DISTINCT no_kk) FROM joined").fetchone()
        if not joined or joined[0] < 0.99 * expected:
            sys.exit(f"baseline joined only {joined} of {expected} rows")
        raise_rollback()
    return copied, elapsed


# --- memory: stream a large synthetic file through read_households --------------------------------


def _valid_dates() -> list[str]:
    """DDMMYY strings that are dates in every year (days 1-28), men's and women's (+40) forms."""
    return [f"{d + sex:02d}{m:02d}{y:02d}" for y in (71, 83, 95) for sex in (0, 40) for m in range(1, 13)
            for d in range(1, 29)]  # fmt: skip


def write_synthetic(source: Path, target: Path, rows: int) -> None:
    """`rows` rows cycling over the exported ones, each with a fresh unique 16-digit KK and head NIK."""
    dates = _valid_dates()  # 2,016 dates x 10,000 serials: 20 million unique numbers
    if rows > len(dates) * 10_000:
        sys.exit(f"--memory-rows is limited to {len(dates) * 10_000}")
    with source.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        template = list(reader)
    kk, nik = header.index("no_kk"), header.index("nik_kepala")
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, row in zip(range(rows), itertools.cycle(template)):
            serial = f"{dates[i // 10_000]}{i % 10_000:04d}"
            row = list(row)
            row[kk], row[nik] = "157101" + serial, "157102" + serial
            writer.writerow(row)


def stream_child(path: Path) -> None:
    """Run in a fresh process: RSS before, during and after streaming `path` through read_households."""
    base = current_rss_mib()
    peak_before = hwm_rss_mib()
    samples: list[tuple[int, float]] = []
    start = time.perf_counter()
    count = valid = 0
    for result in read_households(path, Mapping(), KEY, today=TODAY):
        count += 1
        valid += isinstance(result, Household)
        if count % 100_000 == 0:
            samples.append((count, current_rss_mib()))
    elapsed = time.perf_counter() - start
    print(f"rows read {count:,} ({valid:,} valid) in {elapsed:.1f} s = {count / elapsed:,.0f} rows/s")
    print(f"RSS before streaming {base:.1f} MiB (peak so far {peak_before:.1f} MiB)")
    print("RSS while streaming: " + ", ".join(f"{n // 1000:,}k: {rss:.1f}" for n, rss in samples) + " MiB")
    print(f"peak RSS {hwm_rss_mib():.1f} MiB: growth while streaming {hwm_rss_mib() - peak_before:+.1f} MiB")


def memory(source: Path, rows: int, tmp: Path) -> None:
    target = tmp / "synthetic.csv"
    start = time.perf_counter()
    write_synthetic(source, target, rows)
    size = target.stat().st_size / (1 << 20)
    print(f"\nmemory: synthetic CSV of {rows:,} rows ({size:,.0f} MiB) written in {time.perf_counter() - start:.1f} s")
    # a fresh process, so that the city generation above does not hide the streaming's peak
    subprocess.run([sys.executable, __file__, "--stream-child", str(target)], check=True)


# --- main --------------------------------------------------------------------------------------


def setup(server: str, scale: float, tmp: Path) -> tuple[str, Path, int]:
    url = create_database(server, DBNAME, drop_first=True)
    migrate(url)
    start = time.perf_counter()
    city = generate_city(DemoConfig(scale=scale, secret_key=KEY))
    path = tmp / "households.csv"
    rows = export_csv(city, path)
    with psycopg.connect(url) as conn:
        load_city(conn, city)
        conn.execute("DELETE FROM household")  # the imports insert; the trigger empties the figures
        conn.commit()
        rts = conn.execute("SELECT count(*) FROM area WHERE level = 'rt'").fetchone()
    del city
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE household, household_rank, area_stats")
    size = path.stat().st_size / (1 << 20)
    print(f"setup: {rows:,} families, {rts[0] if rts else 0:,} RTs, {size:.1f} MiB CSV, "
          f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return url, path, rows


def vacuum(url: str) -> None:
    """Clear the dead tuples a rolled-back repeat leaves behind, so that every repeat starts alike."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM household, household_rank, area_stats, household_version")


def run(args: argparse.Namespace, tmp: Path) -> None:
    server = server_url()
    url, path, rows = setup(server, args.scale, tmp)
    try:
        if args.repeat > 0:
            with psycopg.connect(url) as conn:
                project(conn, path, rows)  # warm caches once
                vacuum(url)
                for variant in ("points", "rts"):
                    baseline(conn, path, variant, rows)
                p: list[float] = []
                for _ in range(args.repeat):
                    p.append(project(conn, path, rows))
                    vacuum(url)
                b = {v: [baseline(conn, path, v, rows) for _ in range(args.repeat)] for v in ("points", "rts")}
            r = [read_only(path)[0] for _ in range(args.repeat)]
            report(rows, args.repeat, p, b, r)
        if args.memory_rows:
            memory(path, args.memory_rows, tmp)
    finally:
        drop_database(server, DBNAME)


def report(rows: int, repeat: int, p: list[float], b: dict[str, list[tuple[float, float]]], r: list[float]) -> None:
    def line(case: str, times: list[float]) -> None:
        m = statistics.median(times)
        print(f"{case:<58}{m:>9.2f}{min(times):>9.2f}{rows / m:>12,.0f}")

    copies = [c for v in b.values() for c, _ in v]
    totals = {v: [t for _, t in times] for v, times in b.items()}
    print(f"\n{'case':<58}{'median s':>9}{'min s':>9}{'rows/s':>12}")
    line("import_households (read, validate, stage, place, upsert)", p)
    line("  of which: read_households alone (no database)", r)
    line("baseline: COPY csv into a text table", copies)
    line("baseline: COPY + point-driven ST_Covers join", totals["points"])
    line("baseline: COPY + RT-driven join (indexed points)", totals["rts"])
    pm = statistics.median(p)
    plain, tuned = statistics.median(totals["points"]), statistics.median(totals["rts"])
    print(f"rows {rows:,}; repeat {repeat}")
    print(f"ratio project / (COPY + plain spatial join), the issue's baseline: {pm / plain:.2f}x  (target within 3x)")
    print(f"ratio project / (COPY + hand-tuned RT-driven join), a stricter reference: {pm / tuned:.2f}x")
    print(f"peak RSS of this process: {peak_rss_mib():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each case (default 3; 0 skips them)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city scale (1.0: ~95,000 families, 3,100 RTs)")
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=0,
        metavar="N",
        help="also stream a synthetic CSV of N rows (e.g. 1000000) through read_households and report RSS",
    )
    parser.add_argument("--stream-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return
    with tempfile.TemporaryDirectory(prefix="peta-bench-") as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
