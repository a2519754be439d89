"""Registry household files: streaming CSV/XLSX reading, the mapping file and every row rule, no database."""

from __future__ import annotations

import csv
import math
import tracemalloc
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from core.errors import InputError
from core.privacy import keyed_hash
from registry import Household, Mapping, RowIssue, load_mapping, read_households

KEY = b"test-key-registry"
TODAY = date(2025, 9, 30)
KK = "1571010101200001"
NIK = "1571015003900001"  # woman (day 50 - 40 = 10), born 10 March 1990
CRITERIA = [f"k{i:02d}" for i in range(1, 15)]
HEADER = ["no_kk", "nik_kepala", "nama_kepala", "alamat", "kode_rt", "lon", "lat", "jumlah_anggota", *CRITERIA]
HEADER += ["program", "desil_resmi", "tgl_verval", "hasil_verval"]
FLAGS = ["1", "0"] * 7


def good(**changes: object) -> dict[str, object]:
    """A valid row as written in a file, with some cells changed."""
    row: dict[str, object] = {
        "no_kk": KK,
        "nik_kepala": NIK,
        "nama_kepala": "Siti  Aminah ",
        "alamat": "Jl. Kapten Pattimura 12",
        "kode_rt": "15.71.01.1001.002.005",
        "lon": "103.61",
        "lat": "-1.61",
        "jumlah_anggota": "4",
        **dict(zip(CRITERIA, FLAGS, strict=True)),
        "program": "PKH;pbi jk",
        "desil_resmi": "2",
        "tgl_verval": "2025-08-17",
        "hasil_verval": "1",
    }
    row.update(changes)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, object]],
    header: list[str] = HEADER,
    *,
    delimiter: str = ",",
    lineterminator: str = "\n",
    encoding: str = "utf-8",
) -> Path:
    """A CSV file with `header` and one line per row (missing cells empty)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator=lineterminator)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in header])
    return path


def read(path: Path, mapping: Mapping | None = None, **kw: object) -> list[Household | list[RowIssue]]:
    """Every result of the file."""
    return list(read_households(path, mapping or Mapping(), KEY, today=TODAY, **kw))  # type: ignore[arg-type]


def one(tmp_path: Path, **changes: object) -> Household | list[RowIssue]:
    """The single result of a one-row CSV."""
    results = read(write_csv(tmp_path / "one.csv", [good(**changes)]))
    assert len(results) == 1
    return results[0]


def test_valid_row_is_normalised_and_pseudonymised(tmp_path):
    h = one(tmp_path)
    assert h == Household(
        row=2,
        kk_hash=keyed_hash(KEY, KK),
        kk_masked="157101******0001",
        nik_hash=keyed_hash(KEY, NIK),
        nik_masked="157101******0001",
        nama_kepala="Siti Aminah",
        alamat="Jl. Kapten Pattimura 12",
        kode_rt="15.71.01.1001.002.005",
        lon=103.61,
        lat=-1.61,
        swapped=False,
        jumlah_anggota=4,
        criteria=(True, False) * 7,
        programs=("PBI-JK", "PKH"),
        desil_resmi=2,
        tgl_verval=date(2025, 8, 17),
        hasil_verval=1,
    )
    assert KK not in repr(h) and NIK not in repr(h)


def test_hashing_is_keyed_and_stable(tmp_path):
    path = write_csv(tmp_path / "h.csv", [good(), good(nik_kepala="1571 0150 0390 0001")])
    a, b = read(path)
    other = list(read_households(path, Mapping(), b"another-key", today=TODAY))[0]
    assert a.nik_hash == b.nik_hash == keyed_hash(KEY, NIK)
    assert other.nik_hash != a.nik_hash and other.kk_masked == a.kk_masked == "157101******0001"
    with pytest.raises(ValueError):
        list(read_households(path, Mapping(), b"", today=TODAY))


BAD_CELLS = [
    ("no_kk", "", "missing"),
    ("no_kk", "15710101012000", "must be 16 digits (got 14)"),
    ("no_kk", "1571A10101200001", "must be 16 digits (has other characters)"),
    ("no_kk", "1.571012345678e15", "written in scientific notation, digits are lost: format the column as text"),
    ("nik_kepala", "157101500390000", "must be 16 digits (got 15)"),
    ("nik_kepala", "1571013213900001", "digits 7-12 are not a birth date DDMMYY (day + 40 for women)"),
    ("nik_kepala", "1571012902010001", "digits 7-12 are not a birth date DDMMYY (day + 40 for women)"),
    ("nik_kepala", "1571017203900001", "digits 7-12 are not a birth date DDMMYY (day + 40 for women)"),
    ("nama_kepala", "   ", "missing"),
    ("nama_kepala", "x" * 201, "longer than 200 characters"),
    ("jumlah_anggota", "0", "must be between 1 and 40 (got 0)"),
    ("jumlah_anggota", "41", "must be between 1 and 40 (got 41)"),
    ("jumlah_anggota", "2.5", "not a whole number: '2.5'"),
    ("jumlah_anggota", "", "missing"),
    ("k07", "2", "must be 1 or 0 (or ya/tidak, true/false), got '2'"),
    ("k01", "mungkin", "must be 1 or 0 (or ya/tidak, true/false), got 'mungkin'"),
    ("k14", "", "missing"),
    (
        "kode_rt",
        "15.71.01.1001.2",
        "'15.71.01.1001.2' is an RW code (5 parts), not an RT code like 15.71.01.1001.002.005",
    ),
    (
        "kode_rt",
        "157101100100200",
        "'157101100100200' is not an RT code: it has 15 digits, and written without dots an RT code has exactly 16"
        " (1571011001002005)",
    ),
    ("kode_rt", "15.71.01.1001.000.005", "RW and RT numbers start at 1: '15.71.01.1001.000.005'"),
    ("lon", "abc", "not a number: 'abc'"),
    ("lat", "nan", "not a finite number: 'nan'"),
    ("lon", "", "required when lat is given"),
    ("lat", "", "required when lon is given"),
    ("lon", "200", "outside [-180, 180]: 200"),
    ("desil_resmi", "11", "must be between 1 and 10 (got 11)"),
    ("desil_resmi", "0", "must be between 1 and 10 (got 0)"),
    ("tgl_verval", "2025-02-30", "not a valid date: '2025-02-30'"),
    ("tgl_verval", "17 Agustus 2025", "not a date (yyyy-mm-dd or dd/mm/yyyy): '17 Agustus 2025'"),
    ("tgl_verval", "2025-10-01", "after today (2025-09-30): 2025-10-01"),
    ("tgl_verval", "", "required when hasil_verval is given"),
    ("hasil_verval", "8", "must be between 1 and 7 (got 8)"),
    ("hasil_verval", "", "required when tgl_verval is given"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS)
def test_each_rule_rejects_a_bad_value(tmp_path, column, value, reason):
    assert one(tmp_path, **{column: value}) == [RowIssue(2, column, reason)]


def test_every_problem_of_a_row_is_reported_once_per_column(tmp_path):
    bad = good(no_kk="123", nama_kepala="", k03="x", lon="", lat="", kode_rt="", hasil_verval="9")
    path = write_csv(tmp_path / "bad.csv", [good(), bad])
    assert read(path)[1] == [
        RowIssue(3, "no_kk", "must be 16 digits (got 3)"),
        RowIssue(3, "nama_kepala", "missing"),
        RowIssue(3, "kode_rt", "required when lon/lat are empty"),
        RowIssue(3, "k03", "must be 1 or 0 (or ya/tidak, true/false), got 'x'"),
        RowIssue(3, "hasil_verval", "must be between 1 and 7 (got 9)"),
    ]


def test_projected_looking_values_without_crs_get_a_hint(tmp_path):
    hint = ("; projected coordinates need crs in the mapping (Indonesia's UTM zones are EPSG:32646-32654 north of"
            " the equator and EPSG:32746-32754 south of it)")
    assert one(tmp_path, lon="345373.2", lat="9821993.4") == [
        RowIssue(2, "lon", "outside [-180, 180]: 345373" + hint),
        RowIssue(2, "lat", "outside [-90, 90]: 9.82199e+06" + hint),
    ]


def test_swapped_coordinates_are_flagged_not_rejected(tmp_path):
    h = one(tmp_path, lon="-1.61", lat="103.61")
    assert isinstance(h, Household)
    assert (h.lon, h.lat, h.swapped) == (-1.61, 103.61, True)


def test_accepted_spellings_are_normalised(tmp_path):
    words = ["ya", "TIDAK", "true", "False", "1.0", "0.0", "Yes", "no", " 1 ", "0", "Y", "n", "1", "tdk"]
    flags = dict(zip(CRITERIA, words, strict=True))
    h = one(
        tmp_path,
        no_kk=" 1571 0101 0120 0001 ",
        nik_kepala="1571016902000001",  # 29 Feb 2000, a woman
        kode_rt="1571011001002005",
        lon="103,61",
        lat="-1,61",
        jumlah_anggota="3.0",
        program="pkh, Kartu Bahagia; BPJS TK;PKH; lainnya ;;",
        tgl_verval="17/08/2025",
        hasil_verval="7",
        desil_resmi="",
        alamat=" ",
        **flags,
    )
    assert isinstance(h, Household)
    assert h.kk_hash == keyed_hash(KEY, KK) and h.nik_masked == "157101******0001"
    assert h.criteria == (True, False, True, False, True, False, True, False, True, False, True, False, True, False)
    assert (h.kode_rt, h.lon, h.lat, h.jumlah_anggota) == ("15.71.01.1001.002.005", 103.61, -1.61, 3)
    assert h.programs == ("BPJS-TK", "KARTU-BAHAGIA", "LAINNYA", "PKH")
    assert (h.tgl_verval, h.hasil_verval, h.desil_resmi, h.alamat) == (date(2025, 8, 17), 7, None, None)
    padded = one(tmp_path, kode_rt="15.71.01.1001.2.5", program="", tgl_verval="2025-09-30 08:15:00")
    assert (padded.kode_rt, padded.programs, padded.tgl_verval) == ("15.71.01.1001.002.005", (), TODAY)


def test_location_from_coordinates_or_rt_code(tmp_path):
    only_rt = one(tmp_path, lon="", lat="")
    only_xy = one(tmp_path, kode_rt="")
    assert (only_rt.lon, only_rt.kode_rt) == (None, "15.71.01.1001.002.005")
    assert (only_xy.lon, only_xy.kode_rt) == (103.61, None)
    header = [h for h in HEADER if h != "kode_rt"]
    path = write_csv(tmp_path / "nort.csv", [good(lon="", lat="")], header=header)
    assert read(path) == [[RowIssue(2, "lon", "missing"), RowIssue(2, "lat", "missing")]]


def test_bom_semicolon_and_windows_line_endings(tmp_path):
    path = tmp_path / "excel.csv"
    rows = [good(program="PKH,BPNT"), {}, good(kode_rt="x")]
    write_csv(path, rows, delimiter=";", lineterminator="\r\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfno_kk;")
    first, second = read(path)
    assert first.programs == ("BPNT", "PKH") and first.row == 2
    assert second == [RowIssue(4, "kode_rt", "'x' is not an RT code like 15.71.01.1001.002.005")]


def test_row_numbers_count_physical_lines(tmp_path):
    path = tmp_path / "lines.csv"
    write_csv(path, [good(alamat="Jl. Satu\nGang Dua"), good(jumlah_anggota="0")])
    text = path.read_text()
    path.write_text(text.replace("\n", "\n\n", 1))  # a blank line after the header
    first, second = read(path)
    assert first.row == 3 and first.alamat == "Jl. Satu Gang Dua"
    assert second == [RowIssue(5, "jumlah_anggota", "must be between 1 and 40 (got 0)")]


def test_headers_match_case_and_space_insensitively_extra_columns_ignored(tmp_path):
    header = [f"  {h.upper()} " for h in HEADER] + ["CATATAN"]
    path = tmp_path / "upper.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow([good()[h] for h in HEADER] + ["anything"])
    assert isinstance(read(path)[0], Household)


@pytest.mark.parametrize(
    ("dropped", "named"),
    [
        (["no_kk", "k07"], "missing column(s): no_kk, k07;"),
        (["kode_rt", "lon", "lat"], "missing column(s): kode_rt or lon + lat;"),
        (["lat"], "missing column(s): lat (needed with lon);"),
        (["tgl_verval"], "missing column(s): tgl_verval (needed with hasil_verval);"),
    ],
)
def test_missing_required_columns_is_a_file_error(tmp_path, dropped, named):
    path = write_csv(tmp_path / "cols.csv", [good()], header=[h for h in HEADER if h not in dropped])
    with pytest.raises(InputError) as err:
        read(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and named in message
    assert "headers found: 'no_kk'" in message or "headers found: 'nik_kepala'" in message


def test_optional_columns_may_be_absent(tmp_path):
    header = [h for h in HEADER if h not in ("alamat", "program", "desil_resmi", "tgl_verval", "hasil_verval")]
    h = read(write_csv(tmp_path / "min.csv", [good()], header=header))[0]
    assert (h.alamat, h.programs, h.desil_resmi, h.tgl_verval, h.hasil_verval) == (None, (), None, None, None)


def test_file_level_errors(tmp_path):
    cases = {
        tmp_path / "absent.csv": "file not found",
        tmp_path / "empty.csv": "the file is empty",
        tmp_path / "blank.csv": "the file is empty (no header row)",
        tmp_path / "header.csv": "no data rows (only a header)",
        tmp_path / "fake.xlsx": "not an XLSX workbook (not a zip archive)",
        tmp_path / "old.xls": "old Excel .xls",
    }
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_text("\n\n  \n")
    write_csv(tmp_path / "header.csv", [{}, {}])  # header and two blank lines
    (tmp_path / "fake.xlsx").write_text("no_kk,nik\n1,2\n")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    for path, reason in cases.items():
        with pytest.raises(InputError, match="^" + str(path) + ": ") as err:
            read(path)
        assert reason in str(err.value), path


def write_mapping(tmp_path: Path, text: str) -> Path:
    """A mapping YAML file."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_mapping_file_renames_headers(tmp_path):
    mapping = load_mapping(
        write_mapping(tmp_path, 'columns:\n  no_kk: "NO KK"\n  NIK_KEPALA: NIK\n  k01: "LUAS LANTAI < 8M2"\n')
    )
    assert mapping == Mapping(columns={"no_kk": "NO KK", "nik_kepala": "NIK", "k01": "LUAS LANTAI < 8M2"})
    renamed = {"no_kk": "no kk", "nik_kepala": "nik", "k01": "Luas Lantai < 8m2"}
    header = [renamed.get(h, h) for h in HEADER]
    path = tmp_path / "renamed.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow([good(k01="0")[h] for h in HEADER])
    h = read(path, mapping)[0]
    assert h.kk_hash == keyed_hash(KEY, KK) and h.criteria[0] is False
    with pytest.raises(InputError, match=r"missing column\(s\): no_kk \(header 'NO KK'\)"):
        read(write_csv(tmp_path / "plain.csv", [good()]), mapping)
    assert load_mapping(None) == Mapping() and load_mapping(write_mapping(tmp_path, "")) == Mapping()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("columns:\n  no_kk: NOKK\nlayer: x\n", "unknown key 'layer'"),
        ("columns:\n  nomor_kk: NOKK\n", "columns: unknown field 'nomor_kk'"),
        ("columns:\n  no_kk: ''\n", "columns: no_kk: the header must be a non-empty text"),
        ("columns:\n  no_kk: NIK\n  nik_kepala: nik\n", "no_kk and nik_kepala both use the header 'nik'"),
        ("columns: [no_kk]\n", "columns: must map our field names to headers"),
        ("crs: EPSG:999999\n", "crs: unknown CRS 'EPSG:999999'"),
        ("crs: EPSG:32748\ncolumns:\n  lon: BUJUR\n", "with crs given the columns are x and y, not lon"),
        ("- just\n- a list\n", "the mapping must be a YAML mapping"),
        ("columns:\n  no_kk: [unclosed\n", "not valid YAML: "),
    ],
)
def test_mapping_file_errors(tmp_path, text, problem):
    path = write_mapping(tmp_path, text)
    with pytest.raises(InputError, match="^" + str(path) + ": ") as err:
        load_mapping(path)
    assert problem in str(err.value)


