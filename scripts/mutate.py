#!/usr/bin/env python3
"""Mutation testing of the modules that guard people's data and the published figures (issue 19).

Python mutants come from cosmic-ray's operators (a curated set, `--operators all` for every one);
SQL mutants from a small line mutator below (comparisons swapped, integers +-1, AND<->OR, a WHERE/AND
condition dropped). Every mutant is applied to a private copy of the repository (never to this tree),
and the module's tests run there with `-x` and a timeout: the session fixture of tests/conftest.py
creates and migrates a throwaway database, so a mutated migration is what the tests see.

Which tests, in which order: the unmutated run records, with coverage.py (through pytest-cov's per-test
contexts), which tests execute each Python line. A Python mutant runs only the tests that execute its line
(all of the module's tests when the line runs at import time; none when no test executes it: it survives,
reported as `uncovered`). A SQL mutant runs all of the module's tests. Either way the tests that have
killed the most mutants of the same file so far go first, so that a killed mutant stops early.

    .venv/bin/python scripts/mutate.py --limit 5            # a sample, every module
    .venv/bin/python scripts/mutate.py --module audit       # one module, every mutant
    .venv/bin/python scripts/mutate.py --list               # the modules, files and tests

killed = the tests fail, survived = they pass (or none executes the line: `uncovered`, a survivor),
timeout = over --timeout (counted as killed in the rate), incompetent = the mutated migration does not even
apply (reported apart, not in the rate).
The report goes to tests/artifacts/mutation.json.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Src:
    """A file to mutate, optionally only some of it: Python functions by name, or 1-based line ranges."""

    path: str
    functions: tuple[str, ...] = ()
    lines: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Module:
    doc: str
    sources: tuple[Src, ...]
    tests: tuple[str, ...]


MODULES: dict[str, Module] = {
    "scopes": Module(
        "scopes and policy: who sees which families and which routes each role may call",
        (Src("core/scope.py"), Src("gis/scope_sql.py"), Src("api/policy.py")),
        (
            "tests/api/test_policy.py",
            "tests/api/test_scope.py",
            "tests/api/test_route_matrix.py",
            "tests/api/test_listing_scope.py",
            "tests/api/test_scope_rules.py",
        ),
    ),
    "disclosure": Module(
        "disclosure control and publishing: cell-key noise, small-cell suppression, published figures",
        (
            Src("gis/disclosure.py"),
            # only what is still live: 0011's peta_stats_keys_rt and publishing block were replaced by 0018's,
            # 0018's peta_stats_rt and peta_stats_keys_rt by 0020's, 0007's peta_publish and peta_stats_rollup by 0011's
            Src("db/sql/0011_disclosure.sql", lines=((1, 92), (154, 180), (229, 242))),
            Src("db/sql/0018_local_programs.sql", lines=((1, 33), (157, 205))),
            Src("db/sql/0020_kota_settings.sql"),
            Src("db/sql/0007_publish.sql", lines=((1, 33),)),
        ),
        (
            "tests/gis/test_disclosure_rules.py",
            "tests/gis/test_disclosure.py",
            "tests/gis/test_edges.py",
            "tests/gis/test_kota_settings.py",
            "tests/gis/test_migrations.py::test_0018_keeps_counting_the_local_programme_a_database_already_holds",
            "tests/gis/test_migrations.py::test_0018_on_a_database_without_the_programme_lists_no_local_programme",
            "tests/disclosure/test_attacks.py",
        ),
    ),
    "audit": Module(
        "the audit chain: hashing, sealing and verification",
        # only what is still live: 0004's chain, append-only and update functions and 0010's chain were
        # replaced by later migrations (a mutant there cannot change anything: an equivalent mutant)
        (
            Src("gis/audit.py"),
            Src("db/sql/0013_audit_seal.sql"),
            Src("db/sql/0004_audit.sql", lines=((1, 30), (50, 88), (106, 116))),
            Src("db/sql/0010_integrity.sql", lines=((1, 42), (58, 92))),
        ),  # 1. and 2.: the encoding, the key triggers
        ("tests/gis/test_audit.py", "tests/gis/test_audit_chain.py"),
    ),
    "ranking": Module(
        "ranking and criteria: scores, categories, local desil and the ranked lists",
        (
            Src("gis/ranking.py"),
            # peta_cfg .. peta_criteria; peta_refresh_scores as 0019 writes it; 0016's desil group; the rest of the
            # ranking as 0021 writes it (0002's and 0016's other functions were replaced before any row reaches them)
            Src("db/sql/0002_registry.sql", lines=((80, 120),)),
            Src("db/sql/0016_desil_per_kota.sql", lines=((1, 8),)),
            Src("db/sql/0019_kota_keys.sql", lines=((165, 194),)),
            Src("db/sql/0021_refresh_per_kota.sql"),
        ),
        (
            "tests/gis/test_ranking_rules.py",
            "tests/gis/test_stats.py",
            "tests/gis/test_edges.py",
            "tests/gis/test_refresh_per_kota.py",
            "tests/peta/test_cli_registry.py",
            "tests/peta/test_cli_commands.py",
            "tests/api/test_verval.py::test_priorities_are_ranked_and_explained",
        ),
    ),
    "verval_flags": Module(
        "the visit flags: own family, no/far/imprecise position, speed, bursts, identical answers, back-checks",
        (Src("verval/flags.py", functions=("visit_flags", "differences", "compare_backcheck")),),
        ("tests/api/test_verval_checks.py", "tests/gis/test_edges.py", "tests/api/test_visit_flags.py"),
    ),
    "import": Module(
        "the registry import's all-or-nothing rule",
        (Src("registry/importer.py"),),
        ("tests/registry", "tests/peta/test_cli_registry.py::test_bad_file_exits_non_zero_and_writes_nothing"),
    ),
    "geomask": Module(
        "donut geomasking of the points agencies receive",
        # 0006's function runs as peta_geomask_unchecked, behind 0007's check of the radii
        (Src("db/sql/0006_geomask.sql"), Src("db/sql/0007_publish.sql", lines=((141, 154),))),
        (
            "tests/gis/test_geomask.py",
            "tests/gis/test_disclosure.py::test_geomasked_points_stay_in_their_kelurahan_within_the_ring",
            "tests/api/test_ogc.py::test_agency_with_an_agreement_gets_geomasked_pseudonymous_points",
        ),
    ),
}

# cosmic-ray operators used by default: the same families as the SQL mutator (boundaries and negation of
# comparisons, arithmetic, constants, and/or, dropped or negated conditions) without the 10-per-operator
# cross product of the full set.
CURATED_OPERATORS = (
    "core/ReplaceComparisonOperator_Eq_NotEq",
    "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceComparisonOperator_Lt_LtE",
    "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_Gt_GtE",
    "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_Lt_GtE",
    "core/ReplaceComparisonOperator_Gt_LtE",
    "core/ReplaceComparisonOperator_Is_IsNot",
    "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceBinaryOperator_Add_Sub",
    "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_Div",
    "core/ReplaceBinaryOperator_Div_Mul",
    "core/ReplaceBinaryOperator_FloorDiv_Mul",
    "core/ReplaceBinaryOperator_Mod_FloorDiv",
    "core/ReplaceBinaryOperator_Pow_Mul",
    "core/ReplaceBinaryOperator_BitOr_BitAnd",
    "core/ReplaceBinaryOperator_BitAnd_BitOr",
    "core/ReplaceUnaryOperator_USub_UAdd",
    "core/ReplaceUnaryOperator_Delete_Not",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/AddNot",
    "core/NumberReplacer",
    "core/ReplaceBreakWithContinue",
    "core/ReplaceContinueWithBreak",
    "core/ExceptionReplacer",
    "core/ZeroIterationForLoop",
    "core/RemoveDecorator",
)


_WHOLE_TREE = {"core/RemoveDecorator"}


@dataclass
class Mutant:
    module: str
    path: str
    line: int
    kind: str  # the cosmic-ray operator, or sql/<rule>
    before: str
    after: str
    mutated: str = field(repr=False)  # the whole mutated file
    status: str = ""
    seconds: float = 0.0
    tests: int = 0  # how many tests ran against it
    killer: str = ""  # the first test that failed
    why: str = ""  # the explanation, when it is a known equivalent mutant

    def public(self) -> dict[str, object]:
        d = asdict(self)
        del d["mutated"]
        return d


# ---------------------------------------------------------------------------------------------------
# Python mutants (cosmic-ray)


def _python_mutants(module: str, src: Src, operators: str) -> list[Mutant]:
    import cosmic_ray.plugins
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code

    code = (REPO / src.path).read_text()
    keep = _line_filter(src, code)
    names = cosmic_ray.plugins.operator_names() if operators == "all" else CURATED_OPERATORS
    in_annotation = _annotation_filter(code)
    tree = get_ast(code)  # parsed once: each mutant is made on a copy of the one node it changes
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out: list[Mutant] = []
    seen: set[str] = set()
    for name in names:
        cls = cosmic_ray.plugins.get_operator(name)
        if cls.arguments():  # VariableReplacer/Inserter need a cause and an effect to be named
            continue
        op = cls()
        occurrence = -1
        for node in ast_nodes(tree):
            for index, (start, _end) in enumerate(op.mutation_positions(node)):
                occurrence += 1
                if not keep(start[0]) or in_annotation(start):
                    continue  # outside the guarded code, or a type hint (never evaluated: equivalent)
                if name in _WHOLE_TREE:  # changes the parent too: cosmic-ray's own (slower) walk
                    mutated = mutate_code(code, op, occurrence)
                else:
                    mutated = _mutate_node(code, starts, node, op, index)
                if mutated is None or mutated == code or mutated in seen:
                    continue
                seen.add(mutated)
                before, after = _changed_lines(code, mutated)
                out.append(Mutant(module, src.path, start[0], name.removeprefix("core/"), before, after, mutated))
    return out


def _mutate_node(code: str, starts: list[int], node, op, index: int) -> str | None:
    """The source with `op` applied at `index` of `node`, made on a detached copy of that node alone."""
    import copy

    parent, node.parent = node.parent, None
    try:
        twin = copy.deepcopy(node)
    finally:
        node.parent = parent
    twin.parent = parent  # read-only use by operators that look up (the copy is not linked in)
    old = node.get_code()  # with its prefix (the whitespace and comments before it)
    new = op.mutate(twin, index)
    if new is None:
        return None
    line, col = node.start_pos
    at = starts[line - 1] + col - len(node.get_first_leaf().prefix)
    if code[at : at + len(old)] != old:
        raise RuntimeError(f"cannot place the mutant of {node!r} at {line}:{col}")
    return code[:at] + new.get_code() + code[at + len(old) :]


def _annotation_filter(code: str):
    """True for a (line, column) inside a type annotation (parameters, returns, annotated assignments)."""
    lines = code.splitlines()

    def char_col(line: int, byte_col: int) -> int:
        return len(lines[line - 1].encode()[:byte_col].decode(errors="ignore"))

    spans = []
    for node in ast.walk(ast.parse(code)):
        notes = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            notes.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            notes.append(node.returns)
        for a in notes:
            spans.append(
                (
                    (a.lineno, char_col(a.lineno, a.col_offset)),
                    (a.end_lineno or a.lineno, char_col(a.end_lineno or a.lineno, a.end_col_offset or 0)),
                )
            )
    return lambda pos: any(a <= tuple(pos) < b for a, b in spans)


def _line_filter(src: Src, code: str):
    if src.functions:
        spans = []
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in src.functions:
                spans.append((node.lineno, node.end_lineno or node.lineno))
        missing = set(src.functions) - {
            n.name for n in ast.walk(ast.parse(code)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if missing:
            raise SystemExit(f"{src.path}: no function {', '.join(sorted(missing))}")
        return lambda line: any(a <= line <= b for a, b in spans)
    if src.lines:
        return lambda line: any(a <= line <= b for a, b in src.lines)
    return lambda line: True


def _changed_lines(a: str, b: str) -> tuple[str, str]:
    minus, plus = [], []
    for d in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0):
        if d.startswith("-") and not d.startswith("---"):
            minus.append(d[1:].strip())
        elif d.startswith("+") and not d.startswith("+++"):
            plus.append(d[1:].strip())
    return " / ".join(minus), " / ".join(plus)


# ---------------------------------------------------------------------------------------------------
# SQL mutants (one line each)

_CMP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "=": "<>", "<>": "=", "!=": "="}
_OPERATOR = re.compile(r"[<>=!~@#%^&|`?+\-*/:]+")
_INT = re.compile(r"(?<![\w$.])\d+(?![\w.])|(?<=\.\.)\d+(?![\w.])")
_TYPE_ARG = re.compile(
    r"\b(numeric|decimal|varchar|char|character varying|bit|time|timestamp|timestamptz|"
    r"interval|geometry|geography)\s*\([^)]*$",
    re.I,
)
_STOP = re.compile(r"\$\$|\b(AND|OR|THEN|LOOP|ORDER|GROUP|LIMIT|RETURNING|ON CONFLICT|FOR UPDATE|UNION|WINDOW)\b", re.I)
# lines where a change is not a change of behaviour the tests could see (storage, grants, comments)
_SKIP_LINE = re.compile(r"fillfactor|^\s*(GRANT|REVOKE|COMMENT ON|ALTER\s+\w+\s+OWNER)\b", re.I)


def _code_mask(line: str) -> list[bool]:
    """True at each character of `line` that is SQL code (not inside a '...' literal or a -- comment)."""
    mask = [True] * len(line)
    i, quoted = 0, False
    while i < len(line):
        c = line[i]
        if quoted:
            mask[i] = False
            if c == "'":
                if i + 1 < len(line) and line[i + 1] == "'":
                    mask[i + 1] = False
                    i += 1
                else:
                    quoted = False
        elif c == "'":
            mask[i], quoted = False, True
        elif line.startswith("--", i):
            for j in range(i, len(line)):
                mask[j] = False
            break
        i += 1
    return mask


def _operand_end(line: str, start: int, mask: list[bool]) -> int:
    """Where the boolean operand starting at `start` ends: at depth 0, the next AND/OR/THEN/..., ';', ')'."""
    depth, i = 0, start
    while i < len(line):
        if not mask[i]:
            i += 1
            continue
        c = line[i]
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
        elif c in ";," and depth == 0:
            return i
        elif depth == 0:
            m = _STOP.match(line, i)
            if m and i > start and not line[i - 1].isalnum() and line[i - 1] != "_":
                return i
        i += 1
    return len(line) if depth == 0 else None  # the operand goes on past this line: not a one-line mutant


def _sql_line_mutants(line: str) -> list[tuple[str, str]]:
    """(rule, mutated line) for one line of SQL."""
    if not line.strip() or line.lstrip().startswith("--") or _SKIP_LINE.search(line):
        return []
    mask = _code_mask(line)
    out: list[tuple[str, str]] = []
    for m in _OPERATOR.finditer(line):
        if m.group() == "=" and re.search(r"\bSET\b(?!.*\bWHERE\b)", line[: m.start()], re.I):
            continue  # an assignment (UPDATE ... SET x = y, SET search_path = ...), not a comparison
        if mask[m.start()] and m.group() in _CMP:
            out.append(("cmp", line[: m.start()] + _CMP[m.group()] + line[m.end() :]))
    for m in _INT.finditer(line):
        if not mask[m.start()] or _TYPE_ARG.search(line[: m.start()]):
            continue
        n = int(m.group())
        out.append(("int+1", line[: m.start()] + str(n + 1) + line[m.end() :]))
        out.append(("int-1", line[: m.start()] + str(n - 1) + line[m.end() :]))
    for m in re.finditer(r"\b(AND|OR)\b", line, re.I):
        if not mask[m.start()]:
            continue
        if m.group().upper() == "AND" and re.search(r"\bBETWEEN\b(?!.*\bAND\b)", line[: m.start()], re.I):
            continue  # x BETWEEN a AND b
        if re.search(r"\bCREATE\s+(OR\s+REPLACE|FUNCTION|TRIGGER|VIEW)\b", line, re.I) and m.group().upper() == "OR":
            continue  # CREATE OR REPLACE
        swap = "OR" if m.group().upper() == "AND" else "AND"
        out.append((f"{m.group().lower()}->{swap.lower()}", line[: m.start()] + swap + line[m.end() :]))
        if m.group().upper() == "AND":  # drop the condition that follows
            end = _operand_end(line, m.end(), mask)
            if end is not None and line[m.end() : end].strip():
                head = line[: m.start()].rstrip()
                out.append(
                    (
                        "drop-and",
                        (head + " " + line[end:].lstrip()).rstrip()
                        if head.strip()
                        else line[: m.start()] + line[end:].lstrip(),
                    )
                )
    for m in re.finditer(r"\bWHERE\b", line, re.I):
        if not mask[m.start()]:
            continue
        end = _operand_end(line, m.end(), mask)
        if end is not None and line[m.end() : end].strip() and line[m.end() : end].strip().lower() != "true":
            out.append(("drop-where", line[: m.end()] + " true " + line[end:].lstrip()))
    return [(rule, new) for rule, new in out if new != line]


def _sql_mutants(module: str, src: Src) -> list[Mutant]:
    text = (REPO / src.path).read_text()
    lines = text.splitlines(keepends=True)
    keep = _line_filter(src, text)
    out: list[Mutant] = []
    for no, raw in enumerate(lines, 1):
        if not keep(no):
            continue
        body = raw.rstrip("\n")
        for rule, new in _sql_line_mutants(body):
            mutated = "".join(lines[: no - 1]) + new + raw[len(body) :] + "".join(lines[no:])
            out.append(Mutant(module, src.path, no, f"sql/{rule}", body.strip(), new.strip(), mutated))
    return out


def mutants_of(name: str, operators: str) -> list[Mutant]:
    out: list[Mutant] = []
    for src in MODULES[name].sources:
        if src.path.endswith(".py"):
            out += _python_mutants(name, src, operators)
        else:
            out += _sql_mutants(name, src)
    return out


def sample(mutants: list[Mutant], limit: int | None, seed: str) -> list[Mutant]:
    """At most `limit` mutants, the same ones on every run (seeded by the module's name)."""
    if limit is None or len(mutants) <= limit:
        return mutants
    picked = sorted(random.Random(seed).sample(range(len(mutants)), limit))
    return [mutants[i] for i in picked]


@dataclass(frozen=True)
class Equivalent:
    """A survivor that no test can kill, with why: matched by file and by text in the line before and after."""

    path: str
    before: str
    after: str
    why: str
    kind: str = ""  # when given, the mutant's kind must start with it (e.g. sql/drop-and)


# Every survivor left after the tests were written, explained, in mutate_equivalents.toml.
EQUIVALENTS = Path(__file__).with_name("mutate_equivalents.toml")


def _load_equivalents() -> tuple[Equivalent, ...]:
    import tomllib

    data = tomllib.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    return tuple(Equivalent(**e) for e in data.get("equivalent", []))


EQUIVALENT = _load_equivalents()


def equivalent(m: Mutant) -> str:
    for e in EQUIVALENT:
        if m.path == e.path and e.before in m.before and e.after in m.after and m.kind.startswith(e.kind):
            return e.why
    return ""


# ---------------------------------------------------------------------------------------------------
# Running


class Sandbox:
    """A private copy of the repository (its parent holds a link to ../shared, where tests find data)."""

    def __init__(self, url: str | None, keep: bool) -> None:
        self.url, self.keep = url, keep
        self.root = Path(tempfile.mkdtemp(prefix="peta-mutate-"))
        self.repo = self.root / REPO.name
        subprocess.run(
            [
                "rsync",
                "-a",
                "--exclude",
                ".venv",
                "--exclude",
                ".peta*",
                "--exclude",
                ".git",
                "--exclude",
                "__pycache__",
                "--exclude",
                ".*_cache",
                "--exclude",
                "tests/artifacts/*",
                f"{REPO}/",
                f"{self.repo}/",
            ],
            check=True,
        )
        shared = REPO.parent / "shared"
        if shared.exists():
            (self.root / "shared").symlink_to(shared)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def _env(self) -> dict[str, str]:
        env = dict(
            os.environ,
            PYTHONPATH=str(self.repo),
            PYTHONDONTWRITEBYTECODE="1",
            PETA_HOME=str(self.root / ".peta"),
            PETA_TEST_HOME=str(REPO / ".peta-test"),
            COVERAGE_FILE=str(self.root / ".coverage"),
            # no third-party plugin is loaded unless named (-p pytest_cov for the coverage run): their imports
            # (schemathesis, hypothesis) took 1.8 of the 3 s a killed mutant's pytest needed to start
            PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        )
        if self.url:
            env["TEST_DATABASE_URL"] = self.url
        return env

    def collect(self, tests: tuple[str, ...]) -> list[str]:
        """The test ids that `tests` select, in pytest's order."""
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *tests,
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
            ],
            cwd=self.repo,
            env=self._env(),
            capture_output=True,
            text=True,
        )
        ids = [line for line in proc.stdout.splitlines() if "::" in line and not line.startswith(" ")]
        if proc.returncode != 0 or not ids:
            raise SystemExit(f"cannot collect {' '.join(tests)}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return ids

    def coverage(self, sources: list[str]) -> dict[str, dict[int, set[str]]]:
        """path -> line -> the test ids that executed it ('' for import time), from the last --cov run."""
        import coverage

        data = coverage.CoverageData(str(self.root / ".coverage"))
        data.read()
        out: dict[str, dict[int, set[str]]] = {}
        for path in sources:
            by_line = data.contexts_by_lineno(str(self.repo / path)) or {}
            out[path] = {line: {c.rsplit("|", 1)[0] for c in ctx} for line, ctx in by_line.items()}
        return out

    def pytest(
        self, tests: tuple[str, ...] | list[str], timeout: float, extra: tuple[str, ...] = ()
    ) -> tuple[str, float, str]:
        """Run the tests in the copy: ('passed' | 'failed' | 'timeout', seconds, output tail)."""
        env = self._env()
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *tests,
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--no-header",
            "-o",
            "addopts=",
            *extra,
        ]
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=self.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            if self.url:
                self._drop_leftovers(proc.pid)
            return "timeout", time.monotonic() - t0, (out or "")[-3000:]
        seconds = time.monotonic() - t0
        if proc.returncode == 0:
            return "passed", seconds, out[-3000:]
        if proc.returncode == 5:  # no tests collected: a wrong test id is a bug of this map, not a kill
            raise SystemExit(f"no tests collected for {' '.join(tests)}:\n{out[-2000:]}")
        return "failed", seconds, out[-3000:]

    def _drop_leftovers(self, pid: int) -> None:
        """The throwaway databases of a killed pytest (tests/conftest.py names them peta_test_<tag>_<pid>_...)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as c:
            names = [
                r[0]
                for r in c.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"peta_test_%\\_{pid}\\_%",)
                )
            ]
            for name in names:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def apply(self, m: Mutant) -> str:
        path = self.repo / m.path
        original = path.read_text()
        path.write_text(m.mutated)
        return original


def _incompetent(output: str) -> bool:
    """The mutated migration failed to apply: the session's database could not be built."""
    return "ERROR at setup" in output and ("db/migrations" in output or "alembic" in output)


