"""Streaming row sources for CSV and XLSX files: header, numbered rows and the fraction consumed."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from core.errors import InputError

SNIFF_BYTES = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_XLSX_READ_ERRORS = (zipfile.BadZipFile, ParseError, KeyError, ValueError, TypeError, EOFError, zlib.error, OSError)
EXCEL_MAX_ROWS = 1_048_576  # the most rows (and columns, below) a worksheet can have
EXCEL_MAX_COLUMNS = 16_384

Row = tuple[int, Sequence[object]]


@dataclass
class Table:
    """An open file: its header cells, an iterator of (row number, cells), and the fraction read so far."""

    headers: Sequence[object]
    rows: Iterator[Row]
    fraction: Callable[[], float]


def is_blank(cells: Sequence[object]) -> bool:
    """True when every cell is None or blank text."""
    for c in cells:
        if c is not None and (type(c) is not str or (c and not c.isspace())):
            return False
    return True


@dataclass(frozen=True)
class RowLimit:
    """The most rows a file may have: `data` under the header when given, blank rows included."""

    data: int | None
    path: Path

    @property
    def rows(self) -> int | None:
        """Rows in all, the header's included."""
        return None if self.data is None else self.data + 1

    def error(self, found: str) -> InputError:
        """`found` (what the file has), and the limit it is over."""
        if self.data is None:
            return InputError(f"{self.path}: {found}; a worksheet holds at most {EXCEL_MAX_ROWS:,} rows")
        return InputError(f"{self.path}: {found}; at most {self.data:,} rows under the header are read (blank "
                          f"rows count too)")  # fmt: skip


@contextmanager
def open_table(path: Path, sheet: str | None = None, max_rows: int | None = None) -> Iterator[Table]:
    """Open a CSV or XLSX file (chosen by content, then suffix) for streaming; InputError when unreadable.

    `max_rows` bounds the rows under the header, blank ones included (a sheet can declare a cell a
    million rows down in a few bytes); an XLSX is also bounded by what a worksheet can hold.
    """
    path = Path(path)
    head = _head(path)
    suffix = path.suffix.lower()
    limit = RowLimit(max_rows, path)
    if head.startswith(OLE_MAGIC) or suffix == ".xls":
        raise InputError(f"{path}: old Excel .xls (or password-protected) workbook; save it as .xlsx or CSV")
    if head.startswith(ZIP_MAGIC) or suffix in (".xlsx", ".xlsm"):
        with _xlsx_table(path, sheet, limit) as table:
            yield table
    else:
        with _csv_table(path, head, limit) as table:
            yield table


def _bounded(rows: Iterator[Row], most: int | None, limit: RowLimit) -> Iterator[Row]:
    """The rows, counting every one (blank or not) and stopping with an error after `most`."""
    if most is None:
        yield from rows
        return
    for count, row in enumerate(rows, start=1):
        if count > most:
            raise limit.error(f"more than {most:,} rows in all")
        yield row


def _head(path: Path) -> bytes:
    """The first bytes of the file; InputError when it is missing, unreadable or empty."""
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not head:
        raise InputError(f"{path}: the file is empty")
    return head


