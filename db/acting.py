"""Who acts on a connection: the names the audit triggers record with every change (peta.actor, peta.role, peta.reason).

`session=False` (the default) names them for the current transaction only; `session=True` for the whole
connection (the CLI, which acts as one person from start to end). A role of None leaves the role as it is.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection


def _statement(actor: str, role: str | None, session: bool) -> tuple[str, tuple[Any, ...]]:
    local = not session
    if role is None:
        return "SELECT set_config('peta.actor', %s, %s)", (actor, local)
    return "SELECT set_config('peta.actor', %s, %s), set_config('peta.role', %s, %s)", (actor, local, role, local)


async def acting_as(conn: AsyncConnection[Any], actor: str, role: str | None = None, *, session: bool = False) -> None:
    """Name who acts on this connection, for the audit triggers."""
    await conn.execute(*_statement(actor, role, session))


def acting_as_sync(
    conn: psycopg.Connection[Any], actor: str, role: str | None = None, *, session: bool = False
) -> None:
    """`acting_as` for the synchronous inputs (boundary and registry imports) and the CLI around them."""
    conn.execute(*_statement(actor, role, session))


def with_reason(conn: psycopg.Connection[Any], reason: str) -> None:
    """The reason recorded with the changes of the current transaction."""
    conn.execute("SELECT set_config('peta.reason', %s, true)", (reason,))
