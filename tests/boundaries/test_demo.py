"""The synthetic demo city: determinism, structure, calibration to DOMAIN.md and clean geometry in PostGIS."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
import shapely

from boundaries.demo import City, DemoConfig, generate_city, load_city
from boundaries.reader import read_features
from core.levels import CODE_PATTERNS, LEVELS
from core.privacy import keyed_hash, mask_number
from tests.conftest import JAMBI, needs_jambi

SMALL = 0.05
POOR_SQL = " + ".join(f"k{i:02d}::int" for i in range(1, 15)) + " >= 9"


def fingerprint(city: City) -> str:
    """SHA-256 over area codes, names, populations and WKB, and every household row as text."""
    h = hashlib.sha256()
    for a in city.areas:
        h.update(f"{a.code}|{a.name}|{a.parent}|{a.population}".encode())
        h.update(shapely.to_wkb(a.geom))
    hh = city.households
    columns = [
        hh.rt_code,
        hh.lon,
        hh.lat,
        hh.size,
        hh.programs,
        hh.desil,
        hh.tgl_verval,
        hh.hasil_verval,
        hh.kk_hash,
        hh.kk_masked,
        hh.nik_hash,
        hh.nik_masked,
        hh.nama,
        hh.alamat,
    ]
    for i in range(len(hh)):
        row = [repr(c[i]) for c in columns] + [hh.criteria[i].tobytes().hex()]
        h.update("|".join(row).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small_city() -> City:
    """A 5 % synthetic city with seed 7."""
    return generate_city(DemoConfig(scale=SMALL, seed=7))


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_data(small_city: City) -> None:
    again = generate_city(DemoConfig(scale=SMALL, seed=7))
    assert fingerprint(again) == fingerprint(small_city)
    assert again.digest() == small_city.digest()


def test_other_seed_gives_other_data(small_city: City) -> None:
    other = generate_city(DemoConfig(scale=SMALL, seed=8))
    assert fingerprint(other) != fingerprint(small_city)
    assert other.digest() != small_city.digest()


def test_secret_key_changes_hashes_only(small_city: City) -> None:
    keyed = generate_city(DemoConfig(scale=SMALL, seed=7, secret_key=b"another key"))
    assert not set(keyed.households.kk_hash) & set(small_city.households.kk_hash)
    assert list(keyed.households.kk_masked) == list(small_city.households.kk_masked)
    assert [a.code for a in keyed.areas] == [a.code for a in small_city.areas]


# ---------------------------------------------------------------- structure


def test_codes_names_and_hierarchy(small_city: City) -> None:
    areas = small_city.areas
    assert [a.level for a in areas] == sorted((a.level for a in areas), key=LEVELS.index)
    codes = {a.code for a in areas}
    assert len(codes) == len(areas)
    for a in areas:
        assert CODE_PATTERNS[a.level].match(a.code), a.code
        assert a.level == "kota" or a.parent in codes
        assert a.geom.geom_type == "MultiPolygon" and a.geom.is_valid and not a.geom.is_empty
    assert small_city.count("kecamatan") == 11
    assert small_city.count("kelurahan") == 66
    assert [a.name for a in areas if a.level == "kecamatan"][0] == "Kecamatan Contoh 01"
    assert [a.name for a in areas if a.level == "kelurahan"][2] == "Kelurahan Contoh 01-03"
    for a in areas:
        if a.level in ("rw", "rt"):
            assert a.name == f"{a.level.upper()} {a.code[-3:]}"


def test_child_numbers_are_contiguous(small_city: City) -> None:
    children: dict[str, list[str]] = {}
    for a in small_city.areas:
        if a.parent:
            children.setdefault(a.parent, []).append(a.code.rsplit(".", 1)[1])
    for parent, numbers in children.items():
        if parent.count(".") >= 2:  # kelurahan 1001.., RW and RT 001..
            first = 1001 if parent.count(".") == 2 else 1
            assert [int(n) for n in numbers] == list(range(first, first + len(numbers))), parent


def test_parent_population_is_sum_of_children(small_city: City) -> None:
    pop = {a.code: a.population for a in small_city.areas}
    sums: dict[str, int] = {}
    for a in small_city.areas:
        if a.parent:
            sums[a.parent] = sums.get(a.parent, 0) + a.population
    assert sums and all(pop[code] == total for code, total in sums.items())
    assert small_city.residents() == round(620_000 * SMALL)


def test_identity_fields_are_well_formed(small_city: City) -> None:
    hh = small_city.households
    assert len(set(hh.kk_hash)) == len(hh)
    masked = re.compile(r"^1571(\d\d)\*{6}\d{4}$")
    for rt, kk, nik, kk_hash, nama, alamat in zip(
        hh.rt_code, hh.kk_masked, hh.nik_masked, hh.kk_hash, hh.nama, hh.alamat, strict=True
    ):
        kec = rt.split(".")[2]
        assert masked.match(kk).group(1) == kec and masked.match(nik).group(1) == kec
        assert re.fullmatch(r"[0-9a-f]{64}", kk_hash)
        assert re.fullmatch(r"[A-Z][a-z]+\.? [A-Z][a-z]+", nama), nama
        assert alamat.startswith("Jl. ") and alamat.endswith(f"RT {rt[-3:]}/RW {rt[-7:-4]}"), alamat
    assert hh.size.min() >= 1 and hh.size.max() <= 12
    assert set(np.unique(hh.desil)) <= set(range(1, 11))


def test_privacy_helpers() -> None:
    expected = hmac.new(b"k", b"1571015003900001", hashlib.sha256).hexdigest()
    assert keyed_hash(b"k", "1571015003900001") == expected
    assert keyed_hash(b"other", "1571015003900001") != expected
    assert mask_number("1571015003900001") == "157101******0001"


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ValueError, match="kelurahan"):
        generate_city(DemoConfig(scale=SMALL, kelurahan=40))


# ---------------------------------------------------------------- loading (small)


def test_load_replaces_previous_data(conn: psycopg.Connection, small_city: City) -> None:
    first = load_city(conn, small_city)
    second = load_city(conn, small_city)
    assert first == second
    assert first["households"] == len(small_city.households)
    rows = dict(conn.execute("SELECT level, count(*) FROM area GROUP BY level").fetchall())
    assert rows == {level: first[level] for level in LEVELS}
    assert conn.execute("SELECT count(*) FROM household").fetchone()[0] == len(small_city.households)
    assert conn.execute("SELECT count(*) FROM area_version").fetchone()[0] == 0
    sources = conn.execute("SELECT DISTINCT source FROM household UNION SELECT DISTINCT source FROM area")
    assert [r[0] for r in sources.fetchall()] == ["demo"]
    assert conn.execute("SELECT count(*) FROM household WHERE kode_rt IS DISTINCT FROM rt_code").fetchone()[0] == 0


@needs_jambi
def test_real_kelurahan_boundaries(conn: psycopg.Connection) -> None:
    path = JAMBI / "kelurahan.geojson"
    city = generate_city(DemoConfig(scale=SMALL, boundaries=path))
    feats, _ = read_features(path)
    real = sorted(f.code for f in feats)
    assert len(real) == 68
    assert [a.code for a in city.areas if a.level == "kelurahan"] == real
    names = {f.code: f.name for f in feats}
    assert all(a.name == names[a.code] for a in city.areas if a.level == "kelurahan")
    kecs = [a for a in city.areas if a.level == "kecamatan"]
    assert [a.code for a in kecs] == [f"15.71.{i:02d}" for i in range(1, 12)]
    assert kecs[0].name == "Telanaipura"
    assert (city.kota().code, city.kota().name) == ("15.71", "Kota Jambi")  # from the file and kota.geojson beside it
    # the metric CRS and the patterns' centre come from the data: UTM 48S, and the smallest (densest) kelurahan
    # around the old market, Pasar Jambi (103.617 E, 1.590 S), not the synthetic city's configured centre
    assert city.site is not None and city.site.crs.to_epsg() == 32748
    lon, lat = city.site.centre_lonlat
    assert np.hypot(lon - 103.617, lat + 1.590) * 111.32 < 1.5
    counts = load_city(conn, city)
    assert counts["kelurahan"] == 68 and counts["kecamatan"] == 11 and counts["kota"] == 1
    invalid = conn.execute("SELECT count(*) FROM area WHERE NOT ST_IsValid(geom)").fetchone()[0]
    assert invalid == 0


# ---------------------------------------------------------------- full scale, loaded once


FullDb = tuple[psycopg.Connection, City, dict[str, int], float]


@pytest.fixture(scope="class")
def full_db(database_url: str) -> Iterator[FullDb]:
    """The default city (scale 1.0) generated and loaded once on its own connection, rolled back after."""
    started = time.perf_counter()
    city = generate_city(DemoConfig())
    with psycopg.connect(database_url) as c, c.transaction(force_rollback=True):
        counts = load_city(c, city)
        yield c, city, counts, time.perf_counter() - started


class TestFullScale:
    """Calibration and geometry of the full-scale city, checked in PostGIS."""

    @pytest.fixture
    def db(self, full_db: FullDb) -> FullDb:
        return full_db

    def test_fast_enough(self, db: FullDb) -> None:
        assert db[3] < 120.0

    def test_area_counts(self, db: FullDb) -> None:
        c, _, counts, _ = db
        rows = dict(c.execute("SELECT level, count(*) FROM area GROUP BY level").fetchall())
        assert rows == {level: counts[level] for level in LEVELS}
        assert rows["kota"] == 1 and rows["kecamatan"] == 11
        assert 60 <= rows["kelurahan"] <= 70
        assert abs(rows["rt"] - 3_100) <= 0.05 * 3_100
        rts_per_rw = rows["rt"] / rows["rw"]
        assert 5 <= rts_per_rw <= 10

    def test_residents_and_registry(self, db: FullDb) -> None:
        c = db[0]
        residents = c.execute("SELECT population FROM area WHERE level = 'kota'").fetchone()[0]
        assert abs(residents - 620_000) <= 6_200
        fams, people, vp_fams, vp_people, verified = c.execute(
            """SELECT count(*), sum(jumlah_anggota), count(*) FILTER (WHERE desil_resmi <= 2),
                      sum(jumlah_anggota) FILTER (WHERE desil_resmi <= 2), count(tgl_verval)
               FROM household"""
        ).fetchone()
        assert abs(fams - 95_000) <= 4_750
        assert abs(people - 342_000) <= 17_100
        assert abs(vp_fams - 20_000) <= 1_000
        assert abs(vp_people - 75_000) <= 5_250
        assert abs(verified - 13_000) <= 650

    def test_bps_poverty_rate(self, db: FullDb) -> None:
        rate = (
            db[0]
            .execute(
                f"""SELECT sum(jumlah_anggota) FILTER (WHERE {POOR_SQL})::float
                       / (SELECT population FROM area WHERE level = 'kota') FROM household"""
            )
            .fetchone()[0]
        )
        assert abs(rate - 0.0773) <= 0.003

    def test_poverty_is_clustered_and_indicators_differ(self, db: FullDb) -> None:
        c = db[0]
        by_kel = [
            r[0]
            for r in c.execute(
                f"""SELECT sum(h.jumlah_anggota) FILTER (WHERE {POOR_SQL})::float / max(k.population)
                FROM household h JOIN area k ON k.code = left(h.rt_code, 13) GROUP BY k.code"""
            ).fetchall()
        ]
        assert max(by_kel) > 3 * 0.0773 and min(by_kel) < 0.0773 / 3
        floor, savings = c.execute("SELECT avg(k02::int), avg(k14::int) FROM household").fetchone()
        assert floor < savings / 2

    def test_programmes_follow_desil_with_errors(self, db: FullDb) -> None:
        rows = dict(
            (d, (pkh, any_))
            for d, pkh, any_ in db[0]
            .execute(
                """SELECT desil_resmi, avg(('PKH' = ANY(programs))::int), avg((programs <> '{}')::int)
               FROM household GROUP BY 1"""
            )
            .fetchall()
        )
        assert rows[1][0] > 0.4 and rows[4][0] > 0.4
        assert 0 < rows[7][0] < 0.1  # inclusion errors exist but are rare
        assert 0.05 < 1 - rows[1][1] < 0.3  # exclusion errors: very poor families with nothing

    def test_verified_families(self, db: FullDb) -> None:
        c = db[0]
        share_vp, first, last, share_1 = c.execute(
            """SELECT avg((desil_resmi <= 2)::int), min(tgl_verval), max(tgl_verval), avg((hasil_verval = 1)::int)
               FROM household WHERE tgl_verval IS NOT NULL"""
        ).fetchone()
        assert share_vp > 0.5 and share_1 > 0.6
        assert str(first) >= "2025-01-01" and str(last) <= "2026-10-31"
        assert (
            c.execute("SELECT count(*) FROM household WHERE (tgl_verval IS NULL) <> (hasil_verval IS NULL)").fetchone()[
                0
            ]
            == 0
        )
        coverage = [
            r[0]
            for r in c.execute(
                """SELECT avg((tgl_verval IS NOT NULL)::int) FROM household WHERE desil_resmi <= 2
               GROUP BY left(rt_code, 13)"""
            ).fetchall()
        ]
        assert max(coverage) - min(coverage) > 0.5  # uneven across kelurahan

    def test_households_lie_in_their_rt(self, db: FullDb) -> None:
        outside = (
            db[0]
            .execute(
                """SELECT count(*) FROM household h LEFT JOIN area a ON a.code = h.rt_code AND a.level = 'rt'
               WHERE a.code IS NULL OR NOT ST_Covers(a.geom, h.geom)"""
            )
            .fetchone()[0]
        )
        assert outside == 0

    def test_rts_partition_their_kelurahan(self, db: FullDb) -> None:
        c = db[0]
        overlap = c.execute(
            """SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
               FROM area a JOIN area b ON a.level = 'rt' AND b.level = 'rt' AND a.code < b.code
                AND left(a.code, 13) = left(b.code, 13) AND ST_Intersects(a.geom, b.geom)"""
        ).fetchone()[0]
        assert overlap < 1.0
        worst = c.execute(
            """SELECT max(abs(k.area_m2 - s.m2) / k.area_m2) FROM area k
               JOIN (SELECT left(code, 13) AS kel, sum(area_m2) AS m2 FROM area WHERE level = 'rt' GROUP BY 1) s
                 ON s.kel = k.code"""
        ).fetchone()[0]
        assert worst < 0.001

    def test_geometry_valid_and_populations_add_up(self, db: FullDb) -> None:
        c = db[0]
        assert c.execute("SELECT count(*) FROM area WHERE NOT ST_IsValid(geom)").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM area WHERE GeometryType(geom) <> 'MULTIPOLYGON'").fetchone()[0] == 0
        mismatched = c.execute(
            """SELECT count(*) FROM area p JOIN (SELECT parent_code, sum(population) AS s FROM area
               GROUP BY parent_code) ch ON ch.parent_code = p.code WHERE p.population <> ch.s"""
        ).fetchone()[0]
        assert mismatched == 0
        centre = c.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM area WHERE level='kota') x"
        ).fetchone()
        assert abs(centre[0] - 103.61) < 0.05 and abs(centre[1] + 1.61) < 0.05
        km2 = c.execute("SELECT area_m2 / 1e6 FROM area WHERE level = 'kota'").fetchone()[0]
        assert 150 < km2 < 190
