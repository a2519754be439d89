"""Read boundary files (GeoJSON, zipped Shapefile, GeoPackage, KML) with pyogrio into features in EPSG:4326."""

from __future__ import annotations

import shlex
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from boundaries.codes import EXACT_FLOAT, CodeError, normalise_code
from core.crs import UTM_ZONES, WGS84, parse_crs, transform
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
    code: str | None  # as written (a float too large to hold every digit in scientific notation: refused)
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


# what a zip may hold that GDAL reads as one layer file (a Shapefile is its .shp with the .dbf/.shx beside it)
ZIP_DATASETS = (".shp", ".gpkg", ".geojson", ".kml")


@dataclass(frozen=True)
class _Layer:
    """One layer a path offers: what pyogrio opens, the layer in it, and how --layer names it."""

    source: str | Path
    layer: str | int | None
    name: str
    member: str | None = None  # the file in a zip


def _open_layer(path: Path, layer: str | None) -> _Layer:
    """The layer to read: the only one, or the one `layer` names; InputError listing them otherwise."""
    if path.suffix.lower() == ".zip":
        return _zip_layer(path, layer)
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputError(f"{path}: cannot read as a GIS file: {_short(exc)}") from exc
    if layer is not None:
        if layer not in [row[0] for row in layers]:
            raise InputError(f"{path}: no layer {layer!r}; layers are: {', '.join(r[0] for r in layers)}")
        return _Layer(path, layer, layer)
    if len(layers) > 1:
        raise InputError(f"{path}: {len(layers)} layers ({', '.join(r[0] for r in layers)}); choose one with --layer")
    return _Layer(path, None, str(layers[0][0]) if len(layers) else path.name)


def _zip_layer(path: Path, wanted: str | None) -> _Layer:
    """The layer of a zip, wherever its file sits (at the root or in folders, as 'compress folder' makes it).

    Every Shapefile, GeoPackage, GeoJSON and KML in the zip offers its layers (a Shapefile one, named by
    its path in the zip); with more than one, `wanted` must name one: by that path, the file's name or
    stem, or the layer's name (`path:layer` for a layer of a multi-layer file), as long as it names one.
    """
    layers = _zip_layers(path)
    if wanted is None:
        if len(layers) > 1:
            raise InputError(f"{path}: {len(layers)} layers ({', '.join(x.name for x in layers)}); choose one with"
                             f" --layer (e.g. --layer {shlex.quote(layers[0].name)})")  # fmt: skip
        chosen = layers[0]
    else:
        exact = [x for x in layers if x.name == wanted]
        matches = exact or [x for x in layers if wanted in _aliases(x)]
        if not matches:
            raise InputError(f"{path}: no layer {wanted!r}; layers are: {', '.join(x.name for x in layers)}")
        if len(matches) > 1:
            raise InputError(f"{path}: --layer {wanted!r} names {len(matches)} layers"
                             f" ({', '.join(x.name for x in matches)}); give one of them as written"
                             " here")  # fmt: skip
        chosen = matches[0]
    _check_shapefile(path, chosen)
    return chosen


def _aliases(layer: _Layer) -> set[str]:
    """What else --layer may say for a layer of a zip: its file's path, name or stem, or the layer's own name
    (a file's name names every layer of a multi-layer file)."""
    if layer.member is None:
        return {layer.name}
    base = layer.member.rsplit("/", 1)[-1]
    return {layer.member, base, base.rsplit(".", 1)[0], str(layer.layer or base.rsplit(".", 1)[0])}


