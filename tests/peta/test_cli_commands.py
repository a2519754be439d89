"""The `peta` commands that the other CLI tests only ran with `--help`, now run for real against a small hand-made
city (tests/layers.py areas, two RTs a kelurahan, ten families whose BPS counts are 14, 13, …, 5), each asserting
what the command printed or wrote with values computed here from the city's own data (issue 19).

One module-scoped city is loaded once; every test starts from it with no users, keys or campaigns, and the
tests that change the ranking or the areas put them back, so the order the tests run in does not matter.
`peta db down` (and `db up` of the embedded cluster) need the embedded cluster: tests/gis/test_embedded.py covers
them; here `db up`/`db status`/`db migrate` run against DATABASE_URL."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from shapely.geometry import box
from typer.testing import CliRunner, Result

from core.settings import get_settings
from peta.cli import app
from tests.conftest import HEAD_REVISION, REPO, truncate_all
from tests.layers import KECAMATAN, KELURAHAN, KOTA, write_layer

KEY = "cli-commands-test-key-0123456789abcdef"  # varied: production refuses a key like "c" * 40
PASSWORD = "rahasia-sekali-123"
CRITERIA = [f"k{i:02d}" for i in range(1, 15)]
POPULATION_STEP = 1000  # kelurahan i (0-based) has (i + 1) * 1000 people in its boundary file


@dataclass(frozen=True)
class Family:
    no_kk: str
    nik: str
    name: str
    rt: str
    members: int
    met: tuple[str, ...]  # the BPS criteria the family meets
    desil_resmi: int


def _rts() -> list[tuple[str, str, object]]:
    """Two RTs a kelurahan: its west and east halves."""
    out = []
    for code, name, geom in KELURAHAN:
        w, s, e, n = geom.bounds
        mid = (w + e) / 2
        out.append((f"{code}.001.001", f"RT 1 {name}", box(w, s, mid, n)))
        out.append((f"{code}.001.002", f"RT 2 {name}", box(mid, s, e, n)))
    return out


RTS = _rts()
RT_CENTRE = {code: geom.centroid for code, _, geom in RTS}


def _families() -> list[Family]:
    """Ten families, family i meeting 14 - i criteria (so the poorest is family 0, the least poor family 9).

    Family 9 meets k10..k14 (the others k01..), so weighting k14 alone puts it level with family 0."""
    fams = []
    for i in range(10):
        count = 14 - i
        met = tuple(CRITERIA[-count:]) if i == 9 else tuple(CRITERIA[:count])
        fams.append(
            Family(
                no_kk=f"15710101017{i:05d}",
                nik=f"157101{(i % 28) + 1:02d}0180{i:04d}",
                name=f"Kepala {i}",
                rt=RTS[i % len(RTS)][0],
                members=i + 2,
                met=met,
                desil_resmi=10 - i,  # the opposite of the local order
            )
        )
    return fams


FAMILIES = _families()


def _kelurahan(rt: str) -> str:
    return rt[: len("15.71.01.1001")]


def _write_families(path: Path, families: list[Family]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["no_kk", "nik_kepala", "nama_kepala", "alamat", "kode_rt", "lon", "lat", "jumlah_anggota",
                    *CRITERIA, "program", "desil_resmi", "tgl_verval", "hasil_verval"])  # fmt: skip
        for fam in families:
            c = RT_CENTRE.get(fam.rt)  # an unknown RT: no point, placed by its code
            lon, lat = (c.x, c.y) if c else ("", "")
            w.writerow([fam.no_kk, fam.nik, fam.name, "Jl. Uji", fam.rt, lon, lat, fam.members,
                        *(int(k in fam.met) for k in CRITERIA), "", fam.desil_resmi, "", ""])  # fmt: skip
    return path


class Peta:
    """`peta …` against one database, settings re-read for every command (as a fresh process would)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *argv: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        get_settings.cache_clear()
        try:
            full = {"DATABASE_URL": self.url, "PETA_SECRET_KEY": KEY, **(env or {})}
            return self.runner.invoke(app, list(argv), input=input, env=full)
        finally:
            get_settings.cache_clear()

    def ok(self, *argv: str, input: str | None = None) -> Result:
        result = self(*argv, input=input)
        assert result.exit_code == 0, (argv, result.output)
        return result

    def rows(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def city(committed_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peta]:
    """The hand-made city, loaded once through the commands themselves (import, import, import)."""
    peta = Peta(committed_url)
    tmp = tmp_path_factory.mktemp("city")
    truncate_all(committed_url)
    for rows, level in ((KOTA, "kota"), (KECAMATAN, "kecamatan"), (KELURAHAN, "kelurahan"), (RTS, "rt")):
        extra = {"penduduk": [POPULATION_STEP * (i + 1) for i in range(len(rows))]} if level == "kelurahan" else None
        argv = ["boundaries", "import", str(write_layer(tmp / f"{level}.geojson", rows, extra=extra)), "--level", level]
        peta.ok(*argv, *(["--derive-parents"] if level == "rt" else []))
    peta.ok("households", "import", str(_write_families(tmp / "families.csv", FAMILIES)))
    yield peta
    truncate_all(committed_url)


@pytest.fixture
def peta(city: Peta) -> Iterator[Peta]:
    """The city with no users, keys, sessions or campaigns (whatever another test left)."""
    with psycopg.connect(city.url, autocommit=True) as c:
        c.execute("TRUNCATE app_user, api_key, login_attempt, login_throttle, campaign RESTART IDENTITY CASCADE")
    assert city.rows("SELECT count(*) FROM household WHERE active") == [(len(FAMILIES),)]
    yield city


def _ids(peta: Peta) -> dict[str, int]:
    """Family id by KK masked the way the registry masks it (first 6, last 4 digits)."""
    return {fam.no_kk: peta.rows("SELECT id FROM household WHERE kk_masked = %s",
                                 fam.no_kk[:6] + "******" + fam.no_kk[-4:])[0][0] for fam in FAMILIES}  # fmt: skip


def _expected_order(weights: dict[str, float]) -> list[Family]:
    """The poorest first: score (weights of the criteria met), then BPS count (distinct here, so no further ties)."""
    return sorted(FAMILIES, key=lambda f: (-sum(weights[k] for k in f.met), -len(f.met)))


def _table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table as lists of cells (the header and rules dropped)."""
    rows = []
    for line in output.splitlines():
        if "│" in line or "┃" in line:
            cells = [c.strip() for c in re.split("[│┃]", line)[1:-1]]
            rows.append(cells)
    return rows


# --- stats ------------------------------------------------------------------------------------------------------


def test_stats_counts_families_people_and_the_bps_poor_per_kelurahan(peta):
    table = peta.ok("stats", "kelurahan")
    assert f"kelurahan: {len(KELURAHAN)} areas" in table.output
    data = json.loads(peta.ok("stats", "kelurahan", "--json").stdout)
    assert [r["code"] for r in data] == [code for code, _, _ in KELURAHAN]
    for i, (code, name, _) in enumerate(KELURAHAN):
        mine = [f for f in FAMILIES if _kelurahan(f.rt) == code]
        row = next(r for r in data if r["code"] == code)
        assert (row["name"], row["population"]) == (name, POPULATION_STEP * (i + 1))
        assert row["families"] == len(mine)
        assert row["people"] == sum(f.members for f in mine)
        assert row["poor_bps_people"] == sum(f.members for f in mine if len(f.met) >= 9)
        # the same figures in the table, on the kelurahan's own line
        line = next(cells for cells in _table_rows(table.output) if cells and cells[0] == code)
        assert line[3:5] == [f"{len(mine):,}", f"{sum(f.members for f in mine):,}"]
    under = json.loads(peta.ok("stats", "kelurahan", "--parent", "15.71.02", "--json").stdout)
    assert [r["code"] for r in under] == [code for code, _, _ in KELURAHAN if code.startswith("15.71.02.")]
    rts = list(csv.DictReader(peta.ok("stats", "rt", "--csv").stdout.splitlines()))
    assert {r["code"]: int(r["families"]) for r in rts} == {
        code: sum(f.rt == code for f in FAMILIES) for code, _, _ in RTS
    }


def test_stats_refuses_an_unknown_level_naming_it(peta):
    bad = peta("stats", "desa")
    assert bad.exit_code != 0 and "desa" in bad.output


# --- rank -------------------------------------------------------------------------------------------------------

EQUAL = {k: 1.0 for k in CRITERIA}


def test_rank_explain_names_the_rank_known_by_construction(peta):
    ids = _ids(peta)
    order = _expected_order(EQUAL)
    assert order[0] is FAMILIES[0]  # the family meeting all 14 criteria
    for position, fam in enumerate(order, start=1):
        out = peta.ok("rank", "explain", str(ids[fam.no_kk])).output
        score = 100.0 * len(fam.met) / len(CRITERIA)
        assert f"score {score:.2f} · BPS {len(fam.met)}/14 · rank {position:,} of {len(FAMILIES):,}" in out, out
        in_kel = [f for f in order if _kelurahan(f.rt) == _kelurahan(fam.rt)]
        assert f"(kelurahan {in_kel.index(fam) + 1:,})" in out
        assert f"desil resmi {fam.desil_resmi}" in out
        # one line per criterion: met ones ✔ with their points, the others · with +0.00
        for k in CRITERIA:
            mark, points = ("✔", 100.0 / len(CRITERIA)) if k in fam.met else ("·", 0.0)
            assert re.search(rf"^\s*{mark} {k} .*: \+{points:.2f}$", out, re.M), (k, out)


def test_rank_explain_of_an_unknown_family_names_it(peta):
    missing = max(_ids(peta).values()) + 1000
    out = peta("rank", "explain", str(missing))
    assert out.exit_code == 1 and f"no ranked family {missing}" in out.output
    assert peta("rank", "explain", "abc").exit_code == 2


def test_rank_show_lists_the_poorest_first(peta):
    ids = _ids(peta)
    rows = [r for r in _table_rows(peta.ok("rank", "show", "--limit", "4").output) if r and r[0].isdigit()]
    assert [(int(r[0]), int(r[1])) for r in rows] == [
        (n, ids[f.no_kk]) for n, f in enumerate(_expected_order(EQUAL)[:4], start=1)
    ]
    assert [r[3] for r in rows] == [f.rt for f in _expected_order(EQUAL)[:4]]
    assert [r[2] for r in rows] == [f.no_kk[:6] + "******" + f.no_kk[-4:] for f in _expected_order(EQUAL)[:4]]
    kel = KELURAHAN[1][0]
    mine = [f for f in _expected_order(EQUAL) if _kelurahan(f.rt) == kel]
    local = [r for r in _table_rows(peta.ok("rank", "show", "--kelurahan", kel).output) if r and r[0].isdigit()]
    assert [(int(r[0]), int(r[1])) for r in local] == [(n, ids[f.no_kk]) for n, f in enumerate(mine, start=1)]
    # one kab/kota named: here every family is in it; another holds none
    city = [r for r in _table_rows(peta.ok("rank", "show", "--kota", kel[:5], "--limit", "4").output)
            if r and r[0].isdigit()]  # fmt: skip
    assert city == rows
    assert not [r for r in _table_rows(peta.ok("rank", "show", "--kota", "16.71").output) if r and r[0].isdigit()]


def _thresholds(output: str) -> dict[str, float]:
    return json.loads(output.split("category thresholds (minimum score):", 1)[1])


def test_rank_desil_crosses_local_and_official(peta):
    # ten families with distinct scores: the local desil is the rank; the official one was set to 11 - rank
    out = peta.ok("rank", "desil").output
    rows = [r for r in _table_rows(out) if r and r[0].isdigit()]
    header = next(r for r in _table_rows(out) if r and r[0] == "lokal")
    assert header[1:] == [str(d) for d in range(1, 11)] + ["–"]
    grid = {int(r[0]): [int(c) for c in r[1:]] for r in rows}
    expected = {}
    for rank, fam in enumerate(_expected_order(EQUAL), start=1):
        cells = [0] * 11
        cells[fam.desil_resmi - 1] = 1
        expected[rank] = cells
    assert grid == expected
    assert _thresholds(out) == {"fakir_miskin": 78.0, "miskin": 64.0, "rentan": 43.0}


def test_rank_apply_reweights_and_reorders(peta, tmp_path):
    only_k14 = {k: (1.0 if k == "k14" else 0.0) for k in CRITERIA}
    cfg = tmp_path / "k14.yaml"
    cfg.write_text("ranking:\n  weights: {" + ", ".join(f"{k}: {w}" for k, w in only_k14.items()) + "}\n"
                   "  categories: {fakir_miskin: 90.0, miskin: 70.0, rentan: 50.0}\n")  # fmt: skip
    ids = _ids(peta)
    try:
        applied = peta.ok("rank", "apply", "--config", str(cfg))
        assert f"applied {cfg}" in applied.output.replace("\n", "")
        order = _expected_order(only_k14)
        assert order[1] is FAMILIES[9]  # the least poor by count, but it meets k14
        out = peta.ok("rank", "explain", str(ids[FAMILIES[9].no_kk])).output
        assert "score 100.00 · BPS 5/14 · rank 2 of 10" in out
        assert re.search(r"✔ k14 .*: \+100\.00$", out, re.M) and re.search(r"✔ k10 .*: \+0\.00$", out, re.M)
        assert "score 0.00 · BPS 13/14 · rank 3 of 10" in peta.ok("rank", "explain", str(ids[FAMILIES[1].no_kk])).output
        desil = peta.ok("rank", "desil").output
        assert _thresholds(desil) == {"fakir_miskin": 90.0, "miskin": 70.0, "rentan": 50.0}
    finally:
        peta.ok("rank", "apply", "--config", str(REPO / "core" / "defaults.yaml"))
    assert "rank 10 of 10" in peta.ok("rank", "explain", str(ids[FAMILIES[9].no_kk])).output


def test_rank_apply_refuses_a_bad_file_and_changes_nothing(peta, tmp_path):
    ids = _ids(peta)
    before = peta.ok("rank", "explain", str(ids[FAMILIES[9].no_kk])).output
    cfg = tmp_path / "neg.yaml"
    cfg.write_text("ranking:\n  weights: {k01: -1}\n")
    refused = peta("rank", "apply", "--config", str(cfg))
    assert refused.exit_code == 1 and "ranking.weights.k01: must be a number >= 0" in refused.output
    missing = peta("rank", "apply", "--config", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "nope.yaml" in missing.output
    assert peta.ok("rank", "explain", str(ids[FAMILIES[9].no_kk])).output == before


# --- users ------------------------------------------------------------------------------------------------------


def _user_line(peta: Peta, username: str) -> list[str] | None:
    return next((r for r in _table_rows(peta.ok("users", "list").output) if r and r[0] == username), None)


def test_users_add_list_role_disable(peta):
    kec = KECAMATAN[0][0]
    added = peta.ok("users", "add", "ani.koordinator", "--role", "coordinator", "--scope-level", "kecamatan",
                    "--scope", kec, "--full-name", "Ani", input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert f"user ani.koordinator (coordinator, kecamatan {kec}) created" in added.output
    assert _user_line(peta, "ani.koordinator") == ["ani.koordinator", "Ani", "coordinator", f"kecamatan {kec}", "", "0"]
    stored = peta.rows("SELECT role, scope_level, scope_codes, password_hash, disabled_at FROM app_user"
                       " WHERE username = 'ani.koordinator'")  # fmt: skip
    assert stored[0][:3] == ("coordinator", "kecamatan", [kec]) and stored[0][4] is None
    assert stored[0][3].startswith("$argon2") and PASSWORD not in stored[0][3]

    kel = [code for code, _, _ in KELURAHAN[:2]]
    moved = peta.ok("users", "role", "ani.koordinator", "--role", "planner", "--scope-level", "kelurahan",
                    "--scope", kel[0], "--scope", kel[1])  # fmt: skip
    assert f"user ani.koordinator is now planner (kelurahan {kel[0]}, {kel[1]}); sessions ended" in moved.output
    assert _user_line(peta, "ani.koordinator")[2:5] == ["planner", f"kelurahan {', '.join(kel)}", ""]

    off = peta.ok("users", "disable", "ani.koordinator")
    assert "user ani.koordinator disabled; sessions ended" in off.output
    assert _user_line(peta, "ani.koordinator")[4] == "yes"
    assert peta.rows("SELECT disabled_at IS NOT NULL FROM app_user WHERE username = 'ani.koordinator'") == [(True,)]


def test_users_errors_name_what_is_wrong(peta):
    unknown = peta("users", "disable", "tidak.ada")
    assert unknown.exit_code == 1 and "no user 'tidak.ada'" in unknown.output
    role = peta("users", "role", "tidak.ada", "--role", "planner")
    assert role.exit_code == 1 and "no user 'tidak.ada'" in role.output
    scope = peta("users", "add", "budi", "--role", "planner", "--scope-level", "kecamatan", "--scope", "15.71.09",
                 input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert scope.exit_code == 1 and "no kecamatan area with code(s) 15.71.09" in scope.output
    bad_role = peta("users", "add", "budi", "--role", "raja", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert bad_role.exit_code == 1 and "unknown role 'raja'" in bad_role.output
    peta.ok("users", "add", "budi", "--role", "planner", input=f"{PASSWORD}\n{PASSWORD}\n")
    taken = peta("users", "add", "budi", "--role", "planner", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert taken.exit_code == 1 and "the username 'budi' is taken" in taken.output
    assert peta.rows("SELECT username FROM app_user") == [("budi",)]


def test_the_default_scope_is_the_one_city_loaded_and_never_a_guess(peta):
    made = peta.ok("users", "add", "kota.plan", "--role", "planner", input=f"{PASSWORD}\n{PASSWORD}\n")
    kota = KOTA[0][0]
    assert f"user kota.plan (planner, kota {kota}) created" in made.output
    assert peta.rows("SELECT scope_codes FROM app_user WHERE username = 'kota.plan'") == [([kota],)]
    key = peta.ok("keys", "create", "Dinas kota")
    assert peta.rows("SELECT scope_codes FROM api_key WHERE name = 'Dinas kota'") == [([kota],)], key.output
    below = peta("users", "add", "kec.koor", "--role", "coordinator", "--scope-level", "kecamatan",
                 input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert below.exit_code == 1 and "--scope: give the kecamatan code(s) of the scope" in below.output
    with psycopg.connect(peta.url) as c:  # a second kab/kota for a moment (removed again: the city stays as loaded)
        c.execute("CREATE TEMP TABLE other AS SELECT * FROM area WHERE level = 'kota'")
        c.execute("UPDATE other SET code = '12.71', name = 'Kota Lain'")
        c.execute("INSERT INTO area SELECT * FROM other")
        c.commit()
        try:
            two = peta("users", "add", "dua.kota", "--role", "planner", input=f"{PASSWORD}\n{PASSWORD}\n")
            assert two.exit_code == 1, two.output
            assert f"--scope: name the kab/kota of the scope (e.g. --scope 15.71): 2 are loaded (12.71, {kota})" in (
                two.output)  # fmt: skip
        finally:
            c.execute("DELETE FROM area WHERE code = '12.71'")
            c.commit()
    assert peta.rows("SELECT count(*) FROM app_user WHERE username IN ('kec.koor', 'dua.kota')") == [(0,)]


# --- keys -------------------------------------------------------------------------------------------------------


def _key_line(peta: Peta, ident: str) -> list[str] | None:
    return next((r for r in _table_rows(peta.ok("keys", "list").output) if r and r[0] == ident), None)


def test_keys_create_list_revoke_with_scope(peta):
    kel = KELURAHAN[2][0]
    made = peta.ok("keys", "create", "BPJS Kesehatan", "--scope-level", "kelurahan", "--scope", kel)
    assert "API key for BPJS Kesehatan (store it now, it is not shown again):" in made.output
    key = made.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"pv_([0-9a-f]{12})_\S+", key)
    assert m, key
    ident = m.group(1)
    stored = peta.rows("SELECT prefix, name, scope_level, scope_codes, revoked_at FROM api_key")
    assert [s[:4] for s in stored] == [(ident, "BPJS Kesehatan", "kelurahan", [kel])] and stored[0][4] is None
    assert key not in json.dumps(peta.rows("SELECT row_to_json(k) FROM api_key k"), default=str)  # stored hashed
    line = _key_line(peta, ident)
    assert line is not None and line[1:3] == ["BPJS Kesehatan", f"kelurahan {kel}"] and line[4] == ""

    assert f"key {ident} revoked" in peta.ok("keys", "revoke", ident).output
    assert peta.rows("SELECT revoked_at IS NOT NULL FROM api_key WHERE prefix = %s", ident) == [(True,)]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", _key_line(peta, ident)[4])
    again = peta("keys", "revoke", ident)
    assert again.exit_code == 1 and f"no active key '{ident}'" in again.output


def test_keys_create_refuses_an_rt_scope(peta):
    refused = peta("keys", "create", "Dinkes", "--scope-level", "rt", "--scope", RTS[0][0])
    assert refused.exit_code == 1
    assert "an agency's scope is a province, the city, kecamatan or kelurahan" in refused.output
    assert peta.rows("SELECT count(*) FROM api_key") == [(0,)]


# --- audit ------------------------------------------------------------------------------------------------------


def test_audit_seal_show_verify_and_anchor_after_a_change(peta):
    peta.ok("audit", "seal")  # whatever came before is sealed: the next seal counts only this test's rows
    peta.ok("users", "add", "citra", "--role", "planner", input=f"{PASSWORD}\n{PASSWORD}\n")
    (unsealed,) = peta.rows("SELECT count(*) FROM audit_log WHERE id > coalesce("
                            "(SELECT max(id) FROM audit_log WHERE hash IS NOT NULL), 0)")[0]  # fmt: skip
    assert unsealed >= 1
    assert f"sealed {unsealed:,} audit rows" in peta.ok("audit", "seal").output
    newest = peta.rows("SELECT id, actor, action, object_type FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    shown = [r for r in _table_rows(peta.ok("audit", "show", "--limit", "1").output) if r and r[0].isdigit()]
    assert len(shown) == 1
    assert (int(shown[0][0]), shown[0][2], shown[0][4], shown[0][5]) == newest
    assert newest[1].startswith("cli:") and newest[3] == "app_user"
    anchors = peta.ok("audit", "anchor").stdout.strip().splitlines()
    chains = peta.rows("SELECT DISTINCT kota_code FROM audit_log ORDER BY 1")
    assert chains and len(anchors) == len(chains)  # one per chain, the deployment's first
    assert anchors[0].startswith(f"peta-audit-anchor:{newest[0]}:")  # its head: the row just sealed
    verified = peta.ok("audit", "verify", *[arg for a in anchors for arg in ("--anchor", a)])
    assert verified.output.count("ok:") == 1 + len(anchors)


# --- households import (the file's errors) -------------------------------------------------------------------


def test_households_import_names_the_row_and_column_and_writes_nothing(peta, tmp_path):
    fams = [Family(no_kk="1571010101799999", nik="1571010101809999", name="Baru", rt=RTS[0][0], members=3,
                   met=("k01",), desil_resmi=5),
            Family(no_kk="1571010101799998", nik="1571010101809998", name="Salah", rt="15.71.01.1001.009.009",
                   members=3, met=(), desil_resmi=5)]  # fmt: skip
    path = _write_families(tmp_path / "new.csv", fams)
    out = peta("households", "import", str(path))
    assert out.exit_code == 1, out.output
    assert "row 3" in out.output and "kode_rt" in out.output and "nothing imported" in out.output
    assert peta.rows("SELECT count(*) FROM household") == [(len(FAMILIES),)]
    report = list(csv.reader((tmp_path / "new.report.csv").open()))
    assert report[1][:2] == ["3", "kode_rt"]
    missing = peta("households", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code != 0 and "nope.csv" in missing.output


# --- boundaries ---------------------------------------------------------------------------------------------------


def test_boundaries_check_reports_no_overlap_or_gap_on_the_clean_city(peta):
    data = json.loads(peta.ok("boundaries", "check", "--json").stdout)
    levels = {o["level"]: o for o in data["overlaps"]}
    assert set(levels) == {"kota", "kecamatan", "kelurahan", "rw", "rt"}
    assert {lv: (o["areas"], o["pairs"]) for lv, o in levels.items()} == {
        "kota": (len(KOTA), 0), "kecamatan": (len(KECAMATAN), 0), "kelurahan": (len(KELURAHAN), 0),
        "rw": (len(KELURAHAN), 0), "rt": (len(RTS), 0),
    }  # fmt: skip
    table = peta.ok("boundaries", "check", "--level", "kelurahan", "--level", "kecamatan").output
    overlap = {r[0]: r[1:3] for r in _table_rows(table) if len(r) > 1 and r[1].isdigit()}  # the overlap table
    assert overlap == {"kecamatan": [str(len(KECAMATAN)), "0"], "kelurahan": [str(len(KELURAHAN)), "0"]}
    assert "kota" not in {r[0] for r in _table_rows(table) if r}


def test_boundaries_check_reports_an_overlap_with_its_area(peta, tmp_path):
    # a fifth kelurahan over the east half of 15.71.01.1001: the overlap is that half, named by both codes
    code, _, geom = KELURAHAN[0]
    w, s, e, n = geom.bounds
    extra = ("15.71.01.1003", "Kel Tumpang", box((w + e) / 2, s, e, n))
    try:
        peta.ok("boundaries", "import", str(write_layer(tmp_path / "x.geojson", [extra])), "--level", "kelurahan")
        data = json.loads(peta.ok("boundaries", "check", "--json", "--level", "kelurahan").stdout)
        kel = next(o for o in data["overlaps"] if o["level"] == "kelurahan")
        (expected_m2,) = peta.rows("SELECT ST_Area(ST_GeogFromText(%s))", extra[2].wkt)[0]
        assert (kel["pairs"], kel["sibling_pairs"]) == (1, 1)
        assert kel["total_m2"] == pytest.approx(expected_m2, rel=1e-3)
        table = peta.ok("boundaries", "check", "--level", "kelurahan").output
        assert f"kelurahan: {code} × 15.71.01.1003: {expected_m2:,.0f} m²" in table
    finally:
        with psycopg.connect(peta.url, autocommit=True) as c:
            c.execute("DELETE FROM area_version WHERE code = '15.71.01.1003'")
            c.execute("DELETE FROM area WHERE code = '15.71.01.1003'")


def test_boundaries_derive_parents_follows_a_changed_child(peta, tmp_path):
    kept = peta.ok("boundaries", "derive-parents", "--level", "rw")  # none missing: nothing to do
    assert "rw: 0 new, 0 updated, 0 unchanged" in kept.output
    same = peta.ok("boundaries", "derive-parents", "--level", "rw", "--replace")
    assert f"rw: 0 new, 0 updated, {len(KELURAHAN)} unchanged" in same.output
    # RT 2 of the first kelurahan loses its eastern tenth: its RW (the union of its two RTs) must shrink with it
    code, name, geom = RTS[1]
    w, s, e, n = geom.bounds
    smaller = box(w, s, e - (e - w) / 10, n)
    rw = code[: -len(".002")]
    try:
        peta.ok(
            "boundaries", "import", str(write_layer(tmp_path / "rt.geojson", [(code, name, smaller)])), "--level", "rt"
        )
        changed = peta.ok("boundaries", "derive-parents", "--level", "rw", "--replace")
        assert f"rw: 0 new, 1 updated, {len(KELURAHAN) - 1} unchanged" in changed.output
        union = RTS[0][2].union(smaller)
        (expected_m2,) = peta.rows("SELECT ST_Area(ST_GeogFromText(%s))", union.wkt)[0]
        assert peta.rows("SELECT round(area_m2::numeric), version FROM area WHERE code = %s", rw) == [
            (round(expected_m2), 2)]  # fmt: skip
    finally:
        peta.ok("boundaries", "import", str(write_layer(tmp_path / "back.geojson", [RTS[1]])), "--level", "rt")
        peta.ok("boundaries", "derive-parents", "--level", "rw", "--replace")
    refused = peta("boundaries", "derive-parents", "--level", "desa")
    assert refused.exit_code != 0 and "desa" in refused.output


def test_boundaries_import_errors_name_the_file(peta, tmp_path):
    missing = peta("boundaries", "import", str(tmp_path / "hilang.geojson"), "--level", "kota")
    assert missing.exit_code != 0 and "hilang.geojson" in missing.output
    no_level = peta("boundaries", "import", str(tmp_path / "hilang.geojson"))
    assert no_level.exit_code == 2 and "--level" in no_level.output


# --- db (against DATABASE_URL) --------------------------------------------------------------------------------------


def test_db_status_up_and_migrate_against_database_url(peta):
    (revision,) = peta.rows("SELECT version_num FROM alembic_version")[0]
    (postgis,) = peta.rows("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")[0]
    assert revision == HEAD_REVISION
    status = json.loads(peta.ok("db", "status", "--json").output)
    assert (status["database_url_set"], status["reachable"], status["revision"], status["postgis"]) == (
        True, True, revision, postgis)  # fmt: skip
    text = peta.ok("db", "status").output
    assert "database: DATABASE_URL" in text and f"reachable: True · migration {revision} · PostGIS {postgis}" in text
    host_db = peta.url.rsplit("@", 1)[-1]
    assert f"database ready (DATABASE_URL) at {host_db}" in peta.ok("db", "up").output.replace("\n", "")
    assert "migrated to head" in peta.ok("db", "migrate").output
    assert peta.rows("SELECT version_num FROM alembic_version") == [(revision,)]
    assert peta.rows("SELECT count(*) FROM household") == [(len(FAMILIES),)]  # migrating kept the data


def test_db_status_reports_an_unreachable_database(peta):
    gone = peta.url.rsplit("/", 1)[0] + "/peta_no_such_database"
    out = peta("db", "status", "--json", env={"DATABASE_URL": gone})
    assert out.exit_code == 0
    status = json.loads(out.output)
    assert status["reachable"] is False and "peta_no_such_database" in status["error"]


# --- demo and serve -------------------------------------------------------------------------------------------


def test_demo_export_writes_the_generated_families(peta, tmp_path):
    out = tmp_path / "demo.csv"
    result = peta.ok("demo", "--scale", "0.01", "--seed", "5", "--export-csv", str(out))
    rows = list(csv.DictReader(out.open()))
    assert f"wrote {len(rows):,} families to {out}" in result.output.replace("\n", "")
    assert len(rows) > 50 and list(rows[0])[:5] == ["no_kk", "nik_kepala", "nama_kepala", "alamat", "kode_rt"]
    assert all(re.fullmatch(r"\d{16}", r["no_kk"]) for r in rows) and len({r["no_kk"] for r in rows}) == len(rows)
    assert all(r["kode_rt"].startswith("15.71.") for r in rows)
    again = tmp_path / "again.csv"
    peta.ok("demo", "--scale", "0.01", "--seed", "5", "--export-csv", str(again))
    assert again.read_bytes() == out.read_bytes()  # the same seed, the same city
    assert peta.rows("SELECT count(*) FROM household") == [(len(FAMILIES),)]  # loads nothing


def test_demo_rejects_a_scale_out_of_range(peta):
    bad = peta("demo", "--scale", "50")
    assert bad.exit_code == 2 and "--scale" in bad.output
    assert peta.rows("SELECT count(*) FROM household") == [(len(FAMILIES),)]


def test_serve_starts_uvicorn_with_the_portal_factory(peta, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    out = peta.ok("serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "2")
    assert "serving on http://0.0.0.0:8123/" in out.output
    ((args, kw),) = calls
    assert args == ("portal.app:create_app",)
    assert (kw["factory"], kw["host"], kw["port"], kw["workers"]) == (True, "0.0.0.0", 8123, 2)
    assert peta("serve", "--port", "70000").exit_code == 2


def test_serve_without_a_database_says_what_to_do(peta, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: pytest.fail("served without a database"))
    out = peta("serve", env={"DATABASE_URL": None, "PETA_HOME": str(tmp_path / "nothing")})
    assert out.exit_code == 1 and "set DATABASE_URL or run `peta db up`" in out.output
