"""The ranking's rules on small hand-built worlds (issue 19): every score, category, desil and rank is
recomputed here in plain Python from the documented rule, never read back from the product's SQL.

- score = 100 x (sum of the weights of the criteria met) / (sum of all weights), rounded to 2 decimals;
- category: fakir miskin from its threshold up, else miskin from its threshold, else rentan from its
  threshold, else none (each threshold is inclusive: tested at and just below it);
- order (poorest first): score, then criteria met, then family size, all descending, then the oldest record;
- local desil: that order cut into 10 near-equal groups, the larger groups first (SQL's ntile(10));
- only active families (no verval result, or result 1) are ranked.

Each world is checked after the incremental refresh the insert triggers (peta_refresh_scores and
peta_refresh_desil) and again after a full rebuild (peta_rebuild_ranking), which compute the same things
in two places. Worlds live in the `conn` transaction, rolled back after each test.
"""

from __future__ import annotations

import asyncio
import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import psycopg
import pytest

from gis.ranking import INDICATOR_LABELS, explain, explanation, ranked
from tests.bridge import Bridge
from tests.conftest import ON_CITUS
from tests.worlds import insert_areas

KEYS = list(INDICATOR_LABELS)  # k01 .. k14
KEL1, KEL2 = "15.71.01.1001", "15.71.01.1002"
RT_A, RT_B, RT_C = f"{KEL1}.001.001", f"{KEL1}.001.002", f"{KEL2}.001.001"
_POINT = {RT_A: (103.605, -1.605), RT_B: (103.615, -1.605), RT_C: (103.61, -1.625)}

_AREAS = [  # code, level, parent, envelope (xmin, ymin, xmax, ymax)
    ("15.71", "kota", None, (103.60, -1.63, 103.62, -1.60)),
    ("15.71.01", "kecamatan", "15.71", (103.60, -1.63, 103.62, -1.60)),
    (KEL1, "kelurahan", "15.71.01", (103.60, -1.62, 103.62, -1.60)),
    (f"{KEL1}.001", "rw", KEL1, (103.60, -1.62, 103.62, -1.60)),
    (RT_A, "rt", f"{KEL1}.001", (103.60, -1.61, 103.61, -1.60)),
    (RT_B, "rt", f"{KEL1}.001", (103.61, -1.61, 103.62, -1.60)),
    (KEL2, "kelurahan", "15.71.01", (103.60, -1.63, 103.62, -1.62)),
    (f"{KEL2}.001", "rw", KEL2, (103.60, -1.63, 103.62, -1.62)),
    (RT_C, "rt", f"{KEL2}.001", (103.60, -1.63, 103.62, -1.62)),
]

DEFAULT_CATEGORIES = {"fakir_miskin": 78.0, "miskin": 64.0, "rentan": 43.0}


# --- the world ------------------------------------------------------------------------------------------


def _areas(c: Any) -> None:
    insert_areas(c, _AREAS)


def _configure(c: Any, *, weights: dict[str, float] | None = None, categories: dict[str, float] | None = None):
    """Set the ranking settings where the triggers read them (no refresh: the next write or rebuild uses them)."""
    if weights is not None:
        c.execute(
            "UPDATE peta_config SET value = jsonb_set(value, '{weights}', %s::jsonb) WHERE key = 'ranking'",
            (json.dumps(weights),),
        )
    if categories is not None:
        c.execute(
            "UPDATE peta_config SET value = jsonb_set(value, '{categories}', %s::jsonb) WHERE key = 'ranking'",
            (json.dumps(categories),),
        )


_COLS = "kk_hash, kk_masked, rt_code, kota_code, geom, jumlah_anggota, desil_resmi, hasil_verval, source, " + ", ".join(
    KEYS
)


