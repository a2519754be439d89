"""One async connection in a transaction rolled back at the end, driven from sync test code.

The data layer is async; a test builds its world with plain SQL (`execute`, as a sync connection would)
and calls the product's async functions on the same connection and transaction (`run`), so they see the
uncommitted world. Product code's own transactions become savepoints of the outer one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import psycopg


class _Cur:
    def __init__(self, loop: asyncio.AbstractEventLoop, cur: Any) -> None:
        self.loop, self.cur, self.description = loop, cur, cur.description

    def fetchone(self) -> Any:
        return self.loop.run_until_complete(self.cur.fetchone())

    def fetchall(self) -> list[Any]:
        return self.loop.run_until_complete(self.cur.fetchall())


class _SyncCopy:
    """An async COPY driven from sync code (`copy.write_row(...)`, `copy.write(...)`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, copy: Any) -> None:
        self.loop, self.copy = loop, copy

    def write_row(self, row: Any) -> None:
        self.loop.run_until_complete(self.copy.write_row(row))

    def write(self, buffer: Any) -> None:
        self.loop.run_until_complete(self.copy.write(buffer))


class _SyncCursor:
    """An async cursor driven from sync code (`conn.cursor(row_factory=...).execute(...).fetchall()`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cur: Any) -> None:
        self.loop, self.cur = loop, cur

    def execute(self, query: Any, params: Any = None) -> _Cur:
        return _Cur(self.loop, self.loop.run_until_complete(self.cur.execute(query, params)))

    @contextmanager
    def copy(self, statement: Any, params: Any = None) -> Iterator[_SyncCopy]:
        """`with conn.cursor().copy("COPY ... FROM STDIN") as copy: copy.write_row(...)`, as on a sync cursor."""
        manager = self.cur.copy(statement, params)
        copy = self.loop.run_until_complete(manager.__aenter__())
        try:
            yield _SyncCopy(self.loop, copy)
        except BaseException as exc:
            if not self.loop.run_until_complete(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self.loop.run_until_complete(manager.__aexit__(None, None, None))


class Bridge:
    """`execute` and `cursor` as on a sync connection; `run(fn)` awaits `fn(the async connection)`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ac: psycopg.AsyncConnection) -> None:
        self.loop, self.ac = loop, ac

    def execute(self, query: Any, params: Any = None) -> _Cur:
        return _Cur(self.loop, self.loop.run_until_complete(self.ac.execute(query, params)))

    def cursor(self, row_factory: Any = None) -> _SyncCursor:
        return _SyncCursor(self.loop, self.ac.cursor(row_factory=row_factory))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        tx = self.ac.transaction()
        self.loop.run_until_complete(tx.__aenter__())
        try:
            yield
        except BaseException as exc:
            if not self.loop.run_until_complete(tx.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self.loop.run_until_complete(tx.__aexit__(None, None, None))

    def run(self, fn: Callable[[psycopg.AsyncConnection], Any]) -> Any:
        return self.loop.run_until_complete(fn(self.ac))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`await fn(the async connection, *args, **kwargs)`."""
        return self.loop.run_until_complete(fn(self.ac, *args, **kwargs))

    def commit(self) -> None:
        self.loop.run_until_complete(self.ac.commit())

    def rollback(self) -> None:
        self.loop.run_until_complete(self.ac.rollback())


@contextmanager
def bridge(url: str, *, keep: bool = False) -> Iterator[Bridge]:
    """A Bridge on `url`, everything it did rolled back at the end; with `keep`, a connection as a plain one
    is: no outer transaction (idle until the first statement, product code's transactions are its own) and
    what is left pending committed at the end (rolled back if the block raised)."""
    loop = asyncio.new_event_loop()
    ac = loop.run_until_complete(psycopg.AsyncConnection.connect(url))
    ok = False
    try:
        if not keep:
            loop.run_until_complete(ac.execute("SELECT 1"))  # the outer transaction: product code gets savepoints
        yield Bridge(loop, ac)
        ok = True
    finally:
        loop.run_until_complete(ac.commit() if keep and ok else ac.rollback())
        loop.run_until_complete(ac.close())
        loop.close()


class Api:
    """The served app in-process on a Bridge's event loop, every connection it takes a savepoint of the Bridge's
    transaction: a test reads back (`api.db`) what its requests wrote, and everything is rolled back after it.

    `get`, `post`, ... take httpx's arguments and return an `httpx.Response`, as Starlette's TestClient does.
    The app's lifespan runs (its pool opens, unused); `api.deps.connection`, the one place requests take
    connections from, is pointed at the test's connection. Settings that a request sets for its transaction only
    (who acts, its statement budget) would outlive a savepoint, so they are put back after each one.
    """

    def __init__(self, db: Bridge, app: Any) -> None:
        self.db, self.app = db, app
        self._life = app.router.lifespan_context(app)
        db.loop.run_until_complete(self._life.__aenter__())
        app.state.connections = self._savepoint
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=True)

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[psycopg.AsyncConnection]:
        conn = self.db.ac
        try:
            async with conn.transaction():
                yield conn
        finally:
            await conn.execute(
                "SET LOCAL statement_timeout TO DEFAULT; SET LOCAL peta.actor TO DEFAULT;"
                " SET LOCAL peta.role TO DEFAULT"
            )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.db.loop.run_until_complete(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kwargs)

    def close(self) -> None:
        self.db.loop.run_until_complete(self.client.aclose())
        self.db.loop.run_until_complete(self._life.__aexit__(None, None, None))
