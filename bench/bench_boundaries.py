"""Boundary import against a bare read + COPY baseline, measured in the same run; prints the ratio."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pyogrio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boundaries.importer import import_boundaries  # noqa: E402
from core.settings import get_settings  # noqa: E402
from db.connect import create_database, drop_database  # noqa: E402
from db.embedded import EmbeddedCluster  # noqa: E402
from db.migrate import migrate  # noqa: E402

JAMBI = Path(__file__).resolve().parents[2] / "shared" / "data" / "kota-jambi"
LEVELS = ("kota", "kecamatan", "kelurahan")


def server_url() -> str:
    s = get_settings()
    return s.database_url or EmbeddedCluster(s).start().url


def project(conn: psycopg.Connection) -> float:
    start = time.perf_counter()
    with conn.transaction():
        for level in LEVELS:
            import_boundaries(conn, JAMBI / f"{level}.geojson", level)
        raise_rollback()
    return time.perf_counter() - start


def raise_rollback() -> None:
    raise psycopg.Rollback()


def baseline(conn: psycopg.Connection) -> float:
    start = time.perf_counter()
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE raw_area (code text, name text, geom geometry) ON COMMIT DROP")
        for level in LEVELS:
            _meta, _fids, geoms, fields = pyogrio.raw.read(JAMBI / f"{level}.geojson")
            with conn.cursor().copy("COPY raw_area (code, name, geom) FROM STDIN") as copy:
                for code, name, wkb in zip(fields[0], fields[1], np.asarray(geoms), strict=True):
                    copy.write_row((code, name, bytes(wkb).hex()))
        conn.execute("SELECT sum(ST_Area(ST_SetSRID(geom, 4326)::geography)) FROM raw_area").fetchone()
        raise_rollback()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not JAMBI.exists():
        sys.exit(f"real Kota Jambi layers not found at {JAMBI}")
    server = server_url()
    url = create_database(server, "peta_bench", drop_first=True)
    migrate(url)
    try:
        with psycopg.connect(url) as conn:
            project(conn), baseline(conn)  # warm caches once
            p = [project(conn) for _ in range(args.repeat)]
            b = [baseline(conn) for _ in range(args.repeat)]
    finally:
        drop_database(server, "peta_bench")
    pm, bm = statistics.median(p), statistics.median(b)
    print(f"{'case':<46}{'median ms':>10}{'min ms':>10}")
    print(f"{'import_boundaries (3 real layers, 80 areas)':<46}{pm * 1e3:>10.1f}{min(p) * 1e3:>10.1f}")
    print(f"{'baseline: pyogrio read + COPY + ST_Area':<46}{bm * 1e3:>10.1f}{min(b) * 1e3:>10.1f}")
    print(f"ratio project / baseline: {pm / bm:.2f}x  (repeat {args.repeat})")


if __name__ == "__main__":
    main()
