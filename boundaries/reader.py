"""Read boundary files (GeoJSON, zipped Shapefile, GeoPackage, KML) with pyogrio into features in EPSG:4326."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from core.crs import WGS84, parse_crs, transform
from core.errors import InputError

DEFAULT_CODE_FIELDS = ("kode", "code", "kode_wilayah", "kd_wilayah", "kode_rt", "kode_kel")
DEFAULT_NAME_FIELDS = ("nama", "name", "nama_wilayah", "nm_wilayah")
DEFAULT_POPULATION_FIELDS = ("penduduk", "jumlah_penduduk", "population", "pop")


@dataclass(frozen=True)
class FieldNames:
    """Which attribute holds what; None means try the usual names."""

    code: str | None = None
    name: str | None = None
    parent: str | None = None
    population: str | None = None


@dataclass
class RawFeature:
    """One feature as read, geometry already in EPSG:4326."""

    index: int
    code: str | None
    name: str | None
    parent: str | None
    population: int | None
    geom: shapely.Geometry | None

    def label(self) -> str:
        return f"feature {self.index} (code {self.code or '<missing>'})"


def _pick(fields: list[str], wanted: str | None, defaults: tuple[str, ...], what: str, path: Path) -> str | None:
    lower = {f.lower(): f for f in fields}
    if wanted:
        if wanted.lower() not in lower:
            raise InputError(f"{path}: no {what} field {wanted!r}; fields are: {', '.join(fields) or 'none'}")
        return lower[wanted.lower()]
    for cand in defaults:
        if cand in lower:
            return lower[cand]
    return None


def _open_layer(path: Path, layer: str | None) -> str | int | None:
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputError(f"{path}: cannot read as a GIS file: {_short(exc)}") from exc
    if layer is not None:
        if layer not in [row[0] for row in layers]:
            raise InputError(f"{path}: no layer {layer!r}; layers are: {', '.join(r[0] for r in layers)}")
        return layer
    if len(layers) > 1:
        raise InputError(f"{path}: {len(layers)} layers ({', '.join(r[0] for r in layers)}); choose one with --layer")
    return None


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def read_features(
    path: str | Path, *, fields: FieldNames = FieldNames(), crs: str | None = None, layer: str | None = None
) -> tuple[list[RawFeature], CRS]:
    """Features of one layer reprojected to EPSG:4326, and the CRS they came in."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    chosen = _open_layer(path, layer)
    try:
        meta, _fids, geometry, field_data = pyogrio.raw.read(path, layer=chosen)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as a GIS file: {_short(exc)}") from exc
    n = 0 if geometry is None else len(geometry)
    if n == 0:
        raise InputError(f"{path}: the file has no features")
    names = list(meta["fields"])
    columns = dict(zip(names, field_data, strict=True))
    code_f = _pick(names, fields.code, DEFAULT_CODE_FIELDS, "code", path)
    if code_f is None:
        raise InputError(
            f"{path}: no code field found (tried {', '.join(DEFAULT_CODE_FIELDS)}); name it with --code-field"
        )
    name_f = _pick(names, fields.name, DEFAULT_NAME_FIELDS, "name", path)
    parent_f = _pick(names, fields.parent, (), "parent", path) if fields.parent else None
    pop_f = _pick(names, fields.population, DEFAULT_POPULATION_FIELDS, "population", path)

    src = _source_crs(path, meta.get("crs"), crs)
    geoms = shapely.from_wkb(np.asarray(geometry, dtype=object))
    geoms = shapely.force_2d(geoms)
    geoms = transform(geoms, src, WGS84)
    _check_lonlat(path, geoms, src, crs)

    feats = []
    for i in range(n):
        feats.append(
            RawFeature(
                index=i,
                code=_text(columns[code_f][i]),
                name=_text(columns[name_f][i]) if name_f else None,
                parent=_text(columns[parent_f][i]) if parent_f else None,
                population=_int(columns[pop_f][i], path, i) if pop_f else None,
                geom=geoms[i],
            )
        )
    return feats, src


def _source_crs(path: Path, declared: str | None, override: str | None) -> CRS:
    if override:
        try:
            return parse_crs(override)
        except ValueError as exc:
            raise InputError(f"--crs: {exc}") from exc
    if not declared:
        raise InputError(f"{path}: the file declares no CRS; give it with --crs (e.g. --crs EPSG:32748)")
    return parse_crs(declared)


def _check_lonlat(path: Path, geoms: np.ndarray, src: CRS, override: str | None) -> None:
    valid = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(valid) == 0:
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(valid)
    if np.isfinite([xmin, ymin, xmax, ymax]).all() and -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90:
        return
    hint = (
        "" if override else " The coordinates look projected: give the file's CRS with --crs (UTM 48S is EPSG:32748)."
    )
    raise InputError(
        f"{path}: coordinates fall outside longitude/latitude after reading them as {src.to_string()}"
        f" (bounds {xmin:.1f}, {ymin:.1f}, {xmax:.1f}, {ymax:.1f}).{hint}"
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    return text or None


def _int(value: object, path: Path, index: int) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError as exc:
        raise InputError(f"{path}: feature {index}: population {text!r} is not a number") from exc


def read_points(
    path: str | Path, *, code_field: str = "kode_rt", crs: str | None = None, layer: str | None = None
) -> list[tuple[int, str, float, float]]:
    """(index, RT code, lon, lat) of labelled points from a GIS file or a CSV with lon/lat (or x/y) columns."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    opts = {}
    if path.suffix.lower() == ".csv":
        opts = {"X_POSSIBLE_NAMES": "lon,longitude,x", "Y_POSSIBLE_NAMES": "lat,latitude,y", "KEEP_GEOM_COLUMNS": "NO"}
    chosen = _open_layer(path, layer)
    try:
        meta, _f, geometry, field_data = pyogrio.raw.read(path, layer=chosen, **opts)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as a GIS file: {_short(exc)}") from exc
    if geometry is None or len(geometry) == 0:
        raise InputError(f"{path}: no points (a CSV needs lon/lat or x/y columns)")
    names = list(meta["fields"])
    code_f = _pick(names, code_field, (), "RT code", path)
    src = _source_crs(path, meta.get("crs") or ("EPSG:4326" if not crs else None), crs)
    geoms = transform(shapely.from_wkb(np.asarray(geometry, dtype=object)), src, WGS84)
    codes = dict(zip(names, field_data, strict=True))[code_f]  # type: ignore[index]
    out: list[tuple[int, str, float, float]] = []
    problems: list[str] = []
    for i, g in enumerate(geoms):
        code = _text(codes[i])
        if g is None or g.geom_type != "Point" or g.is_empty:
            problems.append(f"point {i}: not a point geometry")
        elif not code:
            problems.append(f"point {i}: missing RT code")
        else:
            out.append((i, code, float(g.x), float(g.y)))
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s), nothing derived", problems[:50])
    _check_lonlat(path, geoms, src, crs)
    return out
