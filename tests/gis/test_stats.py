"""Per-area figures equal an independent recount, children sum to parents, and writes show on the next read."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

from boundaries.demo import City, DemoConfig, generate_city, load_city
from boundaries.demo.config import PROGRAMS
from core.config import load_config
from gis.config import apply_config
from gis.features import COUNTS
from gis.figures import read_stats
from gis.ranking import explain, ranked
from tests.bridge import Bridge, bridge
from tests.conftest import _throwaway

PBI = 1 << PROGRAMS.index("PBI-JK")


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(DemoConfig(scale=0.2, seed=5))


@pytest.fixture(scope="module")
def city_url(server_url: str, city: City) -> Iterator[str]:
    """The city loaded once, committed, in a database of this module's own; tests roll their changes back."""
    for url in _throwaway(server_url, "stats"):
        with psycopg.connect(url) as c:
            load_city(c, city)
            c.commit()
        yield url


@pytest.fixture
def loaded(city_url: str) -> Iterator[Bridge]:
    """The loaded city on one connection, its changes rolled back after the test (tests/bridge.py)."""
    with bridge(city_url) as b:
        yield b


def recount(city: City) -> dict[str, dict[str, int]]:
    """The RT figures computed from the generated families in numpy, without the database."""
    hh = city.households
    active = (hh.hasil_verval == 0) | (hh.hasil_verval == 1)
    poor = active & (hh.criteria.sum(axis=1) >= 9)
    verified = ~np.isnat(hh.tgl_verval)
    target = hh.desil <= 2
    pbi = (hh.programs & PBI) > 0
    columns = {
        "families": np.ones(len(hh), bool), "people": None, "removed_families": ~active,
        "poor_bps_families": poor, "verified_families": verified, "target_families": target,
        "target_verified": target & verified, "recipients_pbi_jk": active & pbi,
        "poor_without_pbi_jk": poor & ~pbi, "inclusion_errors": active & (hh.desil >= 6) & (hh.programs > 0),
    }  # fmt: skip
    out: dict[str, dict[str, int]] = {}
    codes = hh.rt_code
    for name, mask in columns.items():
        weights = hh.size.astype(int) if name == "people" else mask.astype(int)
        uniq, inv = np.unique(codes, return_inverse=True)
        sums = np.bincount(inv, weights=weights)
        for code, value in zip(uniq, sums, strict=True):
            out.setdefault(code, {})[name] = int(value)
    poor_people = np.bincount(np.unique(codes, return_inverse=True)[1], weights=np.where(poor, hh.size, 0))
    for code, value in zip(np.unique(codes), poor_people, strict=True):
        out[code]["poor_bps_people"] = int(value)
    return out


def test_rt_figures_equal_an_independent_recount(loaded, city):
    expected = recount(city)
    got = {r["code"]: r for r in loaded.call(read_stats, "rt")}
    assert len(got) == sum(1 for a in city.areas if a.level == "rt")
    for code, figures in expected.items():
        assert {k: got[code][k] for k in figures} == figures, code
    empty = [r for code, r in got.items() if code not in expected]
    assert all(r["families"] == 0 for r in empty)
    kota = loaded.call(read_stats, "kota")[0]
    assert kota["families"] == len(city.households)
    assert kota["people"] == int(city.households.size.sum())
    assert kota["population"] == sum(a.population for a in city.areas if a.level == "rt")
    assert kota["expected_poor_people"] == round(kota["population"] * 0.0773)
    assert kota["under_coverage_people"] == kota["expected_poor_people"] - kota["poor_bps_people"]


def test_local_desil_figures_equal_a_recount_in_sql(loaded):
    expected = dict(
        loaded.execute("""
        WITH d AS (SELECT rt_code, jumlah_anggota, ntile(10) OVER (
                       ORDER BY bps_count DESC, jumlah_anggota DESC, id) AS desil
                   FROM household WHERE active)
        SELECT rt_code, count(*) FILTER (WHERE desil <= 4) FROM d GROUP BY rt_code""").fetchall()
    )
    got = {r["code"]: r["poor_local_families"] for r in loaded.call(read_stats, "rt") if r["families"]}
    assert {k: v for k, v in got.items() if k in expected} == expected  # equal weights: score follows bps_count


@pytest.mark.parametrize(
    "parent,child", [("kota", "kecamatan"), ("kecamatan", "kelurahan"), ("kelurahan", "rw"), ("rw", "rt")]
)
def test_children_sum_to_their_parent(loaded, parent, child):
    kids: dict[str, dict[str, int]] = {}
    for r in loaded.call(read_stats, child):
        acc = kids.setdefault(r["parent_code"], dict.fromkeys(COUNTS, 0))
        for k in COUNTS:
            acc[k] += r[k]
    for r in loaded.call(read_stats, parent):
        assert {k: r[k] for k in COUNTS} == kids[r["code"]], r["code"]


