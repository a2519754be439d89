"""Disclosure control for figures that leave Dinsos: the cell-key method with small-cell suppression on top.

Every family has a secret record key (`household.record_key`, uniform in [0, 2^32)). A published count
carries the key of its cell, the sum of its families' record keys, and is shown as the true count plus
a zero-mean noise read from that key by `peta_ckm` in PostgreSQL (db/sql/0011_disclosure.sql): the same
set of families always shows the same value, whatever endpoint, level or filter produced it, and the
difference of two published counts is the true difference plus noise. A shown count of 1..MAX_SMALL is
then suppressed (None); a count of people is published only beside at least 7 shown families (so never
beside a true count of 1..4, which it would give away), 0 beside a shown 0.

This module builds the SQL expressions every publishing query uses, so that there is one rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection, sql

MAX_SMALL = 4  # shown counts of 1..4 are not published
SUPPRESSED = None  # how a suppressed cell is published


def key_sum(condition: str = "TRUE", column: str = "h.record_key") -> str:
    """SQL: the cell key of the families passing `condition` (a raw sum; peta_ckm reduces it mod 2^32)."""
    return f"COALESCE(sum({column}) FILTER (WHERE {condition}), 0)::bigint"


def shown(count: str, key: str, *, people_of: tuple[str, str] | None = None) -> sql.Composable:
    """SQL: the published form of a count with its cell key; for a count of people, `people_of` is the
    (count, key) of the same families, whose suppression it shares."""
    if people_of is None:
        return sql.SQL("peta_shown({}, {}, 1)").format(sql.SQL(count), sql.SQL(key))
    fam, fam_key = people_of
    return sql.SQL("peta_people_shown(peta_ckm({c}, {k}, 2), peta_shown({f}, {fk}, 1))").format(
        f=sql.SQL(fam), fk=sql.SQL(fam_key), c=sql.SQL(count), k=sql.SQL(key)
    )


def mark_suppressed(rows: Iterable[dict[str, Any]], columns: Iterable[str]) -> list[dict[str, Any]]:
    """The rows with `suppressed` listing the columns published as None."""
    cols = tuple(columns)
    return [dict(r, suppressed=[c for c in cols if r[c] is SUPPRESSED]) for r in rows]


_MASKED = """
SELECT h.id, ST_X(m.p), ST_Y(m.p)
FROM household h
JOIN area k ON k.code = left(h.rt_code, 13) AND k.level = 'kelurahan'
CROSS JOIN LATERAL (SELECT peta_geomask(h.geom, k.geom, h.kk_hash || ':geomask', %(lo)s, %(hi)s) AS p) m
WHERE h.id = ANY(%(ids)s)
ORDER BY h.id
"""


async def masked_points(
    conn: AsyncConnection[Any], ids: list[int], min_m: float, max_m: float
) -> list[tuple[int, float, float]]:
    """(id, lon, lat) of families' points displaced inside their kelurahan (donut geomasking)."""
    cur = await conn.execute(_MASKED, {"ids": ids, "lo": min_m, "hi": max_m})
    return [(int(i), float(lon), float(lat)) for i, lon, lat in await cur.fetchall()]