# the test id of a short-summary line; a parametrized id may hold spaces: "FAILED t.py::f[UPDATE x] - why"
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+?::[^\s\[]+(?:\[.*?\])?)(?: - |$)", re.M)


def run_module(
    box: Sandbox,
    name: str,
    mutants: list[Mutant],
    timeout: float | None,
    log,
    kept: list[Mutant] | None = None,
    tests: tuple[str, ...] = (),
) -> dict:
    mod = MODULES[name]
    if tests:  # --tests: a trial of new tests against some mutants
        mod = Module(mod.doc, mod.sources, tests)
    order = box.collect(mod.tests)
    python = sorted({s.path for s in mod.sources if s.path.endswith(".py")})
    cov: tuple[str, ...] = ()
    if python:
        cov = ("-p", "pytest_cov", "--cov-context=test", "--cov-report=", *(f"--cov={Path(p).parent}" for p in python))
    status, base, out = box.pytest(mod.tests, timeout=3600, extra=cov)
    if status != "passed":
        log(f"[{name}] the tests fail without any mutant; skipped\n{out[-2000:]}")
        return {"module": name, "error": "tests fail on the unmutated tree", "baseline_seconds": round(base, 1)}
    lines = box.coverage(python) if python else {}
    for path in python:  # a line coverage does not report (inside a multi-line statement): its statement's
        starts = _statement_starts((box.repo / path).read_text())
        for line, start in starts.items():
            if line not in lines[path] and start in lines[path]:
                lines[path][line] = lines[path][start]
    limit = timeout or max(60.0, 3 * base)
    log(f"[{name}] baseline {base:.1f}s ({len(order)} tests), {len(mutants)} mutants, timeout {limit:.0f}s")
    kills: dict[str, dict[str, int]] = {}  # path -> test id -> mutants of that file it killed
    rank = {t: i for i, t in enumerate(order)}
    alone: dict[str, bool] = {}  # killer test -> passes when run alone on the unmutated tree
    for i, m in enumerate(mutants, 1):
        chosen = [t for t in _tests_for(m, order, lines) if alone.get(t, True)]
        if not chosen:
            m.status, m.seconds = "uncovered", 0.0
            log(f"[{name}] {i}/{len(mutants)} {m.status:<11} {m.seconds:6.1f}s {m.path}:{m.line} {m.kind}")
            continue
        tally, anywhere = kills.setdefault(m.path, {}), kills.setdefault("", {})
        chosen = sorted(chosen, key=lambda t: (-tally.get(t, 0), -anywhere.get(t, 0), rank.get(t, 0)))
        while True:
            original = box.apply(m)
            try:
                result, m.seconds, out = box.pytest(chosen, timeout=limit)
            finally:
                (box.repo / m.path).write_text(original)
            m.killer = next(iter(_FAILED.findall(out)), "") if result == "failed" else ""
            if not m.killer or m.killer in alone:
                break
            # a kill counts only if its test passes on its own without the mutant: a test that fails when run
            # first (it leans on what others leave) would "kill" every mutant it meets
            alone[m.killer] = box.pytest([m.killer], timeout=limit)[0] == "passed"
            if alone[m.killer]:
                break
            log(f"[{name}] {m.killer} fails when run alone on the unmutated tree: left out of this run")
            chosen = [t for t in chosen if t != m.killer]
            if not chosen:
                result, out = "passed", ""
                break
        m.status = {"passed": "survived", "timeout": "timeout"}.get(result, "killed")
        if result == "failed" and m.path.endswith(".sql") and _incompetent(out):
            m.status = "incompetent"
        if m.status == "killed" and m.killer:
            tally[m.killer] = tally.get(m.killer, 0) + 1
            anywhere[m.killer] = anywhere.get(m.killer, 0) + 1
        m.tests = len(chosen)
        log(
            f"[{name}] {i}/{len(mutants)} {m.status:<11} {m.seconds:6.1f}s {m.path}:{m.line} {m.kind}"
            f" ({len(chosen)} tests{', ' + m.killer if m.killer else ''})"
        )
    leaning = sorted(t for t, ok in alone.items() if not ok)
    result = summarize(name, [*(kept or []), *mutants], base, limit)
    result["tests_failing_alone"] = leaning
    return result


