"""People for the tests, made the way an administrator makes them (`peta users add`: argon2, scope checks)."""

from __future__ import annotations

from typer.testing import CliRunner

from gis.settings import get_settings
from peta.cli import app as cli

PASSWORD = "rahasia-sekali-123"


def scope(level: str, code: str) -> list[str]:
    return ["--scope-level", level, "--scope", code]


def add_users(url: str, users: dict[str, tuple[str, list[str]]]) -> None:
    """{username: (role, extra `users add` options)}, each with PASSWORD."""
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        for name, (role, options) in users.items():
            out = runner.invoke(cli, ["users", "add", name, "--role", role, *options],
                                input=f"{PASSWORD}\n{PASSWORD}\n", env={"DATABASE_URL": url})  # fmt: skip
            assert out.exit_code == 0, out.output
    finally:
        get_settings.cache_clear()
