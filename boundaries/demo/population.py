"""Registry families: where they live, how deprived they are, BPS criteria, desil, programmes, verval."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import shapely

from boundaries.demo.config import (
    INDICATORS,
    MEAN_FAMILY_SIZE,
    POOR_THRESHOLD,
    PROGRAMS,
    DemoConfig,
    Site,
)
from boundaries.demo.geometry import split_counts

# Share of families meeting each BPS criterion at deprivation 0 (before the calibration shift) and how
# strongly it rises with deprivation: common hardships (no savings, little meat) are frequent, earthen
# floors and homes without electricity are rare in a city.
CRITERION_PREVALENCE = (0.22, 0.10, 0.15, 0.15, 0.02, 0.35, 0.06, 0.40, 0.30, 0.08, 0.25, 0.40, 0.45, 0.60)
CRITERION_SLOPE = (1.0, 1.0, 1.0, 1.0, 0.6, 0.5, 0.8, 1.2, 1.2, 1.0, 1.1, 1.0, 0.9, 1.2)
RIVERSIDE_CRITERIA = (1, 2, 3)  # k02 floor, k03 walls, k04 toilet: stilt houses on the riverbank
DESIL_3_TO_10 = np.array([0.20, 0.19, 0.17, 0.14, 0.11, 0.08, 0.06, 0.05])
HASIL_P = np.array([0.80, 0.06, 0.05, 0.03, 0.02, 0.02, 0.02])
VERVAL_START = np.datetime64("2025-01-01")
VERVAL_END = np.datetime64("2026-10-31")
MAX_REGISTRY_SHARE = 0.9


@dataclass
class RtFrame:
    """Per-RT inputs of the family model (one row per RT, in code order)."""

    population: np.ndarray
    kelurahan: np.ndarray  # index of the RT's kelurahan
    xy: np.ndarray  # a point inside the RT, UTM metres


@dataclass
class Families:
    """Registry families as columns, before identities and points are added."""

    rt: np.ndarray
    size: np.ndarray
    criteria: np.ndarray
    desil: np.ndarray
    programs: np.ndarray
    tgl_verval: np.ndarray
    hasil_verval: np.ndarray
    deprivation: np.ndarray


def _zscore(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted standard score; zeros when v does not vary (a flat field has no spatial pattern to scale)."""
    mean = np.average(v, weights=w)
    spread = np.sqrt(np.average((v - mean) ** 2, weights=w))
    if not spread > 1e-9 * max(1.0, abs(mean)):
        return np.zeros_like(v, dtype=float)
    return (v - mean) / spread


