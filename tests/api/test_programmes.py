"""Programme rosters in (issue 18): two kab/kota (Kota Jambi and Kota Medan) in one database, a national programme
(PKH, everywhere) and a local one (Kartu Bahagia, Jambi only, its own rule), and programme offices each holding a
key bound to one programme and one kab/kota. A roster is matched by keyed hash inside the key's area and the
programme's kab/kota; anything else reads exactly as an unknown number; each upload is a kept, audited version.

Expected figures come from the demo cities' own identity numbers and the tables, never from the product's SQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import openpyxl
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.privacy import keyed_hash
from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.boundaries.test_demo_cities import MEDAN, write_kota
from tests.conftest import _throwaway
from tests.people import PASSWORD, add_users, scope

SECRET = "programme-exchange-test-key-0123456789abcdef"
KEY = SECRET.encode()
KARTU = {"code": "KARTU-BAHAGIA", "name": "Kartu Bahagia", "owner": "Dinas Sosial Kota Jambi",
         "eligibility": {"desil": "local", "desil_max": 3, "verified_within_months": 12}}  # fmt: skip
UNKNOWN_KK = "1571019999990001"


def _families(city: Any, url: str, kota: str, n: int) -> list[dict[str, Any]]:
    """The first `n` active families of a demo city that the database holds, with their clear numbers (known only
    to the city's generator, like a programme office's roster)."""
    hh = city.households
    with psycopg.connect(url) as conn:
        query = "SELECT kk_hash, id, kota_code FROM household WHERE active AND kota_code = %s"
        active = {h: (i, k) for h, i, k in conn.execute(query, (kota,)).fetchall()}
    out = []
    for kk, nik, kk_hash in zip(hh.kk, hh.nik, hh.kk_hash, strict=True):
        if kk_hash in active and len(out) < n:
            out.append({"kk": kk, "nik": nik, "kk_hash": kk_hash, "id": active[kk_hash][0]})
    assert len(out) == n
    return out


def _key(url: str, name: str, programme: str, kota: str, *extra: str) -> str:
    get_settings.cache_clear()
    out = CliRunner().invoke(cli, ["programmes", "key", name, "--programme", programme, "--scope-level", "kota",
                                   "--scope", kota, *extra], env={"DATABASE_URL": url})  # fmt: skip
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def world(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    medan_file = write_kota(tmp_path_factory.mktemp("medan"), MEDAN)
    with contextmanager(_throwaway)(server_url, "prog") as url:
        jambi = generate_city(DemoConfig(scale=0.02, seed=3, secret_key=KEY))
        medan = generate_city(DemoConfig(boundaries=medan_file, scale=0.02, seed=3, secret_key=KEY))
        with psycopg.connect(url) as conn:
            load_city(conn, jambi)
            load_city(conn, medan, keep_others=True)
            # Kartu Bahagia is Kota Jambi's own programme; Medan lists none
            conn.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'", (Jsonb({
                "15.71": {"programs": {"local": [KARTU, {"code": "KARTU-SEHAT", "name": "Kartu Sehat"}]}},
                "12.71": {"programs": {"local": []}}}),))  # fmt: skip
            conn.commit()
        add_users(url, {"admin": ("admin", scope("kota", "15.71")), "koor": ("coordinator", scope("kota", "15.71")),
                        "plan": ("planner", scope("kota", "15.71"))})  # fmt: skip
        keys = {"pkh.jambi": _key(url, "Dinsos Jambi PKH", "PKH", "15.71"),
                "pkh.medan": _key(url, "Dinsos Medan PKH", "PKH", "12.71"),
                "kartu.jambi": _key(url, "Dinsos Jambi Kartu Bahagia", "KARTU-BAHAGIA", "15.71"),
                "pkh.names": _key(url, "Dinsos Jambi PKH (names)", "PKH", "15.71", "--names-agreement")}  # fmt: skip
        get_settings.cache_clear()
        with TestClient(create_app(Settings(PETA_SECRET_KEY=SECRET, PETA_AUDIT_SEAL_SECONDS="0"), url=url)) as client:
            auth = {u: {"Authorization": "Bearer " + client.post(
                "/api/v1/auth/token", data={"username": u, "password": PASSWORD}).json()["access_token"]}
                for u in ("admin", "koor", "plan")}  # fmt: skip
            auth |= {k: {"X-API-Key": v} for k, v in keys.items()}
            yield {"url": url, "client": client, "auth": auth, "jambi": _families(jambi, url, "15.71", 6),
                   "medan": _families(medan, url, "12.71", 2)}  # fmt: skip


def _csv(header: str, values: list[str]) -> bytes:
    return (header + "\n" + "".join(v + "\n" for v in values)).encode()


def _send(world: dict[str, Any], who: str, code: str, body: bytes, period: str | None = "2026-12",
          name: str = "roster.csv", **form: str) -> Any:  # fmt: skip
    data = {**({"period": period} if period is not None else {}), **form}
    return world["client"].post(f"/api/v1/programmes/{code}/rosters", files={"file": (name, body, "text/csv")},
                                data=data, headers=world["auth"][who])  # fmt: skip


def _rows(url: str, query: str, *params: Any) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_a_roster_is_matched_inside_the_keys_kab_kota_and_kept_as_a_version(world):
    j, m, url = world["jambi"], world["medan"], world["url"]
    body = _csv("no_kk", [j[0]["kk"], j[1]["kk"], m[0]["kk"], UNKNOWN_KK])
    refused = _send(world, "pkh.jambi", "PKH", body)
    assert refused.status_code == 400
    assert refused.json()["problems"] == ["row 4: no family with this KK number",
                                          "row 5: no family with this KK number"]  # fmt: skip
    # a Medan family (row 4) reads exactly as a number the registry does not know (row 5): no oracle
    assert "nothing kept: 2 of 4 rows are wrong" in refused.json()["detail"]
    assert _rows(url, "SELECT count(*) FROM programme_roster")[0][0] == 0
    kept = _send(world, "pkh.jambi", "PKH", body, partial="true")
    assert kept.status_code == 201, kept.text
    out = kept.json()
    assert (out["rows"], out["matched"], out["unmatched"], out["version"], out["period"]) == (4, 2, 2, 1, "2026-12")
    recipients = _rows(url, "SELECT household_id, kota_code, row FROM programme_recipient WHERE roster_id = %s"
                            " ORDER BY row", out["roster_id"])  # fmt: skip
    assert recipients == [(j[0]["id"], "15.71", 2), (j[1]["id"], "15.71", 3)]
    again = _send(world, "pkh.jambi", "PKH", _csv("no_kk", [j[2]["kk"]]))
    assert again.status_code == 201 and again.json()["version"] == 2 and again.json()["matched"] == 1
    # who sent what, when: the versions are kept, each insert audited in the families' own kab/kota chain
    (who, key_id, digest), = _rows(url, "SELECT uploaded_by, key_id, file_sha256 FROM programme_roster WHERE id = %s",
                                   out["roster_id"])  # fmt: skip
    assert who == f"key:{key_id}" and len(digest) == 64
    audited = _rows(url, "SELECT kota_code, actor, cardinality(object_ids) FROM audit_log"
                         " WHERE object_type = 'programme_recipient' AND action = 'insert' ORDER BY id")  # fmt: skip
    assert audited == [("15.71", who, 2), ("15.71", who, 1)]
    versions = world["client"].get("/api/v1/programmes/PKH/rosters", headers=world["auth"]["pkh.jambi"]).json()
    assert [(v["version"], v["matched"]) for v in versions][:2] == [(2, 1), (1, 2)]


def test_keyed_hashes_and_nik_match_the_same_families(world):
    j = world["jambi"]
    by_hash = _send(world, "pkh.jambi", "PKH", _csv("kk_hash", [keyed_hash(KEY, j[3]["kk"]).upper()]))
    by_nik = _send(world, "pkh.jambi", "PKH", _csv("nik_kepala", [j[4]["nik"]]))
    by_nik_hash = _send(world, "pkh.jambi", "PKH", _csv("nik_hash", [keyed_hash(KEY, j[5]["nik"])]))
    for r, fam in ((by_hash, j[3]), (by_nik, j[4]), (by_nik_hash, j[5])):
        assert r.status_code == 201, r.text
        rid = r.json()["roster_id"]
        assert _rows(world["url"], "SELECT household_id FROM programme_recipient WHERE roster_id = %s", rid) == [
            (fam["id"],)]


def test_an_xlsx_roster_with_a_title_row_is_read(world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Daftar penerima PKH Desember 2026"])
    sheet.append(["No", "Nomor KK", "Nama"])
    sheet.append([1, world["jambi"][0]["kk"], "Nama satu"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = _send(world, "pkh.jambi", "PKH", buffer.getvalue(), name="pkh.xlsx")
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["matched"]) == (1, 1)


def test_a_local_programme_matches_only_where_it_runs(world):
    j, m = world["jambi"], world["medan"]
    # the administrator is unbounded, but Kartu Bahagia runs in Kota Jambi only: a Medan family reads as unknown
    r = _send(world, "admin", "KARTU-BAHAGIA", _csv("no_kk", [j[0]["kk"], m[1]["kk"], UNKNOWN_KK]))
    assert r.status_code == 400
    assert r.json()["problems"] == ["row 3: no family with this KK number", "row 4: no family with this KK number"]
    # PKH runs everywhere: the same file is matched in full by the administrator
    both = _send(world, "admin", "PKH", _csv("no_kk", [j[0]["kk"], m[1]["kk"]]))
    assert both.status_code == 201 and both.json()["matched"] == 2


def test_a_key_serves_its_own_programme_only(world):
    client, auth, j = world["client"], world["auth"], world["jambi"]
    other = _send(world, "pkh.jambi", "KARTU-BAHAGIA", _csv("no_kk", [j[0]["kk"]]))
    assert other.status_code == 403
    assert other.json()["detail"] == "this key serves programme PKH only, not KARTU-BAHAGIA"
    assert client.get("/api/v1/programmes/KARTU-BAHAGIA/rosters", headers=auth["pkh.jambi"]).status_code == 403
    listed = client.get("/api/v1/programmes", headers=auth["kartu.jambi"])
    assert [p["code"] for p in listed.json()] == ["KARTU-BAHAGIA"]
    assert listed.json()[0]["eligibility"]["desil"] == "local" and listed.json()[0]["kab_kota"] == ["15.71"]
    everything = client.get("/api/v1/programmes", headers=auth["plan"]).json()
    assert [p["code"] for p in everything] == ["BPJS-TK", "BPNT", "KARTU-BAHAGIA", "KARTU-SEHAT", "PBI-JK", "PKH"]
    # nothing else: no family record, no campaign, not even the agency's own routes
    for path in ("/api/v1/households/1", "/api/v1/campaigns", "/ogc/collections/households/items",
                 "/api/v1/auth/me"):  # fmt: skip
        assert client.get(path, headers=auth["pkh.jambi"]).status_code == 403, path
    assert client.post("/api/v1/programmes/PKH/rosters", headers=auth["koor"]).status_code == 403


def test_an_office_does_not_see_another_kab_kotas_rosters(world):
    client, auth, j = world["client"], world["auth"], world["jambi"]
    rid = _send(world, "pkh.jambi", "PKH", _csv("no_kk", [j[1]["kk"]]), period="2026-11").json()["roster_id"]
    medan = client.get(f"/api/v1/programmes/PKH/rosters/{rid}", headers=auth["pkh.medan"])
    absent = client.get("/api/v1/programmes/PKH/rosters/999999", headers=auth["pkh.medan"])
    assert medan.status_code == absent.status_code == 404
    assert medan.json()["detail"] == f"no roster {rid} of programme PKH"
    listed = client.get("/api/v1/programmes/PKH/rosters", params={"period": "2026-11"}, headers=auth["pkh.medan"])
    assert listed.status_code == 200 and listed.json() == []
    own = client.get(f"/api/v1/programmes/PKH/rosters/{rid}", headers=auth["pkh.jambi"])
    assert own.status_code == 200 and own.json()["scope_codes"] == ["15.71"] and own.json()["period"] == "2026-11"
    koor = client.get("/api/v1/programmes/PKH/rosters", params={"period": "2026-11"}, headers=auth["koor"])
    assert [v["id"] for v in koor.json()] == [rid]


@pytest.mark.parametrize(("body", "period", "form", "status", "detail"), [
    (b"no_kk\n1571010000000001\n", None, {}, 400, "period: the roster's period is required (programme PKH runs by"
     " month, e.g. 2026-12)"),
    (b"no_kk\n1571010000000001\n", "2026-13", {}, 400, "period: programme PKH runs by month, e.g. 2026-12;"
     " got '2026-13'"),
    (b"no_kk\n1571010000000001\n", "2026-Q4", {}, 400, "period: programme PKH runs by month"),
    (b"nama\nSiti\n", "2026-12", {}, 400, "roster.csv: no column no_kk, nik, kk_hash or nik_hash (found: nama)"),
    (b"no_kk\n", "2026-12", {}, 400, "roster.csv: no rows under the header"),
    (b"no_kk,kk_hash,nama\n12345,,A\n,abc,B\n,,C\n", "2026-12", {}, 400,
     "roster refused, nothing kept: 3 of 3 rows are wrong"),
])  # fmt: skip
def test_a_wrong_upload_is_a_400_naming_its_reason(world, body, period, form, status, detail):
    r = _send(world, "pkh.jambi", "PKH", body, period=period, **form)
    assert r.status_code == status, r.text
    assert r.json()["detail"].startswith(detail)


def test_unreadable_rows_are_reported_by_number_and_reason_never_value(world):
    r = _send(world, "pkh.jambi", "PKH", b"no_kk,kk_hash,nama\n12345,,A\n,abc,B\n,,C\n1.5E+15,,D\n")
    assert r.json()["problems"] == [
        "row 2: no_kk must be 16 digits (got 5)", "row 3: kk_hash is not a keyed hash (64 hexadecimal characters)",
        "row 4: no KK, NIK or keyed hash",
        "row 5: no_kk written in scientific notation, digits are lost: format the column as text"]  # fmt: skip
    assert "12345" not in r.text


def test_requests_without_a_file_or_for_no_programme_are_refused(world):
    client, auth = world["client"], world["auth"]
    nofile = client.post("/api/v1/programmes/PKH/rosters", data={"period": "2026-12"}, headers=auth["admin"])
    assert nofile.status_code == 400
    assert nofile.json()["detail"] == "file: a CSV or XLSX file is required (multipart form field 'file')"
    unknown = _send(world, "admin", "BEASISWA", b"no_kk\n1571010000000001\n")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == ("no programme BEASISWA; configured: BPJS-TK, BPNT, KARTU-BAHAGIA, KARTU-SEHAT,"
                                        " PBI-JK, PKH")  # fmt: skip
    assert client.get("/api/v1/programmes/pkh/rosters", headers=auth["admin"]).status_code == 400
    assert client.get("/api/v1/programmes/PKH/rosters", params={"period": "12-2026"},
                      headers=auth["admin"]).status_code == 400  # fmt: skip
    assert client.get("/api/v1/programmes/PKH/rosters", params={"limit": 0}, headers=auth["admin"]).status_code == 400
    assert client.get("/api/v1/programmes/PKH/rosters/0", headers=auth["admin"]).status_code == 400
    assert client.get("/api/v1/programmes").status_code == 401


# --- eligibility out -------------------------------------------------------------------------------------------------

PAST, OPEN = "2026-11", "2026-12"  # cut-offs 17 November 2026 (passed) and 17 December 2026 (today: 2 December)
AROUND = pytest.mark.skipif(not date(2026, 11, 17) <= date.today() < date(2026, 12, 17),
                            reason="the periods' cut-offs are chosen around 2 December 2026")  # fmt: skip


def _pkh_expected(url: str, kota: str) -> set[str]:
    """PKH's rule written out from the tables: active families of the kab/kota with official desil 1-4."""
    return {h for (h,) in _rows(url, "SELECT kk_hash FROM household WHERE active AND kota_code = %s"
                                     " AND desil_resmi BETWEEN 1 AND 4", kota)}  # fmt: skip


