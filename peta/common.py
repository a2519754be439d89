"""Shared CLI plumbing: the console, settings, error exits and progress bars."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from core.errors import PetaError
from core.principal import CliPrincipal
from core.settings import Settings, get_settings

# piped output keeps whole tables rather than wrapping them to 80 columns
console = Console(width=None if Console().is_terminal else 200)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def settings() -> Settings:
    """Validated settings, or a clean exit naming the bad variable."""
    try:
        return get_settings()
    except ValidationError as exc:
        for e in exc.errors():
            where = f"setting {e['loc'][0]}: " if e["loc"] else "settings: "  # a rule across several has no loc
            err_console.print(f"[red]error:[/] {where}{e['msg']}")
        raise typer.Exit(2) from exc


def _error(message: str) -> None:
    """`error: message` in red, the message printed as is (file names and values may hold brackets)."""
    err_console.print(Text.assemble(("error:", "red"), " ", message), highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the Exit to raise."""
    err_console.print(f"[red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn user-facing errors into a message and a non-zero exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PetaError as exc:
            _error(str(exc))
            raise typer.Exit(1) from exc
        except ValueError as exc:
            _error(str(exc))
            raise typer.Exit(2) from exc
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            err_console.print(
                f"error: database error: {first} (is the schema up to date? try `peta db migrate`)",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar driven by `update(stage, fraction)` callbacks."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as prog:
        task = prog.add_task(description, total=1.0)

        def update(stage: str, fraction: float) -> None:
            prog.update(task, description=f"{description}: {stage}", completed=min(max(fraction, 0.0), 1.0))

        yield update
        prog.update(task, completed=1.0, description=f"{description}: done")


def cli_actor() -> str:
    """How the audit trail names someone at the command line: cli:<os user>."""
    return CliPrincipal.current().actor


def cli_connect(url: str | None = None) -> psycopg.Connection:
    """A connection to the configured database whose changes are audited as this command-line user."""
    from db.acting import acting_as_sync
    from db.connect import connect, database_url

    conn = connect(url or database_url(settings()))
    acting_as_sync(conn, cli_actor(), "admin", session=True)
    conn.commit()
    return conn


def run_async(work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """Run `work` on a new async connection on which the command line acts as the admin (cli:<os user>)."""
    from db.acting import acting_as
    from db.connect import connect_async, database_url

    async def main() -> T:
        async with await connect_async(database_url(settings())) as conn:
            await acting_as(conn, cli_actor(), "admin", session=True)
            await conn.commit()
            return await work(conn)

    return asyncio.run(main())
