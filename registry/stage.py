"""Stage validated rows in PostGIS, check them against the areas and each other, and place each family."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from registry.validate import Household

STAGE_COLUMNS = (
    "row", "kk_hash", "kk_masked", "nik_hash", "nik_masked", "nama_kepala", "alamat", "kode_rt", "lon", "lat",
    "swapped", "jumlah_anggota", *(f"k{i:02d}" for i in range(1, 15)), "programs", "desil_resmi", "tgl_verval",
    "hasil_verval",
)  # fmt: skip

_CREATE = """
DROP TABLE IF EXISTS pg_temp.hh_stage, pg_temp.hh_issue, pg_temp.hh_place;
CREATE TEMP TABLE hh_stage (
    row integer PRIMARY KEY, kk_hash text, kk_masked text, nik_hash text, nik_masked text,
    nama_kepala text, alamat text, kode_rt text, lon float8, lat float8, swapped boolean,
    jumlah_anggota smallint, {criteria}, programs text[], desil_resmi smallint, tgl_verval date,
    hasil_verval smallint,
    geom geometry(Point, 4326) GENERATED ALWAYS AS (
        CASE WHEN lon IS NOT NULL AND NOT swapped THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED
);
CREATE TEMP TABLE hh_issue (row integer, col text, reason text, severity text);
""".format(criteria=", ".join(f"k{i:02d} boolean" for i in range(1, 15)))


def create_stage(conn: psycopg.Connection) -> None:
    """Fresh temporary tables for one import."""
    conn.execute(_CREATE)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_ESCAPES)


def _num(value: object) -> str:
    return "\\N" if value is None else str(value)


def copy_line(h: Household) -> str:
    """One line of COPY text for a household, in STAGE_COLUMNS order (faster than typed write_row)."""
    programs = "{" + ",".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in h.programs) + "}"
    return "\t".join((
        str(h.row), h.kk_hash, h.kk_masked, h.nik_hash, h.nik_masked, _text(h.nama_kepala), _text(h.alamat),
        _text(h.kode_rt), _num(h.lon), _num(h.lat), "t" if h.swapped else "f", str(h.jumlah_anggota),
        *("t" if c else "f" for c in h.criteria), _text(programs), _num(h.desil_resmi),
        "\\N" if h.tgl_verval is None else h.tgl_verval.isoformat(), _num(h.hasil_verval),
    )) + "\n"  # fmt: skip


def add_issues(conn: psycopg.Connection, issues: Iterable[tuple[int, str, str, str]]) -> None:
    """Record (row, column, reason, severity) issues."""
    with conn.cursor().copy("COPY hh_issue (row, col, reason, severity) FROM STDIN") as copy:
        for issue in issues:
            copy.write_row(issue)


_DUPLICATES = (
    """INSERT INTO hh_issue
       SELECT s.row, 'no_kk', 'duplicate family: the same KK number as row ' || f.first, 'error'
       FROM hh_stage s JOIN (SELECT kk_hash, min(row) AS first FROM hh_stage GROUP BY kk_hash HAVING count(*) > 1) f
         ON f.kk_hash = s.kk_hash AND s.row <> f.first""",
    """INSERT INTO hh_issue
       SELECT s.row, 'nik_kepala', 'the same head of family NIK as row ' || f.first || ' (another KK)', 'error'
       FROM hh_stage s JOIN (SELECT nik_hash, min(row) AS first FROM hh_stage GROUP BY nik_hash
                             HAVING count(DISTINCT kk_hash) > 1) f
         ON f.nik_hash = s.nik_hash AND s.row <> f.first""",
    """INSERT INTO hh_issue
       SELECT s.row, 'nik_kepala', 'head of family NIK already registered in another family ('
              || h.kk_masked || ')', 'error'
       FROM hh_stage s JOIN household h ON h.nik_kepala_hash = s.nik_hash AND h.kk_hash <> s.kk_hash""",
    """INSERT INTO hh_issue
       SELECT s.row, 'kode_rt', 'unknown RT code ' || s.kode_rt || ' (no such RT is loaded)', 'error'
       FROM hh_stage s WHERE s.kode_rt IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM area a WHERE a.level = 'rt' AND a.code = s.kode_rt)""",
)

# Points just outside every RT: the nearest RT within the tolerance.
_NEAREST = """INSERT INTO hh_place
       SELECT s.row, n.code, 'nearest', n.m FROM hh_stage s
       CROSS JOIN LATERAL (
           SELECT a.code, ST_Distance(a.geom::geography, s.geom::geography)::real AS m FROM area a
           WHERE a.level = 'rt' AND ST_DWithin(a.geom::geography, s.geom::geography, %(tol)s::float8)
           ORDER BY m, a.code LIMIT 1) n
       WHERE s.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM hh_place p WHERE p.row = s.row)"""

# Point in polygon, driven by the RTs so that PostGIS tests many points against one prepared polygon.
# A point inside several RTs (real boundaries overlap) goes to its own RT code if that is one of them,
# else to an RT of its own kelurahan, else to the lowest code: deterministic and documented.
_PLACE = (
    "CREATE INDEX ON hh_stage USING gist (geom)",
    "ANALYZE hh_stage (geom, kode_rt)",
    """CREATE TEMP TABLE hh_place AS
       SELECT DISTINCT ON (s.row) s.row, a.code AS point_rt, 'point'::text AS placement, 0::real AS placement_m
       FROM area a JOIN hh_stage s ON ST_Covers(a.geom, s.geom)
       WHERE a.level = 'rt'
       ORDER BY s.row, a.code = s.kode_rt DESC NULLS LAST, left(a.code, 13) = left(s.kode_rt, 13) DESC NULLS LAST,
                a.code""",
    "CREATE UNIQUE INDEX ON hh_place (row)",
    "ANALYZE hh_place",  # a fresh temp table has no statistics: without them the anti-joins below go quadratic
    _NEAREST,
)

# Points that land nowhere: say whether swapping lon and lat would land them in the city.
_OUTSIDE = """
INSERT INTO hh_issue
SELECT s.row, 'lon',
       CASE WHEN sw.code IS NOT NULL
            THEN format('outside the city; lon/lat look swapped: (%%s, %%s) lies in RT %%s, swap the columns',
                        s.lat, s.lon, sw.code)
            WHEN s.swapped
            THEN format('latitude %%s is impossible and swapping lon/lat does not land in the city', s.lat)
            ELSE format('outside the city: no RT within %%s m of (%%s, %%s)', %(tol)s::float8, s.lon, s.lat) END,
       'error'