def _kartu_expected(url: str, cutoff: str) -> set[str]:
    """Kartu Bahagia's rule written out: Jambi's active families of local desil 1-3 verified (hasil 1) in the 12
    months up to the cut-off."""
    return {h for (h,) in _rows(url, """SELECT h.kk_hash FROM household h JOIN household_rank r ON r.household_id = h.id
        WHERE h.active AND h.kota_code = '15.71' AND r.local_desil <= 3 AND h.hasil_verval = 1
          AND h.tgl_verval > %s::date - interval '12 months' AND h.tgl_verval <= %s::date""", cutoff, cutoff)}


def _pull(world: dict[str, Any], who: str, code: str, period: str, **params: Any) -> Any:
    return world["client"].get(f"/api/v1/programmes/{code}/eligible", params={"period": period, **params},
                               headers=world["auth"][who])  # fmt: skip


@AROUND
def test_two_programmes_two_rules_two_offices(world):
    url = world["url"]
    pkh = _pull(world, "pkh.jambi", "PKH", PAST)
    assert pkh.status_code == 200, pkh.text
    out = pkh.json()
    expected = _pkh_expected(url, "15.71")
    assert expected and {i["kk_hash"] for i in out["items"]} == expected and out["total"] == len(expected)
    assert (out["fixed"], out["cutoff"], out["kab_kota"]) == (True, "2026-11-17", ["15.71"])
    assert out["fields"] == ["pseudonym", "kota_code", "kk_hash", "nik_hash", "desil_resmi", "local_desil",
                             "tgl_verval"]  # fmt: skip
    medan = _pull(world, "pkh.medan", "PKH", PAST).json()
    assert {i["kk_hash"] for i in medan["items"]} == _pkh_expected(url, "12.71") != set()
    assert {i["kota_code"] for i in medan["items"]} == {"12.71"} and medan["kab_kota"] == ["12.71"]
    # fixed per kab/kota at the first pull after the cut-off, with the number of families each list holds
    assert _rows(url, "SELECT kota_code, families, cutoff::text FROM programme_list WHERE programme = 'PKH'"
                      " AND period = %s ORDER BY kota_code", PAST) == [
        ("12.71", len(medan["items"]), "2026-11-17"), ("15.71", len(expected), "2026-11-17")]  # fmt: skip
    kartu = _pull(world, "kartu.jambi", "KARTU-BAHAGIA", PAST).json()
    kartu_expected = _kartu_expected(url, "2026-11-17")
    assert kartu_expected and {i["kk_hash"] for i in kartu["items"]} == kartu_expected
    # one family on both lists: the same keyed hash, a pseudonym of each programme that does not link them
    both = kartu_expected & expected
    assert both
    one = next(iter(both))
    pseud = {code: next(i["pseudonym"] for i in items if i["kk_hash"] == one)
             for code, items in (("PKH", out["items"]), ("KARTU", kartu["items"]))}  # fmt: skip
    assert pseud["PKH"] != pseud["KARTU"] and len(pseud["PKH"]) == 24
    # each office reads its own programme only
    assert _pull(world, "kartu.jambi", "PKH", PAST).status_code == 403
    assert _pull(world, "pkh.jambi", "KARTU-BAHAGIA", PAST).status_code == 403
    assert _pull(world, "koor", "PKH", PAST).status_code == 403


