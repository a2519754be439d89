"""Parsers for single cells of registry files: text from CSV, or typed values from XLSX cells."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from boundaries.codes import CodeError, normalise_code

KNOWN_PROGRAMS = {
    "PKH": "PKH",
    "BPNT": "BPNT",
    "SEMBAKO": "BPNT",
    "BPNTSEMBAKO": "BPNT",
    "PBIJK": "PBI-JK",
    "BPJSTK": "BPJS-TK",
    "BPJSKETENAGAKERJAAN": "BPJS-TK",
}
TRUE_WORDS = frozenset({"1", "1.0", "true", "ya", "y", "yes"})
FALSE_WORDS = frozenset({"0", "0.0", "false", "tidak", "tdk", "n", "no"})
FLAG_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
MAX_NAME = 200
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[;,]")
_DECIMAL = re.compile(r"[.,]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_JOINERS = re.compile(r"[\s_-]+")
_INT = re.compile(r"[+-]?\d+(?:[.,]0*)?")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.0*)?")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]*)?")
_DMY_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


class CellError(ValueError):
    """A cell value that cannot be accepted; the message is the reason shown to the user."""


def show(value: object) -> str:
    """A short quoted form of a cell value for reasons."""
    text = repr(value.strip() if isinstance(value, str) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_empty(value: object) -> bool:
    """True for None and blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str | None:
    """Cell as text with runs of whitespace collapsed, None when empty; integral floats lose their '.0'."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = str(value)
    out = raw.strip() if "  " not in raw and raw.isprintable() else _SPACES.sub(" ", raw).strip()
    return out or None


def digits16(value: object) -> str:
    """A 16-digit identity number (KK or NIK) as digits; numeric cells converted exactly."""
    if isinstance(value, bool):
        raise CellError("must be 16 digits (got a true/false cell)")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise CellError("must be 16 digits (got a non-integral number)")
        value = int(value)
    raw = str(value)
    if len(raw) == 16 and raw.isdigit() and raw.isascii():  # the common case, kept fast
        return raw
    digits = _SPACES.sub("", raw).lstrip("'")
    if _SCIENTIFIC.fullmatch(digits):
        raise CellError("written in scientific notation, digits are lost: format the column as text")
    if _PLAIN_NUMBER.fullmatch(digits):
        digits = digits.split(".")[0]
    if not digits.isdigit() or not digits.isascii():
        raise CellError("must be 16 digits (has other characters)")
    if len(digits) != 16:
        raise CellError(f"must be 16 digits (got {len(digits)})")
    return digits


def nik(value: object) -> str:
    """A NIK: 16 digits whose digits 7-12 are a possible birth date DDMMYY (day + 40 for women)."""
    digits = digits16(value)
    day, month, year = _two(digits, 6), _two(digits, 8), _two(digits, 10)
    if day > 40:
        day -= 40
    if 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1] + (month == 2 and year % 4 == 0):
        return digits  # year % 4 == 0: 2000 was leap, so a 29 February with '00' is possible
    raise CellError("digits 7-12 are not a birth date DDMMYY (day + 40 for women)")


def _two(digits: str, at: int) -> int:
    """The two-digit number at position `at` of an ASCII digit string."""
    return (ord(digits[at]) - 48) * 10 + ord(digits[at + 1]) - 48


def integer(value: object, low: int, high: int) -> int:
    """A whole number within [low, high]; '3', '3.0', 3 and 3.0 all accepted."""
    if isinstance(value, bool):
        raise CellError(f"not a whole number: {show(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"not a whole number: {show(value)}")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        raw = str(value).strip()
        if raw.isdigit() and raw.isascii():
            number = int(raw)
        elif _INT.fullmatch(raw):
            number = int(_DECIMAL.split(raw)[0])
        else:
            raise CellError(f"not a whole number: {show(value)}")
    if not low <= number <= high:
        raise CellError(f"must be between {low} and {high} (got {number})")
    return number


def flag(value: object) -> bool:
    """A 1/0 criterion: 1/0, '1.0', true/false, ya/tidak, yes/no, or an Excel number/boolean cell."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    found = FLAG_WORDS.get(str(value).strip().lower())
    if found is not None:
        return found
    raise CellError(f"must be 1 or 0 (or ya/tidak, true/false), got {show(value)}")


