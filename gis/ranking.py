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
WHERE {{where}}
ORDER BY {ORDER}
LIMIT %(limit)s
"""


async def ranked(
    conn: AsyncConnection[Any], *, kota: str | None = None, kelurahan: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The poorest active families first, within one kab/kota or one kelurahan (its kab/kota is the first five
    characters of its code), or deployment-wide when neither is named (masked identifiers only). Named, the list
    is one range of the ranking's order index (led by the kab/kota), and on Citus one shard's."""
    kota = kelurahan[:5] if kelurahan else kota
    where = ["TRUE"]
    if kota:
        where = ["r.kota_code = %(kota)s", "h.kota_code = %(kota)s"]
    if kelurahan:
        where.append("h.rt_code LIKE %(kel)s || '.%%'")
    query = _RANKED.format(where=" AND ".join(where))
    return await fetch_dicts(conn, query, {"kota": kota, "kel": kelurahan, "limit": limit})


# The family's own row first, then its ranks among the others with its values as parameters: the ranks compare the
# families of its desil group (ranking.desil_over: its own kab/kota by default, else its province or everyone) with
# this one. On Citus (where the group is the kab/kota) no shard can answer a correlation with another distributed
# row; counted against constants, the kab/kota's one shard counts its own.
_ME = f"""
SELECT h.id, h.rt_code, h.bps_count, h.jumlah_anggota, h.desil_resmi, r.score, r.local_desil, r.category,
       ARRAY[{", ".join(f"h.k{i:02d}" for i in range(1, 15))}] AS criteria
FROM household h JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
WHERE h.id = %(id)s
"""
_GROUP = {  # the families a family is ranked among, by ranking.desil_over: peta_desil_group's groups, written out so
    # that the kab/kota's is a condition on the index's (and Citus's) key
    "kota": "r.kota_code = left(%(rt)s::text, 5)",
    "provinsi": "left(r.kota_code, 2) = left(%(rt)s::text, 2)",
    "all": "TRUE",
}
_RANKS = """
SELECT (SELECT count(*) + 1 FROM household_rank r
         WHERE {group} AND (r.score, r.bps_count, r.jumlah_anggota, -r.household_id) >
               (%(score)s::numeric, %(bps)s::smallint, %(n)s::smallint, -%(id)s::bigint)) AS local_rank,
       (SELECT count(*) + 1 FROM household_rank r
          JOIN household h ON h.kota_code = r.kota_code AND h.id = r.household_id
         WHERE r.kota_code = left(%(rt)s::text, 5) AND h.kota_code = left(%(rt)s::text, 5)
           AND left(h.rt_code, 13) = left(%(rt)s::text, 13)
           AND (r.score, r.bps_count, r.jumlah_anggota, -r.household_id) >
               (%(score)s::numeric, %(bps)s::smallint, %(n)s::smallint, -%(id)s::bigint)) AS kelurahan_rank,
       (SELECT count(*) FROM household_rank r WHERE {group}) AS ranked_families
"""


async def explain(conn: AsyncConnection[Any], household_id: int) -> dict[str, Any] | None:
    """Score, ranks, desil beside the official one, and each indicator's contribution; None if not ranked."""
    me = await (await conn.execute(_ME, {"id": household_id})).fetchone()
    if me is None:
        return None
    hid, rt, bps, members, official, score, desil, category, criteria = me
    cur = await conn.execute("SELECT value -> 'weights', value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'")
    ranking = await cur.fetchone()
    assert ranking is not None  # the migrations store the ranking settings
    weights, over = ranking
    ranks = await (await conn.execute(
        _RANKS.format(group=_GROUP.get(over or "kota", _GROUP["kota"])),
        {"id": hid, "rt": rt, "bps": bps, "n": members, "score": score},
    )).fetchone()  # fmt: skip
    assert ranks is not None  # a SELECT without FROM: one row
    return explanation((score, bps, desil, official, category, *ranks, criteria), weights)


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
