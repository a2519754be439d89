"""Many cities in one deployment, on plain PostGIS and on Citus, in one run (issue 16).

For each backend (an embedded plain PostGIS; an embedded Citus cluster of a coordinator and 2 workers, both under
a temporary PETA_HOME on this machine) the synthetic cities of `peta demo --cities N` are loaded one after another
into one database, through the product's own loader (the statement triggers keep the ranking, the figures, the
audit and the data version in the loading transaction), and at each step of `--cities` (1, 10, 100 by default,
loaded cumulatively) it measures:

  import      families loaded per second over the cities added in that step (the loader, triggers and all, not
              the generation of the synthetic cities, which runs 1-3 of README "Scale, measured" counted;
              then VACUUM ANALYZE and CHECKPOINT on every node, untimed, so that no autovacuum of the new rows
              and no checkpoint writing out the load races the timed reads)
  bbox        one city's RT features in a bbox (OGC items of the public RT layer, gis.features), median ms
  tile        one city's RT vector tile at z13 (gis.tiles), median ms
  rt figures  one city's RT figures (gis.figures.stored, as /api/v1/stats/rt?parent=<kota> reads them), median ms
  roll-up     the province and national figures (gis.figures.rollup over every kab/kota), median ms
  size        the database's size (on Citus: the coordinator and every worker together)
  rss         the loading process's peak resident memory so far (the loader streams one city at a time; the
              reads are timed in a fresh process of their own, as an API worker serves them)

and each of the bbox, tile and RT figures in turn with the same read of a control database in the same cluster that
holds the first city alone (loaded once, untimed): their ratio at the same step is the tenant's cost of its
neighbours, free of the machine's drift between steps (as large as the effect, here: README "Scale, measured");

and, on Citus, the roll-up explained task by task (EXPLAIN ANALYZE, citus.explain_all_tasks): how many shard tasks
it ran, their planning and execution time summed and at most, against its wall time: the work that more workers, on
more cores or machines, would share.

and prints, per backend, each latency as a ratio of its own 1-city figure (a tenant must not feel its neighbours:
goal 1.2x at 100 cities), the import rate as a ratio of the 1-city rate (goal: within 1.5x of linear), and Citus
over plain at each step. Timings are printed, never asserted. At --scale 1 a city is about 95,000 families
(the demo city); `--scale 0.1 --cities 1,10,100` is 9,500 a city.

    .venv/bin/python bench/bench_scale.py --cities 1,10 --scale 1 --repeat 20
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from boundaries.demo.cities import city_configs  # noqa: E402
from core.settings import Settings  # noqa: E402
from db import citus  # noqa: E402
from db.connect import create_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402
from gis import features as fx  # noqa: E402
from gis.figures import rollup, rollup_sql, stored  # noqa: E402
from gis.tiles import tile  # noqa: E402

DBNAME = "peta_bench_scale"
CONTROL = "peta_bench_scale_one"
TILE_Z = 13


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


class Backend:
    """One database to load the cities into and read them from."""

    name: str
    url: str
    control_url: str  # the first city alone, in the same cluster: the reference its reads are interleaved with
    first_kota: str = ""  # the city whose reads are timed at every step

    def size(self) -> int:
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            return int(row[0]) if row else 0

    def close(self) -> None: ...


class Plain(Backend):
    def __init__(self, home: Path) -> None:
        self.name = "PostGIS"
        self.cluster = EmbeddedCluster(Settings(PETA_HOME=str(home / "plain")))
        server = self.cluster.start().url
        self.url = create_database(server, DBNAME, drop_first=True)
        migrate(self.url)
        self.control_url = create_database(server, CONTROL, drop_first=True)
        migrate(self.control_url)

    def close(self) -> None:
        self.cluster.stop()


class Citus(Backend):
    def __init__(self, home: Path, workers: int) -> None:
        self.name = f"Citus ({workers} workers)"
        self.settings = Settings(PETA_HOME=str(home / "citus"))
        citus.up(self.settings, workers)
        self.url = citus.create_database(self.settings, DBNAME)
        migrate(self.url)
        self.control_url = citus.create_database(self.settings, CONTROL)
        migrate(self.control_url)

    def size(self) -> int:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT result FROM run_command_on_all_nodes('SELECT pg_database_size(current_database())')"
            ).fetchall()
        return sum(int(r[0]) for r in rows)

    def close(self) -> None:
        citus.down(self.settings)


def _tasks(plan: Any) -> list[float]:
    """Each shard task's planning + execution time (ms) in a Citus EXPLAIN (ANALYZE, FORMAT JSON)."""
    found: list[float] = []
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key == "Remote Plan":
                inner = value[0][0]
                found.append(inner.get("Planning Time", 0.0) + inner.get("Execution Time", 0.0))
            else:
                found += _tasks(value)
    elif isinstance(plan, list):
        for value in plan:
            found += _tasks(value)
    return found