def _families(c: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert all `rows` in ONE statement (one trigger run: the incremental refresh); ids in row order.
    A row: rt, met (criterion numbers 1..14), members, and optionally desil (official) and hasil."""
    values, args = [], []
    for i, r in enumerate(rows):
        lon, lat = _POINT[r["rt"]]
        values.append("(%s, '157101******0001', %s, left(%s, 5), ST_SetSRID(ST_MakePoint(%s, %s), 4326),"
                      " %s, %s, %s, 'test', " + ", ".join(["%s"] * 14) + ")")  # fmt: skip
        met = set(r["met"])
        kk = f"kk-{r.get('tag', '')}-{i}-{c.execute('SELECT count(*) FROM household').fetchone()[0]}"
        args += [kk, r["rt"], r["rt"], lon, lat, r.get("members", 4), r.get("desil"), r.get("hasil")]
        args += [n in met for n in range(1, 15)]
    sql = f"INSERT INTO household ({_COLS}) VALUES {', '.join(values)} RETURNING id"
    return [int(row[0]) for row in c.execute(sql, args).fetchall()]


def _rank_rows(c: Any) -> dict[int, tuple]:
    """household_rank as {id: (score, bps_count, jumlah_anggota, local_desil, category)}."""
    rows = c.execute(
        "SELECT household_id, score, bps_count, jumlah_anggota, local_desil, category FROM household_rank"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _explain(b: Bridge, household_id: int) -> dict[str, Any] | None:
    """The product's (async) explanation, on the test's connection and transaction."""
    return b.run(lambda c: explain(c, household_id))


def _rebuild(c: Any) -> None:
    c.execute("SELECT peta_refresh(NULL, NULL)")


# --- the rule, in plain Python ----------------------------------------------------------------------------


def score_of(met: set[int], weights: dict[str, float]) -> Decimal:
    """100 x sum(weights met) / sum(weights), rounded half up to 2 decimals (exact arithmetic)."""
    total = sum(Fraction(str(w)) for w in weights.values())
    got = sum((Fraction(str(weights[f"k{n:02d}"])) for n in met), Fraction(0))
    x = Fraction(100) * got / total
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def category_of(score: Decimal, t: dict[str, float]) -> str | None:
    for name in ("fakir_miskin", "miskin", "rentan"):
        if score >= Decimal(str(t[name])):
            return name
    return None


def ntile10(n: int) -> list[int]:
    """SQL ntile(10) over n ordered rows: n // 10 a group, the first n % 10 groups one larger."""
    base, extra = divmod(n, 10)
    out: list[int] = []
    for g in range(10):
        out += [g + 1] * (base + (1 if g < extra else 0))
    return out


def expected_ranking(fams: list[dict[str, Any]], ids: list[int], weights: dict[str, float],
                     cats: dict[str, float]) -> dict[int, tuple]:  # fmt: skip
    """{id: (score, bps_count, members, local desil, category)} of the active families, by the rule."""
    rows = []
    for f, i in zip(fams, ids, strict=True):
        if f.get("hasil") not in (None, 1):
            continue
        s = score_of(set(f["met"]), weights)
        rows.append((i, s, len(set(f["met"])), f.get("members", 4), category_of(s, cats)))
    rows.sort(key=lambda r: (-r[1], -r[2], -r[3], r[0]))
    return {r[0]: (r[1], r[2], r[3], d, r[4]) for r, d in zip(rows, ntile10(len(rows)), strict=True)}


EQUAL = {k: 1.0 for k in KEYS}
DISTINCT = {f"k{i:02d}": float(i) for i in range(1, 15)}  # sum 105: every criterion weighs differently


def test_the_python_rule_itself():
    """The helpers above, on values worked out by hand."""
    assert score_of({2}, DISTINCT) == Decimal("1.90")  # 200/105 = 1.9047...
    assert score_of({1}, DISTINCT) == Decimal("0.95")  # 100/105 = 0.9523...
    assert score_of(set(range(1, 10)), EQUAL) == Decimal("64.29")  # 9/14
    assert category_of(Decimal("64.29"), DEFAULT_CATEGORIES) == "miskin"
    assert ntile10(21) == [1, 1, 1] + [g for g in range(2, 11) for _ in (0, 1)]
    assert ntile10(20) == [g for g in range(1, 11) for _ in (0, 1)]
    assert ntile10(3) == [1, 2, 3]


# --- 1. the score: every weight in its own place ----------------------------------------------------------


def _score_world(c: Any) -> tuple[list[dict[str, Any]], list[int]]:
    _areas(c)
    _configure(c, weights=DISTINCT)
    fams: list[dict[str, Any]] = [{"rt": RT_A, "met": [i], "members": 2} for i in range(1, 15)]  # one criterion each
    fams += [
        {"rt": RT_B, "met": list(range(1, 15)), "members": 3},  # all: 100
        {"rt": RT_B, "met": [], "members": 5},  # none: 0
        {"rt": RT_C, "met": [1, 3, 5, 7, 9, 11, 13], "members": 6, "desil": 5},  # 49/105: 46.67, rentan
        {"rt": RT_C, "met": [2, 4, 6, 8, 10, 12, 14], "members": 1},  # 56/105: 53.33
        {"rt": RT_C, "met": list(range(6, 15)), "members": 2},  # 9 criteria, 90/105: 85.71, fakir miskin
        {"rt": RT_C, "met": list(range(7, 15)), "members": 2},  # 8 criteria, 84/105: 80.00, fakir miskin
    ]
    return fams, _families(c, fams)


def test_scores_weigh_each_criterion_by_its_own_weight(conn):
    """Weights 1..14: a family meeting only criterion i scores 100 i / 105 (k02: 1.90, where rounding to 3
    decimals first would store 1.91); swapping any criterion or weight changes one of them."""
    fams, ids = _score_world(conn)
    expected = expected_ranking(fams, ids, DISTINCT, DEFAULT_CATEGORIES)
    assert [expected[i][0] for i in ids[:3]] == [Decimal("0.95"), Decimal("1.90"), Decimal("2.86")]
    assert _rank_rows(conn) == expected  # the incremental refresh of the insert
    _rebuild(conn)
    assert _rank_rows(conn) == expected  # the full rebuild


def test_scores_follow_new_weights_on_rebuild(conn):
    """Equal weights after the distinct ones: every score becomes the share of criteria met."""
    fams, ids = _score_world(conn)
    _configure(conn, weights=EQUAL)
    _rebuild(conn)
    assert _rank_rows(conn) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)


