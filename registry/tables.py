"""Streaming row sources for CSV and XLSX files: header, numbered rows and the fraction consumed.

Exports often put title rows above the header ("DATA TERPADU KESEJAHTERAAN SOSIAL", the city, a blank
row): given a `header` test, the header is the first of the first HEADER_SEARCH_ROWS rows that names
the columns the reader needs, and every row keeps its real line (CSV) or sheet row (XLSX) number. A
CSV's encoding is decided over the whole file before any row is read (see `_encoding`).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from core.errors import InputError

SNIFF_BYTES = 64 * 1024  # read to refuse binary files and to choose the delimiter
SCAN_BYTES = 1 << 20  # the encoding is checked over the whole file, this much at a time
HEADER_SEARCH_ROWS = 20  # the header is looked for in the first rows (title rows above it are skipped)
WINDOWS_1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_XLSX_READ_ERRORS = (zipfile.BadZipFile, ParseError, KeyError, ValueError, TypeError, EOFError, zlib.error, OSError)
EXCEL_MAX_ROWS = 1_048_576  # the most rows (and columns, below) a worksheet can have
EXCEL_MAX_COLUMNS = 16_384

Row = tuple[int, Sequence[object]]
# a row's cells -> (complete, score): whether the row names every column the reader needs, how many it names
HeaderTest = Callable[[Sequence[object]], tuple[bool, int]]


@dataclass
class Table:
    """An open file: its header cells, an iterator of (row number, cells), and the fraction read so far."""

    headers: Sequence[object]
    rows: Iterator[Row]
    fraction: Callable[[], float]
    header_row: int = 1  # the header's line (CSV) or sheet row (XLSX)


def is_empty(cell: object) -> bool:
    """True for None and blank text."""
    return cell is None or (type(cell) is str and (not cell or cell.isspace()))


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
def open_table(
    path: Path, sheet: str | None = None, max_rows: int | None = None, header: HeaderTest | None = None
) -> Iterator[Table]:
    """Open a CSV or XLSX file (chosen by content, then suffix) for streaming; InputError when unreadable.

    `max_rows` bounds the rows under the header, blank ones included (a sheet can declare a cell a
    million rows down in a few bytes); an XLSX is also bounded by what a worksheet can hold. `header`
    tells the header from title rows above it; without it the first non-blank row is the header.
    """
    path = Path(path)
    head = _head(path)
    suffix = path.suffix.lower()
    limit = RowLimit(max_rows, path)
    if head.startswith(OLE_MAGIC) or suffix == ".xls":
        raise InputError(f"{path}: old Excel .xls (or password-protected) workbook; save it as .xlsx or CSV")
    if head.startswith(ZIP_MAGIC) or suffix in (".xlsx", ".xlsm"):
        with _xlsx_table(path, sheet, limit, header) as table:
            yield table
    else:
        with _csv_table(path, head, limit, header) as table:
            yield table


class _Bounded:
    """The rows, counting every one (blank or not) and stopping with an error after `most` in all.

    The rows above the header (title rows) do not count against the rows under it: `most` grows by
    them, up to `cap` (what a worksheet can hold).
    """

    def __init__(self, rows: Iterator[Row], most: int | None, limit: RowLimit, cap: int | None = None) -> None:
        self.rows, self.most, self.limit, self.cap = rows, most, limit, cap
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        row = next(self.rows)
        self.count += 1
        if self.most is not None and self.count > self.most:
            raise self.limit.error(f"more than {self.most:,} rows in all")
        return row

    def above_header(self, rows: int) -> None:
        """`rows` rows came before the header."""
        if self.most is not None and self.limit.data is not None:
            self.most = self.most + rows if self.cap is None else min(self.most + rows, self.cap)


def _find_header(rows: _Bounded, path: Path, test: HeaderTest | None) -> tuple[Row, Iterator[Row]]:
    """The header row and the rows under it.

    Without a test, the first non-blank row. With one, the first of the first HEADER_SEARCH_ROWS rows
    that the test calls complete; when none is, the one naming the most columns (when none names any, the
    one with the most cells filled), so that the reader's message shows what the header row holds.
    """
    if test is None:
        for row in rows:
            if not is_blank(row[1]):
                rows.above_header(rows.count - 1)
                return row, rows
        raise InputError(f"{path}: the file is empty (no header row)")
    seen: list[Row] = []
    for row in itertools.islice(rows, HEADER_SEARCH_ROWS):
        seen.append(row)
        if not is_blank(row[1]) and test(row[1])[0]:
            rows.above_header(len(seen) - 1)
            return row, rows
    # the row naming the most columns; among equals the fullest (a title is one cell), then the first
    scored = [(test(cells)[1], len(cells) - sum(map(is_empty, cells)), -i)
              for i, (_number, cells) in enumerate(seen) if not is_blank(cells)]  # fmt: skip
    if not scored:
        if len(seen) < HEADER_SEARCH_ROWS:
            raise InputError(f"{path}: the file is empty (no header row)")
        raise InputError(f"{path}: no header row: the first {HEADER_SEARCH_ROWS} rows are blank")
    at = -max(scored)[2]
    rows.above_header(at)
    return seen[at], itertools.chain(seen[at + 1 :], rows)


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


def _encoding(path: Path, head: bytes) -> str:
    """The file's encoding, decided over the whole file (read a chunk at a time, memory stays flat).

    UTF-8 (with or without BOM) when every byte of the file decodes as UTF-8. When one does not and
    everything before it is ASCII, the file is a Windows export: Windows-1252, provided every byte
    decodes as that (the five bytes it leaves undefined are refused). When UTF-8 text comes before the
    first invalid byte, the file mixes encodings and is refused. Refusals name the line and the byte.
    """
    if b"\x00" in head:
        raise InputError(f"{path}: not a text CSV file (binary content; UTF-16 text is not supported)")
    scan = _Scan()
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(SCAN_BYTES)
            bad = scan.utf8(chunk, final=not chunk)
            if bad is not None:
                line, at, byte, reason = bad
                if scan.non_ascii:
                    raise InputError(
                        f"{path}: line {line} (byte {at:,}): not UTF-8 ({reason}, byte 0x{byte:02X}) although the"
                        " text before it is UTF-8: the file mixes encodings; save it again as CSV UTF-8"
                    )
                scan.windows_1252(fh, path, at)
                return "cp1252"
            if not chunk:
                break
    return "utf-8-sig"


class _Scan:
    """Where a scan of a file's bytes is: its offset, its line (counted as the CSV reader counts them:
    after \\n, \\r\\n or a lone \\r), the bytes of a character cut by the chunk's end, and whether any
    non-ASCII text has been seen."""

    def __init__(self) -> None:
        self.offset = 0
        self.line = 1
        self.carry = b""
        self.cr = False  # the last byte counted was \r (a \n right after it ends the same line)
        self.non_ascii = False

    def count(self, data: bytes) -> None:
        """Move past `data` (bytes that decoded)."""
        if not data:
            return
        lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
        if self.cr and data[:1] == b"\n":
            lines -= 1
        self.line += lines
        self.cr = data[-1:] == b"\r"
        self.offset += len(data)

    def utf8(self, chunk: bytes, final: bool = False) -> tuple[int, int, int, str] | None:
        """Decode the chunk; (line, byte offset, byte, reason) of the first invalid sequence, or None."""
        data = self.carry + chunk
        try:
            _text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as exc:
            good = data[: exc.start]
            self.non_ascii = self.non_ascii or not good.isascii()
            self.count(good)
            return self.line, self.offset, data[exc.start], exc.reason
        good, self.carry = data[:used], data[used:]
        self.non_ascii = self.non_ascii or not good.isascii()
        self.count(good)
        return None

    def windows_1252(self, fh: IO[bytes], path: Path, at: int) -> None:
        """Check the rest of the file (from the invalid UTF-8 byte at `at` on) decodes as Windows-1252."""
        fh.seek(at)
        while chunk := fh.read(SCAN_BYTES):
            if chunk.translate(None, WINDOWS_1252_UNDEFINED) != chunk:
                cut = min(chunk.index(bytes([b])) for b in WINDOWS_1252_UNDEFINED if bytes([b]) in chunk)
                self.count(chunk[:cut])
                raise InputError(f"{path}: line {self.line} (byte {self.offset:,}): byte 0x{chunk[cut]:02X} is"
                                 " neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8")  # fmt: skip
            self.count(chunk)


def _delimiter(sample: str, test: HeaderTest | None) -> str:
    """',', ';' or tab: the one that splits a line of the sample into a complete header, else the one most
    frequent in a line of the sample's first rows (',' when none is there)."""
    lines = [line for line in sample.splitlines()[:HEADER_SEARCH_ROWS] if line.strip()]
    most = {d: max((line.count(d) for line in lines), default=0) for d in (",", ";", "\t")}
    ranked = sorted(most, key=lambda d: -most[d])
    if test is not None:
        for delimiter in ranked:
            try:
                if any(test(cells)[0] for cells in csv.reader(lines, delimiter=delimiter)):
                    return delimiter
            except csv.Error:
                continue
    return ranked[0] if most[ranked[0]] else ","


