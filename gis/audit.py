"""The audit trail: who acts in a transaction, and checking the hash chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

_BROKEN = """
WITH chain AS (
    SELECT a.id, a.hash, a.prev_hash, peta_audit_digest(a.prev_hash, a) AS recomputed,
           lag(a.hash) OVER (ORDER BY a.id) AS before_hash, lag(a.id) OVER (ORDER BY a.id) AS before_id
    FROM audit_log a
)
SELECT id, before_id,
       CASE WHEN recomputed <> hash THEN 'changed' ELSE 'removed' END
FROM chain
WHERE recomputed <> hash OR prev_hash <> COALESCE(before_hash, repeat('0', 64))
ORDER BY id LIMIT 1
"""


@dataclass
class ChainReport:
    """The outcome of `peta audit verify`."""

    rows: int
    ok: bool
    message: str


def act_as(conn: psycopg.Connection, actor: str, role: str | None = None, *, session: bool = True) -> None:
    """Name who acts on this connection (session) or in the current transaction, for the audit triggers."""
    conn.execute(
        "SELECT set_config('peta.actor', %s, %s), set_config('peta.role', %s, %s)",
        (actor, not session, role or "", not session),
    )


def with_reason(conn: psycopg.Connection, reason: str) -> None:
    """The reason recorded with the changes of the current transaction."""
    conn.execute("SELECT set_config('peta.reason', %s, true)", (reason,))


def verify_chain(conn: psycopg.Connection) -> ChainReport:
    """Recompute every row's hash and link; name the first row changed or removed."""
    rows = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]  # type: ignore[index]
    broken = conn.execute(_BROKEN).fetchone()
    if broken:
        row, before, how = broken
        if how == "changed":
            return ChainReport(rows, False, f"audit row {row} was changed (its hash no longer matches its content)")
        return ChainReport(
            rows, False, f"audit rows between {before} and {row} were removed (the chain breaks at {row})"
        )
    head = conn.execute(
        "SELECT h.id, h.hash, (SELECT max(id) FROM audit_log), "
        "(SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) FROM audit_head h"
    ).fetchone()
    if head and (head[0], head[1]) != (head[2], head[3]):
        return ChainReport(rows, False, f"audit rows after {head[2]} were removed (the chain head was {head[0]})")
    return ChainReport(rows, True, f"{rows:,} audit rows, chain intact")


def recent(conn: psycopg.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest audit rows (ids only for the objects; no before/after images)."""
    cur = conn.execute(
        """SELECT id, at, actor, role, action, object_type, cardinality(object_ids), reason
           FROM audit_log ORDER BY id DESC LIMIT %s""",
        (limit,),
    )
    keys = ("id", "at", "actor", "role", "action", "object_type", "objects", "reason")
    return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
