"""The disclosure rule in a small hand-built city (issue 19): record keys, cell keys, published figures.

Four RTs under one kelurahan (two RWs; RT D has no family), families and record keys chosen here, so every
cell key is a sum of known keys and every published cell follows from the noise rule of
tests/gis/test_disclosure.py (written independently of the SQL). The world is checked after the families
arrive one statement at a time (the incremental refresh), after one RT changes, and after a full refresh.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
import pytest

from gis import disclosure
from tests.gis.test_disclosure import CELLS, LOCAL, PEOPLE_OF, _pct, oracle
from tests.gis.test_disclosure import shown as shown_oracle
from tests.worlds import set_local_programs

M = 2**32
HALF = 2**31  # a cell key whose draw is exactly 0.5: noise 0 for a count of 2 or more

KOTA, KEC, KEL = "15.71", "15.71.01", "15.71.01.1001"
RW1, RW2 = f"{KEL}.001", f"{KEL}.002"
RT_A, RT_B, RT_C, RT_D = f"{RW1}.001", f"{RW1}.002", f"{RW2}.001", f"{RW2}.002"
# code, level, parent, population: RT A has none (a rate over 0 people is NULL), RW 1 one person
AREAS = [
    (KOTA, "kota", None, 13),
    (KEC, "kecamatan", KOTA, 11),
    (KEL, "kelurahan", KEC, 3),
    (RW1, "rw", KEL, 1),
    (RW2, "rw", KEL, 0),
    (RT_A, "rt", RW1, 0),
    (RT_B, "rt", RW1, 1),
    (RT_C, "rt", RW2, 7),
    (RT_D, "rt", RW2, 0),
]
RTS = {a[0] for a in AREAS if a[1] == "rt"}  # a family counts in the areas above its RT, if it has one
PREFIX = {"rt": 21, "rw": 17, "kelurahan": 13, "kecamatan": 8, "kota": 5}
P = ("PKH", "BPNT", "PBI-JK", "BPJS-TK", *LOCAL)

# kk, rt, criteria met, members, programmes, official desil, verified, hasil_verval (2: removed)
FAMILIES = [
    # RT A: eleven families meeting 9..12 criteria (the poor cells are large enough to be shown), one at 8,
    # two removed families meeting 9 and 10 (one with every programme, one with none)
    ("a1", RT_A, 12, 6, (), 1, False, None),
    ("a2", RT_A, 12, 5, ("PKH",), 2, False, None),
    ("a3", RT_A, 11, 7, ("PKH", "BPNT"), 3, False, None),
    ("a4", RT_A, 11, 4, ("BPNT",), 4, False, 1),
    ("a5", RT_A, 10, 8, ("PBI-JK",), 5, False, None),
    ("a6", RT_A, 10, 3, ("BPJS-TK", "PKH"), 6, False, None),
    ("a7", RT_A, 9, 9, (LOCAL[1], "LAINNYA"), 7, False, None),
    ("a8", RT_A, 9, 2, P, 8, False, None),
    ("a9", RT_A, 9, 5, (), None, False, None),
    ("a10", RT_A, 9, 6, ("BPNT", "PBI-JK"), 9, False, None),
    ("a11", RT_A, 9, 4, (), 10, False, None),
    ("a12", RT_A, 8, 7, ("PKH",), 1, False, None),
    ("a13", RT_A, 9, 3, P, 6, False, 2),
    ("a14", RT_A, 10, 2, (), 3, False, 4),
    # RT B: a few families around the desil edges
    ("b1", RT_B, 7, 2, ("PKH",), 5, True, None),
    ("b2", RT_B, 6, 3, (), 6, True, None),
    ("b3", RT_B, 5, 1, ("BPNT",), 2, False, None),
    ("b4", RT_B, 4, 4, (), 3, True, 3),
    # RT C: three targets, two verified (66.67 %)
    ("c1", RT_C, 3, 5, (), 1, True, None),
    ("c2", RT_C, 2, 2, (LOCAL[0],), 2, True, None),
    ("c3", RT_C, 1, 1, (), 2, False, None),
]

_INSERT = (
    "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, geom, jumlah_anggota, programs, record_key,"
    " desil_resmi, tgl_verval, hasil_verval, " + ", ".join(f"k{i:02d}" for i in range(1, 15)) + ", source)"
    " VALUES (%s, '157101******0001', %s, left(%s, 5), ST_SetSRID(ST_MakePoint(103.61, -1.61), 4326), %s, %s, %s, %s,"
    " %s, %s, " + ", ".join(["%s"] * 14) + ", 'test')"
)


def _keys() -> dict[str, int]:
    rng = random.Random(19)
    return {f[0]: rng.randrange(M) for f in FAMILIES}


@pytest.fixture
def city(conn):
    set_local_programs(conn, LOCAL)
    for code, level, parent, pop in AREAS:
        conn.execute(
            "INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source, geom_hash)"
            " VALUES (%s, %s, %s, %s, ST_Multi(ST_MakeEnvelope(103.60, -1.62, 103.62, -1.60, 4326)), 1, %s,"
            " 'test', %s)",
            (code, code, level, parent, pop, code),
        )
    keys = _keys()
    for kk, rt, met, members, programs, desil, verified, hasil in FAMILIES:
        conn.execute(
            _INSERT,
            (kk, rt, rt, members, list(programs), keys[kk], desil, "2026-10-01" if verified else None, hasil,
             *([True] * met + [False] * (14 - met))),
        )  # fmt: skip
    return conn


def _families(conn) -> list[tuple]:
    """The families as test_disclosure.CELLS reads them; local desil and category are the ranking's."""
    return conn.execute(
        "SELECT h.rt_code, h.record_key, h.jumlah_anggota, h.active, h.bps_count, h.tgl_verval IS NOT NULL,"
        " h.programs, r.local_desil, r.category, h.desil_resmi"
        " FROM household h LEFT JOIN household_rank r ON r.household_id = h.id ORDER BY h.id"
    ).fetchall()


