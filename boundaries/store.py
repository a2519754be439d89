"""The boundary inputs' writes (sync, like their COPY): staging, validity, repair, parent checks, versioned upsert."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

StagedRow = tuple[int, str, str, int | None, bytes]

_CREATE_STAGE = """
DROP TABLE IF EXISTS pg_temp.area_stage;
CREATE TEMP TABLE area_stage (
    idx integer PRIMARY KEY,
    code text NOT NULL,
    name text NOT NULL,
    parent text,
    population integer,
    geom geometry NOT NULL,
    geom_hash text,
    area_m2 double precision
)
"""


def stage(conn: psycopg.Connection, rows: Iterable[StagedRow]) -> int:
    """Load (index, code, name, population, WKB) rows into a temporary `area_stage` table."""
    conn.execute(_CREATE_STAGE)
    n = 0
    with conn.cursor().copy("COPY area_stage (idx, code, name, population, geom) FROM STDIN") as copy:
        for idx, code, name, population, wkb in rows:
            copy.write_row((idx, code, name, population, wkb.hex()))
            n += 1
    conn.execute(
        """UPDATE area_stage SET geom = ST_Multi(ST_SetSRID(geom, 4326)),
                  parent = CASE WHEN code LIKE '%%.%%' THEN regexp_replace(code, '\\.[^.]+$', '') END"""
    )
    return n


def invalid_staged(conn: psycopg.Connection) -> list[tuple[int, str, str]]:
    """(index, code, PostGIS's reason) for each invalid staged geometry."""
    return conn.execute(
        "SELECT idx, code, ST_IsValidReason(geom) FROM area_stage WHERE NOT ST_IsValid(geom) ORDER BY idx"
    ).fetchall()


def repair_staged(conn: psycopg.Connection) -> list[tuple[int, str, str, float, float]]:
    """Repair invalid staged geometries with ST_MakeValid; (index, code, reason, m² before, m² after)."""
    return conn.execute(
        """
        WITH bad AS (
            SELECT idx, ST_IsValidReason(geom) AS reason, ST_Area(geom::geography) AS before
            FROM area_stage WHERE NOT ST_IsValid(geom)
        )
        UPDATE area_stage s
           SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(s.geom), 3))
          FROM bad WHERE s.idx = bad.idx
        RETURNING s.idx, s.code, bad.reason, bad.before, ST_Area(s.geom::geography)
        """
    ).fetchall()


def staged_missing_parents(conn: psycopg.Connection, plevel: str | None) -> list[tuple[int, str, str]]:
    """(index, code, parent) of staged areas whose parent area is not loaded; none for the city."""
    if plevel is None:
        return []
    return conn.execute(
        """SELECT s.idx, s.code, s.parent FROM area_stage s
           WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = s.parent AND a.level = %s)
           ORDER BY s.idx""",
        (plevel,),
    ).fetchall()


def staged_outside_parents(conn: psycopg.Connection, plevel: str | None) -> list[tuple[int, str, str, float]]:
    """(index, code, parent, metres from the parent) of the staged areas lying wholly outside their loaded parent:
    a file read in the wrong CRS (a UTM zone off by one is 6 degrees, some 660 km, away) or a wrong parent code.
    Real layers disagree at the edges (Kota Jambi's: kelurahan up to 88 % outside their kecamatan, moved by a
    redistricting), so an area that overlaps or touches its parent at all is not refused here; `peta boundaries
    check` reports how much."""
    if plevel is None:
        return []
    rows = conn.execute(
        """SELECT s.idx, s.code, s.parent, ST_Distance(s.geom::geography, a.geom::geography)
           FROM area_stage s JOIN area a ON a.code = s.parent AND a.level = %s
           WHERE NOT ST_Intersects(s.geom, a.geom)
           ORDER BY s.idx""",
        (plevel,),
    ).fetchall()
    return [(i, c, p, float(d)) for i, c, p, d in rows]


_UPDATE_CHANGED = """
WITH changed AS (
    SELECT s.* FROM area_stage s JOIN area a ON a.code = s.code
    WHERE (a.name, a.parent_code) IS DISTINCT FROM (s.name, s.parent)
       OR CASE WHEN a.geom_hash = s.geom_hash THEN false ELSE NOT ST_Equals(a.geom, s.geom) END
       OR (s.population IS NOT NULL AND a.population IS DISTINCT FROM s.population)
), history AS (
    INSERT INTO area_version (code, version, name, level, parent_code, geom, area_m2,
                              population, source, valid_from)
    SELECT a.code, a.version, a.name, a.level, a.parent_code, a.geom, a.area_m2,
           a.population, a.source, a.valid_from
    FROM area a JOIN changed c ON c.code = a.code
)
UPDATE area a
   SET name = c.name, parent_code = c.parent, geom = c.geom, geom_hash = c.geom_hash,
       area_m2 = c.area_m2, population = COALESCE(c.population, a.population),
       source = %(source)s, version = a.version + 1, valid_from = now()
  FROM changed c
 WHERE a.code = c.code
RETURNING a.code
"""

_INSERT_NEW = """
INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source, geom_hash)
SELECT s.code, s.name, %(level)s, s.parent, s.geom, s.area_m2, s.population, %(source)s, s.geom_hash
FROM area_stage s
WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = s.code)
ORDER BY s.code
RETURNING code
"""


# A kab/kota redrawn so that its box no longer holds the old one's: its families stay where they were, so the box
# they are routed by (area_reach, migration 0030) grows to hold the old boundary's box.
_OLD_BOXES = """
SELECT a.code, ST_AsEWKB(ST_Envelope(a.geom)) FROM area a JOIN area_stage s ON s.code = a.code
WHERE a.level = 'kota' AND NOT s.geom ~ a.geom
"""


def upsert_staged(conn: psycopg.Connection, level: str, source: str) -> tuple[list[str], list[str], int]:
    """Upsert staged areas by code, keeping the previous version of changed ones: (inserted, updated, unchanged)."""
    conn.execute("UPDATE area_stage SET geom_hash = md5(ST_AsBinary(geom)), area_m2 = ST_Area(geom::geography)")
    old_boxes = conn.execute(_OLD_BOXES).fetchall() if level == "kota" else []
    total = conn.execute("SELECT count(*) FROM area_stage").fetchone()[0]  # type: ignore[index]
    updated = [r[0] for r in conn.execute(_UPDATE_CHANGED, {"source": source}).fetchall()]
    for code, box in old_boxes:  # the families of a kab/kota redrawn smaller stay routed to it
        conn.execute("SELECT peta_reach_grow(%s, %s::geometry)", (code, box))
    inserted = [r[0] for r in conn.execute(_INSERT_NEW, {"level": level, "source": source}).fetchall()]
    return sorted(inserted), sorted(updated), total - len(inserted) - len(updated)


def counts_by_level(conn: psycopg.Connection) -> dict[str, int]:
    """Number of areas per level."""
    return dict(conn.execute("SELECT level, count(*) FROM area GROUP BY level").fetchall())


def stage_query(conn: psycopg.Connection, select_sql: str, params: dict[str, object] | None = None) -> int:
    """Fill `area_stage` from a SELECT returning (idx, code, name, population, geom)."""
    conn.execute(_CREATE_STAGE)
    cur = conn.execute("INSERT INTO area_stage (idx, code, name, population, geom) " + select_sql, params or {})
    conn.execute(
        """UPDATE area_stage SET geom = ST_Multi(geom),
                  parent = CASE WHEN code LIKE '%%.%%' THEN regexp_replace(code, '\\.[^.]+$', '') END"""
    )
    return cur.rowcount
