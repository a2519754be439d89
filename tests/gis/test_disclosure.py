"""The cell-key rule of published figures, checked against an independent implementation in Python."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from boundaries.demo import DemoConfig, generate_city, load_city
from tests.worlds import set_local_programs

M = 2**32


def oracle(x: int, ck: int, stream: int) -> int:
    """The published value's noise rule as the README states it, written independently of the SQL."""
    if x <= 0:
        return x
    k = ck % M if stream == 1 else (ck % M) * 4099 % M
    u = Fraction(k, M)
    if x == 1:
        return 0 if u < Fraction(45, 100) else 1 if u < Fraction(65, 100) else 2 if u < Fraction(90, 100) else 3
    return x + int(u * 5) - 2


def shown(x: int, ck: int, stream: int = 1) -> int | None:
    v = oracle(x, ck, stream)
    return None if 1 <= v <= 4 else v


def test_the_noise_rule_matches_the_oracle(conn):
    rng = random.Random(5)
    cases = [(x, rng.randrange(0, 40 * M), s) for x in (0, 1, 2, 3, 4, 5, 9, 250) for s in (1, 2) for _ in range(60)]
    edges = [(x, ck, 1) for x in (1, 2, 7) for ck in (0, M - 1, M, int(0.45 * M), int(0.45 * M) - 1, int(0.2 * M))]
    rows = conn.execute(
        "SELECT x, ck, s, peta_ckm(x, ck, s), peta_shown(x, ck, s) FROM unnest(%s::int[], %s::bigint[], %s::int[]) AS"
        " t(x, ck, s)",
        ([c[0] for c in cases + edges], [c[1] for c in cases + edges], [c[2] for c in cases + edges]),
    ).fetchall()
    assert len(rows) == len(cases) + len(edges) == 978
    for x, ck, s, noisy, published in rows:
        assert noisy == oracle(x, ck, s), (x, ck, s)
        assert published == (None if 1 <= noisy <= 4 else noisy)


