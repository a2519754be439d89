"""The registry import's all-or-nothing rule and its row report at the edges (issue 19): more issues than are
shown, warnings beside errors, skipped rows in the counts, every criterion carried, the day a file is checked on."""

from __future__ import annotations

import csv
import inspect
from datetime import date

import pytest

from boundaries.demo import City, DemoConfig, generate_city
from core.errors import InputError
from core.privacy import keyed_hash
from registry.importer import HouseholdImport, import_households
from tests.registry.conftest import KEY, run, write

CRITERIA = [f"k{i:02d}" for i in range(1, 15)]


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(DemoConfig(scale=0.02, seed=11, secret_key=KEY))


def count(conn) -> int:
    return conn.execute("SELECT count(*) FROM household").fetchone()[0]


def _moved(rows: list[dict[str, str]], row: dict[str, str]) -> dict[str, str]:
    """The row with the point of a family in another RT: a warning, not an error."""
    other = next(r for r in rows if r["kode_rt"] != row["kode_rt"])
    return dict(row, lon=other["lon"], lat=other["lat"])


def test_more_issues_than_shown_end_with_where_the_rest_are(areas, rows, tmp_path):
    # 199 bad rows (file rows 2..200), then 2 rows whose point lies in another RT (warnings), then 59 good ones
    bad = [dict(r, jumlah_anggota="0") for r in rows[:199]] + [_moved(rows, r) for r in rows[199:201]]
    bad += [dict(r) for r in rows[201:260]]
    path, report = write(tmp_path / "f.csv", bad), tmp_path / "report.csv"
    with pytest.raises(InputError) as err:
        run(areas, path, report=report)
    assert str(err.value).startswith(
        f"{path}: 199 of 260 rows are invalid, nothing imported"
        " (fix them, or import the valid rows with --skip-invalid)\n"
    )
    # 200 issues shown: the 199 errors and the first warning (left out of the errors named); 1 more in the report
    assert [p.split(":")[0] for p in err.value.problems[:-1]] == [f"row {i}, jumlah_anggota" for i in range(2, 201)]
    assert err.value.problems[-1] == f"… and more issues; every one is in {report}"
    assert count(areas) == 0
    with report.open() as f:
        got = [(r["row"], r["column"], r["severity"]) for r in csv.DictReader(f)]
    assert got == [(str(i), "jumlah_anggota", "error") for i in range(2, 201)] + [
        ("201", "kode_rt", "warning"),
        ("202", "kode_rt", "warning"),
    ]

    skipped = run(areas, path, report=tmp_path / "skipped.csv", skip_invalid=True)
    assert (skipped.rows, skipped.rejected_rows, skipped.warnings) == (260, 199, 2)
    assert (skipped.inserted, skipped.updated, skipped.unchanged) == (61, 0, 0)
    assert len(skipped.issues) == 200
    assert skipped.issues[-1][:2] == (201, "kode_rt") and skipped.lines()[-1].endswith(" (warning)")
    assert count(areas) == 61
    again = run(areas, path, skip_invalid=True)
    assert (again.rows, again.rejected_rows, again.inserted, again.updated, again.unchanged) == (260, 199, 0, 0, 61)


def test_exactly_as_many_issues_as_shown_need_no_pointer(areas, rows, tmp_path):
    bad = [dict(r, jumlah_anggota="0") for r in rows[:200]] + [dict(r) for r in rows[200:205]]
    with pytest.raises(InputError) as err:
        run(areas, write(tmp_path / "f.csv", bad), report=tmp_path / "report.csv")
    assert len(err.value.problems) == 200 and err.value.problems[-1].startswith("row 201, jumlah_anggota:")


def test_a_clean_import_writes_no_report(areas, rows, tmp_path):
    report = tmp_path / "report.csv"
    result = run(areas, write(tmp_path / "f.csv", rows[:5]), report=report)
    assert (result.rows, result.inserted, result.issues, result.report) == (5, 5, [], report)
    assert not report.exists()


def test_every_criterion_is_imported_and_a_change_to_any_one_updates_the_family(areas, rows, tmp_path):
    chosen = [dict(r) for r in rows[:6]]
    run(areas, write(tmp_path / "f.csv", chosen))

    def stored() -> dict[str, list[bool]]:
        got = areas.execute(f"SELECT kk_hash, {', '.join(CRITERIA)} FROM household").fetchall()
        return {r[0]: list(r[1:]) for r in got}

    expected = {keyed_hash(KEY, r["no_kk"]): [r[k] == "1" for k in CRITERIA] for r in chosen}
    assert stored() == expected
    for r, k in ((chosen[0], "k01"), (chosen[1], "k14")):  # the first and the last criterion alone
        r[k] = "0" if r[k] == "1" else "1"
    result = run(areas, write(tmp_path / "g.csv", chosen))
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 4)
    assert stored() == {keyed_hash(KEY, r["no_kk"]): [r[k] == "1" for k in CRITERIA] for r in chosen}


def test_dates_are_checked_against_the_day_given(areas, rows, tmp_path):
    dated = [dict(r, tgl_verval="2024-12-31", hasil_verval="1") for r in rows[:3]]
    dated[1]["tgl_verval"] = "2025-01-02"
    with pytest.raises(InputError) as err:
        run(areas, write(tmp_path / "f.csv", dated), today=date(2025, 1, 1))
    assert err.value.problems == ["row 3, tgl_verval: after today (2025-01-01): 2025-01-02"]
    assert count(areas) == 0


def test_a_fresh_import_record_counts_nothing():
    fresh = HouseholdImport(path="f.csv")
    assert (fresh.rows, fresh.rejected_rows, fresh.warnings, fresh.inserted, fresh.updated, fresh.unchanged) == (
        0,
        0,
        0,
        0,
        0,
        0,
    )
    assert (fresh.issues, fresh.lines(), fresh.report) == ([], [], None)


def test_the_options_are_keyword_only():
    params = inspect.signature(import_households).parameters
    assert [n for n, p in params.items() if p.kind is not inspect.Parameter.KEYWORD_ONLY] == ["conn", "path"]
