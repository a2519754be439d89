"""Disclosure control for figures that leave Dinsos: small counts suppressed, with complementary suppression.

A count of 1..MAX_SMALL families is suppressed (primary). Within the children of one parent, a single
suppressed cell could be recovered as the parent's total minus the visible siblings, so a second
cell is suppressed too (complementary): the smallest non-zero visible sibling, never a zero (a zero
beside it would give the first one away). Each count column is protected on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

MAX_SMALL = 4  # counts of 1..4 families are not published
SUPPRESSED = None  # how a suppressed cell is published


def primary(value: int | None) -> bool:
    """Whether a count is too small to publish."""
    return value is not None and 1 <= value <= MAX_SMALL


def _complement(values: dict[str, int | None], hidden: set[str]) -> str | None:
    """The visible sibling to hide beside a lone suppressed cell: the smallest non-zero count."""
    candidates = [(v, code) for code, v in values.items() if code not in hidden and v]
    return min(candidates)[1] if candidates else None


def hidden_cells(rows: Sequence[dict[str, Any]], column: str, parent_key: str = "parent_code") -> set[str]:
    """Codes whose `column` must not be published, primary and complementary."""
    groups: dict[str, dict[str, int | None]] = defaultdict(dict)
    for r in rows:
        groups[r[parent_key]][r["code"]] = r[column]
    hidden: set[str] = set()
    for values in groups.values():
        group_hidden = {code for code, v in values.items() if primary(v)}
        if len(group_hidden) == 1:
            extra = _complement(values, group_hidden)
            if extra is not None:
                group_hidden.add(extra)
        hidden |= group_hidden
    return hidden


def suppress(rows: Sequence[dict[str, Any]], columns: Iterable[str]) -> list[dict[str, Any]]:
    """Copies of the rows with small and complementary cells replaced by None, column by column.

    Rates derived from a suppressed count must be dropped by the caller (or recomputed from what is
    published); `suppressed` in each row lists the columns hidden there.
    """
    out = [dict(r, suppressed=[]) for r in rows]
    by_code = {r["code"]: r for r in out}
    for column in columns:
        for code in hidden_cells(rows, column):
            by_code[code][column] = SUPPRESSED
            by_code[code]["suppressed"].append(column)
    return out


_MASKED = """
SELECT h.id, ST_X(m.p), ST_Y(m.p)
FROM household h
JOIN area k ON k.code = left(h.rt_code, 13) AND k.level = 'kelurahan'
CROSS JOIN LATERAL (SELECT peta_geomask(h.geom, k.geom, h.kk_hash || ':geomask', %(lo)s, %(hi)s) AS p) m
WHERE h.id = ANY(%(ids)s)
ORDER BY h.id
"""


def masked_points(conn: Any, ids: list[int], min_m: float, max_m: float) -> list[tuple[int, float, float]]:
    """(id, lon, lat) of families' points displaced inside their kelurahan (donut geomasking)."""
    return conn.execute(_MASKED, {"ids": ids, "lo": min_m, "hi": max_m}).fetchall()  # type: ignore[no-any-return]
