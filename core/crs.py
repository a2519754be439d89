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
UTM48S = CRS.from_epsg(32748)  # Kota Jambi's zone (the demo city's default)
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


# Indonesia spans UTM zones 46 to 54, on both sides of the equator: WGS 84 / UTM EPSG:326zz (north), 327zz (south)
INDONESIA_ZONES = range(46, 55)
INDONESIA_UTM = tuple(base + z for base in (32600, 32700) for z in INDONESIA_ZONES)
UTM_ZONES = "Indonesia's UTM zones are EPSG:32646-32654 north of the equator and EPSG:32746-32754 south of it"


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding a point (north or south of the equator): the plane in
    metres for distances and for projected files around it; ValueError outside Indonesia's zones 46-54."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"({lon}, {lat}) is not a longitude/latitude")
    zone = min(int((lon + 180) // 6) + 1, 60)
    if zone not in INDONESIA_ZONES:
        raise ValueError(f"longitude {lon:g} lies in UTM zone {zone}, outside Indonesia's zones 46-54")
    return (32600 if lat >= 0 else 32700) + zone


def utm_hint(lon: float, lat: float) -> str:
    """How an error message names the projected CRS a file around a point most likely uses."""
    try:
        code = utm_epsg(lon, lat)
    except ValueError:
        return UTM_ZONES
    return f"around here that is UTM zone {code % 100}{'N' if code < 32700 else 'S'}, EPSG:{code}"


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
