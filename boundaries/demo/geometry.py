"""Geometry of the demo city in metres (the UTM zone of its centre): outline, kecamatan and kelurahan, points."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS

from boundaries.demo.config import CENTRE_LONLAT, DEFAULT_KOTA, DemoConfig, Site
from boundaries.reader import RawFeature, read_features
from core.crs import WGS84, transform, utm_epsg
from core.errors import InputError
from core.levels import CODE_PATTERNS

GRID = 0.001  # metres: every overlay snaps to this grid so neighbours share exact edges
CITY_AREA_M2 = 170e6  # the synthetic city's area (Kota Jambi's), the size at which the patterns' reach is 1.0
DENSE_SHARE = 0.1  # the pattern centre of a boundary file is found among its densest tenth of kelurahan


@dataclass
class Region:
    """An area being built: geometry in the city's metric CRS."""

    code: str
    name: str
    level: str
    geom: shapely.Geometry


def metric_crs(lon: float, lat: float) -> CRS:
    """WGS 84 / UTM zone of a point (north or south of the equator); ValueError outside zones 46-54."""
    return CRS.from_epsg(utm_epsg(lon, lat))


def to_metric(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """EPSG:4326 geometries to the city's metric CRS."""
    return np.asarray(transform(geoms, WGS84, crs))


def to_wgs84(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Geometries in the city's metric CRS to EPSG:4326."""
    return np.asarray(transform(geoms, crs, WGS84))


def _site_at(lonlat: tuple[float, float], crs: CRS, reach: float = 1.0) -> Site:
    pt = to_metric(np.array([shapely.Point(*lonlat)]), crs)[0]
    return Site(crs, (float(pt.x), float(pt.y)), (float(lonlat[0]), float(lonlat[1])), reach)


def synthetic_site(config: DemoConfig) -> Site:
    """The synthetic city's site: its centre (CENTRE_LONLAT unless configured), in the UTM zone there."""
    lonlat = config.centre or CENTRE_LONLAT
    return _site_at(lonlat, metric_crs(*lonlat))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry, repaired when invalid; may be empty."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """A valid MultiPolygon from a (possibly invalid) polygonal geometry."""
    geom = polygonal(geom)
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    return shapely.MultiPolygon()


def points_in(geoms: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform random point inside geoms[owner[i]] for each i (vectorised rejection sampling)."""
    geoms = np.asarray(geoms, dtype=object)
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    xy = np.empty((len(owner), 2))
    todo = np.arange(len(owner))
    while len(todo):
        b = bounds[owner[todo]]
        x = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(geoms[owner[todo]], x, y)
        xy[todo[ok], 0] = x[ok]
        xy[todo[ok], 1] = y[ok]
        todo = todo[~ok]
    return xy


def random_points(geom: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points inside one polygon, as an (n, 2) array."""
    return points_in(np.array([geom], dtype=object), np.zeros(n, dtype=np.int64), rng)


def reading_order(geoms: np.ndarray, row_m: float) -> np.ndarray:
    """Indices sorting areas north to south in rows of `row_m` metres, then west to east."""
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    return np.lexsort((x, -np.floor(y / row_m)))


def voronoi_cells(seeds: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of the seeds clipped to the region, in seed order (may contain empties)."""
    if len(seeds) == 1:
        return np.array([region], dtype=object)
    xmin, ymin, xmax, ymax = region.bounds
    pad = max(xmax - xmin, ymax - ymin) + 1000.0
    extent = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    cells = np.asarray(shapely.get_parts(diagram), dtype=object)
    if len(cells) != len(seeds):
        raise ValueError("duplicate Voronoi seeds")
    return shapely.intersection(cells, region, grid_size=GRID)


def lloyd(seeds: np.ndarray, region: shapely.Geometry, iterations: int) -> np.ndarray:
    """Voronoi cells after a few Lloyd relaxations (seeds moved to their cell centroids)."""
    cells = voronoi_cells(seeds, region)
    for _ in range(iterations):
        cents = shapely.centroid(cells)
        moved = np.column_stack([shapely.get_x(cents), shapely.get_y(cents)])
        ok = np.isfinite(moved).all(axis=1)
        seeds = np.where(ok[:, None], moved, seeds)
        cells = voronoi_cells(seeds, region)
    return cells


def city_outline(rng: np.random.Generator, centre: tuple[float, float]) -> shapely.Polygon:
    """A smooth irregular blob of CITY_AREA_M2 around the centre."""
    theta = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    radius = np.ones_like(theta)
    for k, amp in ((2, 0.14), (3, 0.08), (4, 0.05), (5, 0.03)):
        radius += amp * rng.uniform(0.5, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    blob = shapely.Polygon(np.column_stack([np.cos(theta) * radius, np.sin(theta) * radius]))
    factor = np.sqrt(CITY_AREA_M2 / blob.area)
    coords = np.asarray(blob.exterior.coords) * factor + np.asarray(centre)
    return shapely.set_precision(shapely.Polygon(coords), GRID)


def split_counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights summing to total (largest remainder, ties by index)."""
    share = total * weights / weights.sum()
    out = np.floor(share).astype(np.int64)
    rest = total - out.sum()
    order = np.lexsort((np.arange(len(share)), -(share - out)))
    out[order[:rest]] += 1
    return out


def synthetic_regions(
    config: DemoConfig, site: Site, rng: np.random.Generator
) -> tuple[Region, list[Region], list[Region]]:
    """Kota blob, kecamatan as relaxed Voronoi cells, kelurahan as relaxed Voronoi cells inside each."""
    outline = city_outline(rng, site.centre)
    kec_cells = lloyd(random_points(outline, config.kecamatan, rng), outline, 4)
    kec_cells = kec_cells[reading_order(kec_cells, 3000.0)]
    n_kel = np.full(config.kecamatan, config.kelurahan // config.kecamatan)
    extra = config.kelurahan - n_kel.sum()
    n_kel[np.argsort(-shapely.area(kec_cells), kind="stable")[:extra]] += 1
    kota_code = config.kota_code or DEFAULT_KOTA
    kota = Region(kota_code, config.name or f"{_kind(kota_code)} Contoh", "kota", outline)
    kecs: list[Region] = []
    kels: list[Region] = []
    for i, cell in enumerate(kec_cells):
        kec_code = f"{kota_code}.{i + 1:02d}"
        kecs.append(Region(kec_code, f"Kecamatan Contoh {i + 1:02d}", "kecamatan", cell))
        cells = lloyd(random_points(cell, int(n_kel[i]), rng), cell, 3)
        for j, kel in enumerate(cells[reading_order(cells, 1500.0)]):
            kels.append(Region(f"{kec_code}.{1001 + j}", f"Kelurahan Contoh {i + 1:02d}-{j + 1:02d}", "kelurahan", kel))
    return kota, kecs, kels


def _names_beside(path: Path, filename: str) -> dict[str, str]:
    """Code -> name from a sibling boundary file, empty when there is none."""
    sibling = path.with_name(filename)
    if not sibling.exists():
        return {}
    feats, _ = read_features(sibling)
    return {f.code: f.name for f in feats if f.code and f.name}


def _disjoint(geoms: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Remove overlaps between neighbours: an overlap goes to the area earlier in the list."""
    tree = shapely.STRtree(geoms)
    out = []
    for i, geom in enumerate(geoms):
        earlier = [j for j in tree.query(geom, predicate="intersects") if j < i]
        if earlier:
            geom = shapely.difference(geom, shapely.union_all([geoms[j] for j in sorted(earlier)]), grid_size=GRID)
        out.append(polygonal(geom))
    return out


def _kind(kota_code: str) -> str:
    """'Kota' for codes PP.71-PP.79, 'Kabupaten' otherwise (DOMAIN.md)."""
    return "Kota" if 71 <= int(kota_code[3:5]) <= 79 else "Kabupaten"


def _file_kota(path: Path, feats: list[RawFeature], wanted: str | None) -> str:
    """The kab/kota (PP.KK) whose kelurahan to build: the one the file holds, or `wanted` among several."""
    held = Counter(str(f.code)[:5] for f in feats)
    listing = ", ".join(f"{code} ({n} kelurahan)" for code, n in sorted(held.items()))
    if wanted is not None:
        if wanted not in held:
            raise InputError(f"{path}: no kelurahan of kab/kota {wanted}; the file holds {listing}")
        return wanted
    if len(held) > 1:
        raise InputError(f"{path}: kelurahan of {len(held)} kab/kota ({listing}); choose one with --kota")
    return next(iter(held))


def _file_crs(path: Path, feats: list[RawFeature]) -> CRS:
    """The UTM zone of the middle of the kelurahan's extent (the kota's centre)."""
    w, s, e, n = shapely.total_bounds(np.array([f.geom for f in feats], dtype=object))
    try:
        return metric_crs((w + e) / 2, (s + n) / 2)
    except ValueError as exc:
        raise InputError(f"{path}: the kelurahan lie outside Indonesia: {exc}") from exc


def pattern_centre(kels: list[Region], population: dict[str, int]) -> tuple[float, float]:
    """A point inside the densest kelurahan: the city's core, where the density and poverty patterns start.

    Density is residents per m² when the file gives every kelurahan's residents, else 1 / area: kelurahan
    are drawn to hold comparable populations, so the smallest ones are the crowded old centre (in Kota Jambi,
    Pasar Jambi and Orang Kayo Hitam). A lone tiny kelurahan far out (an island, an enclave) must not pull the
    centre away, so among the densest tenth the one nearest their median point is taken."""
    geoms = np.array([k.geom for k in kels], dtype=object)
    area = shapely.area(geoms)
    people = np.array([population.get(k.code) or 0 for k in kels], dtype=float)
    density = people / area if (people > 0).all() else 1.0 / area
    top = np.argsort(-density, kind="stable")[: max(1, math.ceil(DENSE_SHARE * len(kels)))]
    inner = shapely.point_on_surface(geoms[top])
    xy = np.column_stack([shapely.get_x(inner), shapely.get_y(inner)])
    middle = np.median(xy, axis=0)
    best = int(np.argmin(((xy - middle) ** 2).sum(axis=1)))
    return float(xy[best, 0]), float(xy[best, 1])


def file_regions(config: DemoConfig) -> tuple[Region, list[Region], list[Region], Site]:
    """Kelurahan of one kab/kota from a boundary file (overlaps removed); kecamatan and kota are their unions.

    The kab/kota, its metric CRS and the centre of its patterns come from the file (see Site)."""
    path = Path(config.boundaries)  # type: ignore[arg-type]
    feats, _ = read_features(path)
    bad = [f.label() for f in feats if not (f.code and CODE_PATTERNS["kelurahan"].match(f.code))]
    if bad:
        raise InputError(f"{path}: features without a kelurahan code", bad[:20])
    if not feats:
        raise InputError(f"{path}: no kelurahan")
    kota_code = _file_kota(path, feats, config.kota_code)
    prefix = kota_code + "."
    feats = sorted((f for f in feats if str(f.code).startswith(prefix)), key=lambda f: str(f.code))
    crs = _file_crs(path, feats)
    utm = to_metric(np.array([f.geom for f in feats], dtype=object), crs)
    geoms = _disjoint([shapely.set_precision(polygonal(g), GRID) for g in utm])
    kels = [
        Region(str(f.code), f.name or f"Kelurahan {f.code}", "kelurahan", g)
        for f, g in zip(feats, geoms, strict=True)
        if not g.is_empty
    ]
    if not kels:
        raise InputError(f"{path}: the kelurahan of {kota_code} have no area")
    kec_names = _names_beside(path, "kecamatan.geojson")
    kec_codes = sorted({k.code.rsplit(".", 1)[0] for k in kels})
    kecs = [
        Region(
            code,
            kec_names.get(code, f"Kecamatan {code}"),
            "kecamatan",
            polygonal(shapely.union_all([k.geom for k in kels if k.code.startswith(code + ".")], grid_size=GRID)),
        )
        for code in kec_codes
    ]
    kota_name = _names_beside(path, "kota.geojson").get(kota_code, f"{_kind(kota_code)} {kota_code}")
    kota = Region(kota_code, kota_name, "kota", polygonal(shapely.union_all([k.geom for k in kecs], grid_size=GRID)))
    reach = math.sqrt(kota.geom.area / CITY_AREA_M2)
    if config.centre is not None:
        site = _site_at(config.centre, crs, reach)
    else:
        centre = pattern_centre(kels, {str(f.code): f.population or 0 for f in feats})
        lonlat = to_wgs84(np.array([shapely.Point(centre)]), crs)[0]
        site = Site(crs, centre, (float(lonlat.x), float(lonlat.y)), reach)
    return kota, kecs, kels, site
