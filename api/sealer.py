"""The served application's audit sealer: every `seconds`, chain the audit rows committed since (gis.audit).

Requests append audit rows without a lock; this one task per process seals them, on a pool connection it
holds only while sealing. Several processes may run it: the database lets one sealer work at a time and the
others return at once.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.audit import seal

log = logging.getLogger("peta.audit")


async def seal_forever(pool: AsyncConnectionPool, seconds: float) -> None:
    """Seal, sleep, repeat until cancelled; a database that is away is tried again at the next turn."""
    while True:
        await asyncio.sleep(seconds)
        try:
            async with pool.connection(timeout=seconds) as conn:
                await seal(conn)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            log.warning("audit rows not sealed this turn: %s", exc)


def start(pool: AsyncConnectionPool, seconds: float) -> asyncio.Task[None] | None:
    """The sealer task, or None when sealing is left to `peta audit seal` (seconds <= 0)."""
    if seconds <= 0:
        return None
    return asyncio.create_task(seal_forever(pool, seconds), name="peta-audit-sealer")


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel the sealer and wait for it (its transaction rolls back or has committed: nothing half-done)."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
