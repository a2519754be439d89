"""Parameters of the demo city and the generated result (areas and registry families)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS

from core.crs import utm_epsg
from core.levels import CODE_PATTERNS

Progress = Callable[[str, float], None]  # (stage name, fraction of the whole job done)

# Dates are relative to this fixed day, never to today, so a seed always gives the same data.
REFERENCE_DATE = dt.date(2026, 11, 1)
# The synthetic city (no boundary file) is Kota Jambi's unless told otherwise: its code and its centre. A city
# built from a boundary file takes both from the file's data instead.
DEFAULT_KOTA = "15.71"
CENTRE_LONLAT = (103.61, -1.61)
# The demo city's own programme (Kota Jambi's card); load_city lists it among its kab/kota's local programmes.
LOCAL_PROGRAM = {"code": "KARTU-BAHAGIA", "name": "Kartu Bahagia"}
PROGRAMS: tuple[str, ...] = ("PKH", "BPNT", "PBI-JK", "BPJS-TK", LOCAL_PROGRAM["code"])
INDICATORS = 14
POOR_THRESHOLD = 9  # BPS: a household meeting 9 or more of the 14 criteria is poor
MEAN_FAMILY_SIZE = 3.6
RTS_PER_RW = 7.0


@dataclass
class DemoConfig:
    """Everything the generator depends on; the same config gives byte-identical data."""

    seed: int = 2026
    scale: float = 1.0
    boundaries: Path | None = None
    residents: int = 620_000
    residents_per_rt: float = 200.0
    registry_people: int = 342_000
    poverty_rate: float = 0.0773
    very_poor_families: int = 20_000
    verified_families: int = 13_000
    kecamatan: int = 11
    kelurahan: int = 66
    # The kab/kota (PP.KK). None: DEFAULT_KOTA for the synthetic city; with a boundary file, the one its
    # kelurahan codes share (a file holding several needs this to pick one).
    kota_code: str | None = None
    # Lon/lat of the dense, least poor core the density and poverty patterns radiate from. None: CENTRE_LONLAT
    # for the synthetic city; with a boundary file, its densest kelurahan (geometry.pattern_centre).
    centre: tuple[float, float] | None = None
    # The synthetic city's name. None: "Kota Contoh" (or "Kabupaten Contoh"); a boundary file names its own.
    name: str | None = None
    secret_key: bytes = b"demo"

    def check(self) -> None:
        """ValueError when the parameters cannot give a sensible city."""
        if self.scale <= 0:
            raise ValueError(f"scale must be positive, got {self.scale}")
        if self.residents_per_rt <= 0 or self.residents <= 0:
            raise ValueError("residents and residents_per_rt must be positive")
        if not 0 < self.poverty_rate < 0.5:
            raise ValueError(f"poverty_rate must be between 0 and 0.5, got {self.poverty_rate}")
        if self.registry_people > self.residents:
            raise ValueError("registry_people cannot exceed residents")
        if self.kota_code is not None and not CODE_PATTERNS["kota"].match(self.kota_code):
            raise ValueError(f"kota code must look like 15.71 (province.kab/kota), got {self.kota_code!r}")
        if self.centre is not None:
            utm_epsg(*self.centre)  # ValueError outside Indonesia's UTM zones
        if self.boundaries is None:
            if self.kecamatan < 1:
                raise ValueError("kecamatan must be at least 1")
            if not 60 <= self.kelurahan <= 70 or self.kelurahan < self.kecamatan:
                raise ValueError(f"kelurahan must be between 60 and 70, got {self.kelurahan}")

    def scaled(self, value: float) -> int:
        """A count multiplied by `scale`, at least 1."""
        return max(1, int(round(value * self.scale)))


@dataclass(frozen=True)
class Site:
    """Where a city lies: its plane in metres (the WGS 84 / UTM zone of the kota's centre, from
    `core.crs.utm_epsg`), the centre of its density and poverty patterns (in that plane and as lon/lat), and
    how far the patterns reach (1.0 for Kota Jambi's 170 km²; the square root of the area ratio otherwise)."""

    crs: CRS
    centre: tuple[float, float]
    centre_lonlat: tuple[float, float]
    reach: float = 1.0


@dataclass(frozen=True)
class AreaRecord:
    """One area ready to load: geometry is a valid EPSG:4326 MultiPolygon."""

    code: str
    name: str
    level: str
    parent: str | None
    population: int
    geom: shapely.MultiPolygon


@dataclass
class Households:
    """Registry families as columns (one row per family), ordered by RT code."""

    rt_code: np.ndarray  # object (str)
    lon: np.ndarray
    lat: np.ndarray
    size: np.ndarray  # int16, jumlah_anggota
    criteria: np.ndarray  # bool (n, 14): k01..k14
    programs: np.ndarray  # uint8 bit mask over PROGRAMS
    desil: np.ndarray  # int8, 1..10
    tgl_verval: np.ndarray  # datetime64[D], NaT when never verified
    hasil_verval: np.ndarray  # int8, 0 when never verified
    kk_hash: np.ndarray  # object (str)
    kk_masked: np.ndarray
    nik_hash: np.ndarray
    nik_masked: np.ndarray
    nama: np.ndarray
    alamat: np.ndarray
    kk: np.ndarray  # clear synthetic numbers, for the CSV export only; never loaded into the database
    nik: np.ndarray

    def __len__(self) -> int:
        return len(self.rt_code)

    def poor(self) -> np.ndarray:
        """Families meeting at least 9 of the 14 BPS criteria."""
        return self.criteria.sum(axis=1) >= POOR_THRESHOLD


@dataclass
class City:
    """A generated demo city: areas of every level (parents first) and registry families."""

    config: DemoConfig
    areas: list[AreaRecord]
    households: Households
    stats: dict[str, float] = field(default_factory=dict)  # realised calibration figures
    site: Site | None = None  # where it was built (metric CRS, pattern centre)

    def kota(self) -> AreaRecord:
        """The kab/kota area itself (its code from the configuration or from the boundary file)."""
        return next(a for a in self.areas if a.level == "kota")

    def count(self, level: str) -> int:
        """Number of areas of a level."""
        return sum(1 for a in self.areas if a.level == level)

    def residents(self) -> int:
        """Population of the city area."""
        return sum(a.population for a in self.areas if a.level == "kota")

    def digest(self) -> str:
        """SHA-256 over codes, names, populations, geometries (WKB) and every household column."""
        h = hashlib.sha256()
        for a in self.areas:
            h.update(f"{a.code}|{a.name}|{a.level}|{a.parent}|{a.population}|".encode())
            h.update(shapely.to_wkb(a.geom))
        hh = self.households
        for name in hh.__dataclass_fields__:
            column = getattr(hh, name)
            h.update(name.encode())
            if column.dtype == object:
                h.update("\x1f".join(column.tolist()).encode())
            else:
                h.update(np.ascontiguousarray(column).tobytes())
        return h.hexdigest()
