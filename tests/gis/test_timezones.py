"""A kab/kota's days are its own (issue 15): Indonesia has three time zones, and a visit's date, a campaign's
"today" and the berita acara's dates follow the province of the area's code (peta_timezone, migration 0015)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# The 38 provinces (Kemendagri codes) and their zones, written out here from the official list, not from the product
WIB = {"11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
       "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung", "19": "Kepulauan Bangka Belitung",
       "21": "Kepulauan Riau", "31": "DKI Jakarta", "32": "Jawa Barat", "33": "Jawa Tengah", "34": "DI Yogyakarta",
       "35": "Jawa Timur", "36": "Banten", "61": "Kalimantan Barat", "62": "Kalimantan Tengah"}  # fmt: skip
WITA = {"51": "Bali", "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur", "63": "Kalimantan Selatan",
        "64": "Kalimantan Timur", "65": "Kalimantan Utara", "71": "Sulawesi Utara", "72": "Sulawesi Tengah",
        "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara", "75": "Gorontalo", "76": "Sulawesi Barat"}  # fmt: skip
WIT = {"81": "Maluku", "82": "Maluku Utara", "91": "Papua", "92": "Papua Barat", "93": "Papua Selatan",
       "94": "Papua Tengah", "95": "Papua Pegunungan", "96": "Papua Barat Daya"}  # fmt: skip
EXPECTED = {
    p: zone
    for zone, provinces in (("Asia/Jakarta", WIB), ("Asia/Makassar", WITA), ("Asia/Jayapura", WIT))
    for p in provinces
}


def test_every_province_has_its_zone(conn):
    assert len(EXPECTED) == 38
    codes = [f"{p}.71.01.1001.001.002" for p in sorted(EXPECTED)] + [f"{p}.05" for p in sorted(EXPECTED)]
    got = conn.execute("SELECT c, peta_timezone(c) FROM unnest(%s::text[]) c", (codes,)).fetchall()
    assert len(got) == 76
    for code, zone in got:
        assert zone == EXPECTED[code[:2]], (code, zone)
    # no province, or none known: the capital's zone
    assert conn.execute("SELECT peta_timezone(NULL), peta_timezone('99.01')").fetchone() == ("Asia/Jakarta",) * 2


@pytest.mark.parametrize(("code", "day"), [
    ("15.71.01.1001.001.002", "2026-12-01"),  # Kota Jambi, WIB (UTC+7): 23:30
    ("73.71.01.1001.001.002", "2026-12-02"),  # Kota Makassar, WITA (UTC+8): 00:30 the next day
    ("91.71.01.1001.001.002", "2026-12-02"),  # Kota Jayapura, WIT (UTC+9): 01:30
])  # fmt: skip
def test_an_instant_is_dated_in_the_areas_own_day(conn, code, day):
    got = conn.execute("SELECT ('2026-12-01T16:30:00Z'::timestamptz AT TIME ZONE peta_timezone(%s))::date::text",
                       (code,)).fetchone()[0]  # fmt: skip
    assert got == day


def test_the_workflow_names_no_fixed_zone():
    """Every day the workflow computes goes through peta_timezone: no zone is written into its SQL."""
    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "verval").glob("*.py"))
    assert files
    fixed = [f"{f.name}: {m}" for f in files for m in re.findall(r"AT TIME ZONE\s+'[^']+'", f.read_text())]
    assert fixed == []
    assert sum("peta_timezone(" in f.read_text() for f in files) >= 3
