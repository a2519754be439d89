"""People and places for the verval and portal tests: users made the way an administrator makes them
(`peta users add`: argon2, scope checks), and a small demo city with its busiest kelurahan of poor families."""

from __future__ import annotations

from typing import Any

import psycopg
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
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


def verval_city(url: str, rts: int) -> tuple[str, list[str]]:
    """A demo city (scale 0.05, seed 7) in an emptied database; the kelurahan with the most RTs of local
    desil 1-2 families, and its `rts` RTs with the most such families."""
    from tests.conftest import truncate_all

    truncate_all(url)
    with psycopg.connect(url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.05, seed=7)))
        conn.commit()
        kel = conn.execute(
            """SELECT left(h.rt_code, 13) FROM household h
               JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
               WHERE r.local_desil <= 2 GROUP BY 1 ORDER BY count(DISTINCT h.rt_code) DESC, 1 LIMIT 1"""
        ).fetchone()[0]
        codes = [r[0] for r in conn.execute(
            """SELECT h.rt_code FROM household h
               JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
               WHERE r.local_desil <= 2 AND h.rt_code LIKE %s GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT %s""",
            (kel + ".%", rts)).fetchall()]  # fmt: skip
    assert len(codes) == rts
    return kel, codes


class Bearers:
    """Bearer-token headers per user for one test app, logged in once each (a module's people)."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def clear(self) -> None:
        self.tokens.clear()

    def __call__(self, client: Any, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def db_rows(url: str, query: str, *params: Any) -> list[Any]:
    """Rows of one query on its own connection (what the tests read back from the database)."""
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()
