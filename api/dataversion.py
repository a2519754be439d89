"""The data version a request sees (migration 0012, gis.figures.data_version): reads shared by the requests
waiting at the same time, and the order of versions, for the caches keyed by them (api.caching, tiles)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from gis.figures import data_version


def newer(generation: str, than: str | None) -> bool:
    """Whether `generation` (gis.figures.data_version: "version.xid.date") comes after `than`.

    Requests that read the version just before a commit may finish after those that read it just
    after: they must not switch the cache back (dropping the new entries, refusing to keep new builds).
    """
    if than is None or generation == than:
        return than is None
    number, _, rest = generation.partition(".")
    old_number, _, old_rest = than.partition(".")
    day, old_day = rest.rpartition(".")[2], old_rest.rpartition(".")[2]
    if not (number.isdigit() and old_number.isdigit()):
        return True
    # a database recreated under a running process starts again at 1: the same (day, number) with another
    # xid is another generation as well
    return (day, int(number)) >= (old_day, int(old_number))


class VersionReader:
    """Reads of the data version shared by the requests that wait for one at the same time.

    A request must see every write committed before it arrived, so it may only use a read that started
    after it arrived: never the one already running, but the next one, which the first request to queue
    runs on its own connection once the running one is done. Under load one query (and one COMMIT)
    serves a whole batch of requests, and the others send nothing to the database.
    """

    def __init__(self) -> None:
        self.running: asyncio.Future[str] | None = None
        self.queued: asyncio.Future[str] | None = None

    async def read(self, conn: Any) -> str:
        if self.running is None:
            return await self._lead(conn, self._future())
        if self.queued is not None:  # the next read starts after the running one, so after this request came
            try:
                return await asyncio.shield(self.queued)
            except Exception:  # noqa: BLE001 - the leader's read failed: read for ourselves
                return await data_version(conn)
        future = self.queued = self._future()
        try:
            await asyncio.wait([self.running])
        except BaseException:  # cancelled (the client left) before leading: the others read for themselves
            if self.queued is future:
                self.queued = None
            future.set_exception(RuntimeError("the shared read of the data version was abandoned"))
            raise
        return await self._lead(conn, future)

    @staticmethod
    def _future() -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no warning
        return future

    async def _lead(self, conn: Any, future: asyncio.Future[str]) -> str:
        self.running = future
        if self.queued is future:
            self.queued = None
        try:
            version = await data_version(conn)
            future.set_result(version)
            return version
        except BaseException:
            future.set_exception(RuntimeError("the shared read of the data version failed"))
            raise
        finally:
            if self.running is future:
                self.running = None


async def read_version(request: Request, conn: Any) -> str:
    """The data version for this request (a read that started after it arrived, shared with others)."""
    state = request.app.state
    reader = getattr(state, "version_reader", None)
    if reader is None:
        reader = state.version_reader = VersionReader()
    return await reader.read(conn)