def _zip_layers(path: Path) -> list[_Layer]:
    """The layers of every file in the zip that GDAL reads as one (macOS metadata and hidden files skipped)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a readable zip archive ({exc})") from exc
    found = sorted(m for m in members if m.lower().endswith(ZIP_DATASETS) and not _hidden(m))
    if not found:
        shown = ", ".join(members[:20]) + (f", ... ({len(members)} in all)" if len(members) > 20 else "")
        raise InputError(f"{path}: the zip holds no Shapefile (.shp), GeoPackage, GeoJSON or KML file;"
                         f" it holds: {shown or 'nothing'}")  # fmt: skip
    out: list[_Layer] = []
    for member in found:
        source = f"/vsizip/{path.resolve()}/{member}"
        if member.lower().endswith(".shp"):
            out.append(_Layer(source, None, member, member))
            continue
        try:
            names = [str(row[0]) for row in pyogrio.list_layers(source)]
        except (DataSourceError, DataLayerError, OSError) as exc:
            raise InputError(f"{path}: {member} in the zip cannot be read as a GIS file: {_short(exc)}") from exc
        if len(names) == 1:
            out.append(_Layer(source, names[0], member, member))
        else:
            out += [_Layer(source, name, f"{member}:{name}", member) for name in names]
    if not out:
        raise InputError(f"{path}: no layer in {', '.join(found)}")
    return out


def _hidden(member: str) -> bool:
    """macOS's __MACOSX/ copies and dot files ('._kel.shp') are no layers."""
    parts = member.split("/")
    return parts[0] == "__MACOSX" or any(p.startswith(".") and p not in (".", "..") for p in parts)


def _check_shapefile(path: Path, layer: _Layer) -> None:
    """A zipped Shapefile needs its .shx (index) and .dbf (attributes) beside the .shp: say which is missing."""
    if not layer.name.lower().endswith(".shp"):
        return
    with zipfile.ZipFile(path) as z:
        names = {m.lower() for m in z.namelist()}
    stem = layer.name[:-4].lower()
    missing = [f"{ext} ({what})" for ext, what in ((".shx", "its index"), (".dbf", "its attribute table"))
               if stem + ext not in names]  # fmt: skip
    if missing:
        raise InputError(f"{path}: {layer.name} in the zip has no {' and no '.join(missing)} beside it;"
                         " zip every file of the Shapefile (.shp, .shx, .dbf, .prj) together")  # fmt: skip


def _in_zip(layer: _Layer) -> str:
    """'data/kel.shp in the zip: ' for a layer of a zip, else nothing."""
    return f"{layer.name} in the zip: " if layer.member else ""


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
        meta, _fids, geometry, field_data = pyogrio.raw.read(chosen.source, layer=chosen.layer)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: {_in_zip(chosen)}cannot read as a GIS file: {_short(exc)}") from exc
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
                code=_code(columns[code_f][i]),
                name=_text(columns[name_f][i]) if name_f else None,
                parent=_code(columns[parent_f][i]) if parent_f else None,
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
        raise InputError(f"{path}: the file declares no CRS; give it with --crs ({UTM_ZONES})")
    return parse_crs(declared)


def _check_lonlat(path: Path, geoms: np.ndarray, src: CRS, override: str | None) -> None:
    valid = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(valid) == 0:
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(valid)
    if np.isfinite([xmin, ymin, xmax, ymax]).all() and -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90:
        return
    hint = (
        "" if override else f" The coordinates look projected: give the file's CRS with --crs ({UTM_ZONES})."
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


def _code(value: object) -> str | None:
    """A code cell as text; a float too large to hold every digit in scientific notation (then refused)."""
    if isinstance(value, float) and np.isfinite(value) and abs(value) >= EXACT_FLOAT:
        return np.format_float_scientific(value, unique=True)
    return _text(value)


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
        meta, _f, geometry, field_data = pyogrio.raw.read(chosen.source, layer=chosen.layer, **opts)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"{path}: {_in_zip(chosen)}cannot read as a GIS file: {_short(exc)}") from exc
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
        code = _code(codes[i])
        if g is None or g.geom_type != "Point" or g.is_empty:
            problems.append(f"point {i}: not a point geometry")
        elif not code:
            problems.append(f"point {i}: missing RT code")
        else:
            try:
                out.append((i, normalise_code(code, "rt"), float(g.x), float(g.y)))
            except CodeError as exc:
                problems.append(f"point {i}: RT code {exc}")
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s), nothing derived", problems[:50])
    _check_lonlat(path, geoms, src, crs)
    return out