@AROUND
def test_a_list_is_fixed_at_its_cut_off_and_provisional_before(world):
    url = world["url"]
    fixed = {i["kk_hash"] for i in _pull(world, "pkh.jambi", "PKH", PAST).json()["items"]}
    (hid, kk_hash), = _rows(url, "SELECT id, kk_hash FROM household WHERE active AND kota_code = '15.71'"
                                 " AND desil_resmi = 9 ORDER BY id LIMIT 1")  # fmt: skip
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE household SET desil_resmi = 1 WHERE id = %s", (hid,))
    try:
        after = _pull(world, "pkh.jambi", "PKH", PAST).json()
        assert after["fixed"] and {i["kk_hash"] for i in after["items"]} == fixed and kk_hash not in fixed
        live = _pull(world, "pkh.jambi", "PKH", OPEN).json()
        assert live["fixed"] is False and live["cutoff"] == "2026-12-17"
        assert kk_hash in {i["kk_hash"] for i in live["items"]}
        assert _rows(url, "SELECT count(*) FROM programme_list WHERE period = %s", OPEN)[0][0] == 0
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE household SET desil_resmi = 9 WHERE id = %s", (hid,))


def test_every_family_read_is_audited_and_names_need_an_agreement(world):
    url = world["url"]
    (key_id,), = _rows(url, "SELECT id FROM api_key WHERE name = 'Dinsos Jambi PKH (names)'")
    named = _pull(world, "pkh.names", "PKH", PAST, limit=5)
    assert named.status_code == 200
    items = named.json()["items"]
    assert len(items) == 5 and named.json()["fields"][-3:] == ["nama_kepala", "alamat", "rt_code"]
    assert all(i["nama_kepala"] and i["rt_code"].startswith("15.71.") for i in items)
    audited = _rows(url, "SELECT kota_code, cardinality(object_ids) FROM audit_log WHERE actor = %s AND action = 'read'"
                         " AND object_type = 'household'", f"key:{key_id}")  # fmt: skip
    assert audited == [("15.71", 5)]
    plain = _pull(world, "pkh.jambi", "PKH", PAST, limit=5).json()
    assert "nama_kepala" not in plain["items"][0] and "alamat" not in plain["items"][0]
    # the same families in the same order, the pseudonym the same for every office of the programme
    assert [i["pseudonym"] for i in plain["items"]] == [i["pseudonym"] for i in items]


