"""Import one boundary layer into `area` in a single transaction: validate, optionally repair, upsert with versions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import shapely

from boundaries import store
from boundaries.codes import CodeError, normalise_code
from boundaries.reader import FieldNames, RawFeature, read_features
from core.crs import UTM_ZONES
from core.errors import InputError
from core.levels import check_level, parent_code, parent_level

POLYGONAL = {"Polygon", "MultiPolygon"}


@dataclass
class Repair:
    """One geometry repaired with ST_MakeValid."""

    index: int
    code: str
    reason: str
    area_before_m2: float
    area_after_m2: float


@dataclass
class ImportReport:
    """What an import did."""

    path: str
    level: str
    features: int
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    repairs: list[Repair] = field(default_factory=list)
    source_crs: str = ""
    derived_parents: list[str] = field(default_factory=list)


def check_features(feats: list[RawFeature], level: str) -> list[str]:
    """Problems found without the database: codes (missing, malformed, duplicate) and geometry types.

    Codes written without dots or as numbers are first normalised in place to the dotted form (see
    boundaries.codes), so `1571011001` and `15.71.01.1001` in one file are the same kelurahan; a code
    that cannot be read safely is reported with the reason and keeps its value as written.
    """
    up = parent_level(level)
    bad_code: dict[int, str] = {}
    bad_parent: dict[int, str] = {}
    for f in feats:
        try:
            f.code = normalise_code(f.code, level) if f.code else None
        except CodeError as exc:
            bad_code[f.index] = f"code {exc}"
        try:
            f.parent = normalise_code(f.parent, up) if f.parent and up else f.parent
        except CodeError as exc:
            bad_parent[f.index] = f"parent {exc}"
    problems: list[str] = []
    counts = Counter(f.code for f in feats if f.code and f.index not in bad_code)
    for f in feats:
        if not f.code:
            problems.append(f"{f.label()}: missing code")
        elif f.index in bad_code:
            problems.append(f"{f.label()}: {bad_code[f.index]}")
        elif counts[f.code] > 1:
            problems.append(f"{f.label()}: duplicate code {f.code} ({counts[f.code]} features)")
        if f.geom is None or shapely.is_missing(f.geom):
            problems.append(f"{f.label()}: no geometry")
        elif f.geom.geom_type not in POLYGONAL:
            problems.append(f"{f.label()}: geometry is {f.geom.geom_type}, expected Polygon or MultiPolygon")
        elif f.geom.is_empty:
            problems.append(f"{f.label()}: empty geometry")
        if f.index in bad_parent:
            problems.append(f"{f.label()}: {bad_parent[f.index]}")
        elif f.parent and f.code and f.index not in bad_code and f.parent != parent_code(f.code):
            problems.append(f"{f.label()}: parent {f.parent} does not match the code prefix {parent_code(f.code)}")
    return problems


def import_boundaries(
    conn: psycopg.Connection,
    path: str | Path,
    level: str,
    *,
    fields: FieldNames = FieldNames(),
    crs: str | None = None,
    layer: str | None = None,
    repair: bool = False,
    source: str | None = None,
    derive_missing_parents: bool = False,
    outside_parent: bool = False,
) -> ImportReport:
    """Import a file as areas of `level`; any problem raises InputError and leaves the database unchanged.

    An area lying wholly outside its loaded parent is refused unless `outside_parent`: a projected file read in
    a neighbouring UTM zone would otherwise land 660 km away."""
    level = check_level(level)
    feats, src = read_features(path, fields=fields, crs=crs, layer=layer)
    problems = check_features(feats, level)
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s), nothing imported", problems)
    report = ImportReport(path=str(path), level=level, features=len(feats), source_crs=src.to_string())
    with conn.transaction():
        store.stage(
            conn, [(f.index, str(f.code), f.name or str(f.code), f.population, shapely.to_wkb(f.geom)) for f in feats]
        )
        invalid = store.invalid_staged(conn)
        if invalid and not repair:
            raise InputError(
                f"{path}: {len(invalid)} invalid geometr{'y' if len(invalid) == 1 else 'ies'}, nothing imported"
                " (use --repair to fix them with ST_MakeValid)",
                [f"feature {i} (code {c}): invalid geometry: {reason}" for i, c, reason in invalid],
            )
        if invalid:
            report.repairs = [Repair(*row) for row in store.repair_staged(conn)]
            empty = [r for r in report.repairs if r.area_after_m2 <= 0]
            if empty:
                raise InputError(
                    f"{path}: repair left no polygon, nothing imported",
                    [f"feature {r.index} (code {r.code}): nothing polygonal remains after ST_MakeValid" for r in empty],
                )
        missing = store.staged_missing_parents(conn, parent_level(level))
        if missing and not derive_missing_parents:
            raise InputError(
                f"{path}: {len(missing)} code(s) whose parent is not loaded, nothing imported"
                f" (import the {parent_level(level)} layer first, or derive it)",
                [f"feature {i} (code {c}): no {parent_level(level)} {p}" for i, c, p in missing],
            )
        outside = [] if outside_parent else store.staged_outside_parents(conn, parent_level(level))
        if outside:
            raise InputError(
                f"{path}: {len(outside)} area(s) lying outside their {parent_level(level)}, nothing imported (is the"
                f" CRS right? read as {report.source_crs}; {UTM_ZONES}; --outside-parent imports them anyway)",
                [f"feature {i} (code {c}): outside {parent_level(level)} {p}, {away / 1000:,.1f} km from it"
                 for i, c, p, away in outside],
            )  # fmt: skip
        report.inserted, report.updated, report.unchanged = store.upsert_staged(conn, level, source or Path(path).name)
        if derive_missing_parents:
            report.derived_parents = _derive_ancestors(conn, level)
    return report


def _derive_ancestors(conn: psycopg.Connection, level: str) -> list[str]:
    """Create missing parents (and their parents, up to the city) by dissolving children by code prefix."""
    from boundaries.derive import derive_parents

    created: list[str] = []
    up = parent_level(level)
    while up is not None:
        created += derive_parents(conn, up).inserted
        up = parent_level(up)
    return created