def _encoding(head: bytes, path: Path) -> str:
    """utf-8-sig when the first bytes decode as UTF-8, else cp1252 (Windows exports); binary refused."""
    if b"\x00" in head:
        raise InputError(f"{path}: not a text CSV file (binary content; UTF-16 text is not supported)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1252"


def _delimiter(first_line: str) -> str:
    """The most frequent of ',', ';' and tab in the header line (',' when none)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@contextmanager
def _csv_table(path: Path, head: bytes, limit: RowLimit) -> Iterator[Table]:
    """A CSV table read line by line; progress is bytes consumed / file size."""
    encoding = _encoding(head, path)
    sample = head.decode(encoding, errors="replace").lstrip("\ufeff")
    first = next((line for line in sample.splitlines() if line.strip()), "")
    size = max(path.stat().st_size, 1)
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
        reader = csv.reader(stream, delimiter=_delimiter(first))
        rows = _bounded(_csv_rows(reader, path), limit.rows, limit)
        headers = _first_nonblank(rows, path)
        yield Table(headers=headers, rows=rows, fraction=lambda: min(raw.tell() / size, 1.0))


def _csv_rows(reader: Any, path: Path) -> Iterator[Row]:
    """(first line number of the record, cells) for each CSV record; format errors as InputError."""
    previous = 0
    try:
        for cells in reader:
            yield previous + 1, cells
            previous = reader.line_num
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: not a readable CSV record: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: after line {reader.line_num}: not UTF-8 text ({exc.reason}); save the file as CSV UTF-8"
        ) from exc


def _first_nonblank(rows: Iterator[Row], path: Path) -> Sequence[object]:
    """The header: the first row that is not blank."""
    for _number, cells in rows:
        if not is_blank(cells):
            return cells
    raise InputError(f"{path}: the file is empty (no header row)")


@contextmanager
def _xlsx_table(path: Path, sheet: str | None, limit: RowLimit) -> Iterator[Table]:
    """A worksheet read with openpyxl in read-only mode; progress is rows read / the sheet's row count."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as fh:
        try:
            book = load_workbook(fh, read_only=True, data_only=True)
        except zipfile.BadZipFile:
            raise InputError(f"{path}: not an XLSX workbook (not a zip archive)") from None
        except (InvalidFileException, *_XLSX_READ_ERRORS) as exc:
            raise InputError(f"{path}: cannot read as an XLSX workbook: {exc}") from exc
        try:
            ws = _sheet(book, sheet, path)
            most = min(limit.rows or EXCEL_MAX_ROWS, EXCEL_MAX_ROWS)
            _check_declared(ws, most, limit)
            total = max(ws.max_row or 0, 1)
            ws.reset_dimensions()  # some writers store a wrong size: read every row there is (counted)
            rows = _bounded(_xlsx_rows(ws, path), most, limit)
            state = {"row": 0}
            counted = _count(rows, state)
            headers = _first_nonblank(counted, path)
            yield Table(headers=headers, rows=counted, fraction=lambda: min(state["row"] / total, 1.0))
        finally:
            book.close()


def _check_declared(ws: Any, most: int, limit: RowLimit) -> None:
    """Refuse a sheet whose declared size (its dimension) is implausible or over the limit, before reading it."""
    rows, columns = ws.max_row or 0, ws.max_column or 0
    if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:
        raise InputError(f"{limit.path}: sheet {ws.title!r} declares cells down to row {rows:,} and across "
                         f"{columns:,} columns, more than a worksheet can hold ({EXCEL_MAX_ROWS:,} rows, "
                         f"{EXCEL_MAX_COLUMNS:,} columns)")  # fmt: skip
    if rows > most:
        raise limit.error(f"sheet {ws.title!r} declares cells down to row {rows:,}")


def _sheet(book: Any, sheet: str | None, path: Path) -> Any:
    """The named worksheet, or the first one."""
    names = list(book.sheetnames)
    if sheet is None:
        if not names:
            raise InputError(f"{path}: the workbook has no sheets")
        sheet = names[0]
    if sheet not in names:
        raise InputError(f"{path}: no sheet {sheet!r}; sheets are: {', '.join(repr(n) for n in names)}")
    ws = book[sheet]
    if not hasattr(ws, "iter_rows"):
        raise InputError(f"{path}: sheet {sheet!r} is a chart, not a worksheet")
    return ws


def _xlsx_rows(ws: Any, path: Path) -> Iterator[Row]:
    """(sheet row number, cell values) for every row; a corrupt sheet as InputError."""
    number = 0
    try:
        for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, cells
    except _XLSX_READ_ERRORS as exc:
        raise InputError(f"{path}: sheet {ws.title!r}: cannot read after row {number}: {exc}") from exc


def _count(rows: Iterator[Row], state: dict[str, int]) -> Iterator[Row]:
    """Pass rows through, keeping the last row number in `state` for the progress fraction."""
    for number, cells in rows:
        state["row"] = number
        yield number, cells
