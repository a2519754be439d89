"""Issue 15, real boundary files that failed: a zipped Shapefile inside a folder of the zip, zips holding
several layers, and codes written without dots or as numbers (1571011001) in the attribute table."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from boundaries.codes import CodeError, normalise_code
from boundaries.importer import import_boundaries
from boundaries.reader import FieldNames, read_features, read_points
from core.errors import InputError
from tests.layers import KECAMATAN, KELURAHAN, KOTA, MID_X, MID_Y, S, W, append_kecamatan_layer, write_layer

CODES = [c for c, _, _ in KELURAHAN]
NAMES = [n for _, n, _ in KELURAHAN]


@pytest.fixture
def parents(conn, tmp_path: Path):
    """Kota and kecamatan loaded, so kelurahan layers can be imported."""
    import_boundaries(conn, write_layer(tmp_path / "kota.geojson", KOTA), "kota")
    import_boundaries(conn, write_layer(tmp_path / "kec.geojson", KECAMATAN), "kecamatan")
    return conn


def write(path: Path, rows: list[tuple[object, str, shapely.Geometry]], **columns: np.ndarray) -> Path:
    """(code, name, geometry) rows written by pyogrio (the driver from the suffix: .shp or .gpkg), the code
    column typed as its values are (text, int64 or float64); `columns` adds typed attribute columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codes = [r[0] for r in rows]
    dtype = object if isinstance(codes[0], str) else type(codes[0])
    fields = {"kode": np.array(codes, dtype=dtype), "nama": np.array([r[1] for r in rows], dtype=object), **columns}
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(r[2]) for r in rows], dtype=object),
        list(fields.values()),
        list(fields),
        driver="ESRI Shapefile" if path.suffix == ".shp" else "GPKG",
        geometry_type="Polygon",
        crs="EPSG:4326",
    )
    return path


def shapefile(folder: Path, name: str, rows: list[tuple[object, str, shapely.Geometry]]) -> Path:
    """A Shapefile `name`.shp (with .shx, .dbf, .prj, .cpg) written by pyogrio into `folder`."""
    return write(folder / f"{name}.shp", rows)


