"""Who acts on a connection: the names the audit triggers record with every change (peta.actor, peta.role, peta.reason).

`session=False` (the default) names them for the current transaction only; `session=True` for the whole
connection (the CLI, which acts as one person from start to end). A role of None leaves the role as it is.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection, sql


def _statements(actor: str, role: str | None, session: bool) -> list[sql.Composed | sql.SQL]:
    """The SETs naming who acts. For one transaction they are SET LOCAL, passed on by Citus to the transaction's
    connections to its workers (citus.propagate_set_commands, a mere placeholder without Citus), where the
    shards' triggers write the audit rows; set_config() would stay on the coordinator."""
    if session:
        names: list[sql.Composed | sql.SQL] = [
            sql.SQL("SELECT set_config('peta.actor', {}, false)").format(sql.Literal(actor))
        ]
        if role is not None:
            names.append(sql.SQL("SELECT set_config('peta.role', {}, false)").format(sql.Literal(role)))
        return names
    out: list[sql.Composed | sql.SQL] = [sql.SQL("SET LOCAL citus.propagate_set_commands = 'local'"),
                                 sql.SQL("SET LOCAL peta.actor = {}").format(sql.Literal(actor))]  # fmt: skip
    if role is not None:
        out.append(sql.SQL("SET LOCAL peta.role = {}").format(sql.Literal(role)))
    return out


async def acting_as(conn: AsyncConnection[Any], actor: str, role: str | None = None, *, session: bool = False) -> None:
    """Name who acts on this connection, for the audit triggers."""
    for statement in _statements(actor, role, session):
        await conn.execute(statement)


def acting_as_sync(
    conn: psycopg.Connection[Any], actor: str, role: str | None = None, *, session: bool = False
) -> None:
    """`acting_as` for the synchronous inputs (boundary and registry imports) and the CLI around them."""
    for statement in _statements(actor, role, session):
        conn.execute(statement)


def with_reason(conn: psycopg.Connection[Any], reason: str) -> None:
    """The reason recorded with the changes of the current transaction."""
    conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
    conn.execute(sql.SQL("SET LOCAL peta.reason = {}").format(sql.Literal(reason)))
