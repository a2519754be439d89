"""Many synthetic cities for one deployment (`peta demo --cities N`): the demo city first, then N-1 more, each a
kab/kota of its own code, name, seed and place, at the demo city's density, far enough apart not to touch."""

from __future__ import annotations

import dataclasses

from boundaries.demo.config import DEFAULT_KOTA, DemoConfig

MAX_CITIES = 200
# Province codes (DOMAIN.md: PP) and the kota numbers 71-79 within each: the synthetic cities' codes, in order.
PROVINCES = (11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
             71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96)  # fmt: skip
# The others lie on a grid south of the demo city, inside Indonesia's UTM zones (longitude 90-144): a synthetic
# city is about 15 km across, its neighbours 0.4 degrees (about 44 km) away.
GRID_WEST, GRID_NORTH, GRID_STEP, GRID_COLUMNS = 97.0, -3.0, 0.4, 100


def kota_codes(n: int) -> list[str]:
    """The codes of n cities: the demo city's, then PP.71..PP.79 province by province (skipping it)."""
    pool = [f"{p:02d}.{k}" for p in PROVINCES for k in range(71, 80)]
    codes = [DEFAULT_KOTA, *(c for c in pool if c != DEFAULT_KOTA)]
    return codes[:n]


def city_configs(n: int, base: DemoConfig) -> list[DemoConfig]:
    """n demo configurations: `base` for the demo city (Kota Jambi's code and centre), then one per further city
    with its own code, seed (base seed + i), name and centre; ValueError outside 1..MAX_CITIES."""
    if not 1 <= n <= MAX_CITIES:
        raise ValueError(f"--cities takes 1 to {MAX_CITIES} cities, got {n}")
    if base.boundaries is not None or base.kota_code is not None or base.centre is not None:
        raise ValueError("--cities builds synthetic cities: it does not go with --boundaries or --kota")
    out = [base]
    for i, code in enumerate(kota_codes(n)[1:], start=1):
        row, col = divmod(i - 1, GRID_COLUMNS)
        centre = (round(GRID_WEST + col * GRID_STEP, 4), round(GRID_NORTH - row * GRID_STEP, 4))
        out.append(dataclasses.replace(base, seed=base.seed + i, kota_code=code, centre=centre,
                                       name=f"Kota Contoh {code}"))  # fmt: skip
    return out
