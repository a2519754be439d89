"""What the registry import tests share: the key, the day, a small demo city's rows and areas, and helpers to
write rows to a CSV and import it. A module picks its city's size by defining `city`."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from boundaries.demo import City, load_city
from boundaries.demo.export import export_csv
from registry.importer import import_households

KEY = b"test-key-for-households-import!!"
TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def rows(city: City, tmp_path_factory) -> list[dict[str, str]]:
    """The module's demo city exported as the registry's CSV, row by row."""
    path = tmp_path_factory.mktemp("export") / "families.csv"
    export_csv(city, path)
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def areas(conn, city):
    """The module's demo city's areas, with no families."""
    load_city(conn, city)
    conn.execute("DELETE FROM household")
    return conn


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(conn, path: Path, **kw):
    """import_households with the tests' key, on TODAY unless `today` is given."""
    return import_households(conn, path, key=KEY, **{"today": TODAY, **kw})
