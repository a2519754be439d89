"""One async connection in a transaction rolled back at the end, driven from sync test code.

The data layer is async; a test builds its world with plain SQL (`execute`, as a sync connection would)
and calls the product's async functions on the same connection and transaction (`run`), so they see the
uncommitted world. Product code's own transactions become savepoints of the outer one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class _Cur:
    def __init__(self, loop: asyncio.AbstractEventLoop, cur: Any) -> None:
        self.loop, self.cur, self.description = loop, cur, cur.description

    def fetchone(self) -> Any:
        return self.loop.run_until_complete(self.cur.fetchone())

    def fetchall(self) -> list[Any]:
        return self.loop.run_until_complete(self.cur.fetchall())


class _SyncCursor:
    """An async cursor driven from sync code (`conn.cursor(row_factory=...).execute(...).fetchall()`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cur: Any) -> None:
        self.loop, self.cur = loop, cur

    def execute(self, query: Any, params: Any = None) -> _Cur:
        return _Cur(self.loop, self.loop.run_until_complete(self.cur.execute(query, params)))


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


@contextmanager
def bridge(url: str) -> Iterator[Bridge]:
    """A Bridge on `url`, everything it did rolled back at the end."""
    loop = asyncio.new_event_loop()
    ac = loop.run_until_complete(psycopg.AsyncConnection.connect(url))
    try:
        loop.run_until_complete(ac.execute("SELECT 1"))  # the outer transaction: product code gets savepoints
        yield Bridge(loop, ac)
    finally:
        loop.run_until_complete(ac.rollback())
        loop.run_until_complete(ac.close())
        loop.close()
