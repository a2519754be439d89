"""CQL2 filters (OGC API – Features Part 3) to SQL over a collection's queryables, never over raw columns.

Text and JSON encodings are parsed by `cql2` (the reference Rust parser) into CQL2-JSON; this module
walks that tree and emits psycopg `sql` objects in which every property is a whitelisted expression
and every literal a bound parameter. Supported: basic CQL2 (comparisons, AND/OR/NOT, IS NULL), the
advanced comparison operators (LIKE, BETWEEN, IN), CASEI (ACCENTI is accepted and compares as
written), the spatial functions (S_INTERSECTS, S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES,
S_OVERLAPS, S_CROSSES) on the geometry, and arithmetic (+ - * / % div ^) on numbers; a division by
zero is NULL. Anything else is an InputError naming what is wrong; a value PostgreSQL cannot compute
(an overflow) is reported as one by the caller.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql

from core.crs import INDONESIA_UTM, lonlat_bounds
from core.errors import InputError
from gis.cql_bounds import FilterLimits, check_text, check_tree, load_json

GEOMETRY = "geometry"  # the queryable name of a collection's geometry


@dataclass(frozen=True)
class Queryable:
    """A property a filter may use: its SQL expression and JSON Schema type."""

    expr: sql.Composable
    type: str  # "string", "integer", "number", "boolean", "date", "array", "geometry"
    description: str = ""


_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LOGIC = {"and": "AND", "or": "OR"}
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}
_SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps", "s_crosses": "ST_Crosses",
}  # fmt: skip


def parse(text: str, lang: str, limits: FilterLimits) -> dict[str, Any]:
    """The CQL2-JSON tree of a filter; InputError with the parser's message when it is not valid CQL2.

    The filter is bounded (length, nesting, terms) before the parser sees it: the parser recurses.
    """
    if lang == "cql2-text":
        check_text(text, limits)
        source: Any = text
    elif lang == "cql2-json":
        source = load_json(text, limits)
        check_tree(source, limits)
    else:
        raise InputError(f"filter-lang must be cql2-text or cql2-json, not {lang!r}")
    tree = _parsed(source, lang)
    check_tree(tree, limits)  # exact now: chained arithmetic nests deeper than the text shows
    return tree


def _parsed(source: Any, lang: str) -> dict[str, Any]:
    import cql2

    try:
        return cql2.Expr(source).to_json()  # type: ignore[no-any-return]
    except (ValueError, Exception) as exc:  # cql2 raises plain Exception subclasses
        raise InputError(f"filter is not valid {lang}: {str(exc).strip()}") from exc


class _Translator:
    def __init__(self, queryables: Mapping[str, Queryable], geometry: sql.Composable, srid: int, flip: bool) -> None:
        self.queryables = queryables
        self.geometry = geometry
        self.srid = srid
        self.flip = flip

    # --- operands ------------------------------------------------------------------------------

    def prop(self, node: dict[str, Any]) -> tuple[sql.Composable, str]:
        name = node["property"]
        if name == GEOMETRY or name in ("geom", "the_geom"):
            return self.geometry, "geometry"
        q = self.queryables.get(name)
        if q is None or q.type == "geometry":
            known = ", ".join(sorted(self.queryables))
            raise InputError(f"filter: {name!r} is not a queryable of this collection (queryables: {known})")
        return q.expr, q.type

    def operand(self, node: Any) -> tuple[sql.Composable, str]:
        if isinstance(node, bool):
            return sql.Literal(node), "boolean"
        if isinstance(node, int | float):
            return sql.SQL("{}::float8").format(sql.Literal(float(node))), "number"
        if isinstance(node, str):
            return sql.SQL("{}::text").format(sql.Literal(node)), "string"
        if isinstance(node, list):
            raise InputError("filter: a list is only allowed on the right of IN")
        if not isinstance(node, dict):
            raise InputError(f"filter: unsupported value {node!r}")
        if "property" in node:
            return self.prop(node)
        if "date" in node:
            return sql.SQL("{}::date").format(sql.Literal(self._date(node["date"]))), "date"
        if "timestamp" in node:
            return sql.SQL("{}::timestamptz").format(sql.Literal(self._timestamp(node["timestamp"]))), "date"
        if "bbox" in node:
            return self._bbox(node["bbox"]), "geometry"
        if "type" in node and "coordinates" in node or node.get("type") == "GeometryCollection":
            self._inside_crs(_positions(node))
            text = json.dumps(node)
            geom = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(sql.Literal(text), sql.Literal(self.srid))
            return self._geom(geom), "geometry"
        if "op" in node:
            op = node["op"]
            if op in _ARITH:
                a, b = (self.number(x) for x in self.args(node, 2))
                if op == "/":  # x / 0 is NULL (no match), not an error
                    return sql.SQL("({} / NULLIF({}, 0))").format(a, b), "number"
                return sql.SQL("({} {} {})").format(a, sql.SQL(_ARITH[op]), b), "number"
            if op in ("%", "div", "^"):
                a, b = (self.number(x) for x in self.args(node, 2))
                template = {"%": "mod(({})::numeric, NULLIF(({})::numeric, 0))",
                            "div": "div(({})::numeric, NULLIF(({})::numeric, 0))",
                            "^": "power(({})::float8, ({})::float8)"}[op]  # fmt: skip
                return sql.SQL(template).format(a, b), "number"
            if op in ("casei", "accenti"):
                (arg,) = self.args(node, 1)
                expr, kind = self.operand(arg)
                if kind != "string":
                    raise InputError(f"filter: {op.upper()} needs a string")
                return sql.SQL("lower({})").format(expr) if op == "casei" else expr, "string"
            raise InputError(f"filter: {op!r} is not a value")
        raise InputError(f"filter: unsupported value {json.dumps(node)[:80]}")

    def _bbox(self, box: Any) -> sql.Composable:
        if not isinstance(box, list) or len(box) not in (4, 6) or not all(_finite(v) for v in box):
            raise InputError("filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north")
        w, s, e, n = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box  # 3D: drop the heights
        self._inside_crs([(w, s), (e, n)])
        env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *map(sql.Literal, (float(w), float(s), float(e), float(n))), sql.Literal(self.srid)
        )
        return self._geom(env)

    def _inside_crs(self, points: list[tuple[float, float]]) -> None:
        """A literal's coordinates are finite and, in a projected filter-crs, inside the CRS's area of use."""
        if not all(_finite(v) for p in points for v in p):
            raise InputError("filter: a geometry's coordinates must be finite numbers")
        if self.srid == 4326 or not points:
            return
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        try:
            lonlat_bounds((min(xs), min(ys), max(xs), max(ys)), self.srid)
        except ValueError as exc:
            raise InputError(f"filter: a geometry {exc}") from exc

    def _geom(self, expr: sql.Composable) -> sql.Composable:
        if self.flip:  # EPSG:4326 proper: latitude first
            expr = sql.SQL("ST_FlipCoordinates({})").format(expr)
        return expr if self.srid == 4326 else sql.SQL("ST_Transform({}, 4326)").format(expr)

    @staticmethod
    def _date(value: Any) -> date:
        if not isinstance(value, str):
            raise InputError(f"filter: {value!r} is not a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise InputError(f"filter: {value!r} is not a date (YYYY-MM-DD)") from exc

    @staticmethod
    def _timestamp(value: Any) -> datetime:
        if not isinstance(value, str):
            raise InputError(f"filter: {value!r} is not an RFC 3339 timestamp")
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"filter: {value!r} is not an RFC 3339 timestamp") from exc

    def number(self, node: Any) -> sql.Composable:
        expr, kind = self.operand(node)
        if kind not in ("number", "integer"):
            raise InputError(f"filter: arithmetic needs numbers, got a {kind}")
        return expr

    @staticmethod
    def args(node: dict[str, Any], n: int) -> list[Any]:
        args = node.get("args", [])
        if len(args) != n:
            raise InputError(f"filter: {node['op']!r} takes {n} arguments, got {len(args)}")
        return list(args)

    # --- predicates ----------------------------------------------------------------------------

    def compatible(self, a: str, b: str, op: str) -> None:
        numeric = ("number", "integer")
        if a == b or (a in numeric and b in numeric):
            return
        raise InputError(f"filter: cannot compare a {a} with a {b} using {op!r}")

    def predicate(self, node: Any) -> sql.Composable:
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        if not isinstance(node, dict) or "op" not in node:
            raise InputError(f"filter: expected a condition, got {json.dumps(node)[:80]}")
        op = node["op"]
        if op in _LOGIC:
            parts = [self.predicate(a) for a in node.get("args", [])]
            if len(parts) < 2:
                raise InputError(f"filter: {op.upper()} needs two or more conditions")
            return sql.SQL("({})").format(sql.SQL(f" {_LOGIC[op]} ").join(parts))
        if op == "not":
            (arg,) = self.args(node, 1)
            return sql.SQL("(NOT {})").format(self.predicate(arg))
        if op in _COMPARE:
            (a, ka), (b, kb) = (self.operand(x) for x in self.args(node, 2))
            self.compatible(ka, kb, op)
            if "geometry" in (ka, kb):
                raise InputError("filter: compare geometries with S_EQUALS, not =")
            return sql.SQL("({} {} {})").format(a, sql.SQL(_COMPARE[op]), b)
        if op == "isNull":
            (arg,) = self.args(node, 1)
            return sql.SQL("({} IS NULL)").format(self.operand(arg)[0])
        if op == "like":
            (a, ka), (b, kb) = (self.operand(x) for x in self.args(node, 2))
            if ka != "string" or kb != "string":
                raise InputError("filter: LIKE needs strings")
            return sql.SQL("({} LIKE {})").format(a, b)
        if op == "between":
            items = [self.operand(x) for x in self.args(node, 3)]
            for _, kind in items[1:]:
                self.compatible(items[0][1], kind, op)
            return sql.SQL("({} BETWEEN {} AND {})").format(*(e for e, _ in items))
        if op == "in":
            target, values = self.args(node, 2)
            if not isinstance(values, list) or not values:
                raise InputError("filter: IN needs a non-empty list")
            expr, kind = self.operand(target)
            members = [self.operand(v) for v in values]
            for _, k in members:
                self.compatible(kind, k, op)
            return sql.SQL("({} IN ({}))").format(expr, sql.SQL(", ").join(e for e, _ in members))
        if op in _SPATIAL:
            (a, ka), (b, kb) = (self.operand(x) for x in self.args(node, 2))
            if ka != "geometry" or kb != "geometry":
                raise InputError(f"filter: {op.upper()} needs two geometries")
            return sql.SQL("{}({}, {})").format(sql.SQL(_SPATIAL[op]), a, b)
        raise InputError(f"filter: the operator {op!r} is not supported")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positions(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    """The (x, y) of every position of a GeoJSON geometry (collections included), without recursion."""
    found: list[tuple[float, float]] = []
    stack: list[Any] = [geometry]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.get("geometries", []) if "geometries" in node else [node.get("coordinates", [])])
        elif isinstance(node, list) and node and not isinstance(node[0], list):
            if len(node) < 2:
                raise InputError("filter: a geometry's position needs at least two coordinates")
            found.append((node[0], node[1]))
        elif isinstance(node, list):
            stack.extend(node)
    return found


def to_sql(
    tree: dict[str, Any],
    queryables: Mapping[str, Queryable],
    geometry: sql.Composable,
    srid: int = 4326,
    flip: bool = False,
) -> sql.Composable:
    """The WHERE condition of a CQL2-JSON tree over the given queryables.

    Literal geometries are in `srid` (4326 or a UTM zone of Indonesia), latitude first when `flip` (EPSG:4326
    axis order).
    """
    if srid != 4326 and srid not in INDONESIA_UTM:
        raise InputError(f"filter-crs: unsupported EPSG:{srid}")
    return _Translator(queryables, geometry, srid, flip).predicate(tree)