@pytest.mark.parametrize("x", [1, 2, 3, 4, 10])
def test_the_noise_is_unbiased_and_rarely_exact(conn, x):
    """Over keys spread evenly, a count is shown exactly one time in five and its mean is the count."""
    keys = [(2 * k + 1) * M // 2000 for k in range(1000)]  # the middle of each thousandth
    values = [v for (v,) in conn.execute("SELECT peta_ckm(%s, k, 1) FROM unnest(%s::bigint[]) k", (x, keys))]
    assert len(values) == 1000
    assert sum(v == x for v in values) == 200
    assert sum(values) == 1000 * x
    assert min(values) >= 0 and max(values) - min(values) <= 4


def _families(conn):
    return conn.execute(
        "SELECT h.rt_code, h.record_key, h.jumlah_anggota, h.active, h.bps_count, h.tgl_verval IS NOT NULL,"
        " h.programs, r.local_desil, r.category, h.desil_resmi"
        " FROM household h LEFT JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id"
    ).fetchall()


def _at_most(value: int | None, bound: int) -> bool:
    return value is not None and value <= bound


# the local programmes the tests configure (programs.local): the demo's own and one more, any of which counts
LOCAL = ("KARTU-BAHAGIA", "KARTU-SEHAT")


# the thresholds of core/defaults.yaml: BPS poor 9+, poor desil <= 4, targets official desil <= 2,
# inclusion error official desil >= 6, desil disagreement 3+
CELLS = {  # column: (which families it counts, counts people of them)
    "families": (lambda f: True, False),
    "people": (lambda f: True, True),
    "removed_families": (lambda f: not f[3], False),
    "poor_bps_families": (lambda f: f[3] and f[4] >= 9, False),
    "poor_bps_people": (lambda f: f[3] and f[4] >= 9, True),
    "poor_local_families": (lambda f: _at_most(f[7], 4), False),
    "poor_local_people": (lambda f: _at_most(f[7], 4), True),
    "poor_official_families": (lambda f: f[3] and _at_most(f[9], 4), False),
    "poor_official_people": (lambda f: f[3] and _at_most(f[9], 4), True),
    "fakir_miskin_families": (lambda f: f[8] == "fakir_miskin", False),
    "miskin_families": (lambda f: f[8] == "miskin", False),
    "rentan_families": (lambda f: f[8] == "rentan", False),
    "verified_families": (lambda f: f[5], False),
    "target_families": (lambda f: _at_most(f[9], 2), False),
    "target_verified": (lambda f: _at_most(f[9], 2) and f[5], False),
    **{
        f"recipients_{p.lower().replace('-', '_')}": (lambda f, p=p: f[3] and p in f[6], False)
        for p in ("PKH", "BPNT", "PBI-JK", "BPJS-TK")
    },
    "recipients_local": (lambda f: f[3] and bool(set(LOCAL) & set(f[6])), False),
    **{
        f"poor_without_{p.lower().replace('-', '_')}": (lambda f, p=p: f[3] and f[4] >= 9 and p not in f[6], False)
        for p in ("PKH", "BPNT", "PBI-JK", "BPJS-TK")
    },
    "poor_without_local": (lambda f: f[3] and f[4] >= 9 and not set(LOCAL) & set(f[6]), False),
    "inclusion_errors": (lambda f: f[3] and f[9] is not None and f[9] >= 6 and len(f[6]) > 0, False),
    "desil_disagree": (lambda f: f[7] is not None and f[9] is not None and abs(f[7] - f[9]) >= 3, False),
}
PEOPLE_OF = {
    "people": "families",
    "poor_bps_people": "poor_bps_families",
    "poor_local_people": "poor_local_families",
    "poor_official_people": "poor_official_families",
}


def _expected(families, level_len: int) -> dict[str, dict[str, int | None]]:
    """Every published cell of areas whose codes are `level_len` long, computed from the families alone."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for f in families:
        code = f[0][:level_len]
        for col, (member, people) in CELLS.items():
            if member(f):
                counts[code][col][0] += f[2] if people else 1
                counts[code][col][1] += f[1]
    out: dict[str, dict[str, int | None]] = {}
    for code, cols in counts.items():
        out[code] = {}
        for col in CELLS:
            n, ck = cols[col]
            fam = PEOPLE_OF.get(col)
            if fam is None:
                out[code][col] = shown(n, ck)
                continue
            families = shown(cols[fam][0], cols[fam][1])
            if families is None or 1 <= families < 7:
                out[code][col] = None  # people beside fewer than 7 shown families would tell their number
            else:
                out[code][col] = 0 if families == 0 else shown(n, ck, 2)
    return out


def _published(conn, level: str) -> dict[str, dict[str, int | None]]:
    cur = conn.execute(f"SELECT code, {', '.join(CELLS)} FROM area_stats_public WHERE level = %s", (level,))
    return {r[0]: dict(zip(CELLS, r[1:], strict=True)) for r in cur.fetchall()}


@pytest.fixture
def small_city(conn):
    set_local_programs(conn, LOCAL)
    load_city(conn, generate_city(DemoConfig(scale=0.05, seed=2)))
    return conn


def test_published_figures_of_every_level_follow_the_rule(small_city):
    conn = small_city
    families = _families(conn)
    assert len(families) > 4000
    hidden = 0
    for level, n in (("rt", 21), ("rw", 17), ("kelurahan", 13), ("kecamatan", 8), ("kota", 5)):
        published = _published(conn, level)
        expected = _expected(families, n)
        assert {c: v for c, v in published.items() if c in expected} == expected, level
        hidden += sum(v is None for cells in published.values() for v in cells.values())
    suppressed = conn.execute("SELECT sum(cardinality(suppressed)) FROM area_stats_public").fetchone()[0]
    assert hidden > 100 and suppressed >= hidden


def test_one_family_changed_republishes_its_rt_and_every_ancestor(small_city):
    conn = small_city
    hid, rt = conn.execute(
        "SELECT id, rt_code FROM household WHERE active AND tgl_verval IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    before = {lv: _published(conn, lv) for lv in ("rt", "kota")}
    staff = "SELECT code, families, verified_families, poor_bps_people FROM area_figures WHERE code <> %s ORDER BY code"
    staff_before = conn.execute(staff, (rt,)).fetchall()
    conn.execute("UPDATE household SET tgl_verval = DATE '2026-11-01', version = version + 1 WHERE id = %s", (hid,))
    families = _families(conn)
    for level, n in (("rt", 21), ("rw", 17), ("kelurahan", 13), ("kecamatan", 8), ("kota", 5)):
        assert _published(conn, level)[rt[:n]] == _expected(families, n)[rt[:n]], level
    after_rt = _published(conn, "rt")
    assert {c: v for c, v in after_rt.items() if c != rt} == {c: v for c, v in before["rt"].items() if c != rt}
    # the staff figures of every other area are still there, unchanged but for the RT's ancestors' verified count
    ancestors = {rt[:n] for n in (17, 13, 8, 5)}
    staff_after = conn.execute(staff, (rt,)).fetchall()
    assert len(staff_after) == len(staff_before) > 100
    for old, new in zip(staff_before, staff_after, strict=True):
        expected = (old[0], old[1], old[2] + 1, old[3]) if old[0] in ancestors else old
        assert new == expected, old[0]


def test_geomasked_points_stay_in_their_kelurahan_within_the_ring(db):
    from gis.disclosure import masked_points

    load_city(db, generate_city(DemoConfig(scale=0.05, seed=4)))
    ids = [r[0] for r in db.execute("SELECT id FROM household ORDER BY id LIMIT 300").fetchall()]
    masked = db.call(masked_points, ids, 100, 500)
    assert [m[0] for m in masked] == ids
    assert masked == db.call(masked_points, ids, 100, 500)  # the same displacement every time
    db.execute("CREATE TEMP TABLE m (id bigint, lon float8, lat float8)")
    with db.cursor().copy("COPY m FROM STDIN") as copy:
        for row in masked:
            copy.write_row(row)
    inside, ring, moved = db.execute("""
        SELECT count(*) FILTER (WHERE ST_Covers(k.geom, ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326))),
               count(*) FILTER (WHERE ST_Distance(h.geom::geography,
                   ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326)::geography) BETWEEN 99.5 AND 500.5),
               count(*) FILTER (WHERE NOT ST_Equals(h.geom, ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326)))
        FROM m JOIN household h ON h.id = m.id
        JOIN area k ON k.code = left(h.rt_code, 13) AND k.level = 'kelurahan'""").fetchone()
    assert inside == moved == len(ids)
    assert ring >= 0.98 * len(ids)  # the rest fell back to a point inside a small kelurahan


def _pct(part: int, whole: int) -> Decimal:
    """A percentage with 2 decimals, halves rounded away from zero (as PostgreSQL's round)."""
    return (Decimal(100 * part) / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_rates_come_from_what_is_shown_and_hide_with_it(small_city):
    conn = small_city
    rows = conn.execute(
        "SELECT p.code, p.population, p.poor_bps_people, p.poverty_rate_pct, p.families, p.verified_families,"
        " p.coverage_pct, p.expected_poor_people, p.under_coverage_people, p.suppressed"
        " FROM area_stats_public p"
    ).fetchall()
    assert len(rows) > 300
    hidden_rates = 0
    for code, pop, poor, rate, fam, ver, cov, expected, under in (r[:9] for r in rows):
        if poor is None:
            hidden_rates += 1
            assert rate is None and under is None, code
        else:
            assert rate == _pct(poor, pop) and under == expected - poor, code
        if fam is None or ver is None or fam == 0:
            assert cov is None, code
        else:
            assert cov == _pct(min(ver, fam), fam), code
    assert hidden_rates > 10


def test_deleting_families_republishes_their_rt(small_city):
    conn = small_city
    rt = conn.execute(
        "SELECT code FROM area_stats WHERE level = 'rt' AND families BETWEEN 6 AND 8 ORDER BY code LIMIT 1"
    ).fetchone()[0]
    conn.execute(
        "DELETE FROM household WHERE id IN (SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 3)", (rt,)
    )
    families = _families(conn)
    assert _published(conn, "rt")[rt] == _expected(families, 21)[rt]
    assert _published(conn, "kota") == _expected(families, 5)