def test_utm_coordinates_are_reprojected(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path, "crs: EPSG:32748\ncolumns:\n  x: TIMUR\n  y: UTARA\n"))
    header = [{"lon": "TIMUR", "lat": "UTARA"}.get(h, h) for h in HEADER]
    path = tmp_path / "utm.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow([good(lon="345373.207", lat="9821993.450")[h] for h in HEADER])
        w.writerow([good(lon="1e12", lat="5")[h] for h in HEADER])
        w.writerow([good(lon="", lat="9821993.450")[h] for h in HEADER])
    h, far, half = read(path, mapping)
    metres = math.hypot((h.lon - 103.61) * 111_320 * math.cos(math.radians(1.61)), (h.lat + 1.61) * 110_574)
    assert metres < 0.5 and h.swapped is False
    assert far == [RowIssue(3, "x", "does not reproject from EPSG:32748 to a valid longitude/latitude")]
    assert half == [RowIssue(4, "x", "required when y is given")]


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Data", extra_sheet: bool = False) -> Path:
    """An XLSX file whose sheet `title` holds `rows` (typed cells as given)."""
    book = Workbook()
    ws = book.active
    ws.title = title
    for row in rows:
        ws.append(row)
    if extra_sheet:
        book.create_sheet("Catatan").append(["not the data"])
    book.save(path)
    return path


