"""CRS helpers (pyproj): parsing user CRS strings and transforming shapely geometries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

WGS84 = CRS.from_epsg(4326)
UTM48S = CRS.from_epsg(32748)
AREA_MARGIN_DEG = 1.0  # a box may reach this far past a CRS's area of use (a zone's edge, a city astride it)


def parse_crs(value: str | int) -> CRS:
    """A pyproj CRS from 'EPSG:32748', '32748', a WKT or PROJ string; ValueError with the reason."""
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise ValueError(f"unknown CRS {value!r}: {exc}") from exc


@lru_cache(maxsize=32)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


def transform(geoms: Any, src: CRS, dst: CRS = WGS84) -> Any:
    """Reproject a shapely geometry or array of them, axis order lon/lat (x/y) on both sides."""
    if src.equals(dst, ignore_axis_order=True):
        return geoms
    tr = _transformer(src.to_wkt(), dst.to_wkt())
    return shapely.transform(geoms, lambda xy: _stack(tr.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple[Any, Any]) -> np.ndarray:
    return np.column_stack(xy)


@lru_cache(maxsize=8)
def _to_lonlat(srid: int) -> tuple[Transformer, Any]:
    crs = CRS.from_epsg(srid)
    return Transformer.from_crs(crs, WGS84, always_xy=True), crs.area_of_use


def lonlat_bounds(box: Sequence[float], srid: int) -> tuple[float, float, float, float]:
    """The lon/lat bounds of a box (minx, miny, maxx, maxy) in EPSG:`srid`; ValueError with the reason when
    it does not reproject to finite values inside the CRS's area of use (AREA_MARGIN_DEG of margin)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError("has coordinates that are not finite numbers")
    if srid == 4326:
        return x1, y1, x2, y2
    transformer, area = _to_lonlat(srid)
    try:
        w, s, e, n = transformer.transform_bounds(x1, y1, x2, y2, densify_pts=21)
    except ProjError as exc:
        raise ValueError(f"does not reproject from EPSG:{srid} to longitude/latitude") from exc
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise ValueError(f"does not reproject from EPSG:{srid} to longitude/latitude")
    m = AREA_MARGIN_DEG
    if area is not None and (w < area.west - m or e > area.east + m or s < area.south - m or n > area.north + m):
        raise ValueError(
            f"lies outside the area where EPSG:{srid} is used "
            f"(longitude {area.west:g} to {area.east:g}, latitude {area.south:g} to {area.north:g})"
        )
    return w, s, e, n
