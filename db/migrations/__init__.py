"""Alembic migrations; the larger ones apply a file from db/sql/."""

from __future__ import annotations

import re
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def run_sql_file(name: str) -> None:
    """Execute db/sql/NAME in the migration's transaction (the driver sees no parameters in it)."""
    from alembic import op

    op.get_bind().exec_driver_sql((SQL_DIR / name).read_text().replace("%", "%%"))


def sql_statements(name: str) -> list[str]:
    """db/sql/NAME split into its statements (at a ';' ending a line outside a $$ body): Citus passes the text of
    some DDL (CREATE TRIGGER on a distributed table) on to the workers as one prepared statement, which may hold
    one command only."""
    statements, lines, body = [], [], False
    for line in (SQL_DIR / name).read_text().splitlines(keepends=True):
        lines.append(line)
        body ^= line.count("$$") % 2 == 1
        if not body and line.rstrip().endswith(";"):
            statements.append("".join(lines).replace("%", "%%"))
            lines = []
    if "".join(lines).strip():
        statements.append("".join(lines).replace("%", "%%"))
    return statements


def function_sql(name: str, file: str) -> str:
    """A function as an earlier migration's file defines it, as CREATE OR REPLACE and ready for the driver
    (read from that file for a downgrade, never copied into the newer migration)."""
    text = (SQL_DIR / file).read_text()
    found = re.search(rf"CREATE (?:OR REPLACE )?FUNCTION {name}\(.*?END \$\$;", text, re.S)
    if found is None:
        raise RuntimeError(f"{file} no longer defines {name}")
    body = re.sub(r"^CREATE (?:OR REPLACE )?FUNCTION", "CREATE OR REPLACE FUNCTION", found.group(0))
    return body.replace("%", "%%")


def patched(text: str, patches: list[tuple[str, str]], who: str) -> str:
    """`text` with each (old, new) patch applied, each asserted to apply exactly once (`who` names the migration
    and the object in the error)."""
    for old, new in patches:
        if text.count(old) != 1:
            raise RuntimeError(f"{who}: {old[:60]!r} is not in it exactly once")
        text = text.replace(old, new)
    return text


def repatched(signature: str, patches: list[tuple[str, str]], who: str) -> str:
    """The function `signature` as the database holds it (pg_get_functiondef), with each patch applied exactly once,
    ready for the driver."""
    from alembic import op

    text = str(op.get_bind().exec_driver_sql(f"SELECT pg_get_functiondef('{signature}'::regprocedure)").scalar())
    return patched(text, patches, f"{who} cannot rewrite {signature}").replace("%", "%%")
