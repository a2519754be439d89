"""Topology report: overlapping siblings, gaps, children outside their parent, parent vs union of children."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg

from core.levels import LEVELS

_OVERLAPS = """
SELECT a.code, b.code, a.parent_code = b.parent_code AS siblings,
       ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS m2,
       LEAST(a.area_m2, b.area_m2) AS smaller
FROM area a JOIN area b
  ON b.level = a.level AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
 AND NOT ST_Touches(a.geom, b.geom)
WHERE a.level = %(level)s
"""

_PARENTS = """
WITH p AS (SELECT code, geom, area_m2 FROM area WHERE level = %(parent)s),
own AS (
    SELECT p.code, ST_Union(c.geom) AS u FROM p
    JOIN area c ON c.level = %(child)s AND c.code LIKE p.code || '.%%' GROUP BY p.code
),
other AS (
    SELECT p.code, ST_Union(c.geom) AS u FROM p
    JOIN area c ON c.level = %(child)s AND ST_Intersects(c.geom, p.geom) AND c.code NOT LIKE p.code || '.%%'
    GROUP BY p.code
),
d AS (
    -- the gap is (parent - own children) - other children: subtracting the small remainder is more
    -- robust in GEOS than subtracting one union of everything nearby from the whole parent
    SELECT p.code, p.area_m2,
           CASE WHEN own.u IS NULL THEN p.geom ELSE ST_Difference(p.geom, own.u) END AS not_own,
           ST_Difference(own.u, p.geom) AS outside, other.u AS other
    FROM p LEFT JOIN own USING (code) LEFT JOIN other USING (code)
)
SELECT code, area_m2,
       ST_Area((CASE WHEN other IS NULL OR ST_IsEmpty(not_own) THEN not_own
                     ELSE ST_Difference(not_own, other) END)::geography) AS gap,
       COALESCE(ST_Area(outside::geography), 0) AS outside,
       ST_Area(not_own::geography) AS not_own
FROM d
ORDER BY code
"""

_CHILDREN_OUTSIDE = """
SELECT c.code, c.area_m2, ST_Area(ST_Difference(c.geom, p.geom)::geography) AS outside
FROM area c JOIN area p ON p.level = %(parent)s AND c.code LIKE p.code || '.%%'
WHERE c.level = %(child)s
"""

_ORPHANS = """
SELECT c.code FROM area c
WHERE c.level = %(child)s
  AND NOT EXISTS (SELECT 1 FROM area p WHERE p.level = %(parent)s AND c.code LIKE p.code || '.%%')
ORDER BY c.code
"""


@dataclass
class Overlap:
    a: str
    b: str
    siblings: bool
    m2: float
    pct_of_smaller: float


@dataclass
class LevelOverlaps:
    level: str
    areas: int
    pairs: int
    sibling_pairs: int
    total_m2: float
    max_m2: float
    pct_of_level: float
    items: list[Overlap] = field(default_factory=list)


@dataclass
class ParentFigures:
    code: str
    area_m2: float
    gap_m2: float
    outside_m2: float
    disagreement_m2: float
    disagreement_pct: float


@dataclass
class Hierarchy:
    parent_level: str
    child_level: str
    gap_m2: float
    outside_m2: float
    disagreement_m2: float
    disagreement_pct: float
    children_outside: list[tuple[str, float, float]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    parents: list[ParentFigures] = field(default_factory=list)


@dataclass
class CheckReport:
    min_area_m2: float
    overlaps: list[LevelOverlaps]
    hierarchy: list[Hierarchy]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _loaded_levels(conn: psycopg.Connection) -> list[tuple[str, int, float]]:
    rows = dict(
        (r[0], (r[1], r[2]))
        for r in conn.execute("SELECT level, count(*), sum(area_m2) FROM area GROUP BY level").fetchall()
    )
    return [(lv, *rows[lv]) for lv in LEVELS if lv in rows]


def level_overlaps(conn: psycopg.Connection, level: str, count: int, total: float, min_m2: float) -> LevelOverlaps:
    """Pairs of areas of one level whose interiors overlap by more than `min_m2`."""
    items = [
        Overlap(a, b, bool(sib), m2, 100.0 * m2 / smaller if smaller else 0.0)
        for a, b, sib, m2, smaller in conn.execute(_OVERLAPS, {"level": level}).fetchall()
        if m2 > min_m2
    ]
    items.sort(key=lambda o: -o.m2)
    tot = sum(o.m2 for o in items)
    return LevelOverlaps(
        level=level,
        areas=count,
        pairs=len(items),
        sibling_pairs=sum(o.siblings for o in items),
        total_m2=tot,
        max_m2=max((o.m2 for o in items), default=0.0),
        pct_of_level=100.0 * tot / total if total else 0.0,
        items=items,
    )


def hierarchy(conn: psycopg.Connection, parent: str, child: str, min_m2: float) -> Hierarchy:
    """How a parent layer and one lower layer agree, per parent and in total."""
    args = {"parent": parent, "child": child}
    parents = []
    for code, area, gap, outside, not_own in conn.execute(_PARENTS, args).fetchall():
        gap = gap if gap > min_m2 else 0.0
        outside = outside if outside > min_m2 else 0.0
        not_own = not_own if not_own > min_m2 else 0.0
        dis = outside + not_own
        parents.append(ParentFigures(code, area, gap, outside, dis, 100.0 * dis / area if area else 0.0))
    outside_kids = [
        (code, area, out) for code, area, out in conn.execute(_CHILDREN_OUTSIDE, args).fetchall() if out > min_m2
    ]
    outside_kids.sort(key=lambda r: -r[2])
    orphans = [r[0] for r in conn.execute(_ORPHANS, args).fetchall()]
    total_area = sum(p.area_m2 for p in parents)
    dis = sum(p.disagreement_m2 for p in parents)
    return Hierarchy(
        parent_level=parent,
        child_level=child,
        gap_m2=sum(p.gap_m2 for p in parents),
        outside_m2=sum(p.outside_m2 for p in parents),
        disagreement_m2=dis,
        disagreement_pct=100.0 * dis / total_area if total_area else 0.0,
        children_outside=outside_kids,
        orphans=orphans,
        parents=parents,
    )


def check_boundaries(
    conn: psycopg.Connection, *, min_area_m2: float = 1.0, levels: list[str] | None = None
) -> CheckReport:
    """The full report over every loaded level (or the ones named)."""
    loaded = [row for row in _loaded_levels(conn) if levels is None or row[0] in levels]
    names = [row[0] for row in loaded]
    overlaps = [level_overlaps(conn, lv, n, tot, min_area_m2) for lv, n, tot in loaded]
    pairs = [(p, c) for i, p in enumerate(names) for c in names[i + 1 :]]
    return CheckReport(
        min_area_m2=min_area_m2,
        overlaps=overlaps,
        hierarchy=[hierarchy(conn, p, c, min_area_m2) for p, c in pairs],
    )
