"""CSV that a spreadsheet opens as data, never as formulas: the one writer every CSV of the product uses.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, LibreOffice and
Google Sheets as a formula (CSV injection: `=HYPERLINK(...)`, `=cmd|...`, data sent elsewhere). As OWASP
recommends, such a text cell gets a leading single quote, which the spreadsheet shows as text. Numbers
(int, float, Decimal) are written as they are: a genuine -12 stays a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell: text that would start a formula is prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row made safe."""
    return [cell(v) for v in values]


class SafeWriter:
    """csv.writer whose rows (and header) are made safe."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


class SafeDictWriter:
    """csv.DictWriter whose values (and header) are made safe."""

    def __init__(self, stream: Any, fieldnames: Sequence[str], **options: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(stream, **options)

    def writeheader(self) -> Any:
        return self._writer.writerow(self.fieldnames)

    def writerow(self, values: Mapping[str, Any]) -> Any:
        return self._writer.writerow(values.get(k) for k in self.fieldnames)

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(stream: Any, **options: Any) -> SafeWriter:
    """A safe csv.writer over `stream`."""
    return SafeWriter(stream, **options)


def dict_writer(stream: Any, fieldnames: Sequence[str], **options: Any) -> SafeDictWriter:
    """A safe csv.DictWriter over `stream`."""
    return SafeDictWriter(stream, fieldnames, **options)