def test_xlsx_numeric_and_date_cells(tmp_path):
    base = good()
    typed = {**base, "no_kk": 1571010101200001, "nik_kepala": 1.571015003900001e15, "lon": 103.61, "lat": -1.61}
    typed.update({"jumlah_anggota": 4.0, "desil_resmi": 2, "hasil_verval": 1, "tgl_verval": datetime(2025, 8, 17)})
    typed.update({k: int(v) for k, v in zip(CRITERIA, FLAGS, strict=True)}, k02=False, k03=True, k04=0.0)
    bad = {**typed, "no_kk": 157101010120000, "tgl_verval": 45_000, "k05": 2}
    path = write_xlsx(tmp_path / "reg.xlsx", [HEADER, [typed[h] for h in HEADER], [], [bad[h] for h in HEADER]])
    h, issues = read(path)
    assert h.row == 2 and h.kk_hash == keyed_hash(KEY, KK) and h.nik_hash == keyed_hash(KEY, NIK)
    assert (h.jumlah_anggota, h.tgl_verval, h.criteria) == (4, date(2025, 8, 17), (True, False) * 7)
    assert issues == [
        RowIssue(4, "no_kk", "must be 16 digits (got 15)"),
        RowIssue(4, "k05", "must be 1 or 0 (or ya/tidak, true/false), got 2"),
        RowIssue(4, "tgl_verval", "a number, not a date: 45000 (format the cell as a date)"),
    ]