def deprivation_field(xy: np.ndarray, site: Site, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Smooth deprivation at points (riverbank, periphery, a few pockets) and riverside proximity 0..1.

    Every length is Kota Jambi's times `site.reach`, so the pattern covers a smaller or larger city alike."""
    cx, cy = site.centre
    k = site.reach
    x = np.linspace(cx - 15_000 * k, cx + 15_000 * k, 121)
    phase = rng.uniform(0, 2 * np.pi)
    river = shapely.LineString(np.column_stack([x, cy + 2000 * k + 700 * k * np.sin((x - cx) / (2500 * k) + phase)]))
    dist = shapely.distance(shapely.points(xy), river)
    riverside = np.exp(-((dist / (600.0 * k)) ** 2))
    r = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
    field = 1.0 * riverside + 0.9 * np.clip((r - 3000.0 * k) / (4000.0 * k), 0.0, 1.0)
    for _ in range(5):
        ang, dist_c = rng.uniform(0, 2 * np.pi), rng.uniform(1500 * k, 6500 * k)
        px, py = cx + dist_c * np.cos(ang), cy + dist_c * np.sin(ang)
        sigma, height = rng.uniform(500 * k, 1300 * k), rng.uniform(0.7, 1.4)
        field += height * np.exp(-((xy[:, 0] - px) ** 2 + (xy[:, 1] - py) ** 2) / (2 * sigma**2))
    return field, riverside


def _bisect(f: Callable[[float], float], target: float, lo: float, hi: float, steps: int = 60) -> float:
    """The x in [lo, hi] where the non-decreasing f(x) comes closest to target."""
    best, best_err = lo, abs(f(lo) - target)
    for _ in range(steps):
        mid = (lo + hi) / 2
        value = f(mid)
        if abs(value - target) < best_err:
            best, best_err = mid, abs(value - target)
        lo, hi = (mid, hi) if value < target else (lo, mid)
    return best


def registry_targets(rts: RtFrame, rt_depr: np.ndarray, people: int) -> np.ndarray:
    """Registry people per RT: the registry covers poorer RTs more densely, never beyond MAX_REGISTRY_SHARE."""
    pop = rts.population.astype(float)

    def covered(offset: float) -> np.ndarray:
        return pop * np.minimum(1 / (1 + np.exp(-(offset + 1.2 * rt_depr))), MAX_REGISTRY_SHARE)

    offset = _bisect(lambda a: float(covered(a).sum()), people, -10.0, 10.0)
    return split_counts(people, covered(offset))


def place_families(
    rts: RtFrame, rt_depr: np.ndarray, people: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RT index, deprivation, size) of each family: families fill each RT's registry people exactly."""
    target = registry_targets(rts, rt_depr, people)
    # every family has at least one member, so `target` candidates per RT always suffice
    rt = np.repeat(np.arange(len(target)), target)
    depr = rt_depr[rt] + rng.normal(0.0, 1.0, len(rt))
    z = (depr - depr.mean()) / depr.std()
    # the last family of each RT is cut to fit, so draw slightly larger families to keep the mean
    families = people / MEAN_FAMILY_SIZE - 0.5 * np.count_nonzero(target)
    lam = people / max(families, 1.0) - 1
    size = np.clip(1 + rng.poisson(np.clip(lam + 0.1 * z, 0.5, 6.0)), 1, 12)
    total = np.cumsum(size)
    first = np.r_[0, np.cumsum(target)[:-1]][rt]  # index of the RT's first candidate
    before = total - size - (total[first] - size[first])
    keep = before < target[rt]
    size = np.minimum(size, target[rt] - before)
    return rt[keep], depr[keep], size[keep].astype(np.int16)


def bps_criteria(
    depr: np.ndarray, riverside: np.ndarray, size: np.ndarray, poor_people: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """k01..k14 from a shared latent deprivation, shifted so poor people (>= 9 criteria) hit the target."""
    inv = NormalDist().inv_cdf
    intercept = np.array([inv(p) for p in CRITERION_PREVALENCE])
    slope = np.array(CRITERION_SLOPE)
    base = intercept[None, :] + rng.standard_normal((len(depr), INDICATORS))
    base[:, RIVERSIDE_CRITERIA] += 0.8 * riverside[:, None]

    def criteria(shift: float) -> np.ndarray:
        return base + slope[None, :] * (depr[:, None] + shift) > 0

    def poor(shift: float) -> float:
        return float(size[criteria(shift).sum(axis=1) >= POOR_THRESHOLD].sum())

    shift = _bisect(poor, poor_people, -8.0, 8.0)
    return criteria(shift), shift


def official_desil(depr: np.ndarray, very_poor: int, rng: np.random.Generator) -> np.ndarray:
    """National desil from a noisy proxy-means ranking: the very poor list is desil 1-2."""
    pmt = depr + rng.normal(0.0, 0.55, len(depr))
    order = np.argsort(-pmt, kind="stable")
    desil = np.empty(len(depr), dtype=np.int8)
    very_poor = min(very_poor, len(depr))
    first = int(round(very_poor * 0.45))
    desil[order[:first]] = 1
    desil[order[first:very_poor]] = 2
    rest = order[very_poor:]
    counts = np.floor(DESIL_3_TO_10 / DESIL_3_TO_10.sum() * len(rest)).astype(int)
    counts[0] += len(rest) - counts.sum()
    desil[rest] = np.repeat(np.arange(3, 11, dtype=np.int8), counts)
    return desil


def programmes(desil: np.ndarray, poor: np.ndarray, criteria: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Programme bit mask: mostly by desil, with exclusion (unreached families) and inclusion errors."""
    n = len(desil)
    # about 15 % of eligible families were never found by the national programmes: exclusion error
    reached = rng.random(n) < 0.85
    p = np.zeros((n, len(PROGRAMS)))
    p[:, 0] = np.where(desil <= 4, np.where(reached, 0.70, 0.0), 0.03)  # PKH
    p[:, 1] = np.where(desil <= 5, np.where(reached, 0.80, 0.0), 0.05)  # BPNT
    p[:, 2] = np.where(desil <= 5, np.where(reached, 0.90, 0.05), 0.10)  # PBI-JK
    p[:, 3] = np.where(criteria[:, 11] & (desil <= 6), 0.15, 0.03)  # BPJS-TK for informal workers
    p[:, 4] = np.where((desil <= 2) | poor, 0.35, 0.04)  # Kartu Bahagia (city)
    bits = rng.random((n, len(PROGRAMS))) < p
    return (bits * (1 << np.arange(len(PROGRAMS)))).sum(axis=1).astype(np.uint8)


def verification(
    rt: np.ndarray, kelurahan: np.ndarray, desil: np.ndarray, target: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Families verified so far (dates, result codes): mostly the very poor, unevenly across areas."""
    n_kel, n_rt = int(kelurahan.max()) + 1, len(kelurahan)
    kel_effect = rng.normal(0.0, 1.3, n_kel)
    rt_effect = rng.normal(0.0, 0.7, n_rt)
    desil_weight = np.select([desil <= 2, desil <= 4], [1.0, 0.12], 0.015)
    # Gumbel top-k: a weighted sample without replacement, vectorised
    keys = kel_effect[kelurahan[rt]] + rt_effect[rt] + np.log(desil_weight) + rng.gumbel(size=len(rt))
    chosen = np.argsort(-keys, kind="stable")[: min(target, len(rt))]
    span = int((VERVAL_END - VERVAL_START) / np.timedelta64(1, "D"))
    campaign = rng.uniform(0, span, n_kel)
    offset = np.clip(campaign[kelurahan[rt[chosen]]] + rng.normal(0, 50, len(chosen)), 0, span)
    dates = np.full(len(rt), np.datetime64("NaT"), dtype="datetime64[D]")
    dates[chosen] = VERVAL_START + np.round(offset).astype("timedelta64[D]")
    hasil = np.zeros(len(rt), dtype=np.int8)
    hasil[chosen] = rng.choice(np.arange(1, 8), size=len(chosen), p=HASIL_P)
    return dates, hasil


def generate_families(
    rts: RtFrame, site: Site, config: DemoConfig, rng: np.random.Generator
) -> tuple[Families, dict[str, float]]:
    """All registry families of the city with their indicators, desil, programmes and verval state."""
    field, riverside = deprivation_field(rts.xy, site, rng)
    rt_depr = 0.9 * _zscore(field, rts.population) + rng.normal(0.0, 0.45, len(field))
    rt, depr, size = place_families(rts, rt_depr, config.scaled(config.registry_people), rng)
    residents = int(rts.population.sum())
    criteria, shift = bps_criteria(depr, riverside[rt], size, config.poverty_rate * residents, rng)
    poor = criteria.sum(axis=1) >= POOR_THRESHOLD
    desil = official_desil(depr, config.scaled(config.very_poor_families), rng)
    progs = programmes(desil, poor, criteria, rng)
    dates, hasil = verification(rt, rts.kelurahan, desil, config.scaled(config.verified_families), rng)
    very_poor = desil <= 2
    stats = {
        "residents": residents,
        "families": len(rt),
        "registry_people": int(size.sum()),
        "very_poor_families": int(very_poor.sum()),
        "very_poor_people": int(size[very_poor].sum()),
        "verified_families": int((hasil > 0).sum()),
        "poor_families": int(poor.sum()),
        "poverty_rate": float(size[poor].sum()) / residents,
        "criteria_shift": shift,
    }
    fams = Families(rt, size, criteria, desil, progs, dates, hasil, depr)
    return fams, stats
