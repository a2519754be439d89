"""A small city whose names attack what the product writes: reportlab markup for the berita acara PDF,
spreadsheet formulas for the CSV exports. One RT of a kelurahan named with both, three families in it,
the users of a verification round and an agency key with a points agreement."""

from __future__ import annotations

from pathlib import Path

import psycopg
from typer.testing import CliRunner

from boundaries.derive import derive_rt
from core.settings import get_settings
from peta.cli import app as cli
from tests.layers import KELURAHAN, load_sample_city
from tests.people import PASSWORD, add_users, scope

KEL = KELURAHAN[0][0]
RT = f"{KEL}.001.001"
KEL_NAME = '@Kel <i>Barat "Daya"'  # a formula for a spreadsheet, an unclosed tag for reportlab
# (name, address): formulas, markup and a genuine leading minus in text
FAMILIES = [
    ('=HYPERLINK("http://evil.example","klik")', "+62 Jl. Sudirman"),
    ("<b>Siti Aminah", "-Gg. Mawar 3"),
    ("@SUM(A1:A9)", "Jl. Kenanga &amp; <br/>"),
]
CAMPAIGN_NAMES = ['<img src="/etc/passwd"/>', '<a href="javascript:alert(1)">x</a>', "<b>unbalanced"]


def hostile_city(url: str, tmp_path: Path) -> dict[str, object]:
    """Load the city into an emptied database (as its owner); the users, the key and the family ids."""
    from tests.conftest import truncate_all

    truncate_all(url)
    point = KELURAHAN[0][2].centroid
    with psycopg.connect(url) as conn:
        load_sample_city(conn, tmp_path, population_step=10)
        conn.execute("UPDATE area SET name = %s WHERE code = %s", (KEL_NAME, KEL))
        derive_rt(conn, [(0, RT, point.x, point.y)])
        families = [
            conn.execute(
                "INSERT INTO household (kk_hash, kk_masked, nik_kepala_hash, nik_kepala_masked, nama_kepala, alamat,"
                " kode_rt, rt_code, kota_code, geom, jumlah_anggota, "
                + ", ".join(f"k{i:02d}" for i in range(1, 15))
                + ", source) VALUES (%s, %s, %s, '157101******0002', %s, %s, %s, %s, left(%s, 5),"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326), 4, " + ", ".join(["true"] * 9 + ["false"] * 5) + ", 'uji')"
                " RETURNING id",
                (f"kk-{i}", f"157101******000{i}", f"nik-{i}", name, address, RT, RT, RT, point.x + i * 1e-4, point.y),
            ).fetchone()[0]
            for i, (name, address) in enumerate(FAMILIES)
        ]
    add_users(url, {"admin": ("admin", []), "koor": ("coordinator", scope("kelurahan", KEL)),
                    "rt.satu": ("verifier", scope("rt", RT))})  # fmt: skip
    get_settings.cache_clear()
    try:
        created = CliRunner().invoke(cli, ["keys", "create", "BPJS Kesehatan", "--points-agreement"],
                                     env={"DATABASE_URL": url})  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert created.exit_code == 0, created.output
    return {"url": url, "families": families, "key": created.stdout.strip().splitlines()[-1], "password": PASSWORD}