async def _rollup_tasks(aconn: psycopg.AsyncConnection[Any]) -> dict[str, float]:
    """The roll-up on Citus, task by task: count, summed and longest task time, and the statement's wall time."""
    await aconn.execute("SET citus.explain_all_tasks = on")
    started = time.perf_counter()
    cur = await aconn.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + rollup_sql("provinsi", False))
    wall = (time.perf_counter() - started) * 1000
    row = await cur.fetchone()
    await aconn.execute("RESET citus.explain_all_tasks")
    times = _tasks(row[0] if row else [])
    return {"tasks": len(times), "task ms sum": sum(times), "task ms max": max(times, default=0.0),
            "explained ms": wall}  # fmt: skip


def _timed_reads(url: str, control_url: str, first_kota: str, repeat: int, citus_tasks: bool) -> dict[str, float]:
    """One city's reads, each timed `repeat` times after a warm-up (medians, ms), in turn with the same read of the
    control database (the same city alone, "<read> control"): the machine's drift between steps, which can be as
    large as the effect measured, touches both alike. Run in a process of its own."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom), "
            "ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM area WHERE level = 'kota' AND code = %s",
            (first_kota,),
        ).fetchone()
    assert row is not None
    kota, x0, y0, x1, y1, cx, cy = row
    # the middle quarter of the first city's box
    box = (x0 + (x1 - x0) * 0.375, y0 + (y1 - y0) * 0.375, x0 + (x1 - x0) * 0.625, y0 + (y1 - y0) * 0.625)
    tx, ty = _tile_xy(cx, cy, TILE_Z)
    rt = fx.COLLECTIONS["rt"]
    compiled = fx.compile_items(rt, None, fx.ItemsQuery(bbox=box, limit=1000))

    async def reads() -> dict[str, float]:
        aconn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        control = await psycopg.AsyncConnection.connect(control_url, autocommit=True)
        loop_times: dict[str, list[float]] = {}

        async def timed(name: str, read: Callable[[Any], Any], with_control: bool = True) -> None:
            pairs = [(name, aconn)] + ([(f"{name} control", control)] if with_control else [])
            for _, c in pairs:
                await read(c)  # warm
            for _ in range(repeat):
                for key, c in pairs:
                    started = time.perf_counter()
                    await read(c)
                    loop_times.setdefault(key, []).append((time.perf_counter() - started) * 1000)

        try:
            await timed("bbox", lambda c: fx.items(c, compiled))
            await timed("tile", lambda c: tile(c, rt, None, TILE_Z, tx, ty))
            await timed("rt figures", lambda c: stored(c, "rt", kota, False))
            await timed("roll-up", lambda c: rollup(c, "provinsi", False), with_control=False)
            if citus_tasks:
                loop_times.update({k: [v] for k, v in (await _rollup_tasks(aconn)).items()})
        finally:
            await aconn.close()
            await control.close()
        return {k: statistics.median(v) for k, v in loop_times.items()}

    return asyncio.run(reads())


def _measure(b: Backend, configs: list[DemoConfig], loaded: int, upto: int, repeat: int) -> dict[str, float]:
    """Load cities loaded..upto-1, then time one city's reads; the figures of this step."""
    families = 0
    took = 0.0
    with psycopg.connect(b.url) as conn:
        for i in range(loaded, upto):
            city = generate_city(configs[i])
            started = time.perf_counter()
            with conn.transaction():
                counts = load_city(conn, city, keep_others=i > 0)
            took += time.perf_counter() - started
            families += counts["households"]
            if i == 0:  # the control database: the first city alone
                b.first_kota = city.kota().code
                with psycopg.connect(b.control_url) as control, control.transaction():
                    load_city(control, city)
            del city
    # the steady state after a bulk load, as an operator leaves it: no autovacuum of the new rows, and no checkpoint
    # writing out the load's pages, racing the reads
    with psycopg.connect(b.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE household, household_rank, area_stats, area_cell_key, area_stats_public, area")
        if loaded == 0:
            with psycopg.connect(b.control_url, autocommit=True) as control:
                control.execute("VACUUM ANALYZE household, household_rank, area_stats, area_cell_key,"
                                " area_stats_public, area")  # fmt: skip
        conn.execute("CHECKPOINT")
        if isinstance(b, Citus):
            conn.execute("SELECT run_command_on_workers('CHECKPOINT')")
    # the reads are timed in a fresh process, as an API worker would serve them: not in the loader's, whose heap has
    # held every city generated so far
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        out = pool.submit(_timed_reads, b.url, b.control_url, b.first_kota, repeat, isinstance(b, Citus)).result()
    out["import"] = families / took if took else 0.0
    out["families"] = families
    out["size"] = b.size() / 1e6
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cities", default="1,10,100", help="the steps, cumulative (default 1,10,100)")
    ap.add_argument("--scale", type=float, default=1.0, help="each city's size, 1 = the demo city (~95,000 families)")
    ap.add_argument("--repeat", type=int, default=20, help="timed reads per measure (median)")
    ap.add_argument("--backends", default="plain,citus", help="plain, citus or both (default)")
    ap.add_argument("--workers", type=int, default=2, help="Citus workers (default 2)")
    args = ap.parse_args()
    steps = sorted({int(s) for s in args.cities.split(",")})
    configs = city_configs(max(steps), DemoConfig(scale=args.scale))
    results: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="peta-bench-scale-") as tmp:
        Path(tmp).chmod(0o755)  # the embedded clusters run as the postgres account when we are root
        for kind in args.backends.split(","):
            backend: Backend = Plain(Path(tmp)) if kind == "plain" else Citus(Path(tmp), args.workers)
            try:
                results[backend.name] = {}
                loaded = 0
                for n in steps:
                    figures = _measure(backend, configs, loaded, n, args.repeat)
                    loaded = n
                    results[backend.name][n] = figures
                    print(f"{backend.name}, {n} cities: " + ", ".join(
                        f"{k} {v:,.1f}" for k, v in figures.items()), flush=True)  # fmt: skip
            finally:
                backend.close()
    _report(results, steps, args.scale)