def test_xlsx_sheet_choice(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [HEADER, [good()[h] for h in HEADER]], title="Sheet1", extra_sheet=True)
    assert isinstance(read(path, Mapping(sheet="Sheet1"))[0], Household)
    assert isinstance(read(path)[0], Household)  # the first sheet by default
    with pytest.raises(InputError, match="no sheet 'Data'; sheets are: 'Sheet1', 'Catatan'"):
        read(path, Mapping(sheet="Data"))
    with pytest.raises(InputError, match="no data rows"):
        read(write_xlsx(tmp_path / "h.xlsx", [HEADER]))


def test_progress_reports_fractions(tmp_path, monkeypatch):
    monkeypatch.setattr("registry.rows.PROGRESS_EVERY", 400)
    path = write_csv(tmp_path / "p.csv", [good()] * 1_000)
    seen: list[float] = []
    assert len(read(path, progress=seen.append)) == 1_000
    assert len(seen) == 3 and seen == sorted(seen) and 0.3 < seen[0] < 0.5 and 0.7 < seen[1] < 0.9
    assert seen[-1] == 1.0
    xlsx = write_xlsx(tmp_path / "p.xlsx", [HEADER] + [[good()[h] for h in HEADER]] * 1_000)
    seen.clear()
    read(xlsx, progress=seen.append)
    assert seen == [401 / 1001, 801 / 1001, 1.0]


def test_streaming_memory_stays_flat(tmp_path):
    """200,000 rows of the minimal layout (required columns and kode_rt): traced peak stays far below the file."""
    path = tmp_path / "big.csv"
    header = ["no_kk", "nik_kepala", "nama_kepala", "kode_rt", "jumlah_anggota", *CRITERIA]
    tail = ",".join(str(good()[h]) for h in header[1:])
    with path.open("w") as fh:
        fh.write(",".join(header) + "\n")
        fh.writelines(f"{1571010000000000 + i},{tail}\n" for i in range(200_000))
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    try:
        valid = sum(isinstance(r, Household) for r in read_households(path, Mapping(), KEY, today=TODAY))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert valid == 200_000
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
