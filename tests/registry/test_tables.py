"""Issue 12: a few KB of XLSX can declare a cell a billion rows down; every row the reader would produce,
blank or not, counts against a limit, and a declared size over it is refused before any row is read."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from core.errors import InputError
from registry import Mapping, read_households
from registry.prelist import MAX_ROWS, read_prelist
from tests.registry.test_rows import HEADER, KEY, TODAY

TAIL = "at most 200,000 rows under the header are read (blank rows count too)"


def far_row_xlsx(path: Path, header: list[str] | None = None, **rewrites: str) -> Path:
    """A sheet with a header, one row, and a cell a million rows down; `rewrites` edit its XML."""
    book = Workbook()
    book.active.append(header or ["household_id"])
    book.active.append([1])
    book.active.cell(row=1_000_000, column=1, value=2)
    book.save(path)
    if not rewrites:
        return path
    out = path.with_name("rewritten-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for old, new in rewrites.items():
                    assert old.encode() in data, old
                    data = data.replace(old.encode(), new.encode())
            dst.writestr(item, data)
    return out


def hidden_far_row(row: int, last_column: str = "A") -> dict[str, str]:
    """Rewrites moving the far cell to `row` while the sheet's dimension claims two rows."""
    return {f'ref="A1:{last_column}1000000"': f'ref="A1:{last_column}2"', 'r="1000000"': f'r="{row}"',
            'r="A1000000"': f'r="A{row}"'}  # fmt: skip


def test_a_prelist_declaring_a_far_row_is_refused_before_reading(tmp_path):
    path = far_row_xlsx(tmp_path / "far.xlsx")
    assert path.stat().st_size < 6_000
    with pytest.raises(InputError) as declared:
        read_prelist(path)
    assert str(declared.value) == f"{path}: sheet 'Sheet' declares cells down to row 1,000,000; {TAIL}"


def test_a_far_row_the_sheet_does_not_declare_is_counted(tmp_path):
    path = far_row_xlsx(tmp_path / "hidden.xlsx", **hidden_far_row(1_000_000_000))  # minutes to read before
    with pytest.raises(InputError) as counted:
        read_prelist(path)
    assert str(counted.value) == f"{path}: more than 200,001 rows in all; {TAIL}"
    no_dimension = far_row_xlsx(tmp_path / "nodim.xlsx", **{**hidden_far_row(1_000_000_000),
                                                           '<dimension ref="A1:A2" />': ""})  # fmt: skip
    with pytest.raises(InputError, match="more than 200,001 rows in all"):
        read_prelist(no_dimension)


def test_blank_csv_lines_count_and_a_full_prelist_is_read(tmp_path):
    full = tmp_path / "full.csv"
    full.write_text("household_id\n" + "7\n" * MAX_ROWS)
    assert len(read_prelist(full)) == MAX_ROWS
    blank = tmp_path / "blank.csv"
    blank.write_text("household_id\n7\n" + "\n" * MAX_ROWS)
    with pytest.raises(InputError) as counted:
        read_prelist(blank)
    assert str(counted.value) == f"{blank}: more than 200,001 rows in all; {TAIL}"


def test_the_households_reader_holds_xlsx_to_what_a_worksheet_can_hold(tmp_path):
    last = get_column_letter(len(HEADER))
    implausible = far_row_xlsx(tmp_path / "big.xlsx", HEADER, **{f'ref="A1:{last}1000000"': f'ref="A1:{last}2000000"'})
    with pytest.raises(InputError) as declared:
        list(read_households(implausible, Mapping(), KEY, today=TODAY))
    assert str(declared.value) == (f"{implausible}: sheet 'Sheet' declares cells down to row 2,000,000 and across "
                                   f"{len(HEADER)} columns, more than a worksheet can hold (1,048,576 rows, 16,384 "
                                   f"columns)")  # fmt: skip
    hidden = far_row_xlsx(tmp_path / "hidden.xlsx", HEADER, **hidden_far_row(10**12, last))
    with pytest.raises(InputError) as counted:
        list(read_households(hidden, Mapping(), KEY, today=TODAY))
    assert str(counted.value) == f"{hidden}: more than 1,048,576 rows in all; a worksheet holds at most 1,048,576 rows"