def test_an_approved_verification_shows_on_the_next_read(loaded):
    hid, rt = loaded.execute(
        "SELECT id, rt_code FROM household WHERE tgl_verval IS NULL AND active AND bps_count < 9 ORDER BY id LIMIT 1"
    ).fetchone()
    before = {r["code"]: r for r in loaded.call(read_stats, "rt")}[rt]
    kota_before = loaded.call(read_stats, "kota")[0]
    loaded.execute(
        """UPDATE household SET tgl_verval = current_date, hasil_verval = 1, version = version + 1,
               k01 = true, k02 = true, k03 = true, k04 = true, k05 = true, k06 = true, k07 = true, k08 = true,
               k09 = true, k10 = true, k11 = true, k12 = true, k13 = true, k14 = true
           WHERE id = %s""",
        (hid,),
    )
    after = {r["code"]: r for r in loaded.call(read_stats, "rt")}[rt]
    assert after["verified_families"] == before["verified_families"] + 1
    assert after["poor_bps_families"] == before["poor_bps_families"] + 1
    assert after["days_since_verval"] == 0
    assert after["fakir_miskin_families"] == before["fakir_miskin_families"] + 1
    assert loaded.call(read_stats, "kota")[0]["verified_families"] == kota_before["verified_families"] + 1
    info = loaded.run(lambda c: explain(c, hid))
    assert info["score"] == 100.0 and info["local_rank"] <= info["ranked_families"]
    assert sum(c["points"] for c in info["contributions"]) == pytest.approx(100.0, abs=0.1)
    assert loaded.execute("SELECT count(*) FROM household_version WHERE household_id = %s", (hid,)).fetchone() == (1,)


def test_a_removed_family_leaves_the_ranking(loaded):
    hid, rt = loaded.execute("SELECT id, rt_code FROM household WHERE active ORDER BY id LIMIT 1").fetchone()
    before = {r["code"]: r for r in loaded.call(read_stats, "rt")}[rt]
    ranked_before = loaded.execute("SELECT count(*) FROM household_rank").fetchone()[0]
    loaded.execute(
        "UPDATE household SET tgl_verval = current_date, hasil_verval = 6, version = version + 1 WHERE id = %s", (hid,)
    )
    after = {r["code"]: r for r in loaded.call(read_stats, "rt")}[rt]
    assert after["removed_families"] == before["removed_families"] + 1
    assert loaded.execute("SELECT count(*) FROM household_rank").fetchone()[0] == ranked_before - 1
    assert loaded.run(lambda c: explain(c, hid)) is None


def test_new_weights_recompute_scores_and_categories(loaded, tmp_path):
    cfg_file = tmp_path / "peta.yaml"
    cfg_file.write_text(
        "ranking:\n  weights: {"
        + ", ".join(f"k{i:02d}: 0" for i in range(2, 15))
        + "}\n  categories: {fakir_miskin: 100, miskin: 100, rentan: 50}\n"
    )
    loaded.call(apply_config, load_config(cfg_file))
    scores = dict(loaded.execute("SELECT r.score, count(*) FROM household_rank r GROUP BY 1").fetchall())
    assert set(scores) <= {0, 100}
    with_k01 = loaded.execute("SELECT count(*) FROM household WHERE active AND k01").fetchone()[0]
    assert scores.get(100, 0) == with_k01
    assert loaded.call(read_stats, "kota")[0]["fakir_miskin_families"] == with_k01
    top = loaded.call(ranked, limit=1)[0]
    assert top["score"] == 100


def test_invalid_configuration_is_refused(tmp_path):
    from core.errors import InputError

    bad = tmp_path / "bad.yaml"
    bad.write_text("ranking:\n  weights: {k01: -1}\n  categories: {fakir_miskin: 10, miskin: 50}\nfoo: 1\n")
    with pytest.raises(InputError) as err:
        load_config(bad)
    assert err.value.problems == [
        "foo: unknown setting (known: ranking, aggregates, programs, kab_kota, placement, disclosure, verval)",
        "ranking.weights.k01: must be a number >= 0, got -1",
        "ranking.categories: fakir_miskin >= miskin >= rentan expected",
    ]


def test_invalid_local_programmes_are_refused(tmp_path):
    from core.errors import InputError

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "programs:\n  local:\n"
        "    - {code: KARTU-SEHAT, name: Kartu Sehat}\n"
        "    - {code: kartu sehat, name: x}\n"
        "    - {code: PKH, name: Program Keluarga Harapan}\n"
        "    - {code: KARTU-SEHAT, name: ''}\n"
        "    - {code: BEASISWA}\n"
        "    - KARTU-LAIN\n"
    )
    with pytest.raises(InputError) as err:
        load_config(bad)
    assert err.value.problems == [
        "programs.local[1].code: upper-case letters and digits joined by '-' expected, got 'kartu sehat'",
        "programs.local[2].code: PKH is a national programme, counted on its own",
        "programs.local[3].code: KARTU-SEHAT is listed twice",
        "programs.local[3].name: a name of 1..80 characters expected, got ''",
        "programs.local[4]: a mapping with code and name (and optionally owner, period, eligibility) expected, got"
        " {'code': 'BEASISWA'}",
        "programs.local[5]: a mapping with code and name (and optionally owner, period, eligibility) expected, got"
        " 'KARTU-LAIN'",
    ]
    bad.write_text("programs:\n  local: KARTU-SEHAT\n")
    with pytest.raises(InputError) as err:
        load_config(bad)
    assert err.value.problems == ["programs.local: a list of {code, name} expected, got 'KARTU-SEHAT'"]
    good = tmp_path / "good.yaml"
    good.write_text("programs:\n  local:\n    - {code: KARTU-SEHAT, name: Kartu Sehat}\n")
    assert load_config(good)["programs"]["local"] == [{"code": "KARTU-SEHAT", "name": "Kartu Sehat"}]
