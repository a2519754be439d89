"""Reading a campaign prelist: a CSV or XLSX file naming families by KK number or household id."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import InputError
from registry.mapping import normalise_header
from registry.tables import is_blank, open_table

KK_HEADERS = ("no_kk", "nomor_kk", "kk", "no kk", "nomor kk")
ID_HEADERS = ("household_id", "id_keluarga", "id")
MAX_ROWS = 200_000  # rows under the header, blank ones included
_KNOWN = frozenset(KK_HEADERS + ID_HEADERS)


@dataclass(frozen=True)
class PrelistEntry:
    """One family of a prelist, by KK number or household id."""

    row: int  # the row number in the file, for the report
    no_kk: str | None = None
    household_id: int | None = None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a spreadsheet turned the number into a float
        value = int(value)
    return str(value).strip()


def _header_test(cells: Sequence[object]) -> tuple[bool, int]:
    """The header names a KK or household id column (title rows above it do not)."""
    named = sum(normalise_header(c) in _KNOWN for c in cells)
    return named > 0, named


def read_prelist(path: Path, sheet: str | None = None) -> list[PrelistEntry]:
    """The file's rows as entries (with their row numbers); InputError naming the file, row and reason."""
    with open_table(path, sheet, max_rows=MAX_ROWS, header=_header_test) as table:
        headers = [normalise_header(h) for h in table.headers]
        kk_col = next((headers.index(h) for h in KK_HEADERS if h in headers), None)
        id_col = next((headers.index(h) for h in ID_HEADERS if h in headers), None)
        if kk_col is None and id_col is None:
            where = f" in row {table.header_row}" if table.header_row > 1 else ""
            raise InputError(f"{path}: no column no_kk or household_id (found{where}: {', '.join(headers) or 'none'})")
        entries: list[PrelistEntry] = []
        problems: list[str] = []
        for number, cells in table.rows:
            if is_blank(cells):
                continue
            kk = _cell(cells[kk_col]) if kk_col is not None and kk_col < len(cells) else ""
            raw_id = _cell(cells[id_col]) if id_col is not None and id_col < len(cells) else ""
            if raw_id and not raw_id.isdigit():
                problems.append(f"row {number}: household_id {raw_id[:20]!r} is not a number")
                continue
            entries.append(PrelistEntry(row=number, no_kk=kk or None, household_id=int(raw_id) if raw_id else None))
    if problems:
        raise InputError(f"{path}: {len(problems)} rows cannot be read, nothing added", problems)
    if not entries:
        raise InputError(f"{path}: no rows under the header")
    return entries


def read_prelist_upload(stream: IO[bytes], filename: str) -> list[PrelistEntry]:
    """An uploaded prelist: spooled to a temporary file (the readers need a path), then read as above."""
    suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in (".csv", ".xlsx", ".txt") else ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"prelist{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out)
        try:
            return read_prelist(target)
        except InputError as exc:  # name the uploaded file, not the temporary one
            raise InputError(str(exc.args[0]).replace(str(target), filename), exc.problems) from exc
