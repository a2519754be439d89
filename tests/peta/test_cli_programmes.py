"""`peta programmes`: the configured programmes, a key bound to one programme, a roster imported and listed."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from core.privacy import keyed_hash
from core.settings import get_settings
from peta.cli import app as cli
from tests.hostile import hostile_city

SECRET = "programme-cli-test-key-abcdefghijklmnop0123456"
KK = "1571010202020001"


def _run(url: str, *args: str):
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, "PETA_SECRET_KEY": SECRET})
    finally:
        get_settings.cache_clear()


def test_programmes_keys_and_a_roster_at_the_command_line(committed_url, tmp_path):
    world = hostile_city(committed_url, tmp_path)
    family = world["families"][1]
    with psycopg.connect(committed_url) as conn:
        conn.execute("UPDATE household SET kk_hash = %s WHERE id = %s", (keyed_hash(SECRET.encode(), KK), family))
        # the national programmes only: no kab/kota settings left by an earlier test's demo city (Kartu Bahagia)
        conn.execute("UPDATE peta_config SET value = '{}' WHERE key = 'kab_kota'")
        conn.execute("UPDATE peta_config SET value = value || '{\"local\": []}' WHERE key = 'programs'")
    listed = _run(committed_url, "programmes", "list")
    assert listed.exit_code == 0, listed.output
    assert [line.split()[1] for line in listed.stdout.splitlines() if line.startswith("│ ")] == [
        "BPJS-TK", "BPNT", "PBI-JK", "PKH"]
    unknown = _run(committed_url, "programmes", "key", "Dinsos", "--programme", "BEASISWA")
    assert unknown.exit_code == 1
    assert "no programme BEASISWA; configured: BPJS-TK, BPNT, PBI-JK, PKH" in unknown.output
    made = _run(committed_url, "programmes", "key", "Dinsos PKH", "--programme", "PKH")
    assert made.exit_code == 0, made.output
    with psycopg.connect(committed_url) as conn:
        assert conn.execute("SELECT programme, points_agreement FROM api_key WHERE name = 'Dinsos PKH'").fetchall() == [
            ("PKH", False)]
    roster = tmp_path / "pkh.csv"
    roster.write_text(f"no_kk\n{KK}\n1571019999990009\n")
    refused = _run(committed_url, "programmes", "roster", "import", "PKH", str(roster), "--period", "2026-01")
    assert refused.exit_code == 1
    assert "roster refused, nothing kept: 1 of 2 rows are wrong" in refused.output
    assert "row 3: no family with this KK number" in refused.output
    badperiod = _run(committed_url, "programmes", "roster", "import", "PKH", str(roster), "--period", "Januari")
    assert badperiod.exit_code == 1 and "period: programme PKH runs by month, e.g. 2026-12" in badperiod.output
    kept = _run(committed_url, "programmes", "roster", "import", "PKH", str(roster), "--period", "2026-01", "--partial")
    assert kept.exit_code == 0, kept.output
    assert "1 of 2 rows matched, 1 not" in kept.stdout and "row 3: no family with this KK number" in kept.stdout
    with psycopg.connect(committed_url) as conn:
        assert conn.execute("SELECT r.household_id, p.uploaded_by LIKE 'cli:%%' FROM programme_recipient r"
                            " JOIN programme_roster p ON p.id = r.roster_id WHERE p.period = '2026-01'").fetchall() == [
            (family, True)]  # fmt: skip
    versions = _run(committed_url, "programmes", "roster", "list", "PKH", "--period", "2026-01")
    assert versions.exit_code == 0, versions.output
    rows = [line for line in versions.stdout.splitlines() if "2026-01" in line]
    assert len(rows) == 1 and "│ 1 " in rows[0] and "all" in rows[0]


def test_an_eligibility_list_at_the_command_line(committed_url, tmp_path):
    world = hostile_city(committed_url, tmp_path)
    family = world["families"][2]
    with psycopg.connect(committed_url) as conn:
        conn.execute("UPDATE household SET desil_resmi = CASE WHEN id = %s THEN 3 ELSE 8 END", (family,))
        (kk_hash,) = conn.execute("SELECT kk_hash FROM household WHERE id = %s", (family,)).fetchone()
    out = tmp_path / "pkh.csv"
    made = _run(committed_url, "programmes", "eligible", "PKH", "--period", "2026-01", "--output", str(out))
    assert made.exit_code == 0, made.output
    assert "1 families eligible for PKH 2026-01 (fixed)" in made.stdout
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == ["pseudonym", "kota_code", "kk_hash", "nik_hash", "desil_resmi", "local_desil",
                                   "tgl_verval", "nama_kepala", "alamat", "rt_code"]  # fmt: skip
    assert len(lines) == 2 and f",{kk_hash}," in lines[1] and ",3," in lines[1]
    unknown = _run(committed_url, "programmes", "eligible", "BEASISWA", "--period", "2026-01", "--output", str(out))
    assert unknown.exit_code == 1 and "no programme BEASISWA" in unknown.output