def _key(m: Mutant | dict) -> tuple:
    d = m if isinstance(m, dict) else asdict(m)
    return d["path"], d["kind"], d["before"], d["after"], d["line"]


def _revive(d: dict) -> Mutant:
    return Mutant(**{k: v for k, v in d.items() if k in Mutant.__dataclass_fields__ and k != "why"}, mutated="")


def _resummarize(r: dict) -> dict:
    if "error" in r:
        return r
    return summarize(r["module"], [_revive(d) for d in r["mutants"]], r["baseline_seconds"], r["timeout_seconds"])


def _statement_starts(code: str) -> dict[int, int]:
    """line -> the first line of the innermost statement it belongs to (for a def or class: of its header,
    whose lines coverage reports under the `def` line; decorators count as that line too)."""
    out: dict[int, int] = {}
    for node in ast.walk(ast.parse(code)):  # outer statements first: inner ones overwrite their lines
        if not isinstance(node, ast.stmt):
            continue
        end = node.end_lineno or node.lineno
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            end = body[0].lineno - 1  # a compound statement's own lines: its header
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        for line in range(first, end + 1):
            out[line] = node.lineno
    return out


def _matches(m: Mutant, spec: str) -> bool:
    path, _, rest = spec.partition(":")
    line, _, kind = rest.partition(":")
    return m.path == path and (not line or m.line == int(line)) and (not kind or m.kind.startswith(kind))