def test_the_list_as_csv_and_xlsx(world):
    total = _pull(world, "pkh.jambi", "PKH", PAST).json()["total"]
    csv_out = _pull(world, "pkh.jambi", "PKH", PAST, f="csv")
    assert csv_out.status_code == 200 and csv_out.headers["content-type"].startswith("text/csv")
    lines = csv_out.text.strip().splitlines()
    assert lines[0] == "pseudonym,kota_code,kk_hash,nik_hash,desil_resmi,local_desil,tgl_verval"
    assert len(lines) == total + 1 and csv_out.headers["x-list-fixed"] == "true"
    xlsx = _pull(world, "pkh.jambi", "PKH", PAST, f="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == total + 1 and sheet.cell(1, 1).value == "pseudonym"


def test_wrong_pulls_are_refused_with_a_reason(world):
    for params, detail in (({}, "period"), ({"period": "2026-13"}, "period"), ({"period": PAST, "f": "pdf"}, "f"),
                           ({"period": PAST, "limit": 0}, "limit"), ({"period": "2026"}, None)):  # fmt: skip
        r = world["client"].get("/api/v1/programmes/PKH/eligible", params=params, headers=world["auth"]["pkh.jambi"])
        assert r.status_code == 400, (params, r.text)
        if detail:
            assert detail in r.json()["detail"]
        else:
            assert r.json()["detail"] == "period: programme PKH runs by month, e.g. 2026-12; got '2026'"
    norule = _pull(world, "admin", "KARTU-SEHAT", PAST)
    assert norule.status_code == 400
    assert norule.json()["detail"] == ("programme KARTU-SEHAT has no eligibility rule in the configuration"
                                       " (eligibility: ...)")


def test_repeated_ambiguous_and_inactive_rows(world):
    url, j, m = world["url"], world["jambi"], world["medan"]
    repeated = _send(world, "pkh.jambi", "PKH", _csv("no_kk", [j[0]["kk"], j[1]["kk"], j[0]["kk"]]))
    assert repeated.status_code == 400 and repeated.json()["problems"] == ["row 4: the same family as row 2"]
    (hasil, tgl), = _rows(url, "SELECT hasil_verval, tgl_verval FROM household WHERE id = %s", j[2]["id"])
    with psycopg.connect(url) as conn:  # a KK number the registry holds in two kab/kota (a registry error)
        conn.execute("UPDATE household SET kk_hash = %s WHERE id = %s", (j[1]["kk_hash"], m[0]["id"]))
        # found moved at verification (result 3): no longer an active family
        conn.execute("UPDATE household SET hasil_verval = 3, tgl_verval = '2026-10-01' WHERE id = %s", (j[2]["id"],))
    try:
        both = _send(world, "admin", "PKH", _csv("no_kk", [j[1]["kk"]]))
        assert both.status_code == 400 and both.json()["problems"] == [
            "row 2: this KK number names 2 families (kab/kota 12.71, 15.71); send one roster per kab/kota"]
        own = _send(world, "pkh.jambi", "PKH", _csv("no_kk", [j[1]["kk"], j[2]["kk"]]))  # Jambi's office: one
        assert own.status_code == 201 and own.json()["matched"] == 2
        assert own.json()["notes"] == [
            "row 3: the family is no longer active in the registry (a possible inclusion error)"]
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE household SET kk_hash = %s WHERE id = %s", (m[0]["kk_hash"], m[0]["id"]))
            conn.execute("UPDATE household SET hasil_verval = %s, tgl_verval = %s WHERE id = %s",
                         (hasil, tgl, j[2]["id"]))  # fmt: skip
