"""Per-area poverty and verification figures, read from the trigger-maintained `area_stats`."""

from __future__ import annotations

from typing import Any

import psycopg

# Counts stored per area; every one of them sums from RTs up to the city.
COUNTS = (
    "families", "people", "removed_families",
    "poor_bps_families", "poor_bps_people", "poor_local_families", "poor_local_people",
    "poor_official_families", "poor_official_people",
    "fakir_miskin_families", "miskin_families", "rentan_families",
    "verified_families", "target_families", "target_verified",
    "recipients_pkh", "recipients_bpnt", "recipients_pbi_jk", "recipients_bpjs_tk", "recipients_kartu_bahagia",
    "poor_without_pkh", "poor_without_bpnt", "poor_without_pbi_jk", "poor_without_bpjs_tk",
    "poor_without_kartu_bahagia", "inclusion_errors", "desil_disagree",
)  # fmt: skip

STATS_SQL = f"""
SELECT s.code, a.name, s.level, a.parent_code, s.population, {", ".join("s." + c for c in COUNTS)},
       s.last_verval,
       round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) AS poverty_rate_pct,
       round(s.population * peta_cfg('aggregates', 'city_poverty_rate'))::int AS expected_poor_people,
       round(s.population * peta_cfg('aggregates', 'city_poverty_rate'))::int - s.poor_bps_people
           AS under_coverage_people,
       round(100.0 * s.verified_families / NULLIF(s.families, 0), 2) AS coverage_pct,
       round(100.0 * s.target_verified / NULLIF(s.target_families, 0), 2) AS target_coverage_pct,
       current_date - s.last_verval AS days_since_verval
FROM area_stats s JOIN area a ON a.code = s.code
WHERE s.level = %(level)s AND (%(parent)s::text IS NULL OR s.code LIKE %(parent)s || '.%%')
ORDER BY s.code
LIMIT %(limit)s OFFSET %(offset)s
"""


def read_stats(
    conn: psycopg.Connection, level: str, *, parent: str | None = None, limit: int = 10_000, offset: int = 0
) -> list[dict[str, Any]]:
    """Figures of every area of `level` (under `parent`), with rates and gaps derived at read time."""
    cur = conn.execute(STATS_SQL, {"level": level, "parent": parent, "limit": limit, "offset": offset})
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# derived figures and the counts they are computed from: hidden when any of those is hidden
DERIVED = {
    "poverty_rate_pct": ("poor_bps_people",),
    "under_coverage_people": ("poor_bps_people",),
    "coverage_pct": ("verified_families", "families"),
    "target_coverage_pct": ("target_verified", "target_families"),
}


def publishable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The figures as they may leave Dinsos: small counts and their complements suppressed (None)."""
    from gis.disclosure import suppress

    out = suppress(rows, COUNTS)
    for row in out:
        for derived, sources in DERIVED.items():
            if any(row[s] is None for s in sources):
                row[derived] = None
    return out
