"""CQL2 filters are bounded before the parser sees them (issue 12: a few thousand parentheses crashed the
process): what each bound counts, and the worst filter the bounds allow parsed in a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from core.errors import InputError
from core.settings import Settings
from gis.cql import parse
from gis.cql_bounds import FilterLimits, check_text, check_tree, load_json
from tests.conftest import REPO

SMALL = FilterLimits(max_chars=200, max_depth=4, max_nodes=12)
DEPTH = "filter: nested too deeply (at most 4 levels of parentheses, NOT, functions or chained arithmetic, " \
        "PETA_FILTER_MAX_DEPTH)"  # fmt: skip
TERMS = "filter: too many terms (at most 12 values, names and operators, PETA_FILTER_MAX_NODES)"


def _refusal(text: str, lang: str = "cql2-text", limits: FilterLimits = SMALL) -> str | None:
    try:
        parse(text, lang, limits)
    except InputError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("text,refusal", [
    ("((((a = 1))))", None),  # 4 levels of parentheses
    ("(((((a = 1)))))", DEPTH),
    ("NOT NOT NOT a = 1", None),  # 3 NOT and the comparison: 4 operations deep
    ("NOT NOT NOT NOT a = 1", DEPTH),
    ("a = 1 + 2 + 3 + 4", None),  # chained arithmetic nests: = over + over + over +
    ("a = 1 + 2 + 3 + 4 + 5", DEPTH),
    ("a = -1 AND NOT b = 2 AND NOT c = 3 AND NOT d = 4", TERMS),  # siblings do not nest, but they count
    ("NOT a = 1 AND NOT b = 2", None),
    ("a = ')))(((((((' AND b = \"((((((\"", None),  # parentheses in quotes are text
    ("a IN (1, 2, 3, 4, 5, 6, 7, 8, 9)", None),  # 11 terms
    ("a IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)", TERMS),
    ("a = 1e-5", None),  # the exponent's sign is no subtraction
    ("a = '" + "x" * 200 + "'", "filter: too long (206 characters; at most 200, PETA_FILTER_MAX_CHARS)"),
])  # fmt: skip
def test_what_each_bound_counts_in_cql2_text(text, refusal):
    assert _refusal(text) == refusal


def test_the_text_scan_refuses_before_parsing_and_without_recursion():
    limits = FilterLimits(max_chars=1_000_000, max_depth=30, max_nodes=100_000)
    with pytest.raises(InputError, match="PETA_FILTER_MAX_DEPTH"):
        check_text("(" * 200_000 + "a = 1" + ")" * 200_000, limits)  # the parser would crash on this
    with pytest.raises(InputError, match="PETA_FILTER_MAX_DEPTH"):
        check_text("NOT " * 200_000 + "a = 1", limits)
    with pytest.raises(InputError, match="PETA_FILTER_MAX_NODES"):
        check_text("a IN (" + ",".join(["1"] * 100_001) + ")", limits)


def _nested_not(levels: int) -> str:
    return '{"op": "not", "args": [' * levels + '{"op": "=", "args": [{"property": "a"}, 1]}' + "]}" * levels


def test_what_each_bound_counts_in_cql2_json():
    assert _refusal(_nested_not(3), "cql2-json") is None
    assert _refusal(_nested_not(4), "cql2-json") == DEPTH
    assert _refusal("[" * 100_000 + "]" * 100_000, "cql2-json", FilterLimits(10**6, 4, 12)) == DEPTH
    brackets_in_text = json.dumps({"op": "=", "args": [{"property": "a"}, "[[[[[[[[[[[[[[[[[[[[{{{{{{{{"]})
    assert _refusal(brackets_in_text, "cql2-json") is None
    ins = json.dumps({"op": "in", "args": [{"property": "a"}, list(range(11))]})
    assert _refusal(ins, "cql2-json") == TERMS
    assert _refusal('{"op": "=", "args": [', "cql2-json").startswith("filter is not valid cql2-json: not JSON")


def test_json_is_measured_before_json_loads_and_trees_without_recursion():
    limits = FilterLimits(max_chars=10**7, max_depth=100, max_nodes=10**6)
    with pytest.raises(InputError, match="PETA_FILTER_MAX_DEPTH"):
        load_json("[" * 1_000_000 + "]" * 1_000_000, limits)  # json.loads would raise RecursionError
    deep: dict = {"op": "=", "args": [{"property": "a"}, 1]}
    for _ in range(5_000):  # deeper than Python's recursion limit
        deep = {"op": "not", "args": [deep]}
    with pytest.raises(InputError, match="PETA_FILTER_MAX_DEPTH"):
        check_tree(deep, limits)


# The worst filters the bounds allow, at the defaults and at the largest values the settings accept: each
# is parsed and translated to SQL in a child process, so that a crash (a stack overflow is a SIGSEGV, not
# an exception) fails this test instead of killing the test run.
_WORST = textwrap.dedent("""
    import json, sys
    from psycopg import sql
    from gis.cql import Queryable, parse, to_sql
    from gis.cql_bounds import FilterLimits

    chars, depth, nodes = (int(v) for v in sys.argv[1:4])
    limits = FilterLimits(chars, depth, nodes)
    q = {"a": Queryable(sql.Identifier("a"), "number"), "s": Queryable(sql.Identifier("s"), "string")}
    n = depth - 1  # the operations under the outermost one
    json_not = '{"op": "not", "args": [' * n + '{"op": "=", "args": [{"property": "a"}, 1]}' + "]}" * n
    terms = min(nodes - 2, (chars - 10) // 2)  # a IN (1,1,…): two terms besides the list
    filters = {
        "parentheses": ("(" * depth + "a = 1" + ")" * depth, "cql2-text"),
        "not": ("NOT " * n + "a = 1", "cql2-text"),
        "arithmetic": ("a = " + " + ".join(["1"] * depth), "cql2-text"),
        "bracketed arithmetic": ("a = " + "(" * (n // 2) + "1" + " + 1)" * (n // 2), "cql2-text"),
        "casei": ("CASEI(" * (depth - 2) + "s" + ")" * (depth - 2) + " = 'x'", "cql2-text"),
        "terms": ("a IN (" + ",".join(["1"] * terms) + ")", "cql2-text"),
        "json not": (json_not, "cql2-json"),
    }
    for name, (text, lang) in filters.items():
        tree = parse(text, lang, limits)
        to_sql(tree, q, sql.Identifier("geom")).as_string(None)
        print(name, "ok", flush=True)
""")


def _bounds(settings_field: str) -> tuple[int, int]:
    """A setting's default and the largest value it accepts."""
    field = Settings.model_fields[settings_field]
    most = next(m.le for m in field.metadata if hasattr(m, "le"))
    return field.default, most


@pytest.mark.parametrize("which", [0, 1], ids=["defaults", "largest settings"])
def test_the_worst_allowed_filters_parse_in_a_child_process(which):
    values = [str(_bounds(f"filter_max_{name}")[which]) for name in ("chars", "depth", "nodes")]
    run = subprocess.run([sys.executable, "-c", _WORST, *values], cwd=REPO, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    names = ("parentheses", "not", "arithmetic", "bracketed arithmetic", "casei", "terms", "json not")
    assert run.stdout.splitlines() == [f"{name} ok" for name in names]