def _tests_for(m: Mutant, order: list[str], lines: dict[str, dict[int, set[str]]]) -> list[str]:
    """The tests to run against `m`: those that execute its line (Python), every one (SQL or import time)."""
    if m.path not in lines:
        return list(order)
    ran = lines[m.path].get(m.line, set())
    if "" in ran:  # executed while importing: every test depends on it
        return list(order)
    return [t for t in order if t in ran]


def summarize(name: str, mutants: list[Mutant], base: float, limit: float) -> dict:
    """Counts, the rate and the survivors; a survivor explained in EQUIVALENT counts apart, out of the rate."""
    for m in mutants:
        m.why = equivalent(m) if m.status in ("survived", "uncovered", "killed", "timeout") else ""
    count = {
        s: sum(m.status == s and not m.why for m in mutants)
        for s in ("killed", "survived", "uncovered", "timeout", "incompetent")
    }
    count["killed"] += sum(m.status == "killed" and bool(m.why) for m in mutants)
    count["timeout"] += sum(m.status == "timeout" and bool(m.why) for m in mutants)
    count["equivalent"] = sum(m.status in ("survived", "uncovered") and bool(m.why) for m in mutants)
    judged = count["killed"] + count["survived"] + count["uncovered"] + count["timeout"]
    return {
        "module": name,
        "made": len(mutants),
        **count,
        "kill_rate": round((count["killed"] + count["timeout"]) / judged, 3) if judged else None,
        "baseline_seconds": round(base, 1),
        "timeout_seconds": round(limit, 1),
        "mutant_seconds": round(sum(m.seconds for m in mutants), 1),
        "survivors": [m.public() for m in mutants if m.status in ("survived", "uncovered") and not m.why],
        "equivalents": [m.public() for m in mutants if m.status in ("survived", "uncovered") and m.why],
        "stale": [m.public() for m in mutants if m.status in ("killed", "timeout") and m.why],
        "mutants": [m.public() for m in mutants],
    }


