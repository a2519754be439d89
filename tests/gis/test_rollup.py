"""Provinces and the nation (issue 16): their figures are the sums of their kab/kota, and outside Dinsos each sum is
published by the cell-key rule from the families' own keys, exactly as tests/gis/test_disclosure.py's oracle
publishes a cell of those families. Expected values are computed here from the families, never by the product."""

from __future__ import annotations

import pytest

from gis import figures
from tests.gis.test_disclosure import CELLS, LOCAL, _expected, _families
from tests.worlds import insert_kota_chains, set_local_programs

BOX = (103.5, -1.7, 103.7, -1.5)
KOTAS = ("15.71", "15.72", "12.71")  # two kab/kota of province 15, one of province 12
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))


@pytest.fixture
def provinces(db):
    set_local_programs(db, LOCAL)
    insert_kota_chains(db, KOTAS, BOX)
    for i, kota in enumerate(KOTAS):
        db.execute(
            "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, desil_resmi, tgl_verval,"
            " hasil_verval, programs, source, " + _CRIT + ")"
            " SELECT %(k)s || '-' || g, 'x', %(rt)s, %(k)s, 1 + g %% 6, 1 + g %% 10,"
            " CASE WHEN g %% 3 = 0 THEN DATE '2026-10-01' END, CASE WHEN g %% 17 = 0 THEN 3 END,"
            " CASE g %% 4 WHEN 0 THEN ARRAY['PKH'] WHEN 1 THEN ARRAY['KARTU-BAHAGIA', 'BPNT'] ELSE ARRAY[]::text[] END,"
            " 'test', " + ", ".join(f"(hashtext(%(k)s || g) >> {b}) & 1 = 1" for b in range(14))
            + " FROM generate_series(1, %(n)s) g",
            {"k": kota, "rt": f"{kota}.01.1001.001.001", "n": 40 + 30 * i},
        )  # fmt: skip
    return db


def _true(families, n: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for f in families:
        code = f[0][:n] or "ID"
        cells = out.setdefault(code, dict.fromkeys(CELLS, 0))
        for col, (member, people) in CELLS.items():
            if member(f):
                cells[col] += f[2] if people else 1
    return out


@pytest.mark.parametrize(("level", "n"), [("provinsi", 2), ("nasional", 0)])
def test_provinces_and_the_nation_are_the_sums_of_their_kab_kota(provinces, level, n):
    families = _families(provinces)
    assert len(families) == 40 + 70 + 100
    staff = provinces.call(figures.rollup, level, True)
    public = provinces.call(figures.rollup, level, False)
    codes = ["12", "15"] if level == "provinsi" else ["ID"]
    assert [r["code"] for r in staff] == [r["code"] for r in public] == codes
    true = _true(families, n)
    published = {("ID" if c == "" else c): v for c, v in _expected(families, n).items()}
    for row, pub in zip(staff, public, strict=True):
        code = row["code"]
        assert {c: row[c] for c in CELLS} == true[code], code
        assert {c: pub[c] for c in CELLS} == published[code], code
        assert pub["suppressed"] == [c for c in figures.fx.COUNTS if pub[c] is None]
        assert row["kab_kota"] == {"12": 1, "15": 2, "ID": 3}[code]
        assert row["population"] == 100 * row["kab_kota"]  # insert_areas gives every area 100 residents
    # the rates of a published row come from its published counts
    for pub in public:
        if pub["families"]:
            expected = round(100 * min(pub["verified_families"], pub["families"]) / pub["families"], 2)
            assert float(pub["coverage_pct"]) == pytest.approx(expected)
