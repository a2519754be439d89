"""The topology report finds the known defects of the real Kota Jambi layers with their magnitudes."""

from __future__ import annotations

import pytest

from boundaries.check import check_boundaries
from boundaries.importer import import_boundaries
from tests.conftest import JAMBI, needs_jambi
from tests.layers import load_sample_city


@pytest.fixture
def jambi(conn):
    for level in ("kota", "kecamatan", "kelurahan"):
        import_boundaries(conn, JAMBI / f"{level}.geojson", level)
    return conn


@needs_jambi
def test_real_layers_load_despite_defects(jambi):
    rows = jambi.execute(
        "SELECT level, count(*), round(sum(area_m2) / 1e6) FROM area GROUP BY level ORDER BY 1"
    ).fetchall()
    assert rows == [("kecamatan", 11, 168), ("kelurahan", 68, 170), ("kota", 1, 170)]


@needs_jambi
def test_report_finds_overlaps_with_their_magnitudes(jambi):
    report = check_boundaries(jambi)
    by_level = {o.level: o for o in report.overlaps}
    kel = by_level["kelurahan"]
    assert (kel.areas, kel.pairs) == (68, 113)  # README: 113 pairs
    assert kel.total_m2 == pytest.approx(96_000, rel=0.01)  # README: about 96,000 m²
    assert kel.max_m2 == pytest.approx(7_752, abs=1)  # README: slivers up to 7,752 m²
    kec = by_level["kecamatan"]
    assert kec.pairs == 14  # README: 14 pairs
    assert kec.total_m2 == pytest.approx(4.87e6, rel=0.005)  # README: about 4.87 km²
    worst = kec.items[0]
    assert (worst.a, worst.b, worst.siblings) == ("15.71.02", "15.71.08", True)
    assert worst.m2 == pytest.approx(1.35e6, rel=0.005)  # README: 1.35 km²
    assert by_level["kota"].pairs == 0


@needs_jambi
def test_report_finds_gaps_outside_and_disagreement(jambi):
    report = check_boundaries(jambi)
    h = {(x.parent_level, x.child_level): x for x in report.hierarchy}
    kota_kel = h[("kota", "kelurahan")]
    assert kota_kel.gap_m2 == pytest.approx(4.6e6, rel=0.01)  # README: 4.6 km² covered by no kelurahan
    assert kota_kel.outside_m2 == pytest.approx(4.2e6, rel=0.01)  # README: 4.2 km² of kelurahan outside
    kec_kel = h[("kecamatan", "kelurahan")]
    assert kec_kel.disagreement_m2 > 1e6  # the kecamatan layer disagrees with the union of its kelurahan
    assert kec_kel.orphans == []
    assert len(kec_kel.parents) == 11
    assert sum(p.disagreement_m2 for p in kec_kel.parents) == pytest.approx(kec_kel.disagreement_m2)
    assert {c for c, _, _ in kota_kel.children_outside} <= {
        c for (c,) in jambi.execute("SELECT code FROM area WHERE level = 'kelurahan'").fetchall()
    }


def test_clean_layers_report_nothing(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    report = check_boundaries(conn)
    assert [o.pairs for o in report.overlaps] == [0, 0, 0]
    assert [
        (x.parent_level, x.child_level, round(x.gap_m2), round(x.outside_m2), round(x.disagreement_m2))
        for x in report.hierarchy
    ] == [("kota", "kecamatan", 0, 0, 0), ("kota", "kelurahan", 0, 0, 0), ("kecamatan", "kelurahan", 0, 0, 0)]
    d = report.to_dict()
    assert d["min_area_m2"] == 1.0 and len(d["hierarchy"]) == 3


def test_demo_city_is_clean_at_every_level(conn):
    """Regression: subtracting one big union from a whole parent once made GEOS report a 286,489 m² gap."""
    from boundaries.demo import DemoConfig, generate_city, load_city

    load_city(conn, generate_city(DemoConfig()))
    report = check_boundaries(conn)
    assert {o.level: o.pairs for o in report.overlaps if o.level != "kelurahan"} == {
        "kota": 0,
        "kecamatan": 0,
        "rw": 0,
        "rt": 0,
    }
    worst_gap = max(x.gap_m2 for x in report.hierarchy)
    assert worst_gap < 100  # a city of 170 km²: only vertex-snapping residue
    rw_rt = next(x for x in report.hierarchy if (x.parent_level, x.child_level) == ("rw", "rt"))
    assert (rw_rt.gap_m2, rw_rt.outside_m2, rw_rt.disagreement_m2) == (0.0, 0.0, 0.0)