def print_report(results: list[dict], totals: dict[str, int]) -> None:
    print()
    print(
        f"{'module':<14}{'total':>7}{'made':>6}{'killed':>8}{'survived':>10}{'uncov.':>8}{'equiv.':>8}{'timeout':>9}"
        f"{'incomp.':>9}{'rate':>8}{'took':>9}{'est. full':>11}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['module']:<14}  {r['error']}")
            continue
        rate = f"{100 * r['kill_rate']:.1f} %" if r["kill_rate"] is not None else "-"
        total = totals.get(r["module"], r["made"])
        est = r["mutant_seconds"] * total / max(r["made"], 1)
        print(
            f"{r['module']:<14}{total:>7}{r['made']:>6}{r['killed']:>8}{r['survived']:>10}{r['uncovered']:>8}"
            f"{r.get('equivalent', 0):>8}{r['timeout']:>9}{r['incompetent']:>9}{rate:>8}"
            f"{r['mutant_seconds'] / 60:>7.1f} m{est / 60:>9.0f} m"
        )
    for r in results:
        for t in r.get("tests_failing_alone", []):
            print(f"[{r['module']}] {t} fails when run alone on the unmutated tree (left out; fix it)")
    for title, key in (
        ("survivors", "survivors"),
        ("equivalent mutants (explained)", "equivalents"),
        ("killed although explained as equivalent (stale explanations)", "stale"),
    ):
        rows = [s for r in results for s in r.get(key, [])]
        if not rows and key != "survivors":
            continue
        print(f"\n{title} ({len(rows)}):")
        for s in rows:
            note = " (no test runs it)" if s["status"] == "uncovered" else ""
            print(
                f"  [{s['module']}] {s['path']}:{s['line']} {s['kind']}{note}"
                f"\n      - {s['before']}\n      + {s['after']}"
            )
            if s.get("why"):
                print(f"      = {s['why']}")
    print(
        "\n'total' is every mutant of the module, 'made' those judged here, 'took' their test runs; 'est. full' is"
        " total x the mean time of a mutant here. uncov. = no test executes the line (a survivor); equiv. = a"
        " survivor explained as an equivalent mutant (out of the rate)."
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--module", action="append", choices=sorted(MODULES), help="only this module (repeatable); default: all"
    )
    p.add_argument("--limit", type=int, help="at most N mutants per module, sampled deterministically")
    p.add_argument("--timeout", type=float, help="seconds per mutant's test run (default: 3x the unmutated run, >= 60)")
    p.add_argument(
        "--operators",
        choices=("curated", "all"),
        default="curated",
        help="cosmic-ray operators: a curated set (default) or every one",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="modules run at once, each in its own copy (the tests are CPU-bound: at most the cores)",
    )
    p.add_argument("--seed", default="peta", help="sampling seed (with --limit)")
    p.add_argument("--list", action="store_true", help="print the modules, their files, tests and mutant counts")
    p.add_argument("--dry-run", action="store_true", help="print the mutants that would run, run nothing")
    p.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="a PostGIS server the tests create their throwaway databases on (default: TEST_DATABASE_URL;"
        " without either, the tests' embedded cluster under .peta-test, started and stopped per run)",
    )
    p.add_argument("--report", default=str(REPO / "tests" / "artifacts" / "mutation.json"))
    p.add_argument("--keep", action="store_true", help="keep the copy of the repository (its path is printed)")
    p.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the survivors of the report (--report) and keep its other verdicts: after tests were"
        " added (a mutant killed before stays killed: tests are added, not weakened, between two runs)",
    )
    p.add_argument(
        "--show", action="store_true", help="print the report (--report) again with today's explanations, run nothing"
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="PATH:LINE[:KIND]",
        help="only the mutants at this line (repeatable), e.g. gis/scope_sql.py:60 or gis/audit.py:29:NumberReplacer",
    )
    p.add_argument(
        "--tests",
        nargs="+",
        help="run these tests instead of the module's (to try new tests against --only mutants; use a --report"
        " path of your own)",
    )
    a = p.parse_args(argv)

    names = a.module or list(MODULES)
    previous = json.loads(Path(a.report).read_text()) if Path(a.report).exists() else {}
    before = {r["module"]: r for r in previous.get("modules", [])}
    if a.show:
        results = [_resummarize(before[n]) for n in names if n in before]
        print_report(results, previous.get("totals", {}))
        return 0
    all_mutants = {n: mutants_of(n, a.operators) for n in names}
    totals = {n: len(ms) for n, ms in all_mutants.items()}
    done: dict[str, list[Mutant]] = {}  # verdicts kept from the report
    if a.survivors:
        for n in names:
            old = {_key(m): m for m in before.get(n, {}).get("mutants", [])}
            done[n] = [
                _revive(old[_key(m)])
                for m in all_mutants[n]
                if _key(m) in old and old[_key(m)]["status"] not in ("survived", "uncovered")
            ]
            all_mutants[n] = [
                m for m in all_mutants[n] if _key(m) not in old or old[_key(m)]["status"] in ("survived", "uncovered")
            ]
    if a.only:  # path:line (or path:line:kind)
        for n in names:
            all_mutants[n] = [m for m in all_mutants[n] if any(_matches(m, o) for o in a.only)]
    if a.list or a.dry_run:
        for n in names:
            mod = MODULES[n]
            print(
                f"{n}: {mod.doc}\n  files: {', '.join(s.path for s in mod.sources)}\n"
                f"  tests: {' '.join(mod.tests)}\n  mutants: {totals[n]}"
            )
            if a.dry_run:
                for m in sample(all_mutants[n], a.limit, f"{a.seed}:{n}"):
                    print(f"    {m.path}:{m.line} {m.kind}: {m.before}  ->  {m.after}")
        return 0

    def log(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.monotonic()
    box = Sandbox(a.database_url, a.keep)
    log(f"copy of the repository: {box.repo}")
    boxes = [box] + [Sandbox(a.database_url, a.keep) for _ in range(min(a.jobs, len(names)) - 1)]
    free: list[Sandbox] = list(boxes)

    lock = threading.Lock()

    def save(result: dict) -> None:
        """Merge one module's result into the report (others' modules, maybe written by another run, stay)."""
        with lock:
            path = Path(a.report)
            latest = json.loads(path.read_text()) if path.exists() else {}
            report = {
                "operators": a.operators,
                "limit": a.limit,
                "seed": a.seed,
                "totals": {**latest.get("totals", {}), result["module"]: totals[result["module"]]},
                "modules": [r for r in latest.get("modules", []) if r["module"] != result["module"]] + [result],
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
            tmp.replace(path)

    def one(n: str) -> dict:
        mine = free.pop()  # one copy per running module (list.pop is atomic under the GIL)
        try:
            result = run_module(
                mine,
                n,
                sample(all_mutants[n], a.limit, f"{a.seed}:{n}"),
                a.timeout,
                log,
                done.get(n, []),
                tuple(a.tests or ()),
            )
        finally:
            free.append(mine)
        result["limit"] = a.limit
        save(result)  # as each module ends: an interrupted run keeps the modules it finished
        return result

    try:
        with ThreadPoolExecutor(max_workers=len(boxes)) as pool:
            results = list(pool.map(one, names))
    finally:
        for b in boxes:
            b.close()
    elapsed = time.monotonic() - t0
    print_report(results, totals)
    print(f"\nwall time {elapsed / 60:.1f} min")
    print(f"report: {a.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
