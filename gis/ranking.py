"""The explainable poverty ranking: scores and local desil are kept by triggers; ranks are read here."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from db.rows import fetch_dicts

INDICATOR_LABELS = {
    "k01": "luas lantai < 8 m²/orang", "k02": "lantai tanah/bambu/kayu murah",
    "k03": "dinding bambu/rumbia/kayu murah/tembok tanpa plester", "k04": "tanpa jamban/bersama",
    "k05": "penerangan bukan listrik", "k06": "air minum sumur/mata air tak terlindung/sungai/hujan",
    "k07": "memasak dengan kayu/arang/minyak tanah", "k08": "daging/susu/ayam ≤ 1×/minggu",
    "k09": "≤ 1 stel pakaian baru/tahun", "k10": "makan 1–2×/hari", "k11": "tak mampu berobat",
    "k12": "penghasilan kepala rumah tangga rendah", "k13": "pendidikan kepala ≤ SD",
    "k14": "tanpa tabungan/barang ≥ Rp 500.000",
}  # fmt: skip

ORDER = "r.score DESC, r.bps_count DESC, r.jumlah_anggota DESC, r.household_id"

_RANKED = f"""
SELECT h.id, h.kk_masked, h.rt_code, r.score, h.bps_count, h.jumlah_anggota, r.local_desil, h.desil_resmi,
       h.desil_resmi - r.local_desil AS desil_diff, r.category,
       row_number() OVER (ORDER BY {ORDER}) AS rank_in_scope
FROM household_rank r JOIN household h ON h.kota_code = r.kota_code AND h.id = r.household_id
WHERE %(kel)s::text IS NULL OR h.rt_code LIKE %(kel)s || '.%%'
ORDER BY {ORDER}
LIMIT %(limit)s
"""


async def ranked(
    conn: AsyncConnection[Any], *, kelurahan: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The poorest active families first, city-wide or within one kelurahan (masked identifiers only)."""
    return await fetch_dicts(conn, _RANKED, {"kel": kelurahan, "limit": limit})


# The family's own row first, then its ranks among the others with its values as parameters: the ranks compare
# every ranked family with this one (not by kab/kota), which on Citus no shard can answer as a correlation with
# another distributed row; counted against constants, each shard counts its own and the coordinator adds them up.
_ME = f"""
SELECT h.id, h.rt_code, h.bps_count, h.jumlah_anggota, h.desil_resmi, r.score, r.local_desil, r.category,
       ARRAY[{", ".join(f"h.k{i:02d}" for i in range(1, 15))}] AS criteria
FROM household h JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
WHERE h.id = %(id)s
"""
_RANKS = """
SELECT (SELECT count(*) + 1 FROM household_rank r
         WHERE (r.score, r.bps_count, r.jumlah_anggota, -r.household_id) >
               (%(score)s::numeric, %(bps)s::smallint, %(n)s::smallint, -%(id)s::bigint)) AS local_rank,
       (SELECT count(*) + 1 FROM household_rank r
          JOIN household h ON h.kota_code = r.kota_code AND h.id = r.household_id
         WHERE left(h.rt_code, 13) = left(%(rt)s::text, 13)
           AND (r.score, r.bps_count, r.jumlah_anggota, -r.household_id) >
               (%(score)s::numeric, %(bps)s::smallint, %(n)s::smallint, -%(id)s::bigint)) AS kelurahan_rank,
       (SELECT count(*) FROM household_rank) AS ranked_families
"""


async def explain(conn: AsyncConnection[Any], household_id: int) -> dict[str, Any] | None:
    """Score, ranks, desil beside the official one, and each indicator's contribution; None if not ranked."""
    me = await (await conn.execute(_ME, {"id": household_id})).fetchone()
    if me is None:
        return None
    hid, rt, bps, members, official, score, desil, category, criteria = me
    ranks = await (await conn.execute(
        _RANKS, {"id": hid, "rt": rt, "bps": bps, "n": members, "score": score}
    )).fetchone()  # fmt: skip
    assert ranks is not None  # a SELECT without FROM: one row
    row = (score, bps, desil, official, category, *ranks, criteria)
    cur = await conn.execute("SELECT value -> 'weights' FROM peta_config WHERE key = 'ranking'")
    weights = await cur.fetchone()
    assert weights is not None  # the migrations store the ranking settings
    return explanation(row, weights[0])


def explanation(row: Any, weights: dict[str, float]) -> dict[str, Any]:
    """The explanation from the ranking row and the weights in force."""
    score, bps, desil, official, category, rank, kel_rank, total, criteria = row
    wsum = sum(weights.values())
    contributions = [
        {
            "indicator": key,
            "label": INDICATOR_LABELS[key],
            "met": bool(met),
            "weight": weights[key],
            "points": round(100.0 * weights[key] / wsum, 2) if met else 0.0,
        }
        for key, met in zip(INDICATOR_LABELS, criteria, strict=True)
    ]
    return {
        "score": float(score),
        "bps_count": bps,
        "local_rank": rank,
        "kelurahan_rank": kel_rank,
        "ranked_families": total,
        "local_desil": desil,
        "desil_resmi": official,
        "desil_diff": None if official is None else official - desil,
        "category": category,
        "contributions": contributions,
    }


async def desil_crosstab(conn: AsyncConnection[Any]) -> list[tuple[int, int | None, int]]:
    """(local desil, official desil, families) for every active family: where the two rankings disagree."""
    cur = await conn.execute(
        """SELECT r.local_desil, h.desil_resmi, count(*) FROM household_rank r
           JOIN household h ON h.kota_code = r.kota_code AND h.id = r.household_id
           GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST"""
    )
    return await cur.fetchall()
