"""Settings of one kab/kota (migration 0020, issue 16): each kab/kota's own poverty rate and local programmes over
the deployment's; a kab/kota without its own takes the deployment's, and one city's settings never move another's
figures. Expected values are written out from the fixture (population 100 per area, the families below)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.config import validate_kab_kota
from gis import figures
from gis.figures import read_stats
from tests.worlds import insert_kota_chains

BOX = (98.6, -1.7, 103.7, 3.6)
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))
# kota, kk, programmes (every family meets 10 criteria: BPS-poor, 4 members)
FAMILIES = [
    ("15.71", "j1", ["KARTU-BAHAGIA"]),
    ("15.71", "j2", ["KARTU-MEDAN"]),
    ("15.71", "j3", []),
    ("12.71", "m1", ["KARTU-BAHAGIA"]),
    ("12.71", "m2", ["KARTU-MEDAN", "PKH"]),
]


@pytest.fixture
def two_cities(db):
    insert_kota_chains(db, ("15.71", "12.71"), BOX)
    for kota, kk, programs in FAMILIES:
        db.execute(
            f"INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, programs, source, {_CRIT})"
            " VALUES (%s, 'x', %s, %s, 4, %s, 'test', " + ", ".join(["true"] * 10 + ["false"] * 4) + ")",
            (kk, f"{kota}.01.1001.001.001", kota, programs),
        )
    return db


def _settings(conn, kab_kota: dict, local: list[str]) -> None:
    conn.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'", (Jsonb(kab_kota),))
    conn.execute("UPDATE peta_config SET value = %s WHERE key = 'programs'",
                 (Jsonb({"local": [{"code": c, "name": c} for c in local]}),))  # fmt: skip
    conn.execute("SELECT peta_refresh(NULL, NULL)")


def _kota(conn) -> dict[str, tuple]:
    rows = conn.call(read_stats, "kota")
    assert len(rows) == 2
    return {r["code"]: (r["expected_poor_people"], r["under_coverage_people"], r["recipients_local"],
                        r["poor_without_local"]) for r in rows}  # fmt: skip


def test_each_kab_kota_counts_its_own_rate_and_local_programmes(two_cities):
    conn = two_cities
    # nothing of their own: the deployment's rate (7.73 % of 100 people: 8) and no local programme
    _settings(conn, {}, [])
    assert _kota(conn) == {"15.71": (8, 8 - 12, 0, 0), "12.71": (8, 8 - 8, 0, 0)}
    # the deployment's programme for both; Medan's own rate and card
    _settings(conn, {"12.71": {"aggregates": {"city_poverty_rate": 0.25},
                               "programs": {"local": [{"code": "KARTU-MEDAN", "name": "Kartu Medan"}]}}},
              ["KARTU-BAHAGIA"])  # fmt: skip
    assert _kota(conn) == {"15.71": (8, 8 - 12, 1, 2), "12.71": (25, 25 - 8, 1, 1)}
    # Jambi's own rate alone: its programmes stay the deployment's, Medan's figures do not move
    _settings(conn, {"15.71": {"aggregates": {"city_poverty_rate": 0.5}},
                     "12.71": {"aggregates": {"city_poverty_rate": 0.25},
                               "programs": {"local": [{"code": "KARTU-MEDAN", "name": "Kartu Medan"}]}}},
              ["KARTU-BAHAGIA"])  # fmt: skip
    assert _kota(conn) == {"15.71": (50, 50 - 12, 1, 2), "12.71": (25, 25 - 8, 1, 1)}
    published = dict(conn.execute(
        "SELECT code, expected_poor_people FROM area_stats_public WHERE level = 'kota'").fetchall())  # fmt: skip
    assert published == {"15.71": 50, "12.71": 25}
    rt = {r["code"][:5]: r["expected_poor_people"] for r in conn.call(read_stats, "rt")}
    assert rt == {"15.71": 50, "12.71": 25}  # every level of a kab/kota takes its rate

    async def filtered(ac: psycopg.AsyncConnection) -> dict[str, int]:
        rows = await figures.filtered(ac, "kota", None, True, figures.HouseholdFilter(desil_max=10))
        return {r["code"]: r["recipients_local"] for r in rows}

    assert conn.run(filtered) == {"15.71": 1, "12.71": 1}
    assert conn.run(figures.programs) == ("PKH", "BPNT", "PBI-JK", "BPJS-TK", "KARTU-BAHAGIA", "KARTU-MEDAN")


def test_settings_of_a_kab_kota_are_validated():
    assert validate_kab_kota({"15.71": {"aggregates": {"city_poverty_rate": 0.0773}}}) == []
    assert validate_kab_kota({
        "1571": {},
        "15.71": {"ranking": {"weights": {}}},
        "12.71": {"aggregates": {"city_poverty_rate": 2, "poor_desil_max": 3}},
        "13.71": {"aggregates": {"city_poverty_rate": 1.5}, "programs": {"local": [{"code": "PKH", "name": "x"}]}},
        "14.71": "x",
    }) == [
        'kab_kota.1571: a kab/kota code like 15.71 expected (quote it in YAML: "15.71")',
        "kab_kota.15.71.ranking: a kab/kota may set only aggregates: city_poverty_rate; programs: local; "
        "verval: approval_steps",
        "kab_kota.12.71.aggregates: a kab/kota may set only aggregates: city_poverty_rate; programs: local; "
        "verval: approval_steps",
        "kab_kota.12.71.aggregates.city_poverty_rate: a share 0..1 expected, got 2",
        "kab_kota.13.71.aggregates.city_poverty_rate: a share 0..1 expected, got 1.5",
        "kab_kota.13.71.programs.local[0].code: PKH is a national programme, counted on its own",
        "kab_kota.14.71: a mapping of settings expected, got 'x'",
    ]  # fmt: skip
    assert validate_kab_kota([]) == ["kab_kota: a mapping of kab/kota codes expected, got []"]


def test_a_kab_kota_code_written_as_a_number_in_yaml_is_refused_with_the_fix(tmp_path):
    from core.config import load_config
    from core.errors import InputError

    cfg = tmp_path / "kota.yaml"
    cfg.write_text("kab_kota:\n  15.71: {aggregates: {city_poverty_rate: 0.1}}\n")
    with pytest.raises(InputError) as err:
        load_config(cfg)
    assert err.value.problems == ['kab_kota.15.71: a kab/kota code like 15.71 expected (quote it in YAML: "15.71")']
    cfg.write_text('kab_kota:\n  "15.71": {aggregates: {city_poverty_rate: 0.1}}\n')
    assert load_config(cfg)["kab_kota"] == {"15.71": {"aggregates": {"city_poverty_rate": 0.1}}}
