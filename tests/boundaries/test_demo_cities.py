"""The demo city built for other kab/kota than Kota Jambi (issue 15): from a boundary file the generator takes the
kab/kota code, the metric CRS (the UTM zone there, north or south of the equator) and the centre of its density and
poverty patterns from the data. Synthetic boundary files here: Kota Medan (12.71, zone 47N) and Kota Makassar
(73.71, zone 50S), kelurahan as Voronoi cells in a disc, crowded around a core that is not the disc's middle."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from boundaries.demo import City, DemoConfig, generate_city
from boundaries.demo.population import _zscore
from core.errors import InputError
from core.levels import CODE_PATTERNS, LEVELS
from core.settings import get_settings
from peta.cli import app

SMALL = 0.05
KEY = "demo-cities-test-key-0123456789abcdef"
M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Kota:
    """A synthetic kab/kota: code, name, the middle of its disc, its crowded core, kecamatan names, UTM EPSG."""

    code: str
    name: str
    middle: tuple[float, float]
    core: tuple[float, float]
    kecamatan: tuple[str, ...]
    epsg: int
    kelurahan_per_kecamatan: int = 6
    radius_deg: float = 0.06  # about 6.7 km: some 140 km²


MEDAN = Kota("12.71", "Kota Medan", (98.67, 3.60), (98.685, 3.585), ("Medan Kota", "Medan Barat", "Medan Timur"), 32647)
MAKASSAR = Kota("73.71", "Kota Makassar", (119.43, -5.14), (119.41, -5.13), ("Ujung Pandang", "Wajo"), 32750)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in km between two lon/lat points (equirectangular: fine at a city's size)."""
    dx = (a[0] - b[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot(dx, a[1] - b[1]) * M_PER_DEG / 1000


def _features(kota: Kota, seed: int) -> tuple[list[dict], list[dict]]:
    """Kelurahan (Voronoi cells, half of the seeds crowded around the core) and kecamatan (sectors of the disc)."""
    rng = np.random.default_rng(seed)
    cx, cy = kota.middle
    disc = shapely.Point(cx, cy).buffer(kota.radius_deg, quad_segs=32)
    n = len(kota.kecamatan) * kota.kelurahan_per_kecamatan
    crowded = np.column_stack([rng.normal(kota.core[0], 0.008, n // 2), rng.normal(kota.core[1], 0.008, n // 2)])
    angle, r = rng.uniform(0, 2 * np.pi, n - n // 2), kota.radius_deg * np.sqrt(rng.uniform(0.1, 0.9, n - n // 2))
    spread = np.column_stack([cx + r * np.cos(angle), cy + r * np.sin(angle)])
    seeds = np.concatenate([crowded, spread])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=disc.buffer(0.1), ordered=True)
    )
    cells = shapely.intersection(cells, disc)
    # kecamatan: equal shares of the kelurahan in order of their bearing from the middle (contiguous sectors)
    inner = shapely.point_on_surface(cells)
    bearing = np.arctan2(shapely.get_y(inner) - cy, shapely.get_x(inner) - cx)
    order = np.argsort(bearing)
    kelurahan, kecamatan = [], []
    for k, name in enumerate(kota.kecamatan):
        kec = f"{kota.code}.{k + 1:02d}"
        members = order[k * kota.kelurahan_per_kecamatan : (k + 1) * kota.kelurahan_per_kecamatan]
        for j, i in enumerate(members):
            code = f"{kec}.{1001 + j}"
            kelurahan.append(_feature(code, f"Kelurahan {name} {j + 1}", "kelurahan", cells[i]))
        kecamatan.append(_feature(kec, name, "kecamatan", shapely.union_all(cells[members])))
    return kelurahan, kecamatan


def _feature(code: str, name: str, level: str, geom: shapely.Geometry) -> dict:
    multi = shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
    props = {"kode": code, "nama": name, "level": level}
    return {"type": "Feature", "id": code, "properties": props, "geometry": json.loads(shapely.to_geojson(multi))}


def _write(path: Path, name: str, features: list[dict]) -> Path:
    """A GeoJSON FeatureCollection like the Kota Jambi files in ../shared/data/kota-jambi/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "name": name, "features": features}))
    return path


def write_kota(folder: Path, kota: Kota, seed: int = 1) -> Path:
    """kelurahan.geojson with kecamatan.geojson and kota.geojson beside it (their names); the kelurahan path."""
    kelurahan, kecamatan = _features(kota, seed)
    whole = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in kecamatan])
    _write(folder / "kota.geojson", f"kota_{kota.code}", [_feature(kota.code, kota.name, "kota", whole)])
    _write(folder / "kecamatan.geojson", f"kecamatan_{kota.code}.", kecamatan)
    return _write(folder / "kelurahan.geojson", f"kelurahan_{kota.code}.", kelurahan)


def file_codes(path: Path) -> list[str]:
    return sorted(f["properties"]["kode"] for f in json.loads(path.read_text())["features"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A boundary folder per kota, and one file holding the kelurahan of both."""
    tmp = tmp_path_factory.mktemp("cities")
    out = {k.code: write_kota(tmp / k.code, k) for k in (MEDAN, MAKASSAR)}
    both = [f for path in out.values() for f in json.loads(path.read_text())["features"]]
    out["both"] = _write(tmp / "both" / "kelurahan.geojson", "kelurahan", both)
    return out


@pytest.fixture(scope="module", params=[MEDAN, MAKASSAR], ids=lambda k: k.name)
def built(request: pytest.FixtureRequest, files: dict[str, Path]) -> tuple[Kota, Path, City]:
    kota: Kota = request.param
    path = files[kota.code]
    return kota, path, generate_city(DemoConfig(boundaries=path, scale=SMALL))


# ---------------------------------------------------------------- the kab/kota, its CRS and centre come from the file


def test_codes_and_names_are_the_files(built: tuple[Kota, Path, City]) -> None:
    kota, path, city = built
    assert city.kota().code == kota.code and city.kota().name == kota.name
    areas = city.areas
    assert [a.level for a in areas] == sorted((a.level for a in areas), key=LEVELS.index)
    codes = {a.code for a in areas}
    for a in areas:
        assert CODE_PATTERNS[a.level].match(a.code) and a.code[:5] == kota.code, a.code
        assert a.level == "kota" or a.parent in codes
        assert a.geom.geom_type == "MultiPolygon" and a.geom.is_valid and not a.geom.is_empty
    assert [a.code for a in areas if a.level == "kelurahan"] == file_codes(path)
    assert [a.name for a in areas if a.level == "kecamatan"] == list(kota.kecamatan)
    hh = city.households
    assert len(hh) > 1000 and all(c[:5] == kota.code for c in hh.rt_code)
    region = kota.code.replace(".", "")
    assert all(m.startswith(region) for m in hh.kk_masked) and all(m.startswith(region) for m in hh.nik_masked)


def test_metric_crs_and_centre_come_from_the_data(built: tuple[Kota, Path, City]) -> None:
    kota, _, city = built
    assert city.site is not None
    assert city.site.crs.to_epsg() == kota.epsg  # 47N for Medan, 50S for Makassar: not Kota Jambi's 48S
    # the densest kelurahan lie in the crowded core, not at the disc's middle nor at Kota Jambi's centre
    assert _km(city.site.centre_lonlat, kota.core) < 1.5
    assert _km(city.site.centre_lonlat, kota.middle) > 1.5
    assert city.kota().geom.contains(shapely.Point(city.site.centre_lonlat))
    kota_km2 = (math.pi * (kota.radius_deg * M_PER_DEG) ** 2) * math.cos(math.radians(kota.middle[1])) / 1e6
    assert city.site.reach == pytest.approx(math.sqrt(kota_km2 / 170), rel=0.02)


def test_households_lie_in_their_rt_and_rts_in_their_kelurahan(built: tuple[Kota, Path, City]) -> None:
    _, _, city = built
    by_code = {a.code: a.geom for a in city.areas}
    hh = city.households
    rt_geoms = np.array([by_code[c] for c in hh.rt_code], dtype=object)
    assert np.isfinite(hh.lon).all() and np.isfinite(hh.lat).all()
    assert shapely.contains_xy(rt_geoms, hh.lon, hh.lat).all()
    # RTs and RWs are cut in metres and each reprojected on its own: an edge straight in UTM and the same edge
    # straight in lon/lat part by centimetres over these kilometre-long synthetic edges, no more
    for level in ("rt", "rw"):
        for a in (a for a in city.areas if a.level == level):
            vertices = shapely.points(shapely.get_coordinates(a.geom))
            assert shapely.distance(vertices, by_code[a.code[:13]]).max() * M_PER_DEG < 0.25, a.code
    kel_area = {a.code: a.geom.area for a in city.areas if a.level == "kelurahan"}
    rt_area: dict[str, float] = {}
    for a in city.areas:
        if a.level == "rt":
            rt_area[a.code[:13]] = rt_area.get(a.code[:13], 0.0) + a.geom.area
    assert all(abs(rt_area[c] - kel_area[c]) / kel_area[c] < 1e-3 for c in kel_area)


def test_poverty_and_density_are_plausible(built: tuple[Kota, Path, City]) -> None:
    _, _, city = built
    assert all(math.isfinite(v) for v in city.stats.values())
    assert city.residents() == round(620_000 * SMALL)
    assert abs(city.stats["poverty_rate"] - 0.0773) <= 0.005
    assert abs(city.stats["very_poor_families"] - 20_000 * SMALL) <= 0.05 * 20_000 * SMALL
    hh = city.households
    poor_people = hh.size * hh.poor()
    rts = [a for a in city.areas if a.level == "rt"]
    index = {a.code: i for i, a in enumerate(rts)}
    rt_of = np.array([index[c] for c in hh.rt_code])
    rt_pop = np.array([a.population for a in rts], dtype=float)
    rt_poor = np.bincount(rt_of, weights=poor_people, minlength=len(rts))
    share = rt_poor / rt_pop
    # clustered, not uniform nor degenerate: the poorest tenth of the RTs hold far more than a tenth of the poor,
    # and many RTs have none
    poorest = np.argsort(-share, kind="stable")[: len(rts) // 10]
    assert rt_poor[poorest].sum() > 0.3 * rt_poor.sum()
    assert share[poorest].min() > 2 * city.config.poverty_rate
    assert (rt_poor == 0).mean() > 0.15
    # residents crowd around the centre: the kelurahan holding it is far denser than the farther half of them
    kels = [a for a in city.areas if a.level == "kelurahan"]
    density = np.array([a.population / a.geom.area for a in kels])
    assert city.site is not None
    centre = shapely.Point(city.site.centre_lonlat)
    distance = shapely.distance(shapely.point_on_surface(np.array([a.geom for a in kels], dtype=object)), centre)
    order = np.argsort(distance)
    assert kels[order[0]].geom.covers(centre)
    assert density[order[0]] > 2 * density[order[len(kels) // 2 :]].mean()


def test_deterministic_per_seed(built: tuple[Kota, Path, City]) -> None:
    _, path, city = built
    assert generate_city(DemoConfig(boundaries=path, scale=SMALL)).digest() == city.digest()
    assert generate_city(DemoConfig(boundaries=path, scale=SMALL, seed=9)).digest() != city.digest()


# ---------------------------------------------------------------- several kab/kota in one file, configuration


def test_a_file_of_several_kota_needs_a_choice(files: dict[str, Path]) -> None:
    both = files["both"]
    with pytest.raises(InputError) as refused:
        generate_city(DemoConfig(boundaries=both, scale=0.02))
    assert str(refused.value) == (
        f"{both}: kelurahan of 2 kab/kota (12.71 (18 kelurahan), 73.71 (12 kelurahan)); choose one with --kota"
    )
    with pytest.raises(InputError, match=r"no kelurahan of kab/kota 61\.71; the file holds 12\.71"):
        generate_city(DemoConfig(boundaries=both, scale=0.02, kota_code="61.71"))
    city = generate_city(DemoConfig(boundaries=both, scale=0.02, kota_code="73.71"))
    assert [a.code for a in city.areas if a.level == "kelurahan"] == file_codes(files["73.71"])
    assert city.kota().name == "Kota 73.71"  # no kota.geojson beside this file: named by its code
    assert city.site is not None and city.site.crs.to_epsg() == 32750


def test_synthetic_city_elsewhere_and_config_checks() -> None:
    city = generate_city(DemoConfig(scale=SMALL, kota_code="12.71", centre=(98.67, 3.59)))
    assert {a.code[:5] for a in city.areas} == {"12.71"} and city.kota().name == "Kota Contoh"
    assert city.site is not None and city.site.crs.to_epsg() == 32647
    middle = city.kota().geom.centroid
    assert _km((middle.x, middle.y), (98.67, 3.59)) < 3
    assert generate_city(DemoConfig(scale=0.02, kota_code="15.05")).kota().name == "Kabupaten Contoh"
    with pytest.raises(ValueError, match="kota code must look like 15.71"):
        DemoConfig(kota_code="1271").check()
    with pytest.raises(ValueError, match="outside Indonesia's zones 46-54"):
        DemoConfig(centre=(10.0, 50.0)).check()


def test_a_flat_deprivation_field_scores_zero() -> None:
    # the NaN crash: far from the pattern's centre every RT's field was the same 0.9, and 0 / 0 standard scores
    # made NaN registry targets (a negative count for np.repeat)
    z = _zscore(np.full(5, 0.9), np.arange(1.0, 6.0))
    assert np.array_equal(z, np.zeros(5))


# ---------------------------------------------------------------- `peta demo --boundaries` end to end


@pytest.fixture
def peta(clean_committed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    monkeypatch.setenv("PETA_SECRET_KEY", KEY)
    monkeypatch.setenv("PETA_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield clean_committed
    get_settings.cache_clear()


def test_peta_demo_builds_the_file_kota(peta: str, files: dict[str, Path]) -> None:
    runner = CliRunner()
    medan = files[MEDAN.code]
    done = runner.invoke(app, ["demo", "--boundaries", str(medan), "--scale", "0.02", "--seed", "3"])
    assert done.exit_code == 0, done.output
    assert "Kota Medan (12.71)" in done.output
    with psycopg.connect(peta) as c:
        areas = dict(c.execute("SELECT code, level FROM area").fetchall())
        assert {code[:5] for code in areas} == {"12.71"}
        assert sorted(code for code, level in areas.items() if level == "kelurahan") == file_codes(medan)
        kecamatan = sorted(code for code, level in areas.items() if level == "kecamatan")
        assert kecamatan == ["12.71.01", "12.71.02", "12.71.03"]
        families, wrong_prefix, outside = c.execute(
            """SELECT count(*), count(*) FILTER (WHERE h.rt_code NOT LIKE '12.71.%'),
                      count(*) FILTER (WHERE NOT ST_Covers(a.geom, h.geom))
               FROM household h JOIN area a ON a.code = h.rt_code AND a.level = 'rt'"""
        ).fetchone()
        assert families > 500 and wrong_prefix == 0 and outside == 0
        assert c.execute("SELECT count(*) FROM household").fetchone()[0] == families

    refused = runner.invoke(app, ["demo", "--boundaries", str(files["both"]), "--scale", "0.02"])
    assert refused.exit_code == 1
    assert f"error: {files['both']}: kelurahan of 2 kab/kota" in refused.output
    assert "choose one with --kota" in refused.output
    bad = runner.invoke(app, ["demo", "--boundaries", str(files["both"]), "--kota", "7371"])
    assert bad.exit_code == 2 and "kota code must look like 15.71" in bad.output
    with psycopg.connect(peta) as c:  # nothing replaced
        assert c.execute("SELECT DISTINCT left(code, 5) FROM area").fetchall() == [("12.71",)]

    picked = runner.invoke(
        app, ["demo", "--boundaries", str(files["both"]), "--kota", "73.71", "--scale", "0.02", "--seed", "3"]
    )
    assert picked.exit_code == 0, picked.output
    with psycopg.connect(peta) as c:
        assert c.execute("SELECT DISTINCT left(code, 5) FROM area").fetchall() == [("73.71",)]
        assert c.execute("SELECT count(*) FROM household WHERE rt_code LIKE '73.71.%'").fetchone()[0] > 500


# ---------------------------------------------------------------- several cities side by side (issue 16)


def _snapshot(url: str, kota: str) -> dict[str, list[tuple]]:
    """Everything a kab/kota's users see of it: areas, families, ranking, staff and published figures."""
    below = kota + ".%"
    with psycopg.connect(url) as c:
        return {
            "areas": c.execute("SELECT code, level, name, population, ST_AsBinary(geom) FROM area"
                               " WHERE code = %s OR code LIKE %s ORDER BY code", (kota, below)).fetchall(),
            "families": c.execute("SELECT h.id, h.kk_hash, h.rt_code, r.score, r.local_desil, r.category"
                                  " FROM household h JOIN household_rank r ON r.household_id = h.id"
                                  " WHERE h.rt_code LIKE %s ORDER BY h.id", (below,)).fetchall(),
            "figures": c.execute("SELECT * FROM area_figures WHERE code = %s OR code LIKE %s ORDER BY code",
                                 (kota, below)).fetchall(),
            "published": c.execute("SELECT * FROM area_stats_public WHERE code = %s OR code LIKE %s ORDER BY code",
                                   (kota, below)).fetchall(),
        }  # fmt: skip


def test_a_second_city_beside_the_first_changes_nothing_of_it(peta: str, files: dict[str, Path]) -> None:
    runner = CliRunner()
    jambi = runner.invoke(app, ["demo", "--scale", "0.02", "--seed", "3"])
    assert jambi.exit_code == 0, jambi.output
    before = _snapshot(peta, "15.71")
    assert all(before.values()) and len(before["families"]) > 500
    medan = runner.invoke(app, ["demo", "--add", "--boundaries", str(files[MEDAN.code]), "--scale", "0.02",
                                "--seed", "4"])  # fmt: skip
    assert medan.exit_code == 0, medan.output
    assert "Kota Medan (12.71), beside the other kab/kota" in medan.output
    assert _snapshot(peta, "15.71") == before  # Kota Jambi's areas, families, desil and figures, unchanged
    beside = _snapshot(peta, "12.71")
    assert all(beside.values()) and len(beside["families"]) > 500
    assert {d for *_, d, _ in beside["families"]} == set(range(1, 11))  # Medan's own ten desil
    with psycopg.connect(peta) as c:
        kota = c.execute("SELECT code FROM area WHERE level = 'kota' ORDER BY code").fetchall()
        assert kota == [("12.71",), ("15.71",)]
        assert c.execute("SELECT key FROM app_meta WHERE key LIKE 'demo%%' ORDER BY key").fetchall() == [
            ("demo",), ("demo:12.71",)]  # fmt: skip
    again = runner.invoke(app, ["demo", "--add", "--boundaries", str(files[MEDAN.code]), "--scale", "0.02",
                                "--seed", "5"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert _snapshot(peta, "15.71") == before  # Medan replaced in place: Jambi still untouched
    assert _snapshot(peta, "12.71")["families"] != beside["families"]
    refused = runner.invoke(app, ["demo", "--add", "--skip-if-loaded"])
    assert refused.exit_code == 2 and "does not go with --add" in refused.output
    alone = runner.invoke(app, ["demo", "--scale", "0.02", "--seed", "3"])  # without --add: every kab/kota replaced
    assert alone.exit_code == 0, alone.output
    with psycopg.connect(peta) as c:
        assert c.execute("SELECT DISTINCT left(code, 5) FROM area").fetchall() == [("15.71",)]
        assert c.execute("SELECT key FROM app_meta WHERE key LIKE 'demo%%'").fetchall() == [("demo",)]


def test_many_synthetic_cities_have_their_own_codes_places_and_seeds() -> None:
    from boundaries.demo.cities import MAX_CITIES, city_configs, kota_codes
    from core.crs import utm_epsg

    base = DemoConfig(scale=0.02, seed=7)
    configs = city_configs(MAX_CITIES, base)
    assert len(configs) == MAX_CITIES and configs[0] is base
    codes = [c.kota_code or "15.71" for c in configs]
    assert codes == kota_codes(MAX_CITIES) and codes[:3] == ["15.71", "11.71", "11.72"]
    assert len(set(codes)) == MAX_CITIES and all(CODE_PATTERNS["kota"].match(c) for c in codes)
    assert all(71 <= int(c[3:]) <= 79 for c in codes)  # every one a kota (DOMAIN.md: PP.71-PP.79)
    assert [c.seed for c in configs] == list(range(7, 7 + MAX_CITIES))
    centres = [(103.61, -1.61)] + [c.centre for c in configs[1:]]
    for lon, lat in centres:
        utm_epsg(lon, lat)  # inside Indonesia's UTM zones
    # no two closer than 0.4 degrees (a synthetic city is about 15 km, 0.14 degrees, across)
    nearest = min(math.dist(a, b) for i, a in enumerate(centres) for b in centres[i + 1:])
    assert nearest >= 0.4 - 1e-9
    assert configs[1].name == "Kota Contoh 11.71" and configs[1].scale == 0.02
    for bad in (0, MAX_CITIES + 1):
        with pytest.raises(ValueError, match="--cities takes 1 to 200 cities"):
            city_configs(bad, base)
    with pytest.raises(ValueError, match="does not go with --boundaries or --kota"):
        city_configs(2, DemoConfig(kota_code="12.71"))


def test_peta_demo_cities_loads_several_kab_kota_in_one_go(peta: str) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["demo", "--cities", "3", "--scale", "0.02", "--seed", "3"])
    assert done.exit_code == 0, done.output
    assert "3 cities (Kota Contoh (15.71), Kota Contoh 11.71 (11.71), Kota Contoh 11.72 (11.72))" in done.output
    with psycopg.connect(peta) as c:
        per_kota = c.execute(
            "SELECT a.code, count(h.id), count(DISTINCT r.local_desil) FROM area a"
            " JOIN household h ON h.kota_code = a.code LEFT JOIN household_rank r ON r.household_id = h.id"
            " WHERE a.level = 'kota' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [k for k, _, _ in per_kota] == ["11.71", "11.72", "15.71"]
        assert all(n > 500 and desil == 10 for _, n, desil in per_kota)  # each its own ten local desil
        # families lie in their own kab/kota's areas
        assert c.execute(
            "SELECT count(*) FROM household h JOIN area a ON a.code = h.kota_code"
            " WHERE NOT ST_Intersects(a.geom, h.geom)"
        ).fetchone() == (0,)
        figures = dict(c.execute("SELECT code, families FROM area_stats WHERE level = 'kota'").fetchall())
        assert figures == {k: n for k, n, _ in per_kota}
        meta = [k for (k,) in c.execute("SELECT key FROM app_meta WHERE key LIKE 'demo%%' ORDER BY key")]
        assert meta == ["demo", "demo:11.71", "demo:11.72"]
    jambi = _snapshot(peta, "15.71")
    single = runner.invoke(app, ["demo", "--scale", "0.02", "--seed", "3"])
    assert single.exit_code == 0, single.output
    assert _snapshot(peta, "15.71")["families"] != [] and _snapshot(peta, "15.71")["areas"] == jambi["areas"]
    refused = runner.invoke(app, ["demo", "--cities", "2", "--kota", "12.71"])
    assert refused.exit_code == 2 and "does not go with --boundaries or --kota" in refused.output
