"""CRS helpers (pyproj): parsing user CRS strings and transforming shapely geometries."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

WGS84 = CRS.from_epsg(4326)
UTM48S = CRS.from_epsg(32748)


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
