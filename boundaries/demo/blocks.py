"""Residents per kelurahan and the RW and RT blocks that partition each kelurahan."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from boundaries.demo.config import RTS_PER_RW, DemoConfig
from boundaries.demo.geometry import (
    Region,
    points_in,
    random_points,
    reading_order,
    split_counts,
    voronoi_cells,
)

SAMPLES_PER_RT = 30
DENSITY_SCALE_M = 3500.0
MIN_BLOCK_M2 = 1.0


@dataclass
class Blocks:
    """RW and RT regions of the whole city, with the residents of each RT."""

    rws: list[Region] = field(default_factory=list)
    rts: list[Region] = field(default_factory=list)
    rt_population: list[int] = field(default_factory=list)


def density(xy: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Relative residential density: highest in the old centre, a floor at the periphery."""
    r = np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1])
    return 0.12 + np.exp(-r / DENSITY_SCALE_M)


def kelurahan_population(kels: list[Region], total: int, centre: tuple[float, float],
                         rng: np.random.Generator) -> np.ndarray:
    """Residents per kelurahan: area times mean density, scaled to `total` exactly."""
    geoms = np.array([k.geom for k in kels], dtype=object)
    per = 400
    owner = np.repeat(np.arange(len(kels)), per)
    xy = points_in(geoms, owner, rng)
    mean_density = density(xy, centre).reshape(len(kels), per).mean(axis=1)
    return split_counts(total, shapely.area(geoms) * mean_density)


def nearest(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each point."""
    d2 = (xy[:, None, 0] - centres[None, :, 0]) ** 2 + (xy[:, None, 1] - centres[None, :, 1]) ** 2
    return d2.argmin(axis=1)


def weighted_kmeans(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator,
                    iterations: int = 10) -> np.ndarray:
    """k centres of weighted points (Lloyd's algorithm): cells of about equal weight, compact shapes."""
    if k == 1:
        return np.average(xy, axis=0, weights=w)[None, :]
    centres = xy[rng.choice(len(xy), size=k, replace=False, p=w / w.sum())].copy()
    for _ in range(iterations):
        label = nearest(xy, centres)
        sw = np.bincount(label, weights=w, minlength=k)
        sx = np.bincount(label, weights=w * xy[:, 0], minlength=k)
        sy = np.bincount(label, weights=w * xy[:, 1], minlength=k)
        ok = sw > 0
        centres[ok, 0] = sx[ok] / sw[ok]
        centres[ok, 1] = sy[ok] / sw[ok]
    return centres


def _partition(region: shapely.Geometry, k: int, centre: tuple[float, float],
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split a region into up to k density-balanced cells: (cells in reading order, density mass share)."""
    xy = random_points(region, max(SAMPLES_PER_RT * k, 60), rng)
    w = density(xy, centre)
    seeds = weighted_kmeans(xy, w, min(k, len(xy)), rng)
    cells = voronoi_cells(seeds, region)
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) >= MIN_BLOCK_M2)
    cells, seeds = cells[keep], seeds[keep]
    mass = np.bincount(nearest(xy, seeds), weights=w, minlength=len(seeds)) / w.sum()
    order = reading_order(cells, 150.0)
    return cells[order], mass[order]


def subdivide(kel: Region, population: int, config: DemoConfig, centre: tuple[float, float],
              rng: np.random.Generator, out: Blocks) -> None:
    """Append the RWs and RTs of one kelurahan to `out`, sharing `population` among its RTs."""
    n_rt = max(1, int(round(population / config.residents_per_rt)))
    n_rw = max(1, int(round(n_rt / RTS_PER_RW)))
    rw_cells, rw_mass = _partition(kel.geom, n_rw, centre, rng)
    rt_per_rw = np.maximum(split_counts(n_rt, np.maximum(rw_mass, 1e-9)), 1)
    masses: list[float] = []
    for r, (rw_cell, k) in enumerate(zip(rw_cells, rt_per_rw, strict=True)):
        rw = Region(f"{kel.code}.{r + 1:03d}", f"RW {r + 1:03d}", "rw", rw_cell)
        out.rws.append(rw)
        rt_cells, rt_mass = _partition(rw_cell, int(k), centre, rng)
        for t, rt_cell in enumerate(rt_cells):
            out.rts.append(Region(f"{rw.code}.{t + 1:03d}", f"RT {t + 1:03d}", "rt", rt_cell))
        masses.extend((rw_mass[r] * rt_mass).tolist())
    mass = np.asarray(masses)
    # RTs are drawn to hold similar numbers of people; the noise keeps them from being identical
    weights = np.maximum(mass, 0.25 * mass.mean()) * rng.gamma(16.0, 1 / 16.0, len(mass))
    out.rt_population.extend(split_counts(population, weights).tolist())
