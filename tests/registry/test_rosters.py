"""Reading a programme roster (issue 18): KK numbers, heads' NIK or their keyed hashes, from CSV or XLSX; numbers are
hashed as read (the registry's own keyed hash) and a row that cannot be read is named by number and reason."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import openpyxl
import pytest

from core.errors import InputError
from core.privacy import keyed_hash
from registry.rosters import RosterEntry, read_roster, read_roster_upload

KEY = b"roster-reading-test-key-0123456789abc"
KK, NIK = "1571011304150001", "1571010512700001"


def test_each_row_is_named_by_its_first_filled_column(tmp_path: Path):
    path = tmp_path / "r.csv"
    h = keyed_hash(KEY, "1571019999990002")
    path.write_text(f"No,NIK Kepala,Nomor KK,KK_HASH\n1,{NIK},{KK},\n2,{NIK},,\n3,,,{h.upper()}\n4,,,\n")
    roster = read_roster(path, KEY)
    assert roster.entries == [RosterEntry(2, "kk", keyed_hash(KEY, KK)), RosterEntry(3, "nik", keyed_hash(KEY, NIK)),
                              RosterEntry(4, "kk", h)]  # fmt: skip
    assert roster.issues == ["row 5: no KK, NIK or keyed hash"]
    assert roster.rows == 4 and roster.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_xlsx_with_numeric_cells_and_a_title_row(tmp_path: Path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Daftar penerima"])
    sheet.append(["no_kk"])
    sheet.append([float(KK)])  # a spreadsheet that turned the number into a float (exact below 2**53)
    sheet.append([157101.5])
    path = tmp_path / "r.xlsx"
    book.save(path)
    roster = read_roster(path, KEY)
    assert roster.entries == [RosterEntry(3, "kk", keyed_hash(KEY, KK))]
    assert roster.issues == ["row 4: no_kk must be 16 digits (got a non-integral number)"]


def test_a_file_without_the_columns_or_rows_is_refused(tmp_path: Path):
    none = tmp_path / "none.csv"
    none.write_text("nama,alamat\nSiti,Jl. Mawar\n")
    with pytest.raises(InputError) as err:
        read_roster(none, KEY)
    assert str(err.value).endswith("none.csv: no column no_kk, nik, kk_hash or nik_hash (found: nama, alamat)")
    empty = tmp_path / "empty.csv"
    empty.write_text("no_kk\n\n")
    with pytest.raises(InputError, match="empty.csv: no rows under the header"):
        read_roster(empty, KEY)


def test_an_upload_names_the_senders_file_not_the_temporary_one():
    with pytest.raises(InputError) as err:
        read_roster_upload(io.BytesIO(b"nama\nSiti\n"), "pkh-desember.csv", KEY)
    assert str(err.value).startswith("pkh-desember.csv: no column no_kk")
    roster = read_roster_upload(io.BytesIO(f"nik_hash\n{keyed_hash(KEY, NIK)}\n".encode()), "x.bin", KEY)
    assert roster.entries == [RosterEntry(2, "nik", keyed_hash(KEY, NIK))]
