"""Derived areas: parents dissolved from children, RTs from labelled household points."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from boundaries.derive import derive_parents, derive_rt
from boundaries.importer import import_boundaries
from core.errors import InputError
from tests.layers import KECAMATAN, KELURAHAN, KOTA, MID_X, MID_Y, E, N, S, W, load_sample_city, write_layer


def test_import_with_derived_parents(conn, tmp_path):
    report = import_boundaries(
        conn, write_layer(tmp_path / "kel.geojson", KELURAHAN), "kelurahan", derive_missing_parents=True
    )
    assert report.derived_parents == ["15.71.01", "15.71.02", "15.71"]
    rows = conn.execute(
        "SELECT code, name, source, round(area_m2) FROM area WHERE level <> 'kelurahan' ORDER BY code"
    ).fetchall()
    kel_area = conn.execute("SELECT round(sum(area_m2)) FROM area WHERE level = 'kelurahan'").fetchone()[0]
    assert [r[:3] for r in rows] == [
        ("15.71", "Kota 15.71", "derived from kecamatan"),
        ("15.71.01", "Kecamatan 15.71.01", "derived from kelurahan"),
        ("15.71.02", "Kecamatan 15.71.02", "derived from kelurahan"),
    ]
    assert rows[0][3] == pytest.approx(float(kel_area), abs=2)


def test_derive_replaces_a_worse_parent_and_keeps_its_name(conn, tmp_path):
    import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    bad = [("15.71.01", "Kecamatan Barat", box(W, S, MID_X + 0.002, N)), KECAMATAN[1]]
    import_boundaries(conn, write_layer(tmp_path / "kec.geojson", bad), "kecamatan")
    import_boundaries(conn, write_layer(tmp_path / "kel.geojson", KELURAHAN), "kelurahan")
    kept = derive_parents(conn, "kecamatan")
    assert (kept.inserted, kept.updated, kept.unchanged) == ([], [], 0)
    fixed = derive_parents(conn, "kecamatan", replace=True)
    assert fixed.updated == ["15.71.01"]  # 15.71.02 was already equal to its children
    row = conn.execute(
        "SELECT name, version, ST_Equals(geom, ST_GeomFromText(%s, 4326)) FROM area WHERE code = '15.71.01'",
        (box(W, S, MID_X, N).wkt,),
    ).fetchone()
    assert row == ("Kecamatan Barat", 2, True)


def test_derive_parents_errors(conn):
    with pytest.raises(InputError, match="no kelurahan areas are loaded"):
        derive_parents(conn, "kecamatan")
    with pytest.raises(InputError, match="derive-rt"):
        derive_parents(conn, "rt")


def _points(n_per_rt: int = 25, seed: int = 1) -> list[tuple[int, str, float, float]]:
    """Points of 3 RTs in two RWs per kelurahan, clustered in vertical bands, a few mislabelled."""
    rng = np.random.default_rng(seed)
    pts, idx = [], 0
    for code, _, geom in KELURAHAN:
        w, s, e, n = geom.bounds
        for band, rt in enumerate(("001.001", "001.002", "002.001")):
            xs = rng.uniform(w + (e - w) * band / 3, w + (e - w) * (band + 1) / 3, n_per_rt)
            ys = rng.uniform(s, n, n_per_rt)
            for x, y in zip(xs, ys, strict=True):
                pts.append((idx, f"{code}.{rt}", float(x), float(y)))
                idx += 1
    pts[5] = (5, pts[60][1], pts[5][2], pts[5][3])  # a household labelled with an RT of another band
    return pts


@pytest.fixture
def kelurahan(conn, tmp_path):
    load_sample_city(conn, tmp_path)
    return conn


def test_derive_rt_invariants(kelurahan):
    conn = kelurahan
    pts = _points()
    report = derive_rt(conn, pts)
    assert len(report.inserted) == 12 and report.outside_kelurahan == []
    assert conn.execute("SELECT count(*) FROM area WHERE level = 'rw'").fetchone()[0] == 8
    # full cover: per kelurahan, the union of its RTs equals the kelurahan
    cover = conn.execute("""
        SELECT max(ST_Area(ST_SymDifference(k.geom, u.geom)::geography)) FROM area k
        JOIN (SELECT substr(code, 1, 13) kel, ST_Union(geom) geom FROM area WHERE level = 'rt' GROUP BY 1) u
          ON u.kel = k.code""").fetchone()[0]
    assert cover < 0.01
    # no overlap between RTs
    overlap = conn.execute("""
        SELECT COALESCE(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0) FROM area a JOIN area b
        ON a.level = 'rt' AND b.level = 'rt' AND a.code < b.code AND ST_Intersects(a.geom, b.geom)""").fetchone()[0]
    assert overlap < 0.01
    # every household lies inside its own RT
    conn.execute("CREATE TEMP TABLE p (code text, geom geometry)")
    with conn.cursor().copy("COPY p FROM STDIN") as cp:
        for _, code, x, y in pts:
            cp.write_row((code, f"SRID=4326;POINT({x!r} {y!r})"))
    outside = conn.execute(
        "SELECT count(*) FROM p LEFT JOIN area a ON a.code = p.code AND ST_Covers(a.geom, p.geom) WHERE a.code IS NULL"
    ).fetchone()[0]
    assert outside == 0
    # the mislabelled household makes its RT a multipolygon reaching into the other band
    assert conn.execute("SELECT ST_NumGeometries(geom) FROM area WHERE code = %s", (pts[5][1],)).fetchone()[0] == 2
    # RW = union of its RTs
    rw = conn.execute("""SELECT max(ST_Area(ST_SymDifference(w.geom, u.geom)::geography)) FROM area w JOIN
        (SELECT substr(code, 1, 17) rw, ST_Union(geom) geom FROM area WHERE level = 'rt' GROUP BY 1) u ON u.rw = w.code
        """).fetchone()[0]
    assert rw < 0.01
    # deriving again from the same points changes nothing
    again = derive_rt(conn, pts)
    assert (again.inserted, again.updated, again.unchanged) == ([], [], 12)


def test_derive_rt_single_rt_takes_the_kelurahan_and_reports_outside_points(kelurahan):
    code = KELURAHAN[0][0]
    pts = [(0, f"{code}.001.001", MID_X - 0.001, MID_Y - 0.001), (1, f"{code}.001.001", E + 0.01, N + 0.01)]
    report = derive_rt(kelurahan, pts)
    assert report.inserted == [f"{code}.001.001"]
    assert report.outside_kelurahan == [(1, f"{code}.001.001")]
    same = kelurahan.execute(
        "SELECT ST_Equals(r.geom, k.geom) FROM area r, area k WHERE r.code = %s AND k.code = %s",
        (f"{code}.001.001", code),
    ).fetchone()[0]
    assert same


@pytest.mark.parametrize(
    "pts,message",
    [
        ([], "no labelled points"),
        ([(0, "15.71.01.1001.1.1", 103.605, -1.61)], "malformed RT code"),
        ([(0, "15.71.05.1001.001.001", 103.605, -1.61)], "no kelurahan 15.71.05.1001"),
    ],
)
def test_derive_rt_errors(kelurahan, pts, message):
    with pytest.raises(InputError, match=message):
        derive_rt(kelurahan, pts)
    assert kelurahan.execute("SELECT count(*) FROM area WHERE level IN ('rw', 'rt')").fetchone()[0] == 0
