"""load_city: write a generated city into PostGIS in one transaction, replacing what was there (or its kab/kota)."""

from __future__ import annotations

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from boundaries import store
from boundaries.demo.config import INDICATORS, LOCAL_PROGRAM, PROGRAMS, City, Households, Progress
from core.levels import LEVELS

SOURCE = "demo"
CHUNK = 10_000
HOUSEHOLD_COLUMNS = (
    "kk_hash",
    "kk_masked",
    "nik_kepala_hash",
    "nik_kepala_masked",
    "nama_kepala",
    "alamat",
    "kode_rt",
    "rt_code",
    "kota_code",
    "geom",
    "jumlah_anggota",
    *(f"k{i:02d}" for i in range(1, INDICATORS + 1)),
    "programs",
    "desil_resmi",
    "tgl_verval",
    "hasil_verval",
    "source",
)


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _program_literals() -> list[str]:
    """Postgres array literal for each of the 32 programme bit masks."""
    return [
        "{" + ",".join(p for i, p in enumerate(PROGRAMS) if mask >> i & 1) + "}" for mask in range(1 << len(PROGRAMS))
    ]


def _household_columns(hh: Households) -> list[list[str]]:
    """COPY text fields of every household, column by column (values never contain tabs or backslashes)."""
    points = shapely.set_srid(shapely.points(hh.lon, hh.lat), 4326)
    geom = shapely.to_wkb(points, hex=True, include_srid=True).tolist()
    rt = hh.rt_code.tolist()
    flags = np.where(hh.criteria, "t", "f")
    literals = _program_literals()
    dates = np.datetime_as_string(hh.tgl_verval, unit="D")
    verified = ~np.isnat(hh.tgl_verval)
    return [
        hh.kk_hash.tolist(),
        hh.kk_masked.tolist(),
        hh.nik_hash.tolist(),
        hh.nik_masked.tolist(),
        hh.nama.tolist(),
        hh.alamat.tolist(),
        rt,
        rt,
        [code[:5] for code in rt],
        geom,
        hh.size.astype(str).tolist(),
        *(flags[:, j].tolist() for j in range(INDICATORS)),
        [literals[m] for m in hh.programs.tolist()],
        hh.desil.astype(str).tolist(),
        np.where(verified, dates, "\\N").tolist(),
        np.where(verified, hh.hasil_verval.astype(str), "\\N").tolist(),
        [SOURCE] * len(hh),
    ]


def _copy_households(conn: psycopg.Connection, hh: Households, progress: Progress) -> int:
    """COPY all households in chunks; returns how many were written."""
    lines = ["\t".join(row) for row in zip(*_household_columns(hh), strict=True)]
    query = f"COPY household ({', '.join(HOUSEHOLD_COLUMNS)}) FROM STDIN"
    with conn.cursor().copy(query) as copy:
        for start in range(0, len(lines), CHUNK):
            copy.write("\n".join(lines[start : start + CHUNK]) + "\n")
            progress("households", 0.3 + 0.6 * min(1.0, (start + CHUNK) / max(len(lines), 1)))
    return len(lines)


def _load_areas(conn: psycopg.Connection, city: City, progress: Progress) -> dict[str, int]:
    """Stage and insert the areas level by level, parents first."""
    counts: dict[str, int] = {}
    for step, level in enumerate(LEVELS):
        rows = [
            (i, a.code, a.name, a.population, shapely.to_wkb(a.geom))
            for i, a in enumerate(a for a in city.areas if a.level == level)
        ]
        store.stage(conn, rows)
        inserted, updated, _ = store.upsert_staged(conn, level, SOURCE)
        counts[level] = len(inserted) + len(updated)
        progress("areas", 0.3 * (step + 1) / len(LEVELS))
    return counts


def _list_local_program(conn: psycopg.Connection, kota: str) -> None:
    """Make the demo's local programme one of its kab/kota's (kab_kota.<code>.programs.local: the kab/kota's own
    list, else the deployment's, with it added), so that its recipients are counted like any local programme's."""
    row = conn.execute(
        """SELECT COALESCE(CASE WHEN jsonb_typeof(k.value -> %(kota)s -> 'programs' -> 'local') = 'array'
                                THEN k.value -> %(kota)s -> 'programs' -> 'local' END, p.value -> 'local', '[]')
           FROM peta_config k, peta_config p WHERE k.key = 'kab_kota' AND p.key = 'programs'""",
        {"kota": kota},
    ).fetchone()
    current = list(row[0]) if row else []
    if any(e.get("code") == LOCAL_PROGRAM["code"] for e in current):
        return
    conn.execute(
        """UPDATE peta_config SET value = jsonb_set(value, ARRAY[%(kota)s],
                      COALESCE(value -> %(kota)s, '{}') || jsonb_build_object('programs', jsonb_build_object(
                          'local', %(local)s::jsonb))), updated_at = now()
           WHERE key = 'kab_kota'""",
        {"kota": kota, "local": Jsonb([*current, LOCAL_PROGRAM])},
    )


def load_city(
    conn: psycopg.Connection, city: City, progress: Progress | None = None, *, keep_others: bool = False
) -> dict[str, int]:
    """Replace all areas and households with the city in one transaction (with `keep_others`, only those of the
    city's own kab/kota: several cities side by side); counts per level and households."""
    progress = progress or _noop
    with conn.transaction():
        progress("clearing", 0.0)
        # Deleting (not truncating) keeps foreign keys from other tables enforced.
        kota = city.kota().code
        # by the kab/kota's own key: its index (and on Citus its one shard), not a scan of every city's families
        mine = "WHERE kota_code = %(kota)s" if keep_others else ""
        conn.execute(f"DELETE FROM household {mine}", {"kota": kota})
        for table in ("area_version", "area"):
            where = "WHERE code = %(kota)s OR code LIKE %(below)s" if keep_others else ""
            conn.execute(f"DELETE FROM {table} {where}", {"kota": kota, "below": kota + ".%"})
        counts = _load_areas(conn, city, progress)
        _list_local_program(conn, kota)
        counts["households"] = _copy_households(conn, city.households, progress)
        progress("analyze", 0.95)
        # on Citus the workers keep the shards' statistics, and ANALYZE would reach every node from this transaction
        citus = conn.execute("SELECT peta_citus()").fetchone()
        for table in () if citus and citus[0] else ("area", "area_version", "household"):
            conn.execute(f"ANALYZE {table}")
        progress("analyze", 1.0)
    return counts
