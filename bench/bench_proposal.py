"""The automatic assignment proposal on the full demo city, against baselines measured in the same run.

Scenarios (one campaign: every family of local desil 1-2; all its RTs unassigned):
- rt-heads: every RT head is a verifier (one per RT, home = their RT, the same capacity each), kept off
  their own RT: the city's plan ("the heads of every RT are enlisted as verifiers");
- enumerators: N verifiers (default 60) living in RTs spread over the city, capacity 15 % above an even
  share.

For each: the proposal's time (reading the priorities and homes from PostGIS, then solving), its
balance (largest and smallest workload) and travel; and, in the same run, two baselines:
- the SQL floor: the priorities query alone (the proposal reads it; it cannot be faster);
- the naive plan: each RT in priority order to the nearest verifier with room (what one writes first),
  with its own balance and travel, to show what the solver buys.
Then the accept step: every proposed RT assigned in one transaction (rolled back).
Prints figures and ratios; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import verval.campaigns  # noqa: E402
import verval.coverage  # noqa: E402
import verval.proposal  # noqa: E402
import verval.solver  # noqa: E402
from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from core.settings import get_settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402

DBNAME = "peta_bench_proposal"


def server_url() -> str:
    s = get_settings()
    return s.database_url or EmbeddedCluster(s).start().url


def setup(url: str, scale: float, enumerators: int) -> int:
    """The demo city, a campaign, one verifier per RT head and `enumerators` enumerators (no argon2: the
    bench never logs in)."""
    with psycopg.connect(url) as conn:
        counts = load_city(conn, generate_city(DemoConfig(scale=scale)))
        conn.execute(
            """INSERT INTO app_user (username, full_name, password_hash, role, scope_level, scope_codes)
               SELECT 'head.' || code, 'Ketua RT ' || code, 'x', 'verifier', 'rt', ARRAY[code]
               FROM area WHERE level = 'rt'"""
        )
        conn.execute(
            """INSERT INTO app_user (username, full_name, password_hash, role, scope_level, scope_codes)
               SELECT 'enum.' || lpad(n::text, 3, '0'), 'Enumerator ' || n, 'x', 'verifier', 'rt', ARRAY[code]
               FROM (SELECT code, row_number() OVER (ORDER BY md5(code)) AS n FROM area WHERE level = 'rt') r
               WHERE n <= %s""",
            (enumerators,),
        )
        conn.commit()
        print(f"demo city: {counts['households']:,} families, {counts['rt']:,} RTs")
    return int(counts["rt"])


async def create_campaign(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        today = (await (await conn.execute("SELECT current_date")).fetchone())[0]  # type: ignore[index]
        c = await verval.campaigns.create_campaign(conn, verval.campaigns.CampaignSpec(
            name="Bench", target_kind="desil", desil_min=1, desil_max=2, starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=90)), "bench")  # fmt: skip
        return int(c["id"])


def naive(problem: verval.solver.Problem) -> dict[str, Any]:
    """Each RT, most urgent first, to the nearest verifier (not their own RT) with room."""
    people = problem.verifiers
    v_xy = np.array([[p["x"], p["y"]] for p in people])
    room = np.array([p["capacity"] for p in people], dtype=float)
    loads = np.zeros(len(people))
    heads: dict[str, list[int]] = {}
    for j, p in enumerate(people):
        for code in p["own"]:
            heads.setdefault(code, []).append(j)
    metres, left = [], 0
    for r in sorted(problem.rts, key=lambda r: (-r["priority"], r["code"])):
        d = np.hypot(v_xy[:, 0] - r["x"], v_xy[:, 1] - r["y"])
        ok = room >= r["load"]
        if problem.keep_off_own:
            ok[heads.get(r["code"], [])] = False
        if not ok.any():
            left += 1
            continue
        j = int(np.argmin(np.where(ok, d, np.inf)))
        room[j] -= r["load"]
        loads[j] += r["load"]
        metres.append(float(d[j]))
    return {"largest_workload": int(loads.max()), "smallest_workload": int(loads.min()),
            "smallest_used_workload": int(loads[loads > 0].min()) if (loads > 0).any() else 0,
            "travel_km": round(sum(metres) / 1000, 1), "mean_distance_km": round(statistics.mean(metres) / 1000, 3),
            "rts_left_out": left, "verifiers_used": int((loads > 0).sum())}  # fmt: skip


async def scenario(url: str, cid: int, name: str, prefix: str, capacity: int, repeat: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT username FROM app_user WHERE username LIKE %s ORDER BY username",
                                 (prefix + "%",))  # fmt: skip
        names = [r[0] for r in await cur.fetchall()]
        specs = [verval.solver.VerifierSpec(n, capacity) for n in names]
        times_load, times_solve, times_sql = [], [], []
        plan: dict[str, Any] = {}
        problem = None
        for _ in range(repeat):
            t = time.perf_counter()
            await verval.coverage.priorities(conn, cid, limit=100_000)
            times_sql.append(time.perf_counter() - t)
            t = time.perf_counter()
            problem = await verval.proposal.load_problem(conn, cid, specs)
            times_load.append(time.perf_counter() - t)
            t = time.perf_counter()
            plan = verval.solver.solve(problem)
            times_solve.append(time.perf_counter() - t)
        assert problem is not None
        t = time.perf_counter()
        base = naive(problem)
        t_naive = time.perf_counter() - t
        items = [(v["verifier"], v["rt_codes"]) for v in plan["verifiers"] if v["rt_codes"]]
        today = (await (await conn.execute("SELECT current_date")).fetchone())[0]  # type: ignore[index]
        await conn.set_autocommit(False)
        t = time.perf_counter()
        ids = await verval.proposal.accept(conn, cid, items, due_on=today + timedelta(days=14), actor="bench")
        t_accept = time.perf_counter() - t
        await conn.rollback()
    s = plan["summary"]
    total = statistics.median([a + b for a, b in zip(times_load, times_solve, strict=True)])
    sql = statistics.median(times_sql)
    print(f"\n## {name}: {len(names):,} verifiers x {capacity} families; {len(problem.rts):,} RTs with "
          f"{sum(r['load'] for r in problem.rts):,} unassigned target families")  # fmt: skip
    print(f"{'':<34}{'proposal':>14}{'naive nearest':>16}")
    keys = (
        "largest_workload",
        "smallest_workload",
        "smallest_used_workload",
        "verifiers_used",
        "travel_km",
        "mean_distance_km",
        "rts_left_out",
    )
    for key in keys:
        print(f"{key:<34}{s[key]:>14}{base[key]:>16}")
    print(f"{'farthest RT from home (km)':<34}{s['farthest_km']:>14}")
    print(f"time (median of {repeat}): proposal {total:.2f} s = read {statistics.median(times_load):.2f} s + solve "
          f"{statistics.median(times_solve):.2f} s; priorities SQL alone {sql:.2f} s "
          f"(ratio {total / sql:.2f}x); naive {t_naive:.2f} s")  # fmt: skip
    print(f"accept: {len(ids):,} assignments in one transaction in {t_accept:.2f} s (rolled back)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each scenario (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city scale (1.0: ~95,000 families)")
    parser.add_argument("--enumerators", type=int, default=60, help="verifiers of the second scenario")
    parser.add_argument("--head-capacity", type=int, default=40, help="families per RT head (default 40)")
    args = parser.parse_args()
    server = server_url()
    url = create_database(server, DBNAME, drop_first=True)
    migrate(url)
    try:
        setup(url, args.scale, args.enumerators)
        cid = asyncio.run(create_campaign(url))
        with psycopg.connect(url) as conn:
            targets = conn.execute("SELECT count(*) FROM campaign_target").fetchone()[0]  # type: ignore[index]
        print(f"campaign: {targets:,} target families (local desil 1-2)")
        asyncio.run(scenario(url, cid, "rt-heads", "head.", args.head_capacity, args.repeat))
        share = math.ceil(targets / args.enumerators * 1.15)
        asyncio.run(scenario(url, cid, "enumerators", "enum.", share, args.repeat))
    finally:
        drop_database(server, DBNAME)


if __name__ == "__main__":
    main()
