"""Residents per kelurahan and the RW and RT blocks that partition each kelurahan."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from boundaries.demo.config import RTS_PER_RW, DemoConfig, Site
from boundaries.demo.geometry import (
    GRID,
    Region,
    points_in,
    random_points,
    reading_order,
    split_counts,
    voronoi_cells,
)

SAMPLES_PER_CELL = 60
DENSITY_SCALE_M = 3500.0
MIN_BLOCK_M2 = 1.0
KMEANS_ITERATIONS = 60


@dataclass
class Blocks:
    """RW and RT regions of the whole city, with the residents of each RT."""

    rws: list[Region] = field(default_factory=list)
    rts: list[Region] = field(default_factory=list)
    rt_population: list[int] = field(default_factory=list)


def density(xy: np.ndarray, site: Site) -> np.ndarray:
    """Relative residential density: highest in the old centre, a floor at the periphery."""
    r = np.hypot(xy[:, 0] - site.centre[0], xy[:, 1] - site.centre[1])
    return 0.12 + np.exp(-r / (DENSITY_SCALE_M * site.reach))


def kelurahan_population(kels: list[Region], total: int, site: Site, rng: np.random.Generator) -> np.ndarray:
    """Residents per kelurahan: area times mean density, scaled to `total` exactly."""
    geoms = np.array([k.geom for k in kels], dtype=object)
    per = 400
    owner = np.repeat(np.arange(len(kels)), per)
    xy = points_in(geoms, owner, rng)
    mean_density = density(xy, site).reshape(len(kels), per).mean(axis=1)
    return split_counts(total, shapely.area(geoms) * mean_density)


def nearest(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each point."""
    d2 = (xy[:, None, 0] - centres[None, :, 0]) ** 2 + (xy[:, None, 1] - centres[None, :, 1]) ** 2
    return d2.argmin(axis=1)


def _kmeans_pp(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ start: each next centre drawn with probability weight x squared distance."""
    centres = np.empty((k, 2))
    centres[0] = xy[rng.choice(len(xy), p=w / w.sum())]
    d2 = ((xy - centres[0]) ** 2).sum(axis=1)
    for i in range(1, k):
        p = w * d2
        centres[i] = xy[rng.choice(len(xy), p=p / p.sum())] if p.sum() > 0 else xy[i % len(xy)]
        d2 = np.minimum(d2, ((xy - centres[i]) ** 2).sum(axis=1))
    return centres


def weighted_kmeans(
    xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 10
) -> np.ndarray:
    """k centres of weighted points (Lloyd's algorithm): compact cells of similar weight."""
    if k == 1:
        return np.average(xy, axis=0, weights=w)[None, :]
    centres = _kmeans_pp(xy, w, k, rng)
    for _ in range(iterations):
        label = nearest(xy, centres)
        sw = np.bincount(label, weights=w, minlength=k)
        sx = np.bincount(label, weights=w * xy[:, 0], minlength=k)
        sy = np.bincount(label, weights=w * xy[:, 1], minlength=k)
        ok = sw > 0
        centres[ok, 0] = sx[ok] / sw[ok]
        centres[ok, 1] = sy[ok] / sw[ok]
    return centres


def grid_points(region: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """About n jittered grid points inside a region: an even sample for stable Lloyd iterations."""
    xmin, ymin, xmax, ymax = region.bounds
    step = np.sqrt(region.area / n)
    gx, gy = np.meshgrid(np.arange(xmin, xmax + step, step), np.arange(ymin, ymax + step, step))
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.3, 0.3, (gx.size, 2)) * step
    inside = shapely.contains_xy(region, xy[:, 0], xy[:, 1])
    return xy[inside] if inside.sum() >= n // 2 + 3 else random_points(region, max(n, 3), rng)


def cvt_seeds(region: shapely.Geometry, k: int, site: Site, rng: np.random.Generator) -> np.ndarray:
    """Seeds of up to k compact Voronoi cells of about equal residents inside the region."""
    shapely.prepare(region)
    xy = grid_points(region, SAMPLES_PER_CELL * k, rng)
    # Centroidal Voronoi cells get area ~ weight^-1/2; weighting by density^2 gives cells of similar mass
    return weighted_kmeans(xy, density(xy, site) ** 2, min(k, len(xy)), rng, iterations=KMEANS_ITERATIONS)


def _cell_mass(cells: np.ndarray, site: Site) -> np.ndarray:
    """Residents' density mass of each cell: area times the density at a point inside."""
    inner = shapely.point_on_surface(cells)
    return shapely.area(cells) * density(np.column_stack([shapely.get_x(inner), shapely.get_y(inner)]), site)


def _rt_seeds(kel: Region, n_rt: int, site: Site, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RT seeds and the RW group of each: RW cells first, then about RTS_PER_RW seeds inside each."""
    n_rw = max(1, int(round(n_rt / RTS_PER_RW)))
    rw_cells = voronoi_cells(cvt_seeds(kel.geom, n_rw, site, rng), kel.geom)
    rw_cells = rw_cells[~shapely.is_empty(rw_cells) & (shapely.area(rw_cells) >= MIN_BLOCK_M2)]
    rt_per_rw = np.maximum(split_counts(n_rt, _cell_mass(rw_cells, site)), 1)
    seeds = [cvt_seeds(cell, int(k), site, rng) for cell, k in zip(rw_cells, rt_per_rw, strict=True)]
    group = np.repeat(np.arange(len(seeds)), [len(s) for s in seeds])
    return np.concatenate(seeds), group


def subdivide(
    kel: Region, population: int, config: DemoConfig, site: Site, rng: np.random.Generator, out: Blocks
) -> None:
    """Append the RWs and RTs of one kelurahan to `out`: RTs partition it, an RW is a union of RTs."""
    n_rt = max(1, int(round(population / config.residents_per_rt)))
    seeds, group = _rt_seeds(kel, n_rt, site, rng)
    cells = voronoi_cells(seeds, kel.geom)
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) >= MIN_BLOCK_M2)
    cells, group = cells[keep], group[keep]
    groups = np.unique(group)
    rw_geoms = np.array([shapely.union_all(cells[group == g], grid_size=GRID) for g in groups], dtype=object)
    mass = _cell_mass(cells, site)
    # RTs are drawn to hold similar numbers of people; the noise keeps them from being identical
    weights = np.maximum(mass, 0.25 * mass.mean()) * rng.gamma(40.0, 1 / 40.0, len(mass))
    rt_pop = split_counts(population, weights)
    for r, g in enumerate(groups[reading_order(rw_geoms, 300.0)]):
        rw = Region(f"{kel.code}.{r + 1:03d}", f"RW {r + 1:03d}", "rw", rw_geoms[np.searchsorted(groups, g)])
        out.rws.append(rw)
        members = np.flatnonzero(group == g)
        for t, m in enumerate(members[reading_order(cells[members], 150.0)]):
            out.rts.append(Region(f"{rw.code}.{t + 1:03d}", f"RT {t + 1:03d}", "rt", cells[m]))
            out.rt_population.append(int(rt_pop[m]))
