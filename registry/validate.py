"""Row-level validation of registry household rows into normalised, pseudonymised households."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.crs import UTM_ZONES
from core.privacy import keyed_hash, mask_number
from registry import values
from registry.mapping import CRITERIA
from registry.values import CellError

MAX_MEMBERS = 40
INVALID = object()  # a cell that had an issue (distinct from None: empty)
Parser = Callable[[Any], Any]


@dataclass(slots=True)
class RowIssue:
    """One problem of one row: the row as a human sees it (header is row 1), our column name, the reason."""

    row: int
    column: str
    reason: str


@dataclass(slots=True)
class Household:
    """One valid row, normalised; NIK and KK only as keyed hash and masked form."""

    row: int
    kk_hash: str
    kk_masked: str
    nik_hash: str
    nik_masked: str
    nama_kepala: str
    alamat: str | None
    kode_rt: str | None
    lon: float | None
    lat: float | None
    swapped: bool
    jumlah_anggota: int
    criteria: tuple[bool, ...]
    programs: tuple[str, ...]
    desil_resmi: int | None
    tgl_verval: date | None
    hasil_verval: int | None


def _name(value: object) -> str:
    """The head's name: non-empty, at most MAX_NAME characters."""
    result = values.text(value)
    if result is None:
        raise CellError("missing")
    if len(result) > values.MAX_NAME:
        raise CellError(f"longer than {values.MAX_NAME} characters")
    return result


# positions of the parsed values of a row (the x/y slots hold lon/lat, or x/y when a CRS is given)
KK, NIK, NAMA, MEMBERS = 0, 1, 2, 3
CRIT = slice(4, 4 + len(CRITERIA))
RT, X, Y, DESIL, TGL, HASIL, ALAMAT, PROGRAM = range(4 + len(CRITERIA), 12 + len(CRITERIA))


class RowValidator:
    """Checks the cells of one row against a column layout (our name -> index)."""

    def __init__(self, layout: dict[str, int], key: bytes, today: date, *, projected: bool) -> None:
        self.layout = layout
        self.key = key
        self.projected = projected
        self.cx, self.cy = ("x", "y") if projected else ("lon", "lat")
        parsers: list[tuple[str, Parser, bool]] = [
            ("no_kk", values.digits16, True),
            ("nik_kepala", values.nik, True),
            ("nama_kepala", _name, True),
            ("jumlah_anggota", lambda v: values.integer(v, 1, MAX_MEMBERS), True),
            *((k, values.flag, True) for k in CRITERIA),
            ("kode_rt", values.kode_rt, False),
            (self.cx, values.number, False),
            (self.cy, values.number, False),
            ("desil_resmi", lambda v: values.integer(v, 1, 10), False),
            ("tgl_verval", lambda v: values.day(v, today), False),
            ("hasil_verval", lambda v: values.integer(v, 1, 7), False),
            ("alamat", values.text, False),
            ("program", values.programs, False),
        ]
        self.width = len(parsers)
        self.specs = [
            (pos, name, layout[name], parse, required)
            for pos, (name, parse, required) in enumerate(parsers)
            if name in layout
        ]

    def check(self, row: int, cells: Sequence[object]) -> Household | list[RowIssue]:
        """A Household for a valid row, else every issue of the row (at most one per column)."""
        issues: list[RowIssue] = []
        got = self._parse_cells(row, cells, issues)
        lon, lat, swapped = self._coordinates(row, got, issues)
        if got[X] is None and got[Y] is None and got[RT] is None:
            self._location_missing(row, issues)
        if got[TGL] is not None and got[HASIL] is None:
            issues.append(RowIssue(row, "hasil_verval", "required when tgl_verval is given"))
        if got[HASIL] is not None and got[TGL] is None:
            issues.append(RowIssue(row, "tgl_verval", "required when hasil_verval is given"))
        if issues:
            order = self.layout
            return sorted(issues, key=lambda i: order.get(i.column, -1)) if len(issues) > 1 else issues
        kk, nik = got[KK], got[NIK]
        return Household(
            row=row,
            kk_hash=keyed_hash(self.key, kk),
            kk_masked=mask_number(kk),
            nik_hash=keyed_hash(self.key, nik),
            nik_masked=mask_number(nik),
            nama_kepala=got[NAMA],
            alamat=got[ALAMAT],
            kode_rt=got[RT],
            lon=lon,
            lat=lat,
            swapped=swapped,
            jumlah_anggota=got[MEMBERS],
            criteria=tuple(got[CRIT]),
            programs=got[PROGRAM] or (),
            desil_resmi=got[DESIL],
            tgl_verval=got[TGL],
            hasil_verval=got[HASIL],
        )

    def _parse_cells(self, row: int, cells: Sequence[object], issues: list[RowIssue]) -> list[Any]:
        """Parsed values by position: None when empty or absent, INVALID after an issue."""
        width, words, flag = len(cells), values.FLAG_WORDS, values.flag
        got: list[Any] = [None] * self.width
        for pos, name, index, parse, required in self.specs:
            raw = cells[index] if index < width else None
            if type(raw) is str:
                if parse is flag and raw in words:  # the common case, kept fast
                    got[pos] = words[raw]
                    continue
                if not raw or raw.isspace():
                    raw = None
            if raw is None:
                if required:
                    issues.append(RowIssue(row, name, "missing"))
                continue
            try:
                got[pos] = parse(raw)
            except CellError as exc:
                issues.append(RowIssue(row, name, str(exc)))
                got[pos] = INVALID
        return got

    def _coordinates(self, row: int, got: list[Any], issues: list[RowIssue]) -> tuple[float | None, float | None, bool]:
        """(lon or x, lat or y, swapped): both or neither, lon/lat in range unless obviously swapped."""
        cx, cy = self.cx, self.cy
        x, y = got[X], got[Y]
        if x is None and y is None:
            return None, None, False
        if x is None or y is None:
            missing, other = (cx, cy) if x is None else (cy, cx)
            issues.append(RowIssue(row, missing, f"required when {other} is given"))
            return None, None, False
        if x is INVALID or y is INVALID:
            return None, None, False
        if self.projected or (-180 <= x <= 180 and -90 <= y <= 90):
            return x, y, False
        if -90 <= x <= 90 and -180 <= y <= 180:
            return x, y, True
        hint = f"; projected coordinates need crs in the mapping ({UTM_ZONES})"
        if not -180 <= x <= 180:
            issues.append(RowIssue(row, cx, f"outside [-180, 180]: {x:g}" + (hint if abs(x) > 1000 else "")))
        if not -90 <= y <= 90:
            issues.append(RowIssue(row, cy, f"outside [-90, 90]: {y:g}" + (hint if abs(y) > 1000 else "")))
        return None, None, False

    def _location_missing(self, row: int, issues: list[RowIssue]) -> None:
        """Neither coordinates nor an RT code: the issue goes on kode_rt, or on the coordinates without one."""
        if "kode_rt" in self.layout:
            issues.append(RowIssue(row, "kode_rt", f"required when {self.cx}/{self.cy} are empty"))
        else:
            issues.append(RowIssue(row, self.cx, "missing"))
            issues.append(RowIssue(row, self.cy, "missing"))
