"""Boundary import: formats, reprojection, every error path, idempotence and versions, against real PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
import shapely.affinity
from pyproj import Geod
from shapely.geometry import LineString, box

from boundaries.importer import import_boundaries
from boundaries.reader import FieldNames
from core.crs import UTM48S, WGS84, transform
from core.errors import InputError
from tests.layers import (
    BOWTIE,
    KECAMATAN,
    KELURAHAN,
    KOTA,
    MID_X,
    MID_Y,
    E,
    N,
    S,
    W,
    append_kecamatan_layer,
    write_layer,
)

GEOD = Geod(ellps="WGS84")


def _count(conn, level: str | None = None) -> int:
    if level:
        return conn.execute("SELECT count(*) FROM area WHERE level = %s", (level,)).fetchone()[0]
    return conn.execute("SELECT count(*) FROM area").fetchone()[0]


@pytest.fixture
def parents(conn, tmp_path: Path):
    """Kota and kecamatan loaded, so kelurahan layers can be imported."""
    import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    import_boundaries(conn, write_layer(tmp_path / "kec.geojson", KECAMATAN), "kecamatan")
    return conn


def test_geojson_hierarchy_with_geodesic_areas(conn, tmp_path):
    r1 = import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    r2 = import_boundaries(conn, write_layer(tmp_path / "kec.geojson", KECAMATAN), "kecamatan")
    r3 = import_boundaries(conn, write_layer(tmp_path / "kel.geojson", KELURAHAN), "kelurahan")
    assert (r1.inserted, len(r2.inserted), len(r3.inserted)) == (["15.71"], 2, 4)
    rows = conn.execute(
        "SELECT code, name, level, parent_code, area_m2, version, source, ST_GeometryType(geom), ST_SRID(geom)"
        " FROM area ORDER BY code"
    ).fetchall()
    assert [r[0] for r in rows] == [
        "15.71",
        "15.71.01",
        "15.71.01.1001",
        "15.71.01.1002",
        "15.71.02",
        "15.71.02.1001",
        "15.71.02.1002",
    ]
    by_code = {r[0]: r for r in rows}
    assert by_code["15.71.01.1002"][1:4] == ("Kel Barat Laut", "kelurahan", "15.71.01")
    assert by_code["15.71"][3] == "15"
    assert {r[5] for r in rows} == {1}
    assert by_code["15.71.02"][6] == "kec.geojson"
    assert {(r[7], r[8]) for r in rows} == {("ST_MultiPolygon", 4326)}
    expected = abs(GEOD.geometry_area_perimeter(box(W, S, E, N))[0])
    assert by_code["15.71"][4] == pytest.approx(expected, rel=1e-6)
    assert by_code["15.71"][4] == pytest.approx(3_979_000, rel=0.01)  # ~1.99 km x ~2.0 km


@pytest.mark.parametrize(
    "name,driver",
    [
        ("kel.zip", None),
        ("kel.gpkg", "GPKG"),
        ("kel.kml", "KML"),
        ("kel.geojson", "GeoJSON"),
    ],
)
def test_every_format_lands_the_same_areas(parents, tmp_path, name, driver):
    path = write_layer(tmp_path / name, KELURAHAN, driver=driver)
    fields = FieldNames(code="kode", name="nama")
    report = import_boundaries(parents, path, "kelurahan", fields=fields)
    assert len(report.inserted) == 4
    diff = parents.execute(
        "SELECT max(ST_HausdorffDistance(a.geom, ST_GeomFromText(%s, 4326))) FROM area a WHERE code = '15.71.01.1001'",
        (KELURAHAN[0][2].wkt,),
    ).fetchone()[0]
    assert diff < 1e-9
    assert parents.execute("SELECT name FROM area WHERE code = '15.71.02.1002'").fetchone()[0] == "Kel Timur Laut"


def test_utm_file_lands_in_the_right_place(parents, tmp_path):
    utm_rows = [(c, n, transform(g, WGS84, UTM48S)) for c, n, g in KELURAHAN]
    x0 = utm_rows[0][2].bounds[0]
    assert 300_000 < x0 < 500_000  # really metres in zone 48S
    report = import_boundaries(
        parents, write_layer(tmp_path / "utm.gpkg", utm_rows, driver="GPKG", crs="EPSG:32748"), "kelurahan"
    )
    assert report.source_crs == "EPSG:32748"
    lon, lat = parents.execute(
        "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM area WHERE code = '15.71.01.1001'"
    ).fetchone()
    c = KELURAHAN[0][2].centroid
    assert GEOD.inv(lon, lat, c.x, c.y)[2] < 0.5  # metres


def _utm_geojson_without_crs(tmp_path: Path) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"kode": c, "nama": n},
            "geometry": json.loads(shapely.to_geojson(transform(g, WGS84, UTM48S))),
        }
        for c, n, g in KELURAHAN
    ]
    path = tmp_path / "utm_nocrs.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_projected_geojson_needs_crs_and_then_works(parents, tmp_path):
    path = _utm_geojson_without_crs(tmp_path)
    with pytest.raises(InputError, match="--crs"):
        import_boundaries(parents, path, "kelurahan")
    assert _count(parents, "kelurahan") == 0
    report = import_boundaries(parents, path, "kelurahan", crs="EPSG:32748")
    assert len(report.inserted) == 4


def test_a_file_read_in_the_wrong_utm_zone_is_refused_not_moved_660_km(parents, tmp_path):
    path = _utm_geojson_without_crs(tmp_path)  # metres of zone 48S, the CRS not declared
    with pytest.raises(InputError) as err:
        import_boundaries(parents, path, "kelurahan", crs="EPSG:32749")  # the neighbouring zone: 6 degrees east
    assert err.value.args[0].startswith(f"{path}: 4 area(s) lying outside their kecamatan, nothing imported")
    assert "EPSG:32746-32754" in err.value.args[0] and "--outside-parent" in err.value.args[0]
    assert len(err.value.problems) == 4
    first = err.value.problems[0]
    assert first.startswith("feature 0 (code 15.71.01.1001): outside kecamatan 15.71.01, ")
    assert first.endswith(" km from it")
    km = float(first.split(", ")[-1].split(" km")[0].replace(",", ""))
    assert 600 < km < 700  # one zone is 6 degrees of longitude, about 667 km at the equator
    assert _count(parents, "kelurahan") == 0
    forced = import_boundaries(parents, path, "kelurahan", crs="EPSG:32749", outside_parent=True)
    assert len(forced.inserted) == 4  # told otherwise: imported where the CRS puts them
    west = parents.execute("SELECT min(ST_X(ST_Centroid(geom))) FROM area WHERE level = 'kelurahan'").fetchone()[0]
    assert west > 109


def test_an_area_overlapping_its_parent_is_accepted_however_much_and_one_apart_is_not(parents, tmp_path):
    code, name, geom = KELURAHAN[0]  # in kecamatan 15.71.01, the western half
    minx, miny, maxx, maxy = geom.bounds
    kecamatan = KECAMATAN[0][2]
    mostly_out = box(kecamatan.bounds[0] - 9 * (maxx - minx), miny, minx + 0.1 * (maxx - minx), maxy)
    assert mostly_out.difference(kecamatan).area / mostly_out.area > 0.9  # as real layers disagree (up to 88 %)
    path = write_layer(tmp_path / "mostly.geojson", [(code, name, mostly_out)])
    assert import_boundaries(parents, path, "kelurahan").inserted == [code]
    apart = shapely.affinity.translate(geom, xoff=-(kecamatan.bounds[2] - kecamatan.bounds[0]) - 0.01)
    assert not apart.intersects(kecamatan)
    km = GEOD.inv(apart.bounds[2], miny, kecamatan.bounds[0], miny)[2] / 1000  # the gap, along the south edge
    with pytest.raises(InputError) as err:
        import_boundaries(parents, write_layer(tmp_path / "apart.geojson", [(code, name, apart)]), "kelurahan")
    assert err.value.problems == [f"feature 0 (code {code}): outside kecamatan 15.71.01, {km:,.1f} km from it"]


def test_invalid_geometry_is_rejected_naming_feature_and_reason(parents, tmp_path):
    rows = KELURAHAN[:2] + [("15.71.02.1001", "Bowtie", BOWTIE)]
    with pytest.raises(InputError) as err:
        import_boundaries(parents, write_layer(tmp_path / "bad.geojson", rows), "kelurahan")
    assert err.value.problems == [
        "feature 2 (code 15.71.02.1001): invalid geometry: Self-intersection[103.6045 -1.6155]"
    ]
    assert "--repair" in str(err.value)
    assert _count(parents, "kelurahan") == 0


def test_repair_lists_area_before_and_after(parents, tmp_path):
    rows = KELURAHAN[:2] + [("15.71.02.1001", "Bowtie", BOWTIE)]
    report = import_boundaries(parents, write_layer(tmp_path / "bad.geojson", rows), "kelurahan", repair=True)
    assert len(report.repairs) == 1
    rep = report.repairs[0]
    assert (rep.index, rep.code) == (2, "15.71.02.1001")
    assert rep.reason.startswith("Self-intersection")
    # the bowtie's signed lobes cancel before repair; afterwards both triangles count
    full = abs(GEOD.geometry_area_perimeter(shapely.make_valid(BOWTIE))[0])
    assert rep.area_after_m2 == pytest.approx(full, rel=1e-3)
    assert rep.area_before_m2 < rep.area_after_m2
    assert parents.execute(
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom) FROM area WHERE code = '15.71.02.1001'"
    ).fetchone() == (True, 2)


@pytest.mark.parametrize(
    "rows,message",
    [
        (
            [("15.71.01.1001", "Garis", LineString([(W, S), (E, N)]))],
            "feature 0 (code 15.71.01.1001): geometry is LineString",
        ),
        ([("", "Tanpa kode", KELURAHAN[0][2])], "feature 0 (code <missing>): missing code"),
        ([KELURAHAN[0], ("15.71.01.1001", "Dua kali", KELURAHAN[1][2])], "duplicate code 15.71.01.1001 (2 features)"),
        (
            [("15.71.1001", "Kode salah", KELURAHAN[0][2])],
            "feature 0 (code 15.71.1001): code '15.71.1001' is a kecamatan code (3 parts), not a kelurahan code",
        ),
        ([("15.71.09.1001", "Yatim", KELURAHAN[0][2])], "feature 0 (code 15.71.09.1001): no kecamatan 15.71.09"),
    ],
)
def test_bad_features_fail_whole_file(parents, tmp_path, rows, message):
    rows = [KELURAHAN[3], *rows]  # one good feature that must not be written either
    with pytest.raises(InputError) as err:
        import_boundaries(parents, write_layer(tmp_path / "bad.geojson", rows), "kelurahan")
    text = str(err.value)
    assert message.replace("feature 0", "feature 1") in text
    assert "nothing imported" in text
    assert _count(parents, "kelurahan") == 0


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "the file is empty"),
        (b"this is not geojson {", "cannot read as a GIS file"),
        (b'{"type": "FeatureCollection", "features": []}', "no features"),
    ],
)
def test_unreadable_files(parents, tmp_path, content, message):
    path = tmp_path / "broken.geojson"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        import_boundaries(parents, path, "kelurahan")
    assert _count(parents) == 3


def test_missing_file_and_unknown_fields_and_level(parents, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        import_boundaries(parents, tmp_path / "nope.geojson", "kelurahan")
    path = write_layer(tmp_path / "kel.geojson", KELURAHAN)
    with pytest.raises(InputError, match="no code field 'kd'; fields are: kode, nama"):
        import_boundaries(parents, path, "kelurahan", fields=FieldNames(code="kd"))
    with pytest.raises(ValueError, match="unknown level 'desa'"):
        import_boundaries(parents, path, "desa")
    with pytest.raises(InputError, match="unknown CRS"):
        import_boundaries(parents, path, "kelurahan", crs="EPSG:999999")


def test_multilayer_file_needs_a_layer(parents, tmp_path):
    path = write_layer(tmp_path / "multi.gpkg", KELURAHAN, driver="GPKG")
    append_kecamatan_layer(path)
    with pytest.raises(InputError, match="2 layers .*choose one with --layer"):
        import_boundaries(parents, path, "kelurahan")
    report = import_boundaries(parents, path, "kelurahan", layer="multi")
    assert len(report.inserted) == 4


def test_reimport_changes_nothing_and_changes_keep_versions(parents, tmp_path):
    path = write_layer(tmp_path / "kel.geojson", KELURAHAN, extra={"penduduk": [100, 200, 300, 400]})
    first = import_boundaries(parents, path, "kelurahan")
    assert len(first.inserted) == 4
    again = import_boundaries(parents, path, "kelurahan")
    assert (again.inserted, again.updated, again.unchanged) == ([], [], 4)
    assert parents.execute("SELECT count(*) FROM area_version").fetchone()[0] == 0

    changed = list(KELURAHAN)
    changed[0] = ("15.71.01.1001", "Kel Barat Daya Baru", changed[0][2])
    changed[3] = ("15.71.02.1002", "Kel Timur Laut", box(MID_X, MID_Y, E, N + 0.001))
    path2 = write_layer(tmp_path / "kel_v2.geojson", changed, extra={"penduduk": [100, 200, 300, 450]})
    second = import_boundaries(parents, path2, "kelurahan")
    assert (second.inserted, second.updated, second.unchanged) == ([], ["15.71.01.1001", "15.71.02.1002"], 2)
    cur = parents.execute(
        "SELECT code, name, version, population, source FROM area WHERE version > 1 ORDER BY code"
    ).fetchall()
    assert cur == [
        ("15.71.01.1001", "Kel Barat Daya Baru", 2, 100, "kel_v2.geojson"),
        ("15.71.02.1002", "Kel Timur Laut", 2, 450, "kel_v2.geojson"),
    ]
    old = parents.execute(
        "SELECT code, version, name, population, source, valid_to >= valid_from FROM area_version ORDER BY code"
    ).fetchall()
    assert old == [
        ("15.71.01.1001", 1, "Kel Barat Daya", 100, "kel.geojson", True),
        ("15.71.02.1002", 1, "Kel Timur Laut", 400, "kel.geojson", True),
    ]


def test_a_kota_redrawn_smaller_keeps_its_families_routed_by_its_old_box(conn, tmp_path):
    """Migration 0030: the families of a kab/kota stay where they were when its boundary is redrawn smaller, so the
    box they are routed by (area_reach) grows to hold the old boundary's box; a redraw that only grows adds none."""
    import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    bigger = [(code, name, box(W - 0.01, S - 0.01, E, N)) for code, name, _ in KOTA]
    import_boundaries(conn, write_layer(tmp_path / "kota_big.geojson", bigger), "kota")
    assert conn.execute("SELECT count(*) FROM area_reach").fetchone()[0] == 0
    smaller = [(code, name, box(MID_X, MID_Y, E, N)) for code, name, _ in KOTA]
    assert import_boundaries(conn, write_layer(tmp_path / "kota_small.geojson", smaller), "kota").updated == ["15.71"]
    reach = conn.execute(
        "SELECT code, ST_XMin(extent), ST_YMin(extent), ST_XMax(extent), ST_YMax(extent) FROM area_reach"
    ).fetchall()
    assert reach == [("15.71", pytest.approx(W - 0.01), pytest.approx(S - 0.01), pytest.approx(E), pytest.approx(N))]


def test_interrupted_import_leaves_database_as_it_was(parents, tmp_path, monkeypatch):
    from boundaries import store

    path = write_layer(tmp_path / "kel.geojson", KELURAHAN)
    import_boundaries(parents, path, "kelurahan")
    before = parents.execute("SELECT code, version, geom_hash FROM area ORDER BY code").fetchall()
    real_upsert = store.upsert_staged

    def upsert_then_die(*args, **kwargs):
        real_upsert(*args, **kwargs)  # the rows are written ...
        raise KeyboardInterrupt  # ... and the run is interrupted before the end of the transaction

    monkeypatch.setattr(store, "upsert_staged", upsert_then_die)
    changed = [(c, n + " baru", g) for c, n, g in KELURAHAN]
    with pytest.raises(KeyboardInterrupt):
        import_boundaries(parents, write_layer(tmp_path / "kel2.geojson", changed), "kelurahan")
    after = parents.execute("SELECT code, version, geom_hash FROM area ORDER BY code").fetchall()
    assert after == before
    assert parents.execute("SELECT count(*) FROM area_version").fetchone()[0] == 0