def _true_cells(families: list[tuple]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per area: column -> (true count, cell key), the key being the plain sum of the families' record keys."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for code, level, _, _ in AREAS:
        mine = [f for f in families if f[0] in RTS and f[0][: PREFIX[level]] == code]
        out[code] = {
            col: (sum(f[2] if people else 1 for f in mine if member(f)), sum(f[1] for f in mine if member(f)))
            for col, (member, people) in CELLS.items()
        }
    return out


def _published_expected(families: list[tuple]) -> dict[str, dict[str, Any]]:
    pops = {a[0]: a[3] for a in AREAS}
    out = {}
    for code, cells in _true_cells(families).items():
        row: dict[str, Any] = {}
        for col in CELLS:
            n, ck = cells[col]
            fam = PEOPLE_OF.get(col)
            if fam is None:
                row[col] = shown_oracle(n, ck, 1)
            else:
                f = shown_oracle(*cells[fam], 1)
                row[col] = None if f is None or 1 <= f < 7 else 0 if f == 0 else shown_oracle(n, ck, 2)
        poor, pop = row["poor_bps_people"], pops[code]
        row["poverty_rate_pct"] = None if poor is None or pop == 0 else _pct(poor, pop)
        for pct, part, whole in (("coverage_pct", "verified_families", "families"),
                                 ("target_coverage_pct", "target_verified", "target_families")):  # fmt: skip
            p, w = row[part], row[whole]
            row[pct] = None if p is None or w is None or w == 0 else _pct(min(p, w), w)
        row["suppressed"] = [c for c in CELLS if row[c] is None]
        out[code] = row
    return out


PUBLIC_COLS = [*CELLS, "poverty_rate_pct", "coverage_pct", "target_coverage_pct", "suppressed"]


def _published(conn) -> dict[str, dict[str, Any]]:
    rows = conn.execute(f"SELECT code, {', '.join(PUBLIC_COLS)} FROM area_stats_public").fetchall()
    return {r[0]: dict(zip(PUBLIC_COLS, r[1:], strict=True)) for r in rows}


def _cell_keys(conn) -> dict[str, dict[str, int]]:
    rows = conn.execute(f"SELECT code, level, {', '.join(CELLS)} FROM area_cell_key").fetchall()
    return {r[0]: {"level": r[1], **dict(zip(CELLS, r[2:], strict=True))} for r in rows}


def _check(conn) -> None:
    families = _families(conn)
    true = _true_cells(families)
    levels = {a[0]: a[1] for a in AREAS}
    assert _cell_keys(conn) == {c: {"level": levels[c], **{k: v[1] for k, v in cells.items()}}
                                for c, cells in true.items()}  # fmt: skip
    assert _published(conn) == _published_expected(families)


def test_the_world_reaches_every_edge(city):
    """The hand-built city has what the other tests rely on: cells on both sides of each edge."""
    families = _families(city)
    assert len(families) == len(FAMILIES) == 21
    local = {f[7] for f in families if f[7] is not None}
    assert {4, 5} <= local  # poor local desil <= 4
    gaps = {abs(f[7] - f[9]) for f in families if f[7] is not None and f[9] is not None}
    assert {2, 3} <= gaps  # desil disagreement from 3
    assert {f[8] for f in families} == {"fakir_miskin", "miskin", "rentan", None}
    true = _true_cells(families)
    assert true[RT_A]["poor_bps_families"][0] == 11 and true[RT_D]["families"] == (0, 0)
    published = _published(city)
    assert published[RT_A]["poor_bps_people"] is not None and published[RW1]["poor_bps_people"] is not None
    assert any(v is None for r in published.values() for v in r.values())  # some cells hidden
    # a rate over no people is NULL, over one person it is shown (and over 3 people it does not end)
    assert published[RT_A]["poverty_rate_pct"] is None and published[RW1]["poverty_rate_pct"] is not None
    assert published[KEL]["poverty_rate_pct"] % Decimal("0.05") != 0


def test_cell_keys_and_published_cells_after_each_family_arrives(city):
    _check(city)


def test_one_rt_changed_republishes_it_and_its_ancestors_only(city):
    """Every family of RT A verified in one statement: its verified count goes from 0 (shown 0) to 14
    (shown 12..16), and by as much at every level above it (from at most 5 there, shown at most 7); the
    other RTs' rows stay as they were."""
    before = _published(city)
    assert before[RT_A]["verified_families"] == 0
    city.execute("UPDATE household SET tgl_verval = DATE '2026-11-01', version = version + 1 WHERE rt_code = %s",
                 (RT_A,))  # fmt: skip
    after = _published(city)
    for code in (RT_A, RW1, KEL, KEC, KOTA):
        assert after[code]["verified_families"] not in (None, 0, before[code]["verified_families"]), code
    for code in (RT_B, RT_C, RT_D, RW2):
        assert after[code] == before[code], code
    _check(city)


def test_a_full_refresh_gives_the_same_keys_and_cells(city):
    city.execute("SELECT peta_refresh(NULL, NULL)")
    _check(city)


def test_a_family_whose_code_names_no_rt_is_counted_nowhere(city):
    """A family filed under a kelurahan's code (no RT has it) is in no cell and refreshes nothing wrongly."""
    city.execute(_INSERT, ("kel-only", KEL, KEL, 3, [], 123_456_789, 1, None, None, *([True] * 10 + [False] * 4)))
    assert city.execute("SELECT count(*) FROM household WHERE rt_code = %s", (KEL,)).fetchone()[0] == 1
    _check(city)


def _pct2(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else _pct(part, whole)


def test_staff_rates_are_true_counts_over_their_bases(city):
    """area_figures (Dinsos staff): rates of the true counts, NULL over an empty base, 2 decimals."""
    families = _families(city)
    true = _true_cells(families)
    pops = {a[0]: a[3] for a in AREAS}
    rows = city.execute(
        "SELECT code, poverty_rate_pct, coverage_pct, target_coverage_pct, suppressed FROM area_figures"
    ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    expected = {
        code: (
            _pct2(c["poor_bps_people"][0], pops[code]),
            _pct2(c["verified_families"][0], c["families"][0]),
            _pct2(c["target_verified"][0], c["target_families"][0]),
            [],
        )
        for code, c in true.items()
    }
    assert got == expected
    assert got[RT_C][1:3] == (Decimal("66.67"), Decimal("66.67"))
    assert got[RT_D] == (None, None, None, [])


# --- record keys: uniform in [0, 2^32), kept there by a CHECK -----------------------------------------------


@pytest.mark.parametrize("seed", [0.2, 0.6, 0.9])
def test_a_new_family_draws_its_record_key_as_floor_of_random_times_2_to_32(conn, seed):
    """After setseed the next random() is known: a new family's key is floor(random() x 2^32)."""
    conn.execute("SELECT setseed(%s)", (seed,))
    r = conn.execute("SELECT random()").fetchone()[0]
    conn.execute("SELECT setseed(%s)", (seed,))
    key = conn.execute(
        "INSERT INTO household (kk_hash, kk_masked, kota_code, jumlah_anggota, source, "
        + ", ".join(f"k{i:02d}" for i in range(1, 15))
        + ") VALUES ('kk-seed', 'x', '15.71', 1, 'test', "
        + ", ".join(["false"] * 14)
        + ") RETURNING record_key"
    ).fetchone()[0]
    assert key == math.floor(Fraction(r) * M)


@pytest.mark.parametrize("key,ok", [(-1, False), (0, True), (M - 1, True), (M, False), (M + 1, False)])
def test_record_keys_outside_0_to_2_to_32_are_refused(conn, key, ok):
    insert = (
        "INSERT INTO household (kk_hash, kk_masked, kota_code, jumlah_anggota, source, record_key, "
        + ", ".join(f"k{i:02d}" for i in range(1, 15))
        + ") VALUES ('kk-key', 'x', '15.71', 1, 'test', %s, "
        + ", ".join(["false"] * 14)
        + ") RETURNING record_key"
    )
    if ok:
        assert conn.execute(insert, (key,)).fetchone()[0] == key
    else:
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute(insert, (key,))


# --- the noise of a cell key: only the key modulo 2^32 counts -------------------------------------------------


def test_the_noise_reads_the_key_modulo_2_to_32_in_both_streams(conn):
    """A cell key is a raw sum of record keys (a city's is some 10^14): the noise of a key and of the same key
    plus any multiple of 2^32 is the same, in the stream of families and in that of people. The multiples
    include one (523,913) that moves stream 2's draw by about one half if it were reduced by anything else."""
    rng = random.Random(27)
    cases = [(x, r + q * M, s) for x in (2, 9) for s in (1, 2) for q in (1, 7, 523_913, 2**20, 2**30)
             for r in (rng.randrange(M) for _ in range(8))]  # fmt: skip
    rows = conn.execute(
        "SELECT peta_ckm(x, ck, s), peta_ckm(x, ck %% 4294967296, s)"
        " FROM unnest(%s::int[], %s::bigint[], %s::int[]) WITH ORDINALITY AS t(x, ck, s, i) ORDER BY i",
        ([c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases]),
    ).fetchall()
    assert [r[0] for r in rows] == [oracle(x, ck, s) for x, ck, s in cases]
    assert [r[1] for r in rows] == [r[0] for r in rows]


def _key_for_draw(k: int, stream: int, q: int = 0) -> int:
    """A cell key (plus q x 2^32) whose draw in `stream` is k / 2^32: stream 2 draws (key x 4099) mod 2^32."""
    return (k if stream == 1 else k * pow(4099, -1, M) % M) + q * M


@pytest.mark.parametrize("stream", [1, 2])
def test_the_noise_at_each_edge_of_the_draw(conn, stream):
    """Keys whose draw is the last one below and the first one at or above each edge of the rule: 0.2, 0.4,
    0.6, 0.8 for counts of 2 or more (noise -2..+2), 0.45, 0.65, 0.90 for a count of 1."""
    cases = []
    for x, edges in ((7, (Fraction(j, 5) for j in range(1, 5))), (1, (Fraction(45, 100), Fraction(65, 100),
                                                                      Fraction(90, 100)))):  # fmt: skip
        for edge in edges:
            first = math.ceil(edge * M)  # the first draw at or above the edge
            for k in (first - 1, first):
                for q in (0, 3):
                    cases.append((x, _key_for_draw(k, stream, q)))
    got = conn.execute(
        "SELECT peta_ckm(x, ck, %s) FROM unnest(%s::int[], %s::bigint[]) WITH ORDINALITY AS t(x, ck, i) ORDER BY i",
        (stream, [c[0] for c in cases], [c[1] for c in cases]),
    ).fetchall()
    expected = [oracle(x, ck, stream) for x, ck in cases]
    assert [g[0] for g in got] == expected
    # each edge: the last draw below it and the first at it (each with and without 3 x 2^32 added to the key)
    # show values one apart, the lower value being that of the edge before
    groups = [expected[i : i + 4] for i in range(0, len(expected), 4)]
    assert [(g[0], g[2]) for g in groups] == [(5, 6), (6, 7), (7, 8), (8, 9), (0, 1), (1, 2), (2, 3)]
    assert all(g[0] == g[1] and g[2] == g[3] for g in groups)


# --- gis/disclosure.py --------------------------------------------------------------------------------------


def test_max_small_is_the_sql_suppression_edge(conn):
    """MAX_SMALL names the edge peta_shown applies: without noise, MAX_SMALL is hidden, one more is shown."""
    # draw 0.5: a count of 1 shows 1, a larger count itself
    got = [conn.execute("SELECT peta_shown(%s, %s, 1)", (x, HALF)).fetchone()[0] for x in range(0, 9)]
    assert got == [0] + [disclosure.SUPPRESSED if x <= disclosure.MAX_SMALL else x for x in range(1, 9)]
    assert disclosure.MAX_SMALL == 4 and disclosure.SUPPRESSED is None


def test_mark_suppressed_lists_exactly_the_hidden_columns():
    rows = [{"code": "x", "a": None, "b": 0, "c": 5, "d": None}, {"code": "y", "a": 7, "b": None, "c": 0, "d": 1}]
    assert disclosure.mark_suppressed(rows, ["a", "b", "c", "d"]) == [
        {"code": "x", "a": None, "b": 0, "c": 5, "d": None, "suppressed": ["a", "d"]},
        {"code": "y", "a": 7, "b": None, "c": 0, "d": 1, "suppressed": ["b"]},
    ]
    assert disclosure.mark_suppressed(rows, ["c"])[0]["suppressed"] == []


def test_people_of_is_keyword_only():
    """A people count must name the family count it hides with: passed by position it is refused."""
    with pytest.raises(TypeError):
        disclosure.shown("c.people", "c.k_people", ("c.families", "c.k_families"))  # type: ignore[misc]
    assert "peta_people_shown" in repr(disclosure.shown("p", "k", people_of=("f", "fk")))


@pytest.mark.parametrize("part,whole,expected", [
    (None, 5, None), (5, None, None), (None, None, None), (3, 0, None), (0, 0, None),
    (1, 3, Decimal("33.33")), (2, 3, Decimal("66.67")), (7, 3, Decimal("100.00")),  # at most 100
    (1, 1, Decimal("100.00")), (0, 1, Decimal("0.00")), (1, -1, Decimal("100.00")),
])  # fmt: skip
def test_peta_pct(conn, part, whole, expected):
    assert conn.execute("SELECT peta_pct(%s::bigint, %s::bigint)", (part, whole)).fetchone()[0] == expected


@pytest.mark.parametrize("people,families,expected", [
    (30, None, None), (30, 0, 0), (0, 0, 0), (30, 1, None), (30, -1, None), (30, 6, None), (30, 7, 30),
    (30, 8, 30), (0, 7, 0), (1, 7, None), (4, 7, None), (5, 7, 5), (3, 9, None),
])  # fmt: skip
def test_peta_people_shown(conn, people, families, expected):
    assert conn.execute("SELECT peta_people_shown(%s, %s)", (people, families)).fetchone()[0] == expected