@contextmanager
def _csv_table(path: Path, head: bytes, limit: RowLimit, header: HeaderTest | None) -> Iterator[Table]:
    """A CSV table read line by line; progress is bytes consumed / file size."""
    encoding = _encoding(path, head)
    sample = head.decode(encoding, errors="replace").lstrip("\ufeff")
    size = max(path.stat().st_size, 1)
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
        reader = csv.reader(stream, delimiter=_delimiter(sample, header))
        (number, headers), rows = _find_header(_Bounded(_csv_rows(reader, path), limit.rows, limit), path, header)
        yield Table(headers=headers, rows=rows, fraction=lambda: min(raw.tell() / size, 1.0), header_row=number)


def _csv_rows(reader: Any, path: Path) -> Iterator[Row]:
    """(first line number of the record, cells) for each CSV record; format errors as InputError."""
    previous = 0
    try:
        for cells in reader:
            yield previous + 1, cells
            previous = reader.line_num
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: not a readable CSV record: {exc}") from exc
    except UnicodeDecodeError as exc:  # only when the file changed after its encoding was checked
        raise InputError(f"{path}: after line {reader.line_num}: not text of the file's encoding"
                         f" ({exc.reason})") from exc  # fmt: skip


@contextmanager
def _xlsx_table(path: Path, sheet: str | None, limit: RowLimit, header: HeaderTest | None) -> Iterator[Table]:
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
            _check_declared(ws, min(most + HEADER_SEARCH_ROWS - 1, EXCEL_MAX_ROWS), limit)  # title rows allowed
            total = max(ws.max_row or 0, 1)
            ws.reset_dimensions()  # some writers store a wrong size: read every row there is (counted)
            rows = _Bounded(_xlsx_rows(ws, path), most, limit, cap=EXCEL_MAX_ROWS)
            state = {"row": 0}
            (number, headers), under = _find_header(rows, path, header)
            counted = _count(under, state)
            yield Table(headers=headers, rows=counted, fraction=lambda: min(state["row"] / total, 1.0),
                        header_row=number)  # fmt: skip
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