def _report(results: dict[str, dict[int, dict[str, float]]], steps: list[int], scale: float) -> None:
    cols = ("import", "bbox", "tile", "rt figures", "roll-up", "size", "rss")
    units = {"import": "fam/s", "bbox": "ms", "tile": "ms", "rt figures": "ms", "roll-up": "ms", "size": "MB",
             "rss": "MB"}  # fmt: skip
    print(f"\nscale {scale} (about {round(95_000 * scale):,} families a city)")
    header = f"{'backend':<20} {'cities':>6} " + " ".join(f"{c + ' ' + units[c]:>16}" for c in cols)
    print(header)
    for name, by_n in results.items():
        one = by_n[steps[0]]
        for n in steps:
            r = by_n[n]
            cells = []
            for c in cols:
                ratio = ""
                if n != steps[0] and c in ("import", "bbox", "tile", "rt figures") and one[c]:
                    ratio = f" ({r[c] / one[c]:.2f}x)"
                cells.append(f"{r[c]:,.1f}{ratio}".rjust(16))
            print(f"{name:<20} {n:>6} " + " ".join(cells))
    print("\none city's reads against the same reads of a control database holding that city alone, timed in turn"
          " at the same step (the machine's drift between steps cancels)")  # fmt: skip
    for name, by_n in results.items():
        for n in steps:
            r = by_n[n]
            print(f"  {name:<20} {n:>4} cities: " + ", ".join(
                f"{c} {r[c]:,.1f} / {r[c + ' control']:,.1f} ms = {r[c] / r[c + ' control']:.2f}x"
                for c in ("bbox", "tile", "rt figures") if r.get(c + " control")))  # fmt: skip
    for name, by_n in results.items():
        if "tasks" in by_n[steps[0]]:
            print(f"\n{name}: the roll-up, shard task by task (planning + execution on the workers)")
            for n in steps:
                r = by_n[n]
                print(f"  {n:>4} cities: {r['tasks']:.0f} tasks, {r['task ms sum']:,.1f} ms summed, longest"
                      f" {r['task ms max']:,.1f} ms; the statement explained took {r['explained ms']:,.1f} ms")
    names = list(results)
    if len(names) == 2:
        plain, dist = names
        print(f"\n{dist} over {plain}, same step (latency ratio >1: slower; import ratio <1: slower)")
        for n in steps:
            a, b = results[plain][n], results[dist][n]
            shown = ("import", "bbox", "tile", "rt figures", "roll-up")
            print(f"  {n:>4} cities: " + ", ".join(f"{c} {b[c] / a[c]:.2f}x" for c in shown if a[c]))


if __name__ == "__main__":
    main()
