"""Reading a programme's recipient roster: a CSV or XLSX file naming families by KK number or the head's NIK, or by
their keyed hashes (HMAC-SHA256 under the key the city shares, core.privacy.keyed_hash). Numbers are hashed as
they are read and never kept; a row that cannot be read is reported by its number and reason, never its value."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import InputError
from core.privacy import keyed_hash
from registry.mapping import normalise_header
from registry.tables import is_blank, open_table
from registry.values import CellError, digits16

# column kinds, in the order a row's first filled one is taken
HEADERS = {
    "kk": ("no_kk", "nomor_kk", "kk", "no kk", "nomor kk"),
    "kk_hash": ("kk_hash", "hash_kk", "kk hash"),
    "nik": ("nik", "nik_kepala", "no_nik", "nomor_nik", "nik kepala"),
    "nik_hash": ("nik_hash", "hash_nik", "nik_kepala_hash", "nik hash"),
}
MAX_ROWS = 500_000  # rows under the header, blank ones included
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KNOWN = frozenset(h for names in HEADERS.values() for h in names)


@dataclass(frozen=True)
class RosterEntry:
    """One row of a roster: its number in the file, by what it names the family ('kk' or 'nik'), the keyed hash."""

    row: int
    by: str
    hash: str


@dataclass(frozen=True)
class Roster:
    """A roster as read: its entries, the rows that could not be read (row and reason), and the file's digest."""

    entries: list[RosterEntry]
    issues: list[str]
    sha256: str
    rows: int


def _cell(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    return value


def _header_test(cells: Sequence[object]) -> tuple[bool, int]:
    named = sum(normalise_header(c) in _KNOWN for c in cells)
    return named > 0, named


def _entry(number: int, cells: Sequence[object], cols: dict[str, int], key: bytes) -> RosterEntry | str:
    """The row's entry, or the reason it cannot be read."""
    for kind in ("kk", "kk_hash", "nik", "nik_hash"):
        col = cols.get(kind)
        raw = _cell(cells[col]) if col is not None and col < len(cells) else None
        if raw in (None, ""):
            continue
        by = kind.removesuffix("_hash")
        if kind.endswith("_hash"):
            text = str(raw).lower()
            if not _HEX64.fullmatch(text):
                return f"row {number}: {kind} is not a keyed hash (64 hexadecimal characters)"
            return RosterEntry(number, by, text)
        try:
            return RosterEntry(number, by, keyed_hash(key, digits16(raw)))
        except CellError as exc:
            return f"row {number}: {'no_kk' if kind == 'kk' else 'nik'} {exc}"
    return f"row {number}: no KK, NIK or keyed hash"


def read_roster(path: Path, key: bytes, sheet: str | None = None) -> Roster:
    """The file's rows as entries with their row numbers, and a report line per unreadable row; InputError when
    the file itself cannot be read or names none of the columns."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_table(path, sheet, max_rows=MAX_ROWS, header=_header_test) as table:
        headers = [normalise_header(h) for h in table.headers]
        cols = {kind: next(headers.index(h) for h in names if h in headers)
                for kind, names in HEADERS.items() if any(h in headers for h in names)}  # fmt: skip
        if not cols:
            raise InputError(f"{path}: no column no_kk, nik, kk_hash or nik_hash "
                             f"(found: {', '.join(headers) or 'none'})")  # fmt: skip
        entries: list[RosterEntry] = []
        issues: list[str] = []
        rows = 0
        for number, cells in table.rows:
            if is_blank(cells):
                continue
            rows += 1
            got = _entry(number, cells, cols, key)
            (issues if isinstance(got, str) else entries).append(got)  # type: ignore[arg-type]
    if not rows:
        raise InputError(f"{path}: no rows under the header")
    return Roster(entries, issues, digest, rows)


def read_roster_upload(stream: IO[bytes], filename: str, key: bytes) -> Roster:
    """An uploaded roster: spooled to a temporary file (the readers need a path), then read as above."""
    suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in (".csv", ".xlsx", ".txt") else ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"roster{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out)
        try:
            return read_roster(target, key)
        except InputError as exc:  # name the uploaded file, not the temporary one
            raise InputError(str(exc.args[0]).replace(str(target), filename), exc.problems) from exc