def number(value: object) -> float:
    """A finite decimal number; a single decimal comma is accepted ('-1,61')."""
    if isinstance(value, bool):
        raise CellError(f"not a number: {show(value)}")
    if isinstance(value, (int, float)):
        result = float(value)
    else:
        raw = str(value).strip()
        if raw.count(",") == 1 and "." not in raw:
            raw = raw.replace(",", ".")
        try:
            result = float(raw)
        except ValueError:
            raise CellError(f"not a number: {show(value)}") from None
    if not math.isfinite(result):
        raise CellError(f"not a finite number: {show(value)}")
    return result


def kode_rt(value: object) -> str:
    """An RT code as 15.71.01.1001.002.005, normalised by boundaries.codes (16 plain digits, unpadded RW/RT
    …1001.2.5, whole numbers); RW or RT 000 refused, and so is a 16-digit number cell ending in 0 (see below)."""
    if type(value) is str:
        raw = value.strip()
        if _is_normal_rt(raw):  # the common case, kept fast
            return raw
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and _excel_rounded(value):
        raise CellError(f"{show(value)} is a 16-digit number ending in 0: Excel keeps 15 digits, so the last one may"
                        " have been lost (RT 015 turns into 010); format the column as text")  # fmt: skip
    try:
        code = normalise_code(value, "rt")
    except CodeError as exc:
        raise CellError(str(exc)) from None
    if code[14:17] == "000" or code[18:] == "000":
        raise CellError(f"RW and RT numbers start at 1: {show(value)}")
    return code


def _excel_rounded(value: int | float) -> bool:
    """True for a whole number of 16 digits ending in 0: what Excel makes of any 16-digit number it is given."""
    return (not isinstance(value, float) or value.is_integer()) and 10**15 <= abs(value) < 10**16 and value % 10 == 0


def _is_normal_rt(raw: str) -> bool:
    """True for an already normalised RT code (dots at the right places, digits, RW and RT not 000)."""
    return (
        len(raw) == 21
        and raw[2] == raw[5] == raw[8] == raw[13] == raw[17] == "."
        and raw.isascii()
        and raw.replace(".", "").isdigit()
        and raw[14:17] != "000"
        and raw[18:] != "000"
    )


def day(value: object, today: date) -> date:
    """A date (yyyy-mm-dd, dd/mm/yyyy or an Excel date cell) not after `today`."""
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, (int, float, bool)):
        raise CellError(f"a number, not a date: {show(value)} (format the cell as a date)")
    else:
        result = _parse_date(str(value).strip())
    if result > today:
        raise CellError(f"after today ({today.isoformat()}): {result.isoformat()}")
    return result


def _parse_date(raw: str) -> date:
    """yyyy-mm-dd (a time part ignored) or dd/mm/yyyy (also with '.' or '-')."""
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":  # the common case, kept fast
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    iso, dmy = _ISO_DATE.fullmatch(raw), _DMY_DATE.fullmatch(raw)
    if iso:
        y, m, d = (int(g) for g in iso.groups())
    elif dmy:
        d, m, y = (int(g) for g in dmy.groups())
    else:
        raise CellError(f"not a date (yyyy-mm-dd or dd/mm/yyyy): {show(raw)}")
    try:
        return date(y, m, d)
    except ValueError:
        raise CellError(f"not a valid date: {show(raw)}") from None


def programs(value: object) -> tuple[str, ...]:
    """Programme tokens split on ';' or ',', upper-cased, known ones normalised, words of others joined by '-',
    de-duplicated, sorted."""
    out = set()
    raw = str(value)
    for token in raw.split(";") if "," not in raw else _SEPARATORS.split(raw):
        word = token.strip().upper()
        if word in KNOWN_PROGRAMS:
            out.add(KNOWN_PROGRAMS[word])
        elif word:
            # any other programme (a kab/kota's own, configured as programs.local) as the configuration writes
            # its code: words joined by '-' ("Kartu Sehat", "kartu_sehat" -> KARTU-SEHAT)
            code = KNOWN_PROGRAMS.get(_NOT_ALNUM.sub("", word), _JOINERS.sub("-", word).strip("-"))
            if code:
                out.add(code)
    return tuple(sorted(out))
