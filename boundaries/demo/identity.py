"""Synthetic but well-formed identities: head names, NIK and KK numbers (kept only hashed and masked), addresses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boundaries.demo.config import POOR_THRESHOLD, REFERENCE_DATE
from core.privacy import keyed_hash, mask_number

MALE_GIVEN = (
    "Ahmad",
    "Muhammad",
    "Abdul",
    "Agus",
    "Budi",
    "Dedi",
    "Eko",
    "Fajar",
    "Hendra",
    "Iwan",
    "Joko",
    "Rahmat",
    "Rudi",
    "Syamsul",
    "Taufik",
    "Wahyu",
    "Yusuf",
    "Zainal",
    "Hasan",
    "Ismail",
    "Amir",
    "Bambang",
    "Darmawan",
    "Firman",
    "Hamdan",
    "Irwan",
    "Jamal",
    "Khairul",
    "Mulyadi",
    "Nasir",
)
MALE_SECOND = (
    "Saputra",
    "Hidayat",
    "Fauzi",
    "Rahman",
    "Siregar",
    "Nasution",
    "Santoso",
    "Kurniawan",
    "Setiawan",
    "Syahputra",
    "Hakim",
    "Ridwan",
    "Junaidi",
    "Efendi",
    "Pratama",
    "Gunawan",
    "Hasibuan",
    "Lubis",
    "Harahap",
    "Sembiring",
    "Anwar",
    "Azhari",
    "Maulana",
    "Iskandar",
    "Sulaiman",
)
FEMALE_GIVEN = (
    "Siti",
    "Nur",
    "Dewi",
    "Sri",
    "Rina",
    "Yanti",
    "Wati",
    "Ani",
    "Fitri",
    "Lestari",
    "Rahma",
    "Aisyah",
    "Fatimah",
    "Halimah",
    "Maryam",
    "Nurul",
    "Putri",
    "Ratna",
    "Suryani",
    "Yuliana",
)
FEMALE_SECOND = (
    "Aminah",
    "Hasanah",
    "Rahmawati",
    "Wahyuni",
    "Handayani",
    "Kartika",
    "Susanti",
    "Marlina",
    "Safitri",
    "Anggraini",
    "Purnamasari",
    "Hayati",
    "Zubaidah",
    "Khadijah",
    "Nurhayati",
)
STREETS = (
    "Sultan Thaha",
    "Gatot Subroto",
    "Hayam Wuruk",
    "Kol. Abunjani",
    "Sumantri Brojonegoro",
    "Pangeran Diponegoro",
    "Slamet Riyadi",
    "KH. Agus Salim",
    "Lingkar Selatan",
    "Kapten Pattimura",
    "Jend. Sudirman",
    "Orang Kayo Hitam",
    "Raden Mattaher",
    "M. Yamin",
    "Adityawarman",
    "Kapten A. Bakaruddin",
    "Sri Soedewi",
    "Marsda Surya Darma",
    "Lingkar Barat",
    "Kol. Pol. M. Taher",
    "Sentot Alibasa",
    "Husni Thamrin",
    "Halim Perdana Kusuma",
    "Yos Sudarso",
    "Mayjen Sutoyo",
    "Pakuan Baru",
    "Mawar",
    "Melati",
    "Kenanga",
    "Cempaka",
    "Flamboyan",
    "Dahlia",
    "Teratai",
    "Anggrek",
    "Bougenville",
    "Karya Bakti",
    "Pelita",
    "Damai",
    "Sejahtera",
    "Swadaya",
)


@dataclass
class Identities:
    """Identity columns of the families: hashes and masked numbers, names, addresses."""

    kk_hash: np.ndarray
    kk_masked: np.ndarray
    nik_hash: np.ndarray
    nik_masked: np.ndarray
    nama: np.ndarray
    alamat: np.ndarray
    kk: np.ndarray  # clear numbers: kept in memory for --export-csv only, never loaded
    nik: np.ndarray


def group_serial(keys: np.ndarray) -> np.ndarray:
    """1-based position of each element among the elements with the same key (stable)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    start = np.r_[True, ordered[1:] != ordered[:-1]]
    idx = np.arange(len(keys))
    rank = idx - np.maximum.accumulate(np.where(start, idx, 0)) + 1
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = rank
    return out


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day, month, two-digit year) of dates given as days before the reference date."""
    dates = np.datetime64(REFERENCE_DATE) - days.astype("timedelta64[D]")
    month_start = dates.astype("datetime64[M]")
    day = (dates - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    month = month_start.astype(np.int64) % 12 + 1
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    return day, month, year % 100


def _numbers(region: np.ndarray, day: np.ndarray, month: np.ndarray, year: np.ndarray) -> list[str]:
    """16-digit numbers: region, DDMMYY, a serial unique within region and date."""
    key = ((region * 100 + day) * 100 + month) * 100 + year
    serial = group_serial(key)
    return [
        f"{r:06d}{d:02d}{m:02d}{y:02d}{s:04d}"
        for r, d, m, y, s in zip(
            region.tolist(), day.tolist(), month.tolist(), year.tolist(), serial.tolist(), strict=True
        )
    ]


def _names(female: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plausible Indonesian names of family heads."""
    n = len(female)
    male = [
        f"{a} {b}"
        for a, b in zip(
            np.array(MALE_GIVEN)[rng.integers(0, len(MALE_GIVEN), n)],
            np.array(MALE_SECOND)[rng.integers(0, len(MALE_SECOND), n)],
            strict=True,
        )
    ]
    fem = [
        f"{a} {b}"
        for a, b in zip(
            np.array(FEMALE_GIVEN)[rng.integers(0, len(FEMALE_GIVEN), n)],
            np.array(FEMALE_SECOND)[rng.integers(0, len(FEMALE_SECOND), n)],
            strict=True,
        )
    ]
    return np.where(female, np.array(fem, dtype=object), np.array(male, dtype=object))