def test_bps_count_8_and_9_criteria_in_the_ranking(db):
    """The 9-criteria family meets 9, the 8-criteria one 8; with equal weights 64.29 (miskin, at the 64
    threshold) and 57.14 (rentan)."""
    _areas(db)
    fams = [{"rt": RT_A, "met": list(range(1, 10))}, {"rt": RT_A, "met": list(range(1, 9))}]
    nine, eight = _families(db, fams)
    got = _rank_rows(db)
    assert got[nine][:2] == (Decimal("64.29"), 9) and got[nine][4] == "miskin"
    assert got[eight][:2] == (Decimal("57.14"), 8) and got[eight][4] == "rentan"
    assert (_explain(db, nine)["bps_count"], _explain(db, eight)["bps_count"]) == (9, 8)


# --- 2. categories on both sides of each threshold, and the order's tie-breaks ---------------------------

TENS_AND_SIXES = {k: (10.0 if i < 4 else 6.0) for i, k in enumerate(KEYS)}  # k01..k04 weigh 10, the rest 6: sum 100
CUTS = {"fakir_miskin": 70.0, "miskin": 50.0, "rentan": 30.0}
SIXES = list(range(5, 15))  # the ten criteria weighing 6


def _tie_world(c: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Scores are whole numbers (10 per criterion 1-4, 6 per criterion 5-14). In ranking order:
    s70 (70, fakir miskin) > s68 (68, miskin) > t1 (60, 10 criteria, 3 members) > t4 (60, 8, 10 members)
    > t2 (60, 8, 9 members, older) > t3 (60, 8, 9 members) > s50 (50, miskin) > s48 (48, rentan)
    > s30 (30, rentan) > s28 (28, none)."""
    _areas(c)
    _configure(c, weights=TENS_AND_SIXES, categories=CUTS)
    fams = [
        {"tag": "s28", "rt": RT_C, "met": [1, *SIXES[:3]]},  # 10 + 18
        {"tag": "t2", "rt": RT_A, "met": [1, 2, 3, *SIXES[:5]], "members": 9},  # 30 + 30
        {"tag": "s70", "rt": RT_A, "met": [1, 2, 3, 4, *SIXES[:5]], "members": 1},  # 40 + 30
        {"tag": "t3", "rt": RT_B, "met": [2, 3, 4, *SIXES[5:]], "members": 9},  # 30 + 30
        {"tag": "s50", "rt": RT_B, "met": [1, 2, *SIXES[:5]], "desil": 1},  # 20 + 30
        {"tag": "t1", "rt": RT_A, "met": SIXES, "members": 3},  # 60, 10 criteria
        {"tag": "s48", "rt": RT_C, "met": SIXES[:8]},  # 48
        {"tag": "s68", "rt": RT_C, "met": [1, 2, *SIXES[:8]], "desil": 9},  # 20 + 48
        {"tag": "t4", "rt": RT_B, "met": [1, 2, 4, *SIXES[2:7]], "members": 10},  # 30 + 30
        {"tag": "s30", "rt": RT_A, "met": [1, 2, 3]},  # 30
    ]
    return fams, _families(c, fams)


ORDER = ["s70", "s68", "t1", "t4", "t2", "t3", "s50", "s48", "s30", "s28"]
CATEGORY = {"s70": "fakir_miskin", "s68": "miskin", "t1": "miskin", "t4": "miskin", "t2": "miskin",
            "t3": "miskin", "s50": "miskin", "s48": "rentan", "s30": "rentan", "s28": None}  # fmt: skip
SCORE = {"s70": 70, "s68": 68, "t1": 60, "t4": 60, "t2": 60, "t3": 60, "s50": 50, "s48": 48, "s30": 30, "s28": 28}


def test_categories_at_and_below_each_threshold(conn):
    """Thresholds 70 / 50 / 30 are inclusive: 70 fakir miskin, 68 miskin, 50 miskin, 48 rentan, 30 rentan,
    28 none; the same after a rebuild."""
    fams, ids = _tie_world(conn)
    by_tag = {f["tag"]: i for f, i in zip(fams, ids, strict=True)}
    expected = expected_ranking(fams, ids, TENS_AND_SIXES, CUTS)
    assert {t: (int(expected[i][0]), expected[i][4]) for t, i in by_tag.items()} == {
        t: (SCORE[t], CATEGORY[t]) for t in ORDER
    }  # the Python rule agrees with the hand-written table
    for step in ("incremental", "rebuild"):
        if step == "rebuild":
            _rebuild(conn)
        got = _rank_rows(conn)
        assert {t: (got[i][0], got[i][4]) for t, i in by_tag.items()} == {
            t: (Decimal(SCORE[t]).quantize(Decimal("0.01")), CATEGORY[t]) for t in ORDER
        }, step


def test_categories_move_with_the_thresholds(conn):
    """Thresholds raised by one point (71 / 51 / 31): 70, 50 and 30 drop one category."""
    fams, ids = _tie_world(conn)
    moved = {"fakir_miskin": 71.0, "miskin": 51.0, "rentan": 31.0}
    _configure(conn, categories=moved)
    _rebuild(conn)
    by_tag = {f["tag"]: i for f, i in zip(fams, ids, strict=True)}
    got = _rank_rows(conn)
    assert [got[by_tag[t]][4] for t in ("s70", "s50", "s30")] == ["miskin", "rentan", None]
    assert _rank_rows(conn) == expected_ranking(fams, ids, TENS_AND_SIXES, moved)


def test_ties_break_on_criteria_then_size_then_age(db):
    """Four families score 60: 10 criteria first, then the largest, then the older of two equal ones.
    Ten families: local desil = rank."""
    fams, ids = _tie_world(db)
    by_tag = {f["tag"]: i for f, i in zip(fams, ids, strict=True)}
    expected = expected_ranking(fams, ids, TENS_AND_SIXES, CUTS)
    assert [by_tag[t] for t in ORDER] == sorted(expected, key=lambda i: expected[i][3])
    for step in ("incremental", "rebuild"):
        if step == "rebuild":
            _rebuild(db)
        got = _rank_rows(db)
        assert [got[by_tag[t]][3] for t in ORDER] == list(range(1, 11)), step
        assert got == expected, step
        rows = db.call(ranked)
        assert [r["id"] for r in rows] == [by_tag[t] for t in ORDER]
        assert [r["rank_in_scope"] for r in rows] == list(range(1, 11))
        assert [r["local_desil"] for r in rows] == list(range(1, 11))
        assert [r["category"] for r in rows] == [CATEGORY[t] for t in ORDER]
        for t in ORDER:
            e = _explain(db, by_tag[t])
            assert (t, e["local_rank"], e["local_desil"], e["ranked_families"]) == (t, ORDER.index(t) + 1,
                                                                                    ORDER.index(t) + 1, 10)  # fmt: skip


def test_ranked_within_a_kelurahan_and_its_ranks(db):
    """Kelurahan 1002 holds s68, s48 and s28 (city ranks 2, 8, 10): ranks 1, 2, 3 there."""
    fams, ids = _tie_world(db)
    by_tag = {f["tag"]: i for f, i in zip(fams, ids, strict=True)}
    rows = db.call(ranked, kelurahan=KEL2)
    assert [(r["id"], r["rank_in_scope"], r["rt_code"]) for r in rows] == [
        (by_tag["s68"], 1, RT_C), (by_tag["s48"], 2, RT_C), (by_tag["s28"], 3, RT_C)]  # fmt: skip
    assert [r["local_desil"] for r in rows] == [2, 8, 10]
    assert [r["id"] for r in db.call(ranked, kelurahan=KEL1, limit=3)] == [by_tag[t] for t in ("s70", "t1", "t4")]
    kel_rank = {t: _explain(db, by_tag[t])["kelurahan_rank"] for t in ORDER}
    kel1 = [t for t in ORDER if t not in ("s68", "s48", "s28")]
    assert kel_rank == {t: (kel1.index(t) if t in kel1 else ["s68", "s48", "s28"].index(t)) + 1 for t in ORDER}


def test_ranked_takes_the_kelurahan_by_keyword_only(db):
    with pytest.raises(TypeError):
        db.call(ranked, KEL1)  # type: ignore[misc]


def test_desil_beside_the_official_one(db):
    """s68: official 9, local 2 -> difference 7; s50: official 1, local 7 -> -6; no official -> None."""
    fams, ids = _tie_world(db)
    by_tag = {f["tag"]: i for f, i in zip(fams, ids, strict=True)}
    got = {t: _explain(db, by_tag[t]) for t in ("s68", "s50", "s70")}
    assert [(got[t]["local_desil"], got[t]["desil_resmi"], got[t]["desil_diff"]) for t in ("s68", "s50", "s70")] == [
        (2, 9, 7), (7, 1, -6), (1, None, None)]  # fmt: skip
    rows = {r["id"]: r for r in db.call(ranked)}
    assert [rows[by_tag[t]]["desil_diff"] for t in ("s68", "s50", "s70")] == [7, -6, None]


# --- 3. the explanation ---------------------------------------------------------------------------------


def _points(met: set[int], weights: dict[str, float]) -> list[float]:
    total = sum(weights.values())
    return [float(round(Decimal(100 * weights[k]) / Decimal(total), 2)) if n in met else 0.0
            for n, k in enumerate(KEYS, 1)]  # fmt: skip


def test_explanation_points_per_criterion(db):
    """Weights 1..14: the odd criteria of a family are worth 100 i / 105 points each (0.95, 2.86, ...), the
    even ones 0; the score is their sum over the rounding."""
    fams, ids = _score_world(db)
    odd = ids[16]  # met 1, 3, 5, ..., 13
    e = _explain(db, odd)
    assert [c["indicator"] for c in e["contributions"]] == KEYS
    assert [c["met"] for c in e["contributions"]] == [n % 2 == 1 for n in range(1, 15)]
    assert [c["weight"] for c in e["contributions"]] == [float(i) for i in range(1, 15)]
    assert [c["points"] for c in e["contributions"]] == _points({1, 3, 5, 7, 9, 11, 13}, DISTINCT)
    assert e["contributions"][0]["points"] == 0.95 and e["contributions"][1]["points"] == 0.0
    assert (e["score"], e["bps_count"], e["category"]) == (46.67, 7, "rentan")
    assert (e["desil_resmi"], e["desil_diff"]) == (5, 5 - e["local_desil"])
    two = _explain(db, ids[1])  # only k02: 1.90 points (rounding to 3 decimals would give 1.905)
    assert [c["points"] for c in two["contributions"]] == [0.0, 1.9] + [0.0] * 12
    assert _explain(db, -1) is None


def test_explain_on_its_own_async_connection_and_none_when_unranked(database_url):
    # built on one async connection, so the product's async code sees the uncommitted world
    async def world_and_explain() -> tuple[dict | None, dict | None, list[int]]:
        async with await psycopg.AsyncConnection.connect(database_url) as ac:
            try:
                await ac.execute("SELECT 1")
                for code, level, parent, (x0, y0, x1, y1) in _AREAS:
                    await ac.execute(
                        "INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source,"
                        " geom_hash) VALUES (%s, %s, %s, %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)), 1,"
                        " 100, 'test', %s)",
                        (code, code, level, parent, x0, y0, x1, y1, code),
                    )
                await ac.execute(
                    "UPDATE peta_config SET value = jsonb_set(value, '{weights}', %s::jsonb) WHERE key = 'ranking'",
                    (json.dumps(DISTINCT),),
                )
                crit = ", ".join(KEYS)
                cur = await ac.execute(
                    "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, desil_resmi,"
                    f" source, {crit}) VALUES ('kk-async-1', 'x', %s, left(%s, 5), 4, 3, 'test', "
                    + ", ".join(["%s"] * 14)
                    + "), ('kk-async-2', 'x', %s, left(%s, 5), 4, NULL, 'test', "
                    + ", ".join(["%s"] * 14)
                    + ") RETURNING id",
                    [RT_A, RT_A, *[n % 2 == 1 for n in range(1, 15)], RT_A, RT_A, *[n == 2 for n in range(1, 15)]],
                )
                ids = [r[0] for r in await cur.fetchall()]
                first = await explain(ac, ids[0])
                missing = await explain(ac, -1)
                return first, missing, ids
            finally:
                await ac.rollback()

    first, missing, _ = asyncio.run(world_and_explain())
    assert missing is None
    assert first is not None
    assert (first["score"], first["local_rank"], first["local_desil"], first["desil_diff"]) == (46.67, 1, 1, 2)
    assert [c["points"] for c in first["contributions"]] == _points({1, 3, 5, 7, 9, 11, 13}, DISTINCT)


def test_explanation_refuses_a_short_criteria_row():
    """14 labels, 13 values: an indicator would silently vanish from the explanation."""
    row = (50.0, 7, 3, None, "rentan", 1, 1, 1, [True] * 13)
    with pytest.raises(ValueError):
        explanation(row, dict(EQUAL))
    ok = explanation((50.0, 7, 3, None, "rentan", 1, 1, 1, [True] * 7 + [False] * 7), dict(EQUAL))
    assert [c["points"] for c in ok["contributions"]] == [7.14] * 7 + [0.0] * 7


# --- 4. the local desil on both sides of a group boundary -------------------------------------------------


def test_local_desil_with_20_then_21_families(conn):
    """20 equal families (by age): two to a desil. A 21st, poorer, comes first: the first desil holds 3."""
    _areas(conn)
    fams = [{"rt": RT_A if i % 2 else RT_B, "met": [1, 2, 3, 4, 5]} for i in range(20)]
    ids = _families(conn, fams)
    got = _rank_rows(conn)
    assert [got[i][3] for i in ids] == ntile10(20) == [d for d in range(1, 11) for _ in (0, 1)]
    fams.append({"rt": RT_C, "met": list(range(1, 15))})
    ids += _families(conn, fams[-1:])
    got = _rank_rows(conn)
    order = [ids[-1], *ids[:-1]]
    assert [got[i][3] for i in order] == ntile10(21)
    assert [got[i][3] for i in order][:4] == [1, 1, 1, 2]
    _rebuild(conn)
    assert _rank_rows(conn) == got == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)


def test_local_desil_with_11_families_after_a_rebuild(conn):
    """11 families: desil 1 holds two, every other one."""
    _areas(conn)
    fams = [{"rt": RT_A, "met": list(range(1, 12 - i))} for i in range(11)]  # 11 .. 1 criteria
    ids = _families(conn, fams)
    assert [_rank_rows(conn)[i][3] for i in ids] == [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    _rebuild(conn)
    assert [_rank_rows(conn)[i][3] for i in ids] == [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def test_ranked_lists_50_by_default(db):
    _areas(db)
    fams = [{"rt": RT_A, "met": list(range(1, 1 + i % 15)), "members": 1 + i % 7} for i in range(52)]
    ids = _families(db, fams)
    expected = expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    order = sorted(expected, key=lambda i: (-expected[i][0], -expected[i][1], -expected[i][2], i))
    rows = db.call(ranked)
    assert [r["id"] for r in rows] == order[:50]
    assert [r["local_desil"] for r in rows] == [expected[i][3] for i in order[:50]]
    assert len(db.call(ranked, limit=60)) == 52


# --- 5. who is ranked: active families only ---------------------------------------------------------------


def test_only_active_families_are_ranked(db):
    """A family with verval result 2 (not found) is not ranked, on insert, on update, after a rebuild; back
    to result 1 it is ranked again."""
    _areas(db)
    fams = [
        {"rt": RT_A, "met": list(range(1, 10))},
        {"rt": RT_B, "met": list(range(1, 12)), "hasil": 2},  # inactive from the start
        {"rt": RT_B, "met": list(range(1, 8)), "hasil": 1},
        {"rt": RT_C, "met": list(range(1, 6))},
    ]
    ids = _families(db, fams)
    assert _rank_rows(db) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    assert set(_rank_rows(db)) == {ids[0], ids[2], ids[3]}
    db.execute("UPDATE household SET hasil_verval = 3 WHERE id = %s", (ids[0],))  # moved: no longer ranked
    fams[0]["hasil"] = 3
    assert _rank_rows(db) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    assert set(_rank_rows(db)) == {ids[2], ids[3]}
    assert _explain(db, ids[0]) is None
    _rebuild(db)
    assert _rank_rows(db) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    db.execute("UPDATE household SET hasil_verval = 1 WHERE id = ANY(%s)", ([ids[0], ids[1]],))
    fams[0]["hasil"] = fams[1]["hasil"] = 1
    assert _rank_rows(db) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    assert len(_rank_rows(db)) == 4


def test_changed_members_and_criteria_reach_the_ranking(conn):
    """An update of family size and criteria: the stored size, score, criteria count and category follow."""
    _areas(conn)
    fams = [{"rt": RT_A, "met": [1, 2, 3]}, {"rt": RT_B, "met": [1, 2]}]
    ids = _families(conn, fams)
    conn.execute("UPDATE household SET jumlah_anggota = 7, k03 = true, k04 = true, k05 = true, k06 = true, k07 = true, "
                 "k08 = true, k09 = true, k10 = true, k11 = true, k12 = true WHERE id = %s", (ids[1],))  # fmt: skip
    fams[1] = {"rt": RT_B, "met": list(range(1, 13)), "members": 7}
    assert _rank_rows(conn) == expected_ranking(fams, ids, EQUAL, DEFAULT_CATEGORIES)
    assert _rank_rows(conn)[ids[1]] == (Decimal("85.71"), 12, 7, 1, "fakir_miskin")


# --- 6. the incremental refresh touches the given families and reports their RTs --------------------------


def _three(c: Any) -> list[int]:
    """x alone in RT A (k01..k09), y (k01..k05) and z (k06..k07) in RT B."""
    _areas(c)
    return _families(c, [{"rt": RT_A, "met": list(range(1, 10))}, {"rt": RT_B, "met": [1, 2, 3, 4, 5]},
                         {"rt": RT_B, "met": [6, 7]}])  # fmt: skip


def _call(c: Any, sql: str, *args: Any) -> list[str]:
    return sorted(c.execute(sql, args).fetchone()[0])


def test_refresh_with_nothing_changed_reports_no_rt(conn):
    x, y, z = _three(conn)
    before = _rank_rows(conn)
    assert _call(conn, "SELECT peta_refresh_scores(%s)", [x, y, z]) == []
    assert _call(conn, "SELECT peta_refresh_desil()") == []
    assert _rank_rows(conn) == before


def test_refresh_scores_rescores_only_the_given_families(conn):
    """New weights written without a refresh: rescoring x alone reports RT A only and leaves y's old score."""
    x, y, z = _three(conn)
    before = _rank_rows(conn)
    heavy = dict(EQUAL, k01=15.0)  # sum 28
    _configure(conn, weights=heavy)
    assert _call(conn, "SELECT peta_refresh_scores(%s)", [x]) == [RT_A]
    got = _rank_rows(conn)
    assert got[x][0] == score_of(set(range(1, 10)), heavy) == Decimal("82.14")  # 23/28
    assert (got[y], got[z]) == (before[y], before[z])  # not given: untouched
    assert _call(conn, "SELECT peta_refresh_scores(%s)", [y, z]) == [RT_B]
    assert _rank_rows(conn)[y][0] == score_of({1, 2, 3, 4, 5}, heavy) == Decimal("67.86")  # 19/28


def test_refresh_scores_leaves_other_rows_alone(conn):
    """A ranking row of no family (left by hand) is not the business of a refresh of x."""
    x, _, _ = _three(conn)
    conn.execute("INSERT INTO household_rank (household_id, kota_code, score, bps_count, jumlah_anggota)"
                 " VALUES (-5, '15.71', 1, 1, 1)")
    assert _call(conn, "SELECT peta_refresh_scores(%s)", [x]) == []
    assert -5 in _rank_rows(conn)


def test_refresh_desil_reports_the_rt_of_the_family_whose_desil_changed(conn):
    x, y, z = _three(conn)
    assert [_rank_rows(conn)[i][3] for i in (x, y, z)] == [1, 2, 3]
    conn.execute("UPDATE household_rank SET local_desil = 9 WHERE household_id = %s", (x,))
    assert _call(conn, "SELECT peta_refresh_desil()") == [RT_A]
    assert [_rank_rows(conn)[i][3] for i in (x, y, z)] == [1, 2, 3]
    conn.execute("UPDATE household_rank SET local_desil = 9 WHERE household_id = %s", (z,))
    assert _call(conn, "SELECT peta_refresh_desil()") == [RT_B]


def test_a_desil_shift_updates_the_figures_of_another_rt(conn):
    """x (RT A) is the poorest of three: desil 1, poor locally. Eight poorer families join RT B: x is 9th of
    11, desil 8, and RT A's local-poor count drops to 0 although nothing in RT A was written."""
    x, y, z = _three(conn)

    def rt_a() -> tuple[int, int]:
        return conn.execute(
            "SELECT poor_local_families, poor_local_people FROM area_stats WHERE code = %s", (RT_A,)
        ).fetchone()

    assert rt_a() == (1, 4)
    _families(conn, [{"rt": RT_B, "met": list(range(1, 11 + i % 4)), "tag": "p"} for i in range(8)])
    assert _rank_rows(conn)[x][3] == 8
    assert rt_a() == (0, 0)


# --- 7. several kab/kota in one database (issue 16) -------------------------------------------------------

# kab/kota code -> its one RT's envelope: Kabupaten Muaro Jambi (same province), Kota Medan (another province whose
# code starts with the same digit: provinces are told apart by both digits)
_OTHER_KOTA = {
    "15.05": (103.70, -1.70, 103.72, -1.68),
    "12.71": (98.66, 3.58, 98.68, 3.60),
}


def _other_kota(c: Any) -> dict[str, str]:
    """A kota, kecamatan, kelurahan, RW and RT for each of _OTHER_KOTA, beside _AREAS; kab/kota -> its RT."""
    rts = {}
    for kota, box in _OTHER_KOTA.items():
        kec, kel = f"{kota}.01", f"{kota}.01.1001"
        rw, rt = f"{kel}.001", f"{kel}.001.001"
        insert_areas(c, [(kota, "kota", None, box), (kec, "kecamatan", kota, box), (kel, "kelurahan", kec, box),
                         (rw, "rw", kel, box), (rt, "rt", rw, box)])  # fmt: skip
        _POINT[rt] = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        rts[kota] = rt
    return rts


def _desil_over(c: Any, over: str) -> None:
    c.execute("UPDATE peta_config SET value = value || jsonb_build_object('desil_over', %s::text)"
              " WHERE key = 'ranking'", (over,))  # fmt: skip
    _rebuild(c)


def test_local_desil_ranks_each_kab_kota_apart_unless_configured_wider(conn):
    """Kota Jambi's desil stay what they were when families of other kab/kota arrive; 'provinsi' ranks the two
    kab/kota of Jambi province together, 'all' every family together."""
    _areas(conn)
    jambi = [{"rt": RT_A if i % 2 else RT_C, "met": list(range(1, 2 + i % 13)), "members": 1 + i % 5}
             for i in range(23)]
    jambi_ids = _families(conn, jambi)
    before = _rank_rows(conn)
    assert before == expected_ranking(jambi, jambi_ids, EQUAL, DEFAULT_CATEGORIES) and len(before) == 23
    rts = _other_kota(conn)
    muaro = [{"rt": rts["15.05"], "met": list(range(1, 15 - i % 7)), "members": 2} for i in range(17)]
    medan = [{"rt": rts["12.71"], "met": list(range(1, 3 + i % 11)), "members": 3} for i in range(12)]
    ids = {"15.71": jambi_ids, "15.05": _families(conn, muaro), "12.71": _families(conn, medan)}
    fams = {"15.71": jambi, "15.05": muaro, "12.71": medan}
    got = _rank_rows(conn)
    assert {i: got[i] for i in jambi_ids} == before  # the incremental refresh moved no Jambi family
    per_kota = {}
    for kota in fams:
        per_kota.update(expected_ranking(fams[kota], ids[kota], EQUAL, DEFAULT_CATEGORIES))
    assert got == per_kota
    _rebuild(conn)
    assert _rank_rows(conn) == per_kota
    _desil_over(conn, "provinsi")
    jambi_province = expected_ranking(jambi + muaro, ids["15.71"] + ids["15.05"], EQUAL, DEFAULT_CATEGORIES)
    assert _rank_rows(conn) == {**jambi_province, **expected_ranking(medan, ids["12.71"], EQUAL, DEFAULT_CATEGORIES)}
    _desil_over(conn, "all")
    everyone = expected_ranking(jambi + muaro + medan, ids["15.71"] + ids["15.05"] + ids["12.71"], EQUAL,
                                DEFAULT_CATEGORIES)  # fmt: skip
    assert _rank_rows(conn) == everyone != per_kota
    _desil_over(conn, "kota")
    assert _rank_rows(conn) == per_kota


def _ranks(expected: dict[int, tuple], among: list[int]) -> dict[int, int]:
    """Each family's rank among `among`, poorest first, by the rule (score, criteria, size, then the older id)."""
    order = sorted(among, key=lambda i: (-expected[i][0], -expected[i][1], -expected[i][2], i))
    return {i: n for n, i in enumerate(order, start=1)}


def test_a_family_is_ranked_among_its_desil_group(db):
    """A family's explained rank, and the number it is ranked among, are those of its desil group: its own kab/kota
    by default (families of another city do not push it down), its province or everyone when so configured."""
    _areas(db)
    jambi = [{"rt": RT_A if i % 2 else RT_C, "met": list(range(1, 2 + i % 13)), "members": 1 + i % 5}
             for i in range(13)]
    ids = {"15.71": _families(db, jambi)}
    rts = _other_kota(db)
    muaro = [{"rt": rts["15.05"], "met": list(range(1, 15 - i % 7)), "members": 2} for i in range(9)]
    medan = [{"rt": rts["12.71"], "met": list(range(1, 3 + i % 11)), "members": 3} for i in range(7)]
    ids |= {"15.05": _families(db, muaro), "12.71": _families(db, medan)}
    expected = expected_ranking(jambi + muaro + medan, ids["15.71"] + ids["15.05"] + ids["12.71"], EQUAL,
                                DEFAULT_CATEGORIES)  # fmt: skip
    groups = {"kota": [ids["15.71"], ids["15.05"], ids["12.71"]],
              "provinsi": [ids["15.71"] + ids["15.05"], ids["12.71"]],
              "all": [ids["15.71"] + ids["15.05"] + ids["12.71"]]}  # fmt: skip
    for over, members in groups.items():
        if ON_CITUS and over != "kota":
            continue  # on Citus the desil is ranked within each kab/kota only (tests/gis/test_refresh_per_kota.py)
        _desil_over(db, over)
        for group in members:
            want = _ranks(expected, group)
            assert want  # the group is not empty
            got = {i: _explain(db, i) for i in group}
            assert {i: (e["local_rank"], e["ranked_families"]) for i, e in got.items()} == {
                i: (n, len(group)) for i, n in want.items()}, over  # fmt: skip