def zip_up(path: Path, files: dict[str, Path | bytes]) -> Path:
    """A zip holding each file (or bytes) under its name in the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, source in files.items():
            z.writestr(arcname, source if isinstance(source, bytes) else source.read_bytes())
    return path


def shapefile_parts(shp: Path, inside: str) -> dict[str, Path]:
    """Every file of the Shapefile `shp`, named as it sits in the zip under the folder `inside`."""
    return {f"{inside}{p.name}": p for p in sorted(shp.parent.glob(shp.stem + ".*"))}


def stored(conn) -> list[tuple[str, str, str, bool]]:
    return conn.execute(
        "SELECT code, name, parent_code, ST_HausdorffDistance(geom, ST_GeomFromText(%s, 4326)) < 1e-9"
        " FROM area WHERE level = 'kelurahan' ORDER BY code",
        (KELURAHAN[0][2].wkt,),
    ).fetchall()


EXPECTED = [
    ("15.71.01.1001", "Kel Barat Daya", "15.71.01", True),
    ("15.71.01.1002", "Kel Barat Laut", "15.71.01", False),
    ("15.71.02.1001", "Kel Timur Daya", "15.71.02", False),
    ("15.71.02.1002", "Kel Timur Laut", "15.71.02", False),
]


def test_a_shapefile_in_a_folder_of_the_zip_imports_like_one_at_its_root(parents, tmp_path):
    shp = shapefile(tmp_path / "src", "Batas_Kelurahan", KELURAHAN)
    folder = zip_up(tmp_path / "Batas Kelurahan.zip", {
        **shapefile_parts(shp, "Batas Kelurahan Kota Jambi/2025/"),
        "__MACOSX/Batas Kelurahan Kota Jambi/2025/._Batas_Kelurahan.shp": b"\x00\x05\x16\x07",  # macOS metadata
        "Batas Kelurahan Kota Jambi/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "Batas Kelurahan Kota Jambi/BACA SAYA.txt": b"sumber: Bappeda",
    })  # fmt: skip
    report = import_boundaries(parents, folder, "kelurahan")
    assert (report.inserted, report.features, report.source_crs) == (CODES, 4, "EPSG:4326")
    assert stored(parents) == EXPECTED
    flat = zip_up(tmp_path / "flat.zip", shapefile_parts(shp, ""))
    again = import_boundaries(parents, flat, "kelurahan")
    assert (again.inserted, again.updated, again.unchanged) == ([], [], 4)  # the same areas, unchanged


def test_several_layers_in_a_zip_are_named_and_one_is_chosen_with_layer(parents, tmp_path):
    kel = shapefile(tmp_path / "a", "kelurahan", KELURAHAN)
    kec = shapefile(tmp_path / "b", "kecamatan", KECAMATAN)
    path = zip_up(tmp_path / "batas.zip", {**shapefile_parts(kel, "SHP/Kelurahan/"),
                                           **shapefile_parts(kec, "SHP/Kecamatan/")})  # fmt: skip
    with pytest.raises(InputError) as err:
        import_boundaries(parents, path, "kelurahan")
    assert str(err.value) == (
        f"{path}: 2 layers (SHP/Kecamatan/kecamatan.shp, SHP/Kelurahan/kelurahan.shp); choose one with --layer"
        " (e.g. --layer SHP/Kecamatan/kecamatan.shp)"
    )
    with pytest.raises(InputError) as unknown:
        import_boundaries(parents, path, "kelurahan", layer="desa")
    assert str(unknown.value) == (
        f"{path}: no layer 'desa'; layers are: SHP/Kecamatan/kecamatan.shp, SHP/Kelurahan/kelurahan.shp"
    )
    assert _count(parents) == 0
    for name in ("SHP/Kelurahan/kelurahan.shp", "kelurahan.shp", "kelurahan"):  # its path, file name or stem
        feats, _ = read_features(path, layer=name)
        assert [f.code for f in feats] == CODES, name
    report = import_boundaries(parents, path, "kelurahan", layer="kelurahan")
    assert report.inserted == CODES and stored(parents) == EXPECTED


def test_a_multi_layer_geopackage_beside_a_shapefile_in_a_zip(tmp_path):
    gpkg = write_layer(tmp_path / "batas.gpkg", KELURAHAN, driver="GPKG")  # layer "batas"
    append_kecamatan_layer(gpkg)
    shp = shapefile(tmp_path / "src", "kota", KOTA)
    path = zip_up(tmp_path / "semua.zip", {"data/batas.gpkg": gpkg, **shapefile_parts(shp, "data/")})
    with pytest.raises(InputError) as err:
        read_features(path)
    assert str(err.value) == (
        f"{path}: 3 layers (data/batas.gpkg:batas, data/batas.gpkg:kecamatan, data/kota.shp); choose one with"
        " --layer (e.g. --layer data/batas.gpkg:batas)"
    )
    assert [f.code for f in read_features(path, layer="data/batas.gpkg:kecamatan")[0]] == ["15.71.01", "15.71.02"]
    assert [f.code for f in read_features(path, layer="kecamatan")[0]] == ["15.71.01", "15.71.02"]  # its own name
    assert [f.code for f in read_features(path, layer="kota")[0]] == ["15.71"]
    with pytest.raises(InputError, match=r"--layer 'data/batas.gpkg' names 2 layers \(data/batas.gpkg:batas, "):
        read_features(path, layer="data/batas.gpkg")


def test_broken_zips_say_what_is_missing(tmp_path):
    shp = shapefile(tmp_path / "src", "kel", KELURAHAN)
    parts = shapefile_parts(shp, "Kelurahan/")
    no_dbf = zip_up(tmp_path / "nodbf.zip", {k: v for k, v in parts.items() if not k.endswith(".dbf")})
    with pytest.raises(InputError) as err:
        read_features(no_dbf)
    assert str(err.value) == (
        f"{no_dbf}: Kelurahan/kel.shp in the zip has no .dbf (its attribute table) beside it; zip every file of"
        " the Shapefile (.shp, .shx, .dbf, .prj) together"
    )
    nothing = zip_up(tmp_path / "dokumen.zip", {"Peta/peta.pdf": b"%PDF-1.4", "Peta/catatan.txt": b"x"})
    with pytest.raises(InputError) as none:
        read_features(nothing)
    assert str(none.value) == (
        f"{nothing}: the zip holds no Shapefile (.shp), GeoPackage, GeoJSON or KML file; it holds: Peta/peta.pdf,"
        " Peta/catatan.txt"
    )
    not_zip = tmp_path / "rusak.zip"
    not_zip.write_bytes(b"this is not a zip")
    with pytest.raises(InputError, match=f"^{not_zip}: not a readable zip archive"):
        read_features(not_zip)
    bad_json = zip_up(tmp_path / "json.zip", {"x/kel.geojson": b"{ not json"})
    with pytest.raises(InputError, match=f"^{bad_json}: x/kel.geojson in the zip cannot be read as a GIS file: "):
        read_features(bad_json)


def _count(conn) -> int:
    return conn.execute("SELECT count(*) FROM area WHERE level = 'kelurahan'").fetchone()[0]


def test_codes_without_dots_text_or_numbers_are_normalised(parents, tmp_path):
    plain = [(c.replace(".", ""), n, g) for c, n, g in KELURAHAN]
    report = import_boundaries(parents, write(tmp_path / "digits.gpkg", plain), "kelurahan")
    assert report.inserted == CODES and stored(parents) == EXPECTED
    # the same areas with the codes in a numeric (Integer64) field of a zipped Shapefile, in a folder: unchanged
    numbers = [(int(c.replace(".", "")), n, g) for c, n, g in KELURAHAN]
    shp = shapefile(tmp_path / "src", "kel", numbers)
    assert list(pyogrio.read_info(shp)["dtypes"]) == ["int64", "object"]
    again = import_boundaries(parents, zip_up(tmp_path / "n.zip", shapefile_parts(shp, "kel/")), "kelurahan")
    assert (again.inserted, again.updated, again.unchanged) == ([], [], 4)
    # floats (a Real field: 1571011001.0) with a parent field written without dots
    floats = [(float(c.replace(".", "")), n, g) for c, n, g in KELURAHAN]
    path = write(tmp_path / "f.gpkg", floats, induk=np.array(["157101", "157101", "157102", "157102"], dtype=object))
    assert list(pyogrio.read_info(path)["dtypes"]) == ["float64", "object", "object"]
    feats, _ = read_features(path)
    assert [f.code for f in feats] == [c.replace(".", "") for c in CODES]
    third = import_boundaries(parents, path, "kelurahan", fields=FieldNames(parent="induk"))
    assert (third.updated, third.unchanged) == ([], 4)
    wrong = write(tmp_path / "g.gpkg", floats, induk=np.array(["157102", "1571", "157102", "157102"], dtype=object))
    with pytest.raises(InputError) as err:
        import_boundaries(parents, wrong, "kelurahan", fields=FieldNames(parent="induk"))
    assert err.value.problems == [
        "feature 0 (code 15.71.01.1001): parent 15.71.02 does not match the code prefix 15.71.01",
        "feature 1 (code 15.71.01.1002): parent '1571' is not a kecamatan code: its 4 digits make a kota code (15.71);"
        " a kecamatan code has 6 digits, like 15.71.01",
    ]


def test_rw_codes_with_unpadded_parts_are_padded(parents, tmp_path):
    import_boundaries(parents, write_layer(tmp_path / "kel.geojson", KELURAHAN), "kelurahan")
    sw = KELURAHAN[0][2]
    w, s, e, n = sw.bounds
    rws = [
        ("15.71.01.1001.1", "RW 1", box(w, s, (w + e) / 2, n)),
        ("1571011001002", "RW 2", box((w + e) / 2, s, e, n)),
    ]
    report = import_boundaries(parents, write_layer(tmp_path / "rw.geojson", rws), "rw")
    assert report.inserted == ["15.71.01.1001.001", "15.71.01.1001.002"]
    assert parents.execute("SELECT code, parent_code FROM area WHERE level = 'rw' ORDER BY code").fetchall() == [
        ("15.71.01.1001.001", "15.71.01.1001"),
        ("15.71.01.1001.002", "15.71.01.1001"),
    ]


def test_codes_that_cannot_be_read_safely_refuse_the_whole_file(parents, tmp_path):
    rows = [
        KELURAHAN[0],
        ("157101100", "Sembilan digit", KELURAHAN[1][2]),  # one digit lost: ambiguous
        ("157102", "Kode kecamatan", KELURAHAN[2][2]),  # another level's code
        ("1571021002", "Dua kali", KELURAHAN[3][2]),
        ("15.71.02.1002", "Dua kali juga", box(MID_X, MID_Y - 0.001, MID_X + 0.001, MID_Y)),
        ("1.571021001E9", "Ilmiah", box(W, S, W + 0.001, S + 0.001)),
    ]
    with pytest.raises(InputError) as err:
        import_boundaries(parents, write_layer(tmp_path / "bad.geojson", rows), "kelurahan")
    assert str(err.value).startswith(f"{tmp_path / 'bad.geojson'}: 5 problem(s), nothing imported")
    assert err.value.problems == [
        "feature 1 (code 157101100): code '157101100' is not a kelurahan code: it has 9 digits, and written without"
        " dots a kelurahan code has exactly 10 (1571011001)",
        "feature 2 (code 157102): code '157102' is not a kelurahan code: its 6 digits make a kecamatan code"
        " (15.71.02); a kelurahan code has 10 digits, like 15.71.01.1001",
        "feature 3 (code 15.71.02.1002): duplicate code 15.71.02.1002 (2 features)",
        "feature 4 (code 15.71.02.1002): duplicate code 15.71.02.1002 (2 features)",
        "feature 5 (code 1.571021001E9): code '1.571021001E9' is a number in scientific notation: its digits may be"
        " lost (store codes as text)",
    ]
    assert _count(parents) == 0


def test_a_float_too_large_for_its_digits_is_refused(parents, tmp_path):
    big = 9471011001002005  # an RT code of Papua (94): a float64 holds 9471011001002004 instead
    path = write(tmp_path / "big.gpkg", [(float(big), "RT", KELURAHAN[0][2])])
    with pytest.raises(InputError) as err:
        import_boundaries(parents, path, "rt")
    assert err.value.problems == [
        "feature 0 (code 9.471011001002004e+15): code '9.471011001002004e+15' is a number in scientific notation:"
        " its digits may be lost (store codes as text)"
    ]


def test_derive_rt_points_with_codes_without_dots(tmp_path):
    path = tmp_path / "titik.csv"
    path.write_text(
        "kode_rt,lon,lat\n"
        f"1571011001002005,{W + 0.001},{S + 0.001}\n"
        f"15.71.01.1001.2.6,{W + 0.002},{S + 0.001}\n"
        f"15710110010020,{W + 0.003},{S + 0.001}\n"
    )
    with pytest.raises(InputError) as err:
        read_points(path)
    assert err.value.problems == [
        "point 2: RT code '15710110010020' is not an RT code: it has 14 digits, and written without dots an RT code"
        " has exactly 16 (1571011001002005)"
    ]
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    assert [p[1] for p in read_points(path)] == ["15.71.01.1001.002.005", "15.71.01.1001.002.006"]


@pytest.mark.parametrize(
    ("value", "level", "code"),
    [
        ("15.71.01.1001", "kelurahan", "15.71.01.1001"),
        ("1571", "kota", "15.71"),
        (15.71, "kota", "15.71"),
        ("157101", "kecamatan", "15.71.01"),
        (" 1571 0110 01 ", "kelurahan", "15.71.01.1001"),
        ("'1571011001", "kelurahan", "15.71.01.1001"),
        (1571011001, "kelurahan", "15.71.01.1001"),
        (1571011001.0, "kelurahan", "15.71.01.1001"),
        ("1571011001.0", "kelurahan", "15.71.01.1001"),
        ("1571011001002", "rw", "15.71.01.1001.002"),
        ("15.71.01.1001.2", "rw", "15.71.01.1001.002"),
        ("1571011001002005", "rt", "15.71.01.1001.002.005"),
        ("15.71.01.1001.02.5", "rt", "15.71.01.1001.002.005"),
    ],
)
def test_normalise_code_accepts(value, level, code):
    assert normalise_code(value, level) == code


@pytest.mark.parametrize(
    ("value", "level", "reason"),
    [
        (
            15.7,
            "kota",
            "15.7 is a number with a fraction, not a kota code like 15.71 (a number loses zeros: store codes as text)",
        ),
        (
            1571011001.5,
            "kelurahan",
            "1571011001.5 is a number with a fraction, not a kelurahan code like"
            " 15.71.01.1001 (a number loses zeros: store codes as text)",
        ),
        (
            "15.71.1.1001",
            "kelurahan",
            "'15.71.1.1001' is not a kelurahan code like 15.71.01.1001 (the province,"
            " kota, kecamatan and kelurahan parts have 2, 2, 2 and 4 digits)",
        ),
        (
            "15.71.01.1001.0002",
            "rw",
            "'15.71.01.1001.0002' is not an RW code like 15.71.01.1001.002 (the RW and RT parts have 3 digits)",
        ),
        (
            "15.71.01.1001.002.005",
            "rw",
            "'15.71.01.1001.002.005' is an RT code (6 parts), not an RW code like 15.71.01.1001.002",
        ),
        (
            "1571011001002005",
            "kelurahan",
            "'1571011001002005' is not a kelurahan code: its 16 digits make an RT"
            " code (15.71.01.1001.002.005); a kelurahan code has 10 digits, like"
            " 15.71.01.1001",
        ),
        (
            1571011001.0,
            "rt",
            "1571011001.0 is not an RT code: its 10 digits make a kelurahan code (15.71.01.1001); an RT code has 16"
            " digits, like 15.71.01.1001.002.005",
        ),
        (True, "rt", "True is a true/false value, not an RT code"),
        (float("nan"), "rt", "nan is not an RT code like 15.71.01.1001.002.005"),
        ("15-71-01", "kecamatan", "'15-71-01' is not a kecamatan code like 15.71.01"),
        ("  ", "rt", "missing"),
    ],
)
def test_normalise_code_refuses_with_the_reason(value, level, reason):
    with pytest.raises(CodeError) as err:
        normalise_code(value, level)
    assert str(err.value) == reason