def _addresses(rt_codes: np.ndarray, rt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """'Jl. <street> No. <n>, RT 005/RW 002': most families of an RT share its main street."""
    main_street = rng.integers(0, len(STREETS), len(rt_codes))
    street = np.where(rng.random(len(rt)) < 0.7, main_street[rt], rng.integers(0, len(STREETS), len(rt)))
    number = rng.integers(1, 151, len(rt))
    labels = [f"RT {c[-3:]}/RW {c[-7:-4]}" for c in rt_codes.tolist()]
    return np.array(
        [
            f"Jl. {STREETS[s]} No. {k}, {labels[r]}"
            for s, k, r in zip(street.tolist(), number.tolist(), rt.tolist(), strict=True)
        ],
        dtype=object,
    )


def make_identities(
    rt_codes: np.ndarray, rt: np.ndarray, criteria: np.ndarray, key: bytes, rng: np.random.Generator
) -> Identities:
    """Heads' sex, birth dates and names; KK and head NIK numbers stored only hashed and masked."""
    n = len(rt)
    region = np.array([int(c[:2] + c[3:5] + c[6:8]) for c in rt_codes.tolist()], dtype=np.int64)[rt]
    # female heads (often widows) are more common among the poorest families
    female = rng.random(n) < np.where(criteria.sum(axis=1) >= POOR_THRESHOLD, 0.28, 0.16)
    age_days = np.round((21 + 62 * rng.beta(2.0, 2.6, n)) * 365.25).astype(np.int64)
    day, month, year = _date_parts(age_days)
    niks = _numbers(region, day + 40 * female, month, year)
    issued = np.minimum(age_days - 18 * 366, rng.integers(120, 21 * 366, n))
    kks = _numbers(region, *_date_parts(issued))
    return Identities(
        kk_hash=np.array([keyed_hash(key, v) for v in kks], dtype=object),
        kk_masked=np.array([mask_number(v) for v in kks], dtype=object),
        nik_hash=np.array([keyed_hash(key, v) for v in niks], dtype=object),
        nik_masked=np.array([mask_number(v) for v in niks], dtype=object),
        nama=_names(female, rng),
        alamat=_addresses(rt_codes, rt, rng),
        kk=np.array(kks, dtype=object),
        nik=np.array(niks, dtype=object),
    )