FROM hh_stage s
LEFT JOIN LATERAL (
    SELECT a.code FROM area a
    WHERE a.level = 'rt' AND s.lat BETWEEN -180 AND 180 AND s.lon BETWEEN -90 AND 90
      AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(s.lat, s.lon), 4326))
    ORDER BY a.code LIMIT 1
) sw ON true
WHERE s.lon IS NOT NULL AND NOT EXISTS (SELECT 1 FROM hh_place p WHERE p.row = s.row)
"""

_MISMATCH = """
INSERT INTO hh_issue
SELECT s.row, 'kode_rt',
       format('the point lies in RT %%s but the code says RT %%s; using the %%s', p.point_rt, s.kode_rt,
              %(trust)s::text),
       'warning'
FROM hh_stage s JOIN hh_place p ON p.row = s.row
WHERE s.kode_rt IS NOT NULL AND p.point_rt <> s.kode_rt
  AND EXISTS (SELECT 1 FROM area a WHERE a.level = 'rt' AND a.code = s.kode_rt)
"""

# The rows to write, with their final RT: the point's or the code's as configured.
PLACED = """
SELECT s.*, p.point_rt,
       CASE WHEN p.point_rt IS NULL OR (%(trust)s::text = 'code' AND s.kode_rt IS NOT NULL) THEN s.kode_rt
            ELSE p.point_rt END AS rt_code,
       CASE WHEN p.point_rt IS NULL OR (%(trust)s::text = 'code' AND s.kode_rt IS NOT NULL) THEN 'code'
            ELSE p.placement END AS placement,
       CASE WHEN p.point_rt IS NULL OR (%(trust)s::text = 'code' AND s.kode_rt IS NOT NULL) THEN NULL
            ELSE p.placement_m END AS placement_m
FROM hh_stage s LEFT JOIN hh_place p ON p.row = s.row
WHERE NOT EXISTS (SELECT 1 FROM hh_issue i WHERE i.row = s.row AND i.severity = 'error')
"""


def _unplaced(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM hh_stage s WHERE s.geom IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM hh_place p WHERE p.row = s.row))"
    ).fetchone()
    return bool(row and row[0])


def check_and_place(conn: psycopg.Connection, *, tolerance_m: float, trust: str) -> None:
    """Duplicates and unknown RTs; each point's RT; points outside the city (swap suggested); mismatches."""
    params = {"tol": tolerance_m, "trust": trust}
    conn.execute("SET LOCAL jit = off")  # compiling the plans costs more than running them here
    conn.execute("SET LOCAL work_mem = '128MB'")  # sorting a whole file's rows in memory, not on disk
    for sql in _DUPLICATES:
        conn.execute(sql)
    for sql in _PLACE:
        if sql is _NEAREST and not _unplaced(conn):
            continue
        conn.execute(sql, params if "%(" in sql else None)
    conn.execute(_OUTSIDE, params)
    conn.execute(_MISMATCH, params)
    conn.execute("CREATE INDEX ON hh_issue (row) WHERE severity = 'error'")
