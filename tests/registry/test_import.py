"""Household import against real PostGIS: placement, every error case, idempotence, history, skip-invalid, XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from boundaries.demo import City, DemoConfig, generate_city
from core.crs import UTM48S, WGS84, transform
from core.errors import InputError
from core.privacy import keyed_hash
from registry.mapping import load_mapping
from tests.registry.conftest import KEY, run, write


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(DemoConfig(scale=0.05, seed=11, secret_key=KEY))


def count(conn) -> int:
    return conn.execute("SELECT count(*) FROM household").fetchone()[0]


def test_import_places_every_family_in_its_rt_and_reimport_changes_nothing(areas, rows, tmp_path, city):
    path = write(tmp_path / "f.csv", rows)
    first = run(areas, path)
    n = len(city.households)
    assert (first.rows, first.inserted, first.updated, first.unchanged, first.rejected_rows) == (n, n, 0, 0, 0)
    placed = areas.execute(
        "SELECT count(*) FILTER (WHERE rt_code = kode_rt), count(*) FILTER (WHERE placement = 'point'),"
        " count(*) FILTER (WHERE ST_Covers(a.geom, h.geom)) FROM household h JOIN area a ON a.code = h.rt_code"
    ).fetchone()
    assert placed[1] == n and placed[2] == n
    assert placed[0] == n - first.warnings  # only points in another RT's sliver differ from their code
    again = run(areas, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)
    assert areas.execute("SELECT count(*) FROM household_version").fetchone()[0] == 0
    # the registry is pseudonymised: no clear KK or NIK anywhere in the row
    kk = rows[0]["no_kk"]
    assert areas.execute("SELECT count(*) FROM household h WHERE h::text LIKE %s", (f"%{kk}%",)).fetchone()[0] == 0


def test_changed_row_updates_the_family_and_keeps_its_history(areas, rows, tmp_path):
    run(areas, write(tmp_path / "f.csv", rows))
    changed = [dict(r) for r in rows]
    changed[3]["jumlah_anggota"] = "9"
    changed[3]["k05"] = "1" if changed[3]["k05"] == "0" else "0"
    result = run(areas, write(tmp_path / "g.csv", changed))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, len(rows) - 1)
    hid, members, version = areas.execute(
        "SELECT id, jumlah_anggota, version FROM household WHERE kk_hash = %s", (keyed_hash(KEY, rows[3]["no_kk"]),)
    ).fetchone()
    assert (members, version) == (9, 2)
    old = areas.execute(
        "SELECT version, data->>'jumlah_anggota' FROM household_version WHERE household_id = %s", (hid,)
    ).fetchall()
    assert old == [(1, rows[3]["jumlah_anggota"])]


def test_one_bad_row_rejects_the_file_and_names_every_bad_row(areas, rows, tmp_path):
    bad = [dict(r) for r in rows[:30]]
    bad[4]["jumlah_anggota"] = "0"
    bad[9]["k03"] = "2"
    bad[12]["nama_kepala"] = ""
    report = tmp_path / "report.csv"
    with pytest.raises(InputError) as err:
        run(areas, write(tmp_path / "f.csv", bad), report=report)
    assert "3 of 30 rows are invalid, nothing imported" in str(err.value)
    assert [p.split(":")[0] for p in err.value.problems] == [
        "row 6, jumlah_anggota",
        "row 11, k03",
        "row 14, nama_kepala",
    ]
    assert count(areas) == 0
    with report.open() as f:
        assert [r["row"] for r in csv.DictReader(f)] == ["6", "11", "14"]


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(areas, rows, tmp_path):
    bad = [dict(r) for r in rows[:20]]
    bad[2]["desil_resmi"] = "11"
    bad[7]["lon"], bad[7]["lat"] = bad[7]["lat"], bad[7]["lon"]
    report = tmp_path / "rejected.csv"
    result = run(areas, write(tmp_path / "f.csv", bad), skip_invalid=True, report=report)
    assert (result.rows, result.inserted, result.rejected_rows) == (20, 18, 2)
    assert count(areas) == 18
    with report.open() as f:
        got = [(r["row"], r["column"], r["severity"]) for r in csv.DictReader(f)]
    assert got == [("4", "desil_resmi", "error"), ("9", "lon", "error")]


def test_swapped_coordinates_get_the_swap_suggested(areas, rows, tmp_path):
    bad = [dict(r) for r in rows[:5]]
    bad[1]["lon"], bad[1]["lat"] = rows[1]["lat"], rows[1]["lon"]
    with pytest.raises(InputError) as err:
        run(areas, write(tmp_path / "f.csv", bad))
    (problem,) = err.value.problems
    assert problem.startswith("row 3, lon: outside the city; lon/lat look swapped: ")
    assert problem.endswith(f"lies in RT {rows[1]['kode_rt']}, swap the columns")


def test_points_outside_the_city_within_and_beyond_the_tolerance(areas, rows, tmp_path):
    # the city's westernmost vertex: a point west of it lies outside the boundary's box too
    west = areas.execute(
        """SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_DumpPoints(geom)).geom AS p FROM area WHERE level = 'kota') q
           ORDER BY ST_X(p), ST_Y(p) LIMIT 1"""
    ).fetchone()
    assert not areas.execute("SELECT count(*) FROM area_reach").fetchone()[0]
    near = [dict(r) for r in rows[:3]]
    near[0]["lon"], near[0]["lat"] = str(west[0] - 0.0004), str(west[1])  # about 44 m west of the city
    near[0]["kode_rt"] = ""
    result = run(areas, write(tmp_path / "near.csv", near))
    assert result.inserted == 3
    placement, metres = areas.execute(
        "SELECT placement, placement_m FROM household WHERE kk_hash = %s", (keyed_hash(KEY, rows[0]["no_kk"]),)
    ).fetchone()
    assert placement == "nearest" and 35 < metres < 55
    # the box the city's families are routed by (migration 0030) grew to hold it, in the import's transaction
    code, (x0, y0, x1, y1) = areas.execute(
        "SELECT code, ARRAY[ST_XMin(extent), ST_YMin(extent), ST_XMax(extent), ST_YMax(extent)] FROM area_reach"
    ).fetchone()
    lon = float(near[0]["lon"])
    assert code == "15.71" and x0 <= lon < west[0] and y0 <= west[1] <= y1 and x1 > x0
    far = [dict(r) for r in rows[:3]]
    far[2]["lon"], far[2]["lat"] = "110.0", "-1.0"
    with pytest.raises(InputError, match=r"row 4, lon: outside the city: no RT within 100 m of \(110, -1\)"):
        run(areas, write(tmp_path / "far.csv", far))
    with pytest.raises(InputError, match="no RT within 10 m"):
        run(areas, write(tmp_path / "near2.csv", near), tolerance_m=10)


def test_unknown_rt_code_and_duplicates(areas, rows, tmp_path):
    bad = [dict(r) for r in rows[:6]]
    bad[0]["kode_rt"], bad[0]["lon"], bad[0]["lat"] = "15.71.01.1001.099.099", "", ""
    bad[3]["no_kk"] = bad[1]["no_kk"]
    bad[5]["nik_kepala"] = bad[4]["nik_kepala"]
    with pytest.raises(InputError) as err:
        run(areas, write(tmp_path / "f.csv", bad))
    assert err.value.problems == [
        "row 2, kode_rt: unknown RT code 15.71.01.1001.099.099 (no such RT is loaded)",
        "row 5, no_kk: duplicate family: the same KK number as row 3",
        "row 7, nik_kepala: the same head of family NIK as row 6 (another KK)",
    ]


def test_nik_already_registered_in_another_family(areas, rows, tmp_path):
    run(areas, write(tmp_path / "f.csv", rows[:3]))
    other = dict(rows[5])
    other["nik_kepala"] = rows[0]["nik_kepala"]
    with pytest.raises(InputError, match="row 2, nik_kepala: head of family NIK already registered in another family"):
        run(areas, write(tmp_path / "g.csv", [other]))


@pytest.mark.parametrize("trust,expected", [("point", "point_rt"), ("code", "kode_rt")])
def test_point_in_another_rt_than_its_code(areas, rows, tmp_path, trust, expected):
    moved = [dict(r) for r in rows[:2]]
    other = next(r for r in rows if r["kode_rt"] != moved[0]["kode_rt"])
    moved[0]["lon"], moved[0]["lat"] = other["lon"], other["lat"]
    result = run(areas, write(tmp_path / "f.csv", moved), trust=trust)
    assert result.warnings == 1 and result.inserted == 2
    assert result.lines()[0] == (
        f"row 2, kode_rt: the point lies in RT {other['kode_rt']} but the code says RT "
        f"{moved[0]['kode_rt']}; using the {trust} (warning)"
    )
    rt, point_rt, kode_rt, placement = areas.execute(
        "SELECT rt_code, point_rt_code, kode_rt, placement FROM household ORDER BY id LIMIT 1"
    ).fetchone()
    assert rt == {"point_rt": point_rt, "kode_rt": kode_rt}[expected]
    assert placement == ("point" if trust == "point" else "code")


def test_code_only_rows_are_placed_by_code(areas, rows, tmp_path):
    plain = [dict(r, lon="", lat="") for r in rows[:4]]
    result = run(areas, write(tmp_path / "f.csv", plain))
    assert result.inserted == 4
    assert areas.execute("SELECT array_agg(DISTINCT placement), count(geom) FROM household").fetchone() == (["code"], 0)


def test_xlsx_with_mapping_and_utm_coordinates(areas, rows, tmp_path):
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text('columns:\n  no_kk: "NO KK"\n  nik_kepala: NIK\n  kode_rt: "KODE RT"\ncrs: EPSG:32748\n')
    mapping = load_mapping(mapping_file)
    header = [
        "NO KK",
        "NIK",
        *[c for c in rows[0] if c not in ("no_kk", "nik_kepala", "kode_rt", "lon", "lat")],
        "KODE RT",
        "x",
        "y",
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows[:25]:
        pt = transform(__import__("shapely").Point(float(r["lon"]), float(r["lat"])), WGS84, UTM48S)
        values = {**r, "NO KK": r["no_kk"], "NIK": r["nik_kepala"], "KODE RT": r["kode_rt"], "x": pt.x, "y": pt.y}
        sheet.append([values[h] for h in header])
    path = tmp_path / "families.xlsx"
    book.save(path)
    fractions: list[float] = []
    result = run(areas, path, mapping=mapping, progress=fractions.append)
    assert result.inserted == 25 and result.rejected_rows == 0
    assert fractions and fractions[-1] == 1.0
    assert areas.execute("SELECT count(*) FROM household WHERE rt_code = kode_rt").fetchone()[0] >= 24


def test_bad_arguments_and_files(areas, tmp_path):
    with pytest.raises(ValueError, match="trust must be 'point' or 'code'"):
        run(areas, tmp_path / "x.csv", trust="both")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        run(areas, empty)
    with pytest.raises(InputError, match="no data rows"):
        run(areas, write_header_only(tmp_path / "header.csv"))


def write_header_only(path: Path) -> Path:
    criteria = ",".join(f"k{i:02d}" for i in range(1, 15))
    path.write_text(f"no_kk,nik_kepala,nama_kepala,kode_rt,jumlah_anggota,{criteria}")
    return path


def test_awkward_text_survives_the_round_trip(areas, rows, tmp_path):
    odd = [dict(rows[0], nama_kepala='Siti "Ani"\tback\\slash', alamat="Jl. Satu\\Dua; No. 3", program='PKH;X"Y\\Z')]
    run(areas, write(tmp_path / "f.csv", odd))
    got = areas.execute("SELECT nama_kepala, alamat, programs FROM household").fetchone()
    assert got == ('Siti "Ani" back\\slash', "Jl. Satu\\Dua; No. 3", ["PKH", 'X"Y\\Z'])
