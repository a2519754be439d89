"""Issue 15, real registry files that failed: title rows above the header (XLSX and CSV), a CSV whose first
accented character comes after the first 64 KB (UTF-8 or Windows-1252), and RT codes written without dots or
as spreadsheet numbers. Rows keep their real line or sheet row numbers in every message."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from boundaries.demo import City, DemoConfig, generate_city
from core.errors import InputError
from registry import Household, Mapping, RowIssue, read_households
from registry.prelist import MAX_ROWS, read_prelist
from tests.registry.conftest import run, write
from tests.registry.test_rows import CRITERIA, HEADER, KEY, TODAY, good, write_csv

TITLES: list[list[object]] = [
    ["DATA TERPADU KESEJAHTERAAN SOSIAL"],
    ["Kota Jambi, Kecamatan Telanaipura", None, None, "Dicetak: 17/08/2025"],
    [],
]
RT = "15.71.01.1001.002.005"


def read(path: Path, mapping: Mapping | None = None) -> list[Household | list[RowIssue]]:
    return list(read_households(path, mapping or Mapping(), KEY, today=TODAY))


def cells(row: dict[str, object], header: list[str] = HEADER) -> list[object]:
    return [row.get(h) for h in header]


def titled_xlsx(path: Path, rows: list[list[object]], titles: list[list[object]] = TITLES) -> Path:
    """A sheet with `titles` above `rows` (the header first), the first title merged across the columns."""
    book = Workbook()
    ws = book.active
    for row in titles + rows:
        ws.append(row)
    if titles:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    book.save(path)
    return path


def other(i: int, **changes: object) -> dict[str, object]:
    """A valid row of another family (its own KK and NIK)."""
    return good(**{"no_kk": f"15710101012{i:05d}", "nik_kepala": f"157101500390{i:04d}", **changes})


# ---------------------------------------------------------------- title rows above the header


def test_xlsx_title_rows_are_skipped_and_rows_keep_their_sheet_numbers(tmp_path):
    path = titled_xlsx(tmp_path / "dtks.xlsx", [
        HEADER,                                                   # sheet row 4
        cells(good()),                                            # 5
        [],                                                       # 6
        cells(other(2, jumlah_anggota=0)),                        # 7
        cells(other(3, kode_rt=1571011001002005, no_kk=1571010101200003)),  # 8: numbers
    ])  # fmt: skip
    first, bad, typed = read(path)
    assert isinstance(first, Household) and first.row == 5 and first.kode_rt == RT
    assert bad == [RowIssue(7, "jumlah_anggota", "must be between 1 and 40 (got 0)")]
    assert isinstance(typed, Household) and (typed.row, typed.kode_rt) == (8, RT)


def test_the_header_is_found_by_the_mapped_column_names(tmp_path):
    mapping = Mapping(columns={"no_kk": "NOMOR KK", "nik_kepala": "NIK KEPALA KELUARGA"})
    header = [{"no_kk": "Nomor KK", "nik_kepala": "nik kepala keluarga"}.get(h, h) for h in HEADER]
    path = titled_xlsx(tmp_path / "mapped.xlsx", [header, cells(good())], titles=TITLES[:2])
    (h,) = read(path, mapping)
    assert isinstance(h, Household) and h.row == 4
    with pytest.raises(InputError) as err:  # without the mapping no row names every required column
        read(path)
    assert str(err.value).startswith(f"{path}: missing column(s): no_kk, nik_kepala; headers found (row 3): 'Nomor KK'")


def test_a_header_missing_a_column_is_named_with_its_row(tmp_path):
    header = [h for h in HEADER if h != "k07"]
    path = titled_xlsx(tmp_path / "k07.xlsx", [header, cells(good(), header)])
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}: missing column(s): k07; headers found (row 4): 'no_kk', 'nik_kepala'")


def test_the_header_is_looked_for_in_the_first_20_rows_only(tmp_path):
    titles: list[list[object]] = [[f"Catatan {i}"] for i in range(1, 21)]
    path = titled_xlsx(tmp_path / "deep.xlsx", [HEADER, cells(good())], titles=titles)  # header in row 21
    with pytest.raises(InputError) as err:
        read(path)
    assert "missing column(s): no_kk, nik_kepala" in str(err.value)
    assert str(err.value).endswith("headers found: 'Catatan 1'")
    shallow = titled_xlsx(tmp_path / "ok.xlsx", [HEADER, cells(good())], titles=titles[:19])  # header in row 20
    assert [r.row for r in read(shallow)] == [21]  # type: ignore[union-attr]
    blank = tmp_path / "blank.csv"
    blank.write_text("\n" * 25 + ",".join(HEADER) + "\n")
    with pytest.raises(InputError) as empty:
        read(blank)
    assert str(empty.value) == f"{blank}: no header row: the first 20 rows are blank"


def test_csv_title_lines_and_the_delimiter_of_the_header(tmp_path):
    path = tmp_path / "dtks.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write("DATA TERPADU KESEJAHTERAAN SOSIAL\r\nKota Jambi, Provinsi Jambi\r\n\r\n")  # a comma, no semicolon
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)  # line 4
        writer.writerow(cells(good(alamat="Jl. Satu\nGang Dua")))  # lines 5-6
        writer.writerow(cells(other(2, k03="2")))  # line 7
    first, bad = read(path)
    assert isinstance(first, Household) and first.row == 5 and first.alamat == "Jl. Satu Gang Dua"
    assert bad == [RowIssue(7, "k03", "must be 1 or 0 (or ya/tidak, true/false), got '2'")]


def test_prelists_with_title_rows(tmp_path):
    xlsx = titled_xlsx(tmp_path / "prelist.xlsx", [["No", "Nama", "NO KK"], [1, "Siti", "1571010101200001"],
                                                   [2, "Budi", 1571010101200002]])  # fmt: skip
    assert [(e.row, e.no_kk) for e in read_prelist(xlsx)] == [(5, "1571010101200001"), (6, "1571010101200002")]
    path = tmp_path / "prelist.csv"
    path.write_text("DAFTAR PRELIST VERVAL 2025\nKelurahan Buluran Kenali\n\nno,household_id\n1,17\n2,x\n")
    with pytest.raises(InputError) as err:
        read_prelist(path)
    assert err.value.problems == ["row 6: household_id 'x' is not a number"]
    titles = tmp_path / "titles.xlsx"
    titled_xlsx(titles, [["No", "Nama", "Alamat"], [1, "Siti", "Jl. Mawar"]])
    with pytest.raises(InputError) as none:
        read_prelist(titles)
    assert str(none.value) == f"{titles}: no column no_kk or household_id (found in row 4: no, nama, alamat)"


def test_title_rows_do_not_count_against_the_prelist_limit(tmp_path):
    full = tmp_path / "full.csv"
    full.write_text("DAFTAR PRELIST\nKota Jambi\n\nhousehold_id\n" + "7\n" * MAX_ROWS)
    assert len(read_prelist(full)) == MAX_ROWS
    over = tmp_path / "over.csv"
    over.write_text("DAFTAR PRELIST\nKota Jambi\n\nhousehold_id\n" + "7\n" * (MAX_ROWS + 1))
    with pytest.raises(InputError, match="more than 200,004 rows in all; at most 200,000 rows under the header"):
        read_prelist(over)


# ---------------------------------------------------------------- the encoding of the whole file

NAME = "José Ma’ruf"  # é and ’ (0x92 in Windows-1252, a C1 control in Latin-1)


def late_accent(path: Path, encoding: str, n: int = 800) -> Path:
    """n ASCII rows (well over 100 KB), then a row naming NAME, then a bad row."""
    rows = [other(i) for i in range(n)] + [other(n, nama_kepala=NAME), other(n + 1, jumlah_anggota="0")]
    write_csv(path, rows, encoding=encoding)
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # the BOM aside
    first = next(i for i, b in enumerate(data) if b > 127)
    assert first > 100 * 1024, first
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_an_accent_after_100_kb_is_read_in_the_files_encoding(tmp_path, encoding):
    results = read(late_accent(tmp_path / f"{encoding}.csv", encoding))
    assert len(results) == 802 and all(isinstance(r, Household) for r in results[:801])
    named = results[800]
    assert isinstance(named, Household) and (named.row, named.nama_kepala) == (802, NAME)
    assert results[801] == [RowIssue(803, "jumlah_anggota", "must be between 1 and 40 (got 0)")]


def test_a_windows_1252_file_ending_in_an_accent(tmp_path):
    header = ["no_kk", "nik_kepala", "kode_rt", "jumlah_anggota", *CRITERIA, "nama_kepala"]
    path = write_csv(tmp_path / "end.csv", [good(nama_kepala="Andi Café")], header=header, encoding="cp1252")
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # the last byte of the file is 0xE9
    assert path.read_bytes().endswith(b"\xe9")
    (h,) = read(path)
    assert isinstance(h, Household) and h.nama_kepala == "Andi Café"


def test_mixed_encodings_are_refused_at_the_exact_line_and_byte(tmp_path, monkeypatch):
    rows = [good(nama_kepala="José"), good(alamat="Jl. Satu\r\nGang Dua")] + [other(i) for i in range(700)]
    rows.append(other(700, nama_kepala="Ma’ruf"))
    for chunk in (1 << 20, 7):  # one read, and chunks that cut characters and \r\n in two
        monkeypatch.setattr("registry.tables.SCAN_BYTES", chunk)
        for bom in ("utf-8", "utf-8-sig"):
            path = write_csv(tmp_path / "mixed.csv", rows, encoding=bom, lineterminator="\r\n")
            data = path.read_bytes().replace("’".encode(), b"\x92")  # one row saved by a Windows program
            path.write_bytes(data)
            with pytest.raises(InputError) as err:
                read(path)
            at = data.index(b"\x92")
            assert str(err.value) == (
                f"{path}: line 705 (byte {at:,}): not UTF-8 (invalid start byte, byte 0x92) although the text before"
                " it is UTF-8: the file mixes encodings; save it again as CSV UTF-8"
            ), (chunk, bom)
            # header (1), José (2), the address across lines 3-4, 700 rows (5-704), then line 705
            assert data[:at].count(b"\r\n") == 704


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused_naming_the_line(tmp_path):
    path = write_csv(tmp_path / "weird.csv", [other(i) for i in range(5)], encoding="ascii")
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"Siti", b"Sit\xe9")  # Windows-1252 é on line 3: the file is Windows-1252 ...
    lines[4] = lines[4].replace(b"Siti", b"S\x81ti")  # ... but 0x81 has no meaning in it (line 5)
    data = b"\n".join(lines)
    path.write_bytes(data)
    at = data.index(b"\x81")
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value) == (
        f"{path}: line 5 (byte {at:,}): byte 0x81 is neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8"
    )


def test_utf8_cut_at_the_end_of_the_file(tmp_path):
    path = write_csv(tmp_path / "cut.csv", [good(nama_kepala="José")], encoding="utf-8")
    data = path.read_bytes().rstrip(b"\n") + "’".encode()[:2]  # a character cut short by the end of the file
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value) == (
        f"{path}: line 2 (byte {len(data) - 2:,}): not UTF-8 (unexpected end of data, byte 0xE2) although the"
        " text before it is UTF-8: the file mixes encodings; save it again as CSV UTF-8"
    )


# ---------------------------------------------------------------- RT codes without dots, or as numbers


@pytest.mark.parametrize(
    "written",
    ["1571011001002005", "1571011001002005.0", "'1571011001002005", " 15.71.01.1001.2.5 ", "15.71.01.1001.02.005",
     "1571 0110 0100 2005"],
)  # fmt: skip
def test_rt_codes_in_text_cells(tmp_path, written):
    h = read(write_csv(tmp_path / "c.csv", [good(kode_rt=written)]))[0]
    assert isinstance(h, Household) and h.kode_rt == RT


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (
            "1571011001002",
            "'1571011001002' is not an RT code: its 13 digits make an RW code (15.71.01.1001.002); an"
            " RT code has 16 digits, like 15.71.01.1001.002.005",
        ),
        (
            "1571011001",
            "'1571011001' is not an RT code: its 10 digits make a kelurahan code (15.71.01.1001); an RT"
            " code has 16 digits, like 15.71.01.1001.002.005",
        ),
        (
            "157101100125",
            "'157101100125' is not an RT code: it has 12 digits, and written without dots an RT code"
            " has exactly 16 (1571011001002005)",
        ),
        (
            "1.57101E+15",
            "'1.57101E+15' is a number in scientific notation: its digits may be lost (store codes as text)",
        ),
        ("1571011001000005", "RW and RT numbers start at 1: '1571011001000005'"),
        (
            "15.71.01.1001.0002.005",
            "'15.71.01.1001.0002.005' is not an RT code like 15.71.01.1001.002.005 (the RW and RT parts have 3 digits)",
        ),
    ],
)
def test_rt_codes_that_cannot_be_read_safely(tmp_path, written, reason):
    assert read(write_csv(tmp_path / "c.csv", [good(kode_rt=written)])) == [[RowIssue(2, "kode_rt", reason)]]


def test_rt_codes_in_number_cells(tmp_path):
    header = ["no_kk", "nik_kepala", "nama_kepala", "kode_rt", "jumlah_anggota", *CRITERIA]
    rows = [
        cells(good(kode_rt=1571011001002005), header),  # an int: every digit there
        cells(other(2, kode_rt=1571011001002005.0), header),  # a float holding it exactly
        cells(other(3, kode_rt=1571011001002010), header),  # ends in 0: Excel keeps 15 digits, RT 01x may be lost
        cells(other(4, kode_rt=1571011001.0), header),  # a kelurahan code
    ]
    path = titled_xlsx(tmp_path / "numbers.xlsx", [header, *rows], titles=[])
    a, b, c, d = read(path)
    assert (a.kode_rt, b.kode_rt) == (RT, RT)  # type: ignore[union-attr]
    rounded = (
        "1571011001002010 is a 16-digit number ending in 0: Excel keeps 15 digits, so the last one may have been lost"
        " (RT 015 turns into 010); format the column as text"
    )
    assert c == [RowIssue(4, "kode_rt", rounded)]
    kelurahan = (
        "1571011001 is not an RT code: its 10 digits make a kelurahan code (15.71.01.1001); an RT code has 16 digits,"
        " like 15.71.01.1001.002.005"
    )
    assert d == [RowIssue(5, "kode_rt", kelurahan)]


# ---------------------------------------------------------------- whole imports, all or nothing


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(DemoConfig(scale=0.02, seed=11, secret_key=KEY))


def test_an_xlsx_export_with_title_rows_and_codes_without_dots_imports(areas, rows, tmp_path):
    header = list(rows[0])
    family = rows[:40]
    data = [[r[h] for h in header] for r in family]
    at = header.index("kode_rt")
    for i, cells_ in enumerate(data):  # plain digits as text, as a number, and unpadded RW/RT
        code = family[i]["kode_rt"]
        cells_[at] = [code.replace(".", ""), int(code.replace(".", "")), _unpadded(code)][i % 3]
        if i % 3 == 1 and cells_[at] % 10 == 0:
            cells_[at] = code.replace(".", "")  # a number ending in 0 is refused (see above): keep it text
    path = titled_xlsx(tmp_path / "dtks.xlsx", [header, *data])
    bad = [list(r) for r in data]
    bad[1][header.index("jumlah_anggota")] = "0"  # sheet row 6
    bad[7][at] = "15710110010"  # sheet row 12
    with pytest.raises(InputError) as err:
        run(areas, titled_xlsx(tmp_path / "bad.xlsx", [header, *bad]))
    assert str(err.value).splitlines()[0] == (
        f"{tmp_path / 'bad.xlsx'}: 2 of 40 rows are invalid, nothing imported (fix them, or import the valid rows"
        " with --skip-invalid)"
    )
    assert err.value.problems == [
        "row 6, jumlah_anggota: must be between 1 and 40 (got 0)",
        "row 12, kode_rt: '15710110010' is not an RT code: it has 11 digits, and written without dots an RT code has"
        " exactly 16 (1571011001002005)",
    ]
    assert areas.execute("SELECT count(*) FROM household").fetchone()[0] == 0
    result = run(areas, path)
    assert (result.rows, result.inserted, result.rejected_rows) == (40, 40, 0)
    stored = areas.execute("SELECT kk_masked, kode_rt FROM household ORDER BY kk_masked, kode_rt").fetchall()
    assert sorted(stored) == sorted((f["no_kk"][:6] + "******" + f["no_kk"][-4:], f["kode_rt"]) for f in family)
    again = run(areas, write(tmp_path / "same.csv", family))  # the same families written with dotted codes
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 40)


def _unpadded(code: str) -> str:
    """15.71.01.1001.002.005 -> 15.71.01.1001.2.5"""
    *kel, rw, rt = code.split(".")
    return ".".join([*kel, str(int(rw)), str(int(rt))])


def test_a_windows_1252_csv_with_a_late_accent_imports(areas, rows, tmp_path):
    changed = [dict(r) for r in rows]
    changed[1500]["nama_kepala"] = NAME
    changed[1600]["alamat"] = "Jl. Ma’ruf Amin No. 5"
    path = tmp_path / "windows.csv"
    with path.open("w", newline="", encoding="cp1252") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(changed)
    assert path.read_bytes().index(b"\xe9") > 200_000
    result = run(areas, path)
    assert (result.rows, result.inserted) == (len(rows), len(rows))
    names = areas.execute(
        "SELECT nama_kepala, alamat FROM household WHERE nama_kepala = %s OR alamat LIKE %s", (NAME, "%Ma’ruf%")
    ).fetchall()
    assert sorted(names) == sorted([(NAME, rows[1500]["alamat"]), (rows[1600]["nama_kepala"], "Jl. Ma’ruf Amin No. 5")])
