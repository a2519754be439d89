"""generate_city: the whole deterministic demo city from a DemoConfig."""

from __future__ import annotations

import numpy as np
import shapely

from boundaries.demo.blocks import Blocks, kelurahan_population, subdivide
from boundaries.demo.config import AreaRecord, City, DemoConfig, Households, Progress, Site
from boundaries.demo.geometry import (
    Region,
    as_multipolygon,
    file_regions,
    points_in,
    synthetic_regions,
    synthetic_site,
    to_wgs84,
)
from boundaries.demo.identity import make_identities
from boundaries.demo.population import RtFrame, generate_families
from core.levels import parent_code


def _rng(config: DemoConfig, stage: int) -> np.random.Generator:
    """An independent stream per stage, so changing one stage leaves the others' draws alone."""
    return np.random.default_rng([config.seed, stage])


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _build_blocks(config: DemoConfig, kels: list[Region], site: Site, progress: Progress) -> Blocks:
    """Residents per kelurahan, then its RWs and RTs."""
    rng = _rng(config, 2)
    kel_pop = kelurahan_population(kels, config.scaled(config.residents), site, rng)
    blocks = Blocks()
    for i, (kel, pop) in enumerate(zip(kels, kel_pop, strict=True)):
        subdivide(kel, int(pop), config, site, rng, blocks)
        progress("RW and RT blocks", 0.05 + 0.6 * (i + 1) / len(kels))
    return blocks


def _area_records(kota: Region, kecs: list[Region], kels: list[Region], blocks: Blocks, site: Site) -> list[AreaRecord]:
    """Every area in EPSG:4326, parents first, populations summed up from the RTs."""
    regions = [kota, *kecs, *kels, *blocks.rws, *blocks.rts]
    pop = {r.code: p for r, p in zip(blocks.rts, blocks.rt_population, strict=True)}
    for child, level in (("rt", "rw"), ("rw", "kelurahan"), ("kelurahan", "kecamatan"), ("kecamatan", "kota")):
        pop.update({r.code: 0 for r in regions if r.level == level})
        for r in regions:
            if r.level == child:
                pop[parent_code(r.code)] += pop[r.code]
    geoms = to_wgs84(np.array([r.geom for r in regions], dtype=object), site.crs)
    return [
        AreaRecord(
            r.code, r.name, r.level, parent_code(r.code) if r.level != "kota" else None, pop[r.code], as_multipolygon(g)
        )
        for r, g in zip(regions, geoms, strict=True)
    ]


def _rt_frame(blocks: Blocks, kels: list[Region]) -> RtFrame:
    """Per-RT inputs of the family model."""
    kel_index = {k.code: i for i, k in enumerate(kels)}
    kel_of_rt = np.array([kel_index[parent_code(parent_code(r.code))] for r in blocks.rts], dtype=np.int64)
    inside = shapely.point_on_surface(np.array([r.geom for r in blocks.rts], dtype=object))
    xy = np.column_stack([shapely.get_x(inside), shapely.get_y(inside)])
    return RtFrame(np.asarray(blocks.rt_population, dtype=np.int64), kel_of_rt, xy)


def generate_city(config: DemoConfig, progress: Progress | None = None) -> City:
    """A deterministic synthetic city: areas of every level and registry families, calibrated to DOMAIN.md."""
    config.check()
    progress = progress or _noop
    progress("kecamatan and kelurahan", 0.0)
    if config.boundaries is not None:
        kota, kecs, kels, site = file_regions(config)
    else:
        site = synthetic_site(config)
        kota, kecs, kels = synthetic_regions(config, site, _rng(config, 1))
    blocks = _build_blocks(config, kels, site, progress)
    records = _area_records(kota, kecs, kels, blocks, site)
    progress("families", 0.7)
    rts = _rt_frame(blocks, kels)
    fams, stats = generate_families(rts, site, config, _rng(config, 3))
    progress("identities", 0.8)
    rt_codes = np.array([r.code for r in blocks.rts], dtype=object)
    ids = make_identities(rt_codes, fams.rt, fams.criteria, config.secret_key, _rng(config, 4))
    progress("household points", 0.9)
    rt_geoms = np.array([a.geom for a in records if a.level == "rt"], dtype=object)
    lonlat = points_in(rt_geoms, fams.rt, _rng(config, 5))
    households = Households(
        rt_code=rt_codes[fams.rt],
        lon=lonlat[:, 0],
        lat=lonlat[:, 1],
        size=fams.size,
        criteria=fams.criteria,
        programs=fams.programs,
        desil=fams.desil,
        tgl_verval=fams.tgl_verval,
        hasil_verval=fams.hasil_verval,
        kk_hash=ids.kk_hash,
        kk_masked=ids.kk_masked,
        nik_hash=ids.nik_hash,
        nik_masked=ids.nik_masked,
        nama=ids.nama,
        alamat=ids.alamat,
        kk=ids.kk,
        nik=ids.nik,
    )
    progress("done", 1.0)
    return City(config, records, households, stats, site)
