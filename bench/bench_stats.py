"""Reading every RT's figures through the product against a plain GROUP BY over the families, same run.

The project path is `read_stats(conn, "rt")`: the trigger-maintained `area_stats` rows of every RT
with the rates and gaps derived at read time, returned as dicts. The baseline computes the same kind
of figures directly: one GROUP BY over `household`, LEFT JOINed from the RTs so that empty RTs appear,
fetched as plain rows. Prints the ratio; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boundaries.demo import DemoConfig, generate_city, load_city  # noqa: E402
from core.settings import get_settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402
from gis.figures import read_stats  # noqa: E402

DBNAME = "peta_bench"

# The figures as one would write them straight over the families (thresholds from core/defaults.yaml:
# poor = 9+ BPS criteria, target = official desil 1-2, inclusion error = a recipient of desil 6+).
BASELINE_SQL = """
SELECT a.code,
       count(h.id) AS families,
       COALESCE(sum(h.jumlah_anggota), 0) AS people,
       count(h.id) FILTER (WHERE h.active AND h.bps_count >= 9) AS poor_bps_families,
       COALESCE(sum(h.jumlah_anggota) FILTER (WHERE h.active AND h.bps_count >= 9), 0) AS poor_bps_people,
       count(h.id) FILTER (WHERE h.tgl_verval IS NOT NULL) AS verified_families,
       count(h.id) FILTER (WHERE h.desil_resmi <= 2) AS target_families,
       count(h.id) FILTER (WHERE h.desil_resmi <= 2 AND h.tgl_verval IS NOT NULL) AS target_verified,
       max(h.tgl_verval) AS last_verval,
       count(h.id) FILTER (WHERE h.active AND 'PKH' = ANY (h.programs)) AS recipients_pkh,
       count(h.id) FILTER (WHERE h.active AND 'BPNT' = ANY (h.programs)) AS recipients_bpnt,
       count(h.id) FILTER (WHERE h.active AND 'PBI-JK' = ANY (h.programs)) AS recipients_pbi_jk,
       count(h.id) FILTER (WHERE h.active AND h.bps_count >= 9 AND NOT 'PBI-JK' = ANY (h.programs))
           AS poor_without_pbi_jk,
       count(h.id) FILTER (WHERE h.active AND h.desil_resmi >= 6 AND cardinality(h.programs) > 0)
           AS inclusion_errors
FROM area a
LEFT JOIN household h ON h.rt_code = a.code
WHERE a.level = 'rt'
GROUP BY a.code
ORDER BY a.code
"""


def server_url() -> str:
    s = get_settings()
    return s.database_url or EmbeddedCluster(s).start().url


async def project(conn: psycopg.AsyncConnection) -> tuple[float, int]:
    start = time.perf_counter()
    rows = await read_stats(conn, "rt")
    return time.perf_counter() - start, len(rows)


async def baseline(conn: psycopg.AsyncConnection) -> tuple[float, int]:
    start = time.perf_counter()
    rows = await (await conn.execute(BASELINE_SQL)).fetchall()
    return time.perf_counter() - start, len(rows)


async def measure(url: str, repeat: int) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    """Both cases on one async connection (the product's data layer is async), caches warmed once."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await project(conn), await baseline(conn)
        p = [await project(conn) for _ in range(repeat)]
        b = [await baseline(conn) for _ in range(repeat)]
        await conn.rollback()
    return p, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each case (default 20)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city scale (1.0: ~95,000 families, 3,100 RTs)")
    args = parser.parse_args()
    server = server_url()
    url = create_database(server, DBNAME, drop_first=True)
    migrate(url)
    try:
        with psycopg.connect(url) as conn:
            counts = load_city(conn, generate_city(DemoConfig(scale=args.scale)))
            conn.commit()
        p, b = asyncio.run(measure(url, args.repeat))
    finally:
        drop_database(server, DBNAME)
    if p[0][1] != b[0][1]:
        sys.exit(f"the product returned {p[0][1]} RTs, the baseline {b[0][1]}")
    pt, bt = [t for t, _ in p], [t for t, _ in b]
    pm, bm = statistics.median(pt), statistics.median(bt)
    print(f"{counts['households']:,} families, {p[0][1]:,} RTs")
    print(f"{'case':<52}{'median ms':>10}{'min ms':>10}")
    label = "await read_stats(conn, 'rt') (area_stats, dicts)"
    print(f"{label:<52}{pm * 1e3:>10.1f}{min(pt) * 1e3:>10.1f}")
    print(f"{'baseline: GROUP BY over household (rows)':<52}{bm * 1e3:>10.1f}{min(bt) * 1e3:>10.1f}")
    print(f"ratio project / baseline: {pm / bm:.2f}x  (repeat {args.repeat}; target within 1.5x)")


if __name__ == "__main__":
    main()
