"""Areas derived from others: parents dissolved from children by code prefix, RTs from labelled household points."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from boundaries import store
from core.errors import InputError
from core.levels import CODE_PATTERNS, check_level, child_level

_LEVEL_TITLE = {"kota": "Kota", "kecamatan": "Kecamatan", "kelurahan": "Kelurahan", "rw": "RW", "rt": "RT"}

_DISSOLVE = """
SELECT (row_number() OVER (ORDER BY g.code))::int - 1, g.code,
       COALESCE(p.name, %(title)s || ' ' || g.code), g.population,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(g.geom), 3))
FROM (
    SELECT regexp_replace(c.code, '\\.[^.]+$', '') AS code, ST_Union(c.geom) AS geom,
           CASE WHEN bool_and(c.population IS NOT NULL) THEN sum(c.population)::int END AS population
    FROM area c WHERE c.level = %(child)s GROUP BY 1
) g LEFT JOIN area p ON p.code = g.code AND p.level = %(level)s
WHERE %(replace)s OR p.code IS NULL
"""


@dataclass
class DeriveReport:
    level: str
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    outside_kelurahan: list[tuple[int, str]] = field(default_factory=list)


def derive_parents(conn: psycopg.Connection, level: str, *, replace: bool = False) -> DeriveReport:
    """Dissolve the level below `level` by code prefix into `level` areas; existing ones are kept unless `replace`."""
    level = check_level(level)
    child = child_level(level)
    if child is None:
        raise InputError("RT areas have no children to derive them from; use `peta boundaries derive-rt`")
    with conn.transaction():
        n = conn.execute("SELECT count(*) FROM area WHERE level = %s", (child,)).fetchone()[0]  # type: ignore[index]
        if n == 0:
            raise InputError(f"no {child} areas are loaded to derive {level} areas from")
        store.stage_query(
            conn, _DISSOLVE, {"title": _LEVEL_TITLE[level], "child": child, "level": level, "replace": replace}
        )
        bad = [
            c
            for (c,) in conn.execute("SELECT code FROM area_stage ORDER BY code").fetchall()
            if not CODE_PATTERNS[level].match(c)
        ]
        if bad:
            raise InputError(f"{len(bad)} derived code(s) are not {level} codes", bad[:20])
        report = DeriveReport(level=level)
        report.inserted, report.updated, report.unchanged = store.upsert_staged(conn, level, f"derived from {child}")
    return report


_POINTS_TABLE = """
DROP TABLE IF EXISTS pg_temp.rt_points;
CREATE TEMP TABLE rt_points (idx integer, kode_rt text, kel text, geom geometry(Point, 4326))
"""

_RT_CELLS = """
DROP TABLE IF EXISTS pg_temp.rt_derived;
CREATE TEMP TABLE rt_derived AS
WITH pts AS (
    SELECT DISTINCT ON (geom) kode_rt, kel, geom FROM rt_points ORDER BY geom, kode_rt
), kel AS (
    SELECT a.code, a.geom, count(DISTINCT p.kode_rt) AS n_rt
    FROM area a JOIN pts p ON p.kel = a.code WHERE a.level = 'kelurahan' GROUP BY a.code, a.geom
), cells AS (
    SELECT k.code AS kel,
           (ST_Dump(ST_VoronoiPolygons(ST_Collect(p.geom), 0, ST_Expand(k.geom, 0.01)))).geom AS cell
    FROM kel k JOIN pts p ON p.kel = k.code WHERE k.n_rt > 1 GROUP BY k.code, k.geom
), labelled AS (
    SELECT p.kode_rt, c.kel, c.cell FROM cells c JOIN pts p ON p.kel = c.kel AND ST_Intersects(c.cell, p.geom)
    UNION ALL
    SELECT p.kode_rt, k.code, k.geom FROM kel k JOIN pts p ON p.kel = k.code WHERE k.n_rt = 1
)
SELECT l.kode_rt AS code,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Intersection(ST_Union(l.cell), k.geom)), 3)) AS geom
FROM labelled l JOIN area k ON k.code = l.kel AND k.level = 'kelurahan'
GROUP BY l.kode_rt, k.geom
"""


def _load_points(conn: psycopg.Connection, points: list[tuple[int, str, float, float]] | None) -> None:
    conn.execute(_POINTS_TABLE)
    if points is None:
        conn.execute(
            """INSERT INTO rt_points (idx, kode_rt, geom)
               SELECT id, kode_rt, geom FROM household WHERE kode_rt IS NOT NULL AND geom IS NOT NULL"""
        )
    else:
        with conn.cursor().copy("COPY rt_points (idx, kode_rt, geom) FROM STDIN") as copy:
            for idx, code, lon, lat in points:
                copy.write_row((idx, code, f"SRID=4326;POINT({lon!r} {lat!r})"))
    conn.execute("UPDATE rt_points SET kel = substring(kode_rt FROM '^(\\d{2}\\.\\d{2}\\.\\d{2}\\.\\d{4})\\.')")


def _check_points(conn: psycopg.Connection) -> None:
    total = conn.execute("SELECT count(*) FROM rt_points").fetchone()[0]  # type: ignore[index]
    if total == 0:
        raise InputError("no labelled points to derive RT areas from")
    bad = conn.execute(
        "SELECT idx, kode_rt FROM rt_points WHERE kode_rt !~ %s ORDER BY idx LIMIT 50",
        (CODE_PATTERNS["rt"].pattern,),
    ).fetchall()
    if bad:
        raise InputError(
            f"{len(bad)} point(s) with a malformed RT code, nothing derived",
            [f"point {i}: RT code {c!r} is not like 15.71.01.1001.002.005" for i, c in bad],
        )
    orphans = conn.execute(
        """SELECT idx, kode_rt FROM rt_points p WHERE NOT EXISTS
           (SELECT 1 FROM area a WHERE a.level = 'kelurahan' AND a.code = p.kel) ORDER BY idx LIMIT 50"""
    ).fetchall()
    if orphans:
        raise InputError(
            f"{len(orphans)} point(s) whose kelurahan is not loaded, nothing derived",
            [f"point {i}: RT {c}: no kelurahan {c[:13]}" for i, c in orphans],
        )


def derive_rt(conn: psycopg.Connection, points: list[tuple[int, str, float, float]] | None = None) -> DeriveReport:
    """RT (and missing RW) areas from (index, RT code, lon, lat) points, or from the households table when None.

    Voronoi cells of the points of each kelurahan, dissolved by RT code and clipped to the kelurahan:
    the RTs of a kelurahan cover it without overlaps and each point inside its kelurahan lies in its own RT.
    """
    report = DeriveReport(level="rt")
    with conn.transaction():
        _load_points(conn, points)
        _check_points(conn)
        report.outside_kelurahan = conn.execute(
            """SELECT p.idx, p.kode_rt FROM rt_points p JOIN area k ON k.code = p.kel AND k.level = 'kelurahan'
               WHERE NOT ST_Covers(k.geom, p.geom) ORDER BY p.idx"""
        ).fetchall()
        conn.execute(_RT_CELLS)
        store.stage_query(
            conn,
            """
            SELECT (row_number() OVER (ORDER BY rw))::int - 1, rw, 'RW ' || right(rw, 3), NULL, ST_Union(geom)
            FROM (SELECT regexp_replace(code, '\\.[^.]+$', '') AS rw, geom FROM rt_derived) r
            WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = r.rw AND a.level = 'rw'
                              AND a.source <> 'derived from RT')
            GROUP BY rw""",
        )
        store.upsert_staged(conn, "rw", "derived from RT")
        store.stage_query(
            conn,
            """
            SELECT (row_number() OVER (ORDER BY code))::int - 1, code, 'RT ' || right(code, 3), NULL, geom
            FROM rt_derived WHERE NOT ST_IsEmpty(geom)""",
        )
        report.inserted, report.updated, report.unchanged = store.upsert_staged(
            conn, "rt", "derived from household points"
        )
    return report
