"""Stream registry household files (CSV, XLSX) into validated households or the issues of each row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
import shapely
from pyproj import CRS

from core.crs import WGS84, parse_crs, transform
from core.errors import InputError
from registry.mapping import Mapping, header_test, resolve_columns
from registry.tables import is_blank, open_table
from registry.validate import Household, RowIssue, RowValidator

PROGRESS_EVERY = 5_000
REPROJECT_BATCH = 5_000

Result = Household | list[RowIssue]
Progress = Callable[[float], None]


def read_households(
    path: Path, mapping: Mapping, key: bytes, *, today: date, progress: Progress | None = None
) -> Iterator[Result]:
    """Each data row in file order: a Household when valid, else the list of its RowIssues.

    Streams the file (memory stays flat whatever its size). Title rows above the header are skipped
    (the header is the first of the first 20 rows naming every required column) and rows keep their
    real line or sheet row numbers. File-level problems (unreadable, empty, not an XLSX, unknown
    sheet, missing columns, no data rows) raise InputError when iteration starts or, for problems
    found later in the file, where they are met. `progress`, when given, is called
    every PROGRESS_EVERY rows with the fraction of the file consumed (bytes for CSV, rows for XLSX)
    and once with 1.0 at the end.
    """
    if not key:
        raise ValueError("the hashing key must not be empty")
    path = Path(path)
    src = _source_crs(mapping, path)
    with open_table(path, mapping.sheet, header=header_test(mapping)) as table:
        layout = resolve_columns(table.headers, mapping, path, table.header_row)
        validator = RowValidator(layout, key, today, projected=src is not None)
        batch = _Reprojection(src) if src is not None else None
        count = 0
        for number, cells in table.rows:
            if is_blank(cells):
                continue
            count += 1
            result = validator.check(number, cells)
            if batch is None:
                yield result
            elif batch.add(result):
                yield from batch.flush()
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(table.fraction())
        if batch is not None:
            yield from batch.flush()
    if count == 0:
        raise InputError(f"{path}: no data rows (only a header)")
    if progress is not None:
        progress(1.0)


def _source_crs(mapping: Mapping, path: Path) -> CRS | None:
    """The CRS of the x/y columns, None for lon/lat."""
    if not mapping.crs:
        return None
    try:
        return parse_crs(mapping.crs)
    except ValueError as exc:
        raise InputError(f"{path}: mapping crs: {exc}") from exc


class _Reprojection:
    """Holds results in file order until a batch of households can be reprojected to EPSG:4326 at once."""

    def __init__(self, src: CRS) -> None:
        self.src = src
        self.label = src.to_string()
        self.pending: list[Result] = []
        self.located: list[int] = []

    def add(self, result: Result) -> bool:
        """Queue a result; True when the batch is full and should be flushed."""
        if isinstance(result, Household) and result.lon is not None:
            self.located.append(len(self.pending))
        self.pending.append(result)
        return len(self.located) >= REPROJECT_BATCH or len(self.pending) >= 4 * REPROJECT_BATCH

    def flush(self) -> Iterator[Result]:
        """The queued results in order, coordinates reprojected; unprojectable points become issues."""
        pending, located = self.pending, self.located
        self.pending, self.located = [], []
        if located:
            households = [cast(Household, pending[i]) for i in located]
            xy = np.asarray([(h.lon, h.lat) for h in households], dtype=np.float64)
            points = transform(shapely.points(xy), self.src, WGS84)
            lons, lats = shapely.get_x(points).tolist(), shapely.get_y(points).tolist()
            for i, household, lon, lat in zip(located, households, lons, lats, strict=True):
                pending[i] = self._place(household, lon, lat)
        yield from pending

    def _place(self, household: Household, lon: float, lat: float) -> Result:
        """The household with its reprojected position, or an issue when it lands outside lon/lat."""
        if np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90:
            household.lon, household.lat = lon, lat
            return household
        reason = f"does not reproject from {self.label} to a valid longitude/latitude"
        return [RowIssue(household.row, "x", reason)]
