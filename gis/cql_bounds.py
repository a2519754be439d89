"""Bounds on a CQL2 filter, checked before any parser sees it: its length, nesting depth and number of terms.

The `cql2` parser (Rust) recurses once per nesting level and overflows its stack, killing the process,
at about 2,000 levels; Python's json module and the translator to SQL recurse too. So the text is first
scanned iteratively (CQL2 text: parentheses outside quoted strings, runs of NOT, chained arithmetic and
tokens; CQL2-JSON: brackets outside strings), and the parsed tree is then measured exactly, again
without recursion. A filter over a bound is an InputError naming the bound and its setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.errors import InputError


@dataclass(frozen=True)
class FilterLimits:
    """The largest filter accepted (PETA_FILTER_MAX_CHARS, PETA_FILTER_MAX_DEPTH, PETA_FILTER_MAX_NODES)."""

    max_chars: int
    max_depth: int
    max_nodes: int


# CQL2-JSON spends two containers per level ({"op": …, "args": […]}), and a literal geometry a few more
_JSON_CONTAINERS_PER_LEVEL = 2
_JSON_LEAF_CONTAINERS = 6
_ARITHMETIC = frozenset("+-*/%^")
_COMPARISON = frozenset("=<>")
_WORD_BOUNDARY = frozenset("()[],'\"=<>+-*/%^")
_SEPARATORS = frozenset(("and", "or"))


def too_long(limits: FilterLimits, length: int) -> InputError:
    return InputError(f"filter: too long ({length:,} characters; at most {limits.max_chars:,}, "
                      f"PETA_FILTER_MAX_CHARS)")  # fmt: skip


def too_deep(limits: FilterLimits) -> InputError:
    return InputError(f"filter: nested too deeply (at most {limits.max_depth} levels of parentheses, NOT, "
                      f"functions or chained arithmetic, PETA_FILTER_MAX_DEPTH)")  # fmt: skip


def too_many(limits: FilterLimits) -> InputError:
    return InputError(f"filter: too many terms (at most {limits.max_nodes:,} values, names and operators, "
                      f"PETA_FILTER_MAX_NODES)")  # fmt: skip


def check_length(text: str, limits: FilterLimits) -> None:
    """InputError when the filter has more characters than allowed."""
    if len(text) > limits.max_chars:
        raise too_long(limits, len(text))


# --- CQL2 text -------------------------------------------------------------------------------------


def _skip_quoted(text: str, start: int) -> int:
    """The index after the quoted string or identifier opening at `start` (a doubled quote is escaped)."""
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        if text[i] == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n  # unterminated: the parser will say so


def _skip_word(text: str, start: int) -> int:
    """The index after the name, keyword or number starting at `start` (a number's exponent sign included)."""
    i, n = start, len(text)
    while i < n and not text[i].isspace() and text[i] not in _WORD_BOUNDARY:
        if text[i] in "eE" and text[start].isdigit() and i + 1 < n and text[i + 1] in "+-":
            i += 1  # 1e-5: the sign belongs to the number
        i += 1
    return i


def _skip_operator(text: str, start: int) -> int:
    """The index after a one- or two-character operator."""
    if text[start] in "<>" and text[start + 1 : start + 2] in ("=", ">"):
        return start + 2
    return start + 1


class _TextScan:
    """Running measures of a CQL2 text: the nesting depth so far and the number of terms."""

    def __init__(self, limits: FilterLimits) -> None:
        self.limits = limits
        self.outer: list[tuple[int, int, int]] = []  # (base, nots, chain) of each enclosing level
        self.base = 0  # depth of the enclosing parentheses
        self.nots = 0  # a run of NOT prefixes at this level
        self.chain = 0  # chained arithmetic operators at this level (left-deep trees)
        self.nodes = 0
        self.operand = False  # the last token ends an operand (so a following '-' is binary)

    def level(self) -> int:
        return self.base + self.nots + self.chain

    def deeper(self) -> None:
        if self.level() > self.limits.max_depth:
            raise too_deep(self.limits)

    def term(self) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise too_many(self.limits)

    def open(self) -> None:
        self.outer.append((self.base, self.nots, self.chain))
        self.base, self.nots, self.chain = self.level() + 1, 0, 0
        self.operand = False
        self.deeper()

    def close(self) -> None:
        if self.outer:  # an unbalanced ')' is the parser's to report
            self.base, self.nots, self.chain = self.outer.pop()
        self.operand = True

    def separator(self) -> None:
        """AND, OR or a comma: what follows is a sibling, not a child."""
        self.nots = self.chain = 0
        self.operand = False

    def word(self, word: str) -> None:
        self.term()
        lower = word.lower()
        if lower == "not":
            self.nots += 1
            self.operand = False
            self.deeper()
        elif lower in _SEPARATORS:
            self.separator()
        else:
            self.operand = True

    def operator(self, op: str) -> None:
        self.term()
        if op[0] in _ARITHMETIC and (op != "-" or self.operand):
            self.chain += 1
            self.deeper()
        elif op[0] in _COMPARISON:
            self.chain = 0
        self.operand = False


def check_text(text: str, limits: FilterLimits) -> None:
    """InputError when a CQL2 text is too long, nests too deeply or has too many terms (one pass, no recursion)."""
    check_length(text, limits)
    scan = _TextScan(limits)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            scan.open()
            i += 1
        elif c == ")":
            scan.close()
            i += 1
        elif c == ",":
            scan.separator()
            i += 1
        elif c in "'\"":
            end = _skip_quoted(text, i)
            scan.word(text[i:end])
            i = end
        elif c in _ARITHMETIC or c in _COMPARISON:
            end = _skip_operator(text, i)
            scan.operator(text[i:end])
            i = end
        else:
            end = max(_skip_word(text, i), i + 1)
            scan.word(text[i:end])
            i = end


# --- CQL2-JSON -------------------------------------------------------------------------------------


def _json_containers(text: str) -> int:
    """The deepest nesting of objects and arrays outside strings (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "}]":
            depth -= 1
    return deepest


def load_json(text: str, limits: FilterLimits) -> Any:
    """A CQL2-JSON filter as Python values, its nesting checked before json.loads (which recurses)."""
    check_length(text, limits)
    allowed = _JSON_CONTAINERS_PER_LEVEL * limits.max_depth + _JSON_LEAF_CONTAINERS
    if _json_containers(text) > allowed:
        raise too_deep(limits)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"filter is not valid cql2-json: not JSON ({exc})") from exc


# --- parsed trees ----------------------------------------------------------------------------------


def check_tree(tree: Any, limits: FilterLimits) -> None:
    """InputError when a CQL2-JSON tree nests more operations than allowed or has too many terms.

    Every operation ({"op": …}) is one level; operations, names and literal values (each coordinate of a
    geometry too) are terms. The walk keeps its own stack.
    """
    nodes = 0
    stack: list[tuple[Any, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if "op" in node:
                depth += 1
                nodes += 1
                if depth > limits.max_depth:
                    raise too_deep(limits)
                children: Any = node.get("args", [])
            else:
                children = list(node.values())
            stack.extend((c, depth) for c in (children if isinstance(children, list) else [children]))
        elif isinstance(node, list):
            stack.extend((c, depth) for c in node)
        else:
            nodes += 1
        if nodes > limits.max_nodes:
            raise too_many(limits)


# --- geometry literals -----------------------------------------------------------------------------


def count_vertices(tree: Any) -> int:
    """The positions in every geometry literal of a CQL2-JSON tree, a BBOX counting as its 4 corners (no recursion)."""
    count = 0
    stack: list[tuple[Any, bool]] = [(tree, False)]  # (node, inside a geometry's coordinates)
    while stack:
        node, inside = stack.pop()
        if isinstance(node, list):
            if inside and node and not isinstance(node[0], list):
                count += 1  # a position
            else:
                stack.extend((v, inside) for v in node)
        elif isinstance(node, dict):
            if isinstance(node.get("bbox"), list):
                count += 4
            elif "coordinates" in node and "type" in node:
                stack.append((node["coordinates"], True))
            else:
                stack.extend((v, False) for v in node.values())
    return count


def too_many_vertices(what: str, count: int, most: int, who: str, setting: str) -> InputError:
    """`what` has `count` vertices, over the `most` a `who` caller may send (`setting`)."""
    return InputError(f"{what} {count:,} vertices; at most {most:,} for {who} requests ({setting})")
