"""Geometry of the demo city in UTM 48S metres: outline, kecamatan and kelurahan, point sampling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from boundaries.demo.config import CENTRE_LONLAT, DemoConfig
from boundaries.reader import read_features
from core.crs import UTM48S, WGS84, transform
from core.errors import InputError
from core.levels import CODE_PATTERNS

GRID = 0.001  # metres: every overlay snaps to this grid so neighbours share exact edges
CITY_AREA_M2 = 170e6


@dataclass
class Region:
    """An area being built: geometry in UTM 48S metres."""

    code: str
    name: str
    level: str
    geom: shapely.Geometry


def to_utm(geoms: np.ndarray) -> np.ndarray:
    """EPSG:4326 geometries to UTM 48S."""
    return np.asarray(transform(geoms, WGS84, UTM48S))


def to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """UTM 48S geometries to EPSG:4326."""
    return np.asarray(transform(geoms, UTM48S, WGS84))


def centre_utm() -> tuple[float, float]:
    """The city centre (103.61 E, 1.61 S) in UTM 48S."""
    pt = to_utm(np.array([shapely.Point(*CENTRE_LONLAT)]))[0]
    return float(pt.x), float(pt.y)


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


def synthetic_regions(config: DemoConfig, rng: np.random.Generator) -> tuple[Region, list[Region], list[Region]]:
    """Kota blob, kecamatan as relaxed Voronoi cells, kelurahan as relaxed Voronoi cells inside each."""
    centre = centre_utm()
    outline = city_outline(rng, centre)
    kec_cells = lloyd(random_points(outline, config.kecamatan, rng), outline, 4)
    kec_cells = kec_cells[reading_order(kec_cells, 3000.0)]
    n_kel = np.full(config.kecamatan, config.kelurahan // config.kecamatan)
    extra = config.kelurahan - n_kel.sum()
    n_kel[np.argsort(-shapely.area(kec_cells), kind="stable")[:extra]] += 1
    kota = Region(config.kota_code, "Kota Contoh", "kota", outline)
    kecs: list[Region] = []
    kels: list[Region] = []
    for i, cell in enumerate(kec_cells):
        kec_code = f"{config.kota_code}.{i + 1:02d}"
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


def file_regions(config: DemoConfig) -> tuple[Region, list[Region], list[Region]]:
    """Kelurahan from a boundary file (overlaps removed); kecamatan and kota are their unions."""
    path = Path(config.boundaries)  # type: ignore[arg-type]
    feats, _ = read_features(path)
    prefix = config.kota_code + "."
    bad = [f.label() for f in feats if not (f.code and CODE_PATTERNS["kelurahan"].match(f.code))]
    if bad:
        raise InputError(f"{path}: features without a kelurahan code", bad[:20])
    feats = sorted((f for f in feats if str(f.code).startswith(prefix)), key=lambda f: str(f.code))
    if not feats:
        raise InputError(f"{path}: no kelurahan with a code starting {prefix}")
    utm = to_utm(np.array([f.geom for f in feats], dtype=object))
    geoms = _disjoint([shapely.set_precision(polygonal(g), GRID) for g in utm])
    kels = [
        Region(str(f.code), f.name or f"Kelurahan {f.code}", "kelurahan", g)
        for f, g in zip(feats, geoms, strict=True)
        if not g.is_empty
    ]
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
    kota_name = _names_beside(path, "kota.geojson").get(config.kota_code, f"Kota {config.kota_code}")
    kota = Region(
        config.kota_code, kota_name, "kota", polygonal(shapely.union_all([k.geom for k in kecs], grid_size=GRID))
    )
    return kota, kecs, kels
