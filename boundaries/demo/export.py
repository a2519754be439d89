"""Write the demo city's families as a registry CSV in the import format (`peta households import`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from boundaries.demo.config import INDICATORS, PROGRAMS, City
from core import csvsafe

HEADER = [
    "no_kk", "nik_kepala", "nama_kepala", "alamat", "kode_rt", "lon", "lat", "jumlah_anggota",
    *(f"k{i:02d}" for i in range(1, INDICATORS + 1)), "program", "desil_resmi", "tgl_verval", "hasil_verval",
]  # fmt: skip


def export_csv(city: City, path: Path) -> int:
    """Write every family (clear synthetic KK/NIK, as Dinsos files hold them); returns the row count."""
    hh = city.households
    programs = [";".join(p for i, p in enumerate(PROGRAMS) if mask >> i & 1) for mask in range(1 << len(PROGRAMS))]
    dates = np.datetime_as_string(hh.tgl_verval, unit="D")
    verified = ~np.isnat(hh.tgl_verval)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csvsafe.writer(f)
        writer.writerow(HEADER)
        for i in range(len(hh)):
            writer.writerow(
                [
                    hh.kk[i],
                    hh.nik[i],
                    hh.nama[i],
                    hh.alamat[i],
                    hh.rt_code[i],
                    float(hh.lon[i]),  # numbers (written exactly, as repr): a negative latitude stays one
                    float(hh.lat[i]),
                    int(hh.size[i]),
                    *(int(v) for v in hh.criteria[i]),
                    programs[int(hh.programs[i])],
                    int(hh.desil[i]),
                    dates[i] if verified[i] else "",
                    int(hh.hasil_verval[i]) if verified[i] else "",
                ]
            )
    return len(hh)
