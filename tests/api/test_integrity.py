"""What the product writes cannot be turned against its readers: names are text in the berita acara (PDF,
HTML, CSV), and no CSV cell starts a spreadsheet formula, while numbers stay numbers."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from core import csvsafe
from portal.app import create_app
from tests.hostile import CAMPAIGN_NAMES, FAMILIES, KEL, KEL_NAME, hostile_city

RESULTS = [(1, "terverifikasi"), (2, "tidak ditemukan"), (6, "meninggal")]


@pytest.fixture(scope="module")
def world(committed_url, tmp_path_factory):
    from tests.conftest import truncate_all

    yield hostile_city(committed_url, tmp_path_factory.mktemp("hostile"))
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world["url"])) as c:
        yield c


@pytest.fixture(scope="module")
def admin(client, world):
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": world["password"]})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def campaigns(client, world, admin):
    """A campaign per hostile name, each with a visit to every family (results 1, 2 and 6)."""
    ids, today = [], date.today()
    for name in CAMPAIGN_NAMES:
        body = {"name": name, "target_kind": "desil", "desil_min": 1, "desil_max": 10,
                "starts_on": str(today - timedelta(days=10)), "ends_on": str(today + timedelta(days=10))}  # fmt: skip
        r = client.post("/api/v1/campaigns", json=body, headers=admin)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    at = datetime.now(UTC) - timedelta(days=1)
    with psycopg.connect(world["url"]) as conn:
        for cid in ids:
            for family, (code, _) in zip(world["families"], RESULTS, strict=True):
                conn.execute(
                    "INSERT INTO verification (client_id, campaign_id, household_id, verifier_id, result_code,"
                    " jumlah_anggota, visited_at, kota_code) SELECT gen_random_uuid(), %s, %s, id, %s, 4, %s,"
                    " (SELECT kota_code FROM household WHERE id = %s) FROM app_user WHERE username = 'rt.satu'",
                    (cid, family, code, at, family),
                )
    return dict(zip(CAMPAIGN_NAMES, ids, strict=True))


def _flat(text: str) -> str:
    """Text without its whitespace: the PDF wraps long names inside their table cells."""
    return "".join(text.split())


@pytest.mark.parametrize("name", CAMPAIGN_NAMES)
def test_the_berita_acara_pdf_prints_names_as_text(client, admin, campaigns, name):
    r = client.get(f"/api/v1/campaigns/{campaigns[name]}/berita-acara/{KEL}", params={"f": "pdf"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    flat = _flat(text)
    assert name in text.splitlines()[1]  # the campaign line under the title, literally
    assert _flat(f"Berita Acara Musyawarah Kelurahan {KEL_NAME} ({KEL})") in flat
    assert "3 keluarga dikunjungi" in text
    for family, address in FAMILIES:
        assert _flat(family) in flat and _flat(address) in flat
    for _, result in RESULTS:
        assert _flat(result) in flat
    # nothing was read from the server's disk or linked: no image, no annotation, no URI
    assert b"/Subtype /Image" not in r.content and b"/Annots" not in r.content and b"/URI" not in r.content


@pytest.mark.parametrize("name", CAMPAIGN_NAMES)
def test_the_berita_acara_page_escapes_names(client, admin, campaigns, name):
    r = client.get(f"/api/v1/campaigns/{campaigns[name]}/berita-acara/{KEL}", params={"f": "html"}, headers=admin)
    assert r.status_code == 200 and html.escape(name) in r.text and name not in r.text
    assert html.escape(KEL_NAME) in r.text and "<i>" not in r.text
    for family, _ in FAMILIES:
        assert html.escape(family) in r.text


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


def test_the_berita_acara_csv_neutralises_formulas(client, admin, campaigns):
    r = client.get(f"/api/v1/campaigns/{campaigns[CAMPAIGN_NAMES[0]]}/berita-acara/{KEL}", headers=admin)
    rows = _rows(r.text)
    head = rows[0]
    names = sorted(row[head.index("nama_kepala")] for row in rows[1:])
    assert names == sorted(csvsafe.cell(f) for f, _ in FAMILIES)
    assert '\'=HYPERLINK("http://evil.example","klik")' in names and "'@SUM(A1:A9)" in names
    assert sorted(row[head.index("alamat")] for row in rows[1:]) == sorted(["'+62 Jl. Sudirman", "'-Gg. Mawar 3",
                                                                           "Jl. Kenanga &amp; <br/>"])  # fmt: skip
    assert sorted(row[head.index("jumlah_anggota")] for row in rows[1:]) == ["4", "4", "4"]


def _formula(cell: str) -> bool:
    return cell.startswith(csvsafe.FORMULA_START)


def test_ogc_items_csv_neutralises_formulas(client, admin):
    areas = _rows(client.get("/ogc/collections/kelurahan/items", params={"f": "csv"}).text)
    name = areas[0].index("name")
    assert [r[name] for r in areas[1:] if r[0] == KEL] == ["'" + KEL_NAME]
    families = _rows(client.get("/ogc/collections/households/items", params={"f": "csv"}, headers=admin).text)
    col = families[0].index("nama_kepala")
    assert sorted(r[col] for r in families[1:]) == sorted("'" + f if f[0] in "=@" else f for f, _ in FAMILIES)
    assert not any(_formula(c) for r in areas + families for c in r)


@pytest.mark.parametrize("layer", ["kelurahan", "households"])
def test_exports_csv_neutralises_formulas(client, admin, layer):
    r = client.get(f"/api/v1/exports/{layer}.csv", headers=admin if layer == "households" else {})
    assert r.status_code == 200
    rows = _rows(r.text)
    assert len(rows) == (1 + 4 if layer == "kelurahan" else 1 + 3)
    assert not any(_formula(c) for row in rows for c in row)
    column = "name" if layer == "kelurahan" else "nama_kepala"
    cells = [row[rows[0].index(column)] for row in rows[1:]]
    assert ("'" + KEL_NAME in cells) if layer == "kelurahan" else ("'@SUM(A1:A9)" in cells)


def test_stats_csv_neutralises_text_and_keeps_negative_numbers(client, admin):
    figures = client.get("/api/v1/stats/kelurahan", headers=admin).json()["areas"]
    ours = next(a for a in figures if a["code"] == KEL)
    assert ours["under_coverage_people"] < 0  # more registered poor than expected in a kelurahan of 10 people
    rows = _rows(client.get("/api/v1/stats/kelurahan", params={"f": "csv"}, headers=admin).text)
    row = next(r for r in rows[1:] if r[0] == KEL)
    assert row[rows[0].index("name")] == "'" + KEL_NAME
    assert row[rows[0].index("under_coverage_people")] == str(ours["under_coverage_people"])  # still a number
    public = _rows(client.get("/api/v1/stats/kelurahan", params={"f": "csv"}).text)
    assert not any(_formula(c) for r in public for c in r)


@pytest.mark.parametrize(
    "value,cell",
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("a=1", "a=1"), ("", ""), (-12, -12), (-1.5, -1.5), (None, None), (True, True)],
)  # fmt: skip
def test_the_cell_rule(value, cell):
    assert csvsafe.cell(value) == cell


def test_the_writers_share_the_rule():
    out = io.StringIO()
    csvsafe.writer(out).writerow(["=a", -3, "b"])
    csvsafe.dict_writer(out, ["x", "y"]).writerow({"x": "@b", "y": -4})
    assert out.getvalue().splitlines() == ["'=a,-3,b", "'@b,-4"]


def test_the_import_report_neutralises_formulas(database_url, tmp_path):
    from registry.importer import _write_report

    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE hh_issue (row int, col text, reason text, severity text)")
        conn.execute("INSERT INTO hh_issue VALUES (2, '=cmd|'' /C calc''!A0', '-2 members', 'error')")
        _write_report(conn, tmp_path / "report.csv")
    rows = _rows((tmp_path / "report.csv").read_text())
    assert rows == [["row", "column", "reason", "severity"], ["2", "'=cmd|' /C calc'!A0", "'-2 members", "error"]]
