"""Column mapping of registry household files: our field names, the YAML mapping file, header matching."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.crs import parse_crs
from core.errors import InputError

CRITERIA = tuple(f"k{i:02d}" for i in range(1, 15))
FIELDS = (
    ("no_kk", "nik_kepala", "nama_kepala", "alamat", "kode_rt", "lon", "lat", "x", "y", "jumlah_anggota")
    + CRITERIA
    + ("program", "desil_resmi", "tgl_verval", "hasil_verval")
)
REQUIRED = ("no_kk", "nik_kepala", "nama_kepala", "jumlah_anggota") + CRITERIA
OPTIONAL = ("alamat", "program", "desil_resmi")
MAPPING_KEYS = ("columns", "crs", "sheet")
_SHOWN_HEADERS = 60


@dataclass(frozen=True)
class Mapping:
    """Which header holds each of our fields (ours -> file's), the CRS of x/y, and the XLSX sheet."""

    columns: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    sheet: str | None = None

    def header(self, name: str) -> str:
        """The header expected in the file for our field `name`."""
        return self.columns.get(name, name)

    def coordinate_fields(self) -> tuple[str, str]:
        """('x', 'y') when a CRS is given, else ('lon', 'lat')."""
        return ("x", "y") if self.crs else ("lon", "lat")


def load_mapping(path: Path | None) -> Mapping:
    """The mapping in a YAML file, or the defaults for None; InputError naming each problem."""
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the mapping file: {exc}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if doc is None:
        return Mapping()
    if not isinstance(doc, dict):
        raise InputError(f"{path}: the mapping must be a YAML mapping with keys {', '.join(MAPPING_KEYS)}")
    problems = [f"unknown key {k!r} (known: {', '.join(MAPPING_KEYS)})" for k in doc if k not in MAPPING_KEYS]
    columns = _columns(doc.get("columns"), problems)
    crs = _scalar(doc.get("crs"), "crs", problems)
    sheet = _scalar(doc.get("sheet"), "sheet", problems)
    if crs is not None:
        try:
            parse_crs(crs)
        except ValueError as exc:
            problems.append(f"crs: {exc}")
        misplaced = sorted({"lon", "lat"} & columns.keys())
        if misplaced:
            problems.append(f"with crs given the columns are x and y, not {', '.join(misplaced)}")
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s) in the mapping file", problems)
    return Mapping(columns=columns, crs=crs, sheet=sheet)


def _columns(raw: object, problems: list[str]) -> dict[str, str]:
    """The `columns:` section checked: known field names, non-empty distinct header strings."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append('columns: must map our field names to headers, e.g. no_kk: "NO KK"')
        return {}
    out: dict[str, str] = {}
    for name, header in raw.items():
        ours = str(name).strip().lower()
        if ours not in FIELDS:
            problems.append(f"columns: unknown field {name!r} (known: {', '.join(FIELDS)})")
        elif header is None or isinstance(header, (dict, list, bool)) or not str(header).strip():
            problems.append(f"columns: {ours}: the header must be a non-empty text")
        else:
            out[ours] = str(header).strip()
    seen: dict[str, str] = {}
    for ours, header in out.items():
        other = seen.setdefault(normalise_header(header), ours)
        if other != ours:
            problems.append(f"columns: {other} and {ours} both use the header {header!r}")
    return out


def _scalar(raw: object, key: str, problems: list[str]) -> str | None:
    """A top-level text value (numbers accepted as text), None when absent or empty."""
    if raw is None:
        return None
    if isinstance(raw, (dict, list, bool)):
        problems.append(f"{key}: must be a single value")
        return None
    text = str(raw).strip()
    return text or None


def normalise_header(value: object) -> str:
    """A header as compared: text, surrounding whitespace and BOM removed, case-folded."""
    if value is None:
        return ""
    return str(value).strip().lstrip("\ufeff").strip().casefold()


def header_test(mapping: Mapping) -> Callable[[Sequence[object]], tuple[bool, int]]:
    """Tells the header row from title rows above it: (whether the row names every required column, as
    the mapping names them, and how many of our columns it names)."""
    required = frozenset(normalise_header(mapping.header(n)) for n in REQUIRED)
    known = frozenset(normalise_header(mapping.header(n)) for n in FIELDS)

    def test(cells: Sequence[object]) -> tuple[bool, int]:
        names = {normalise_header(c) for c in cells if c is not None}
        return required <= names, len(known & names)

    return test


def resolve_columns(headers: Sequence[object], mapping: Mapping, path: Path, header_row: int = 1) -> dict[str, int]:
    """Our field name -> column index for the fields present; InputError for missing required columns."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        key = normalise_header(h)
        if key:
            positions.setdefault(key, []).append(i)
    cx, cy = mapping.coordinate_fields()
    layout: dict[str, int] = {}
    doubled: list[str] = []
    for name in REQUIRED + OPTIONAL + ("kode_rt", cx, cy, "tgl_verval", "hasil_verval"):
        found = positions.get(normalise_header(mapping.header(name)), [])
        if len(found) > 1:
            doubled.append(f"{mapping.header(name)!r} ({len(found)} times)")
        if found:
            layout[name] = found[0]
    missing = [_label(n, mapping) for n in REQUIRED if n not in layout]
    missing += _location_missing(layout, mapping)
    for a, b in (("tgl_verval", "hasil_verval"), ("hasil_verval", "tgl_verval")):
        if a in layout and b not in layout:
            missing.append(f"{_label(b, mapping)} (needed with {a})")
    if missing or doubled:
        raise InputError(_header_message(path, missing, doubled, headers, header_row))
    return layout


def _location_missing(layout: dict[str, int], mapping: Mapping) -> list[str]:
    """Missing location columns: kode_rt or both coordinates are needed, and coordinates come in pairs."""
    cx, cy = mapping.coordinate_fields()
    has_x, has_y = cx in layout, cy in layout
    if has_x != has_y:
        return [_label(cy if has_x else cx, mapping) + f" (needed with {cx if has_x else cy})"]
    if not has_x and "kode_rt" not in layout:
        return [f"{_label('kode_rt', mapping)} or {_label(cx, mapping)} + {_label(cy, mapping)}"]
    return []


def _label(name: str, mapping: Mapping) -> str:
    """Our name, with the mapped header when it differs."""
    header = mapping.header(name)
    return name if header == name else f"{name} (header {header!r})"


def _header_message(
    path: Path, missing: list[str], doubled: list[str], headers: Sequence[object], header_row: int = 1
) -> str:
    """One message naming the file, the missing columns, repeated headers and the headers found (and their
    row when title rows come before it)."""
    shown = [str(h).strip() for h in headers if normalise_header(h)]
    listed = ", ".join(repr(h) for h in shown[:_SHOWN_HEADERS])
    if len(shown) > _SHOWN_HEADERS:
        listed += f", ... ({len(shown)} in all)"
    parts = []
    if missing:
        parts.append(f"missing column(s): {', '.join(missing)}")
    if doubled:
        parts.append(f"header(s) found more than once: {', '.join(doubled)}")
    where = f" (row {header_row})" if header_row > 1 else ""
    return f"{path}: {'; '.join(parts)}; headers found{where}: {listed or 'none'}"
