"""API error details in the client's language (Accept-Language: Bahasa Indonesia or English), with a stable
`error_code` whatever the language: the catalogue walked entry by entry, the language negotiation, each handler on
a throwaway app, and the seeded city's real 404, 409 and 400 answered in both languages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from api import errors, messages
from core.errors import Conflict, InputError, NotFound

ID = {"Accept-Language": "id-ID,id;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


# --- the catalogue -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", messages.CATALOGUE + tuple(messages.GENERIC.values()), ids=lambda m: m.example[:40])
def test_every_message_has_both_languages_and_recognises_its_example(m):
    assert set(m.text) == set(messages.LANGS)
    for lang in messages.LANGS:
        assert m.text[lang].strip(), (m.code, lang)
    found = re.fullmatch(m.pattern, m.example, re.DOTALL)
    assert found, (m.pattern, m.example)
    groups = found.groupdict()
    assert m.render("en", groups) == m.example  # the English template is the message as raised
    worded = m.render("id", groups)
    assert worded.strip() and worded != m.example and "{" not in worded
    assert re.fullmatch(r"[a-z_{}]+", m.code), m.code


def test_each_example_gets_its_own_entry_not_an_earlier_broader_one():
    for m in messages.CATALOGUE:
        code, detail = messages.localize(m.example, 400, "id")
        groups = re.fullmatch(m.pattern, m.example, re.DOTALL).groupdict()
        assert detail == m.render("id", groups)[:1].upper() + m.render("id", groups)[1:], m.example
        assert messages.localize(m.example, 400, "en") == (code, m.example)


def test_every_word_and_validation_type_has_indonesian_text():
    assert all(v.strip() for v in messages.WORDS_ID.values())
    assert all(v.strip() for v in messages.VALIDATION_ID.values())
    assert messages.validation_text({"type": "greater_than_equal", "msg": "Input should be >= 1", "ctx": {"ge": 1}},
                                    "id") == "harus paling kecil 1"  # fmt: skip
    assert messages.validation_text({"type": "greater_than_equal", "msg": "Input should be >= 1", "ctx": {"ge": 1}},
                                    "en") == "Input should be >= 1"  # fmt: skip
    assert messages.validation_text({"type": "brand_new", "msg": "odd"}, "id") == "tidak sah (odd)"


def test_a_message_no_entry_knows_keeps_its_status_code_and_an_indonesian_lead():
    assert messages.localize("something new went wrong", 409, "id") == (
        "conflict", "Bertentangan dengan keadaan data saat ini: something new went wrong")
    assert messages.localize("something new went wrong", 409, "en") == ("conflict", "something new went wrong")
    assert messages.localize("internal error", 500, "id") == ("internal_error", "Kesalahan internal")
    assert messages.localize("no campaign 12", 404, "en") == ("campaign_not_found", "no campaign 12")
    assert messages.localize("no families 3, 4", 404, "id") == ("family_not_found", "Keluarga 3, 4 tidak ditemukan")


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"), ("", "en"), ("id", "id"), ("id-ID", "id"), ("ID-id,en;q=0.5", "id"), ("en-GB,id;q=0.9", "en"),
    ("en;q=0.4, id;q=0.8", "id"), ("fr-FR, de", "en"), ("fr, id;q=0.1", "id"), ("*", "en"), ("id;q=x", "en"),
])  # fmt: skip
def test_the_language_is_negotiated_from_accept_language(header, lang):
    assert messages.negotiate(header) == lang


# --- the handlers, on a throwaway app -----------------------------------------------------------------------------
def _app() -> TestClient:
    app = FastAPI()
    errors.register(app)

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("no campaign 42")

    @app.get("/ogc/missing")
    def ogc_missing() -> None:
        raise NotFound("no collection 'x'; collections: rt, rw")

    @app.get("/taken")
    def taken() -> None:
        raise Conflict("already assigned in this campaign: an RT or family")

    @app.get("/rows")
    def rows() -> None:
        raise InputError("prelist refused, nothing added: 1 of 2 rows are wrong", ["row 2: no NIK"])

    @app.get("/limit")
    def limit(n: Annotated[int, Query(ge=1)]) -> None:
        return None

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret")

    return TestClient(app, raise_server_exceptions=False)


def test_the_same_error_in_two_languages_has_one_code():
    c = _app()
    for path, status, code, en, id_ in [
        ("/missing", 404, "campaign_not_found", "no campaign 42", "Kampanye 42 tidak ditemukan"),
        ("/taken", 409, "already_assigned", "already assigned in this campaign: an RT or family",
         "RT atau keluarga ini sudah ditugaskan dalam kampanye ini"),
        ("/boom", 500, "internal_error", "internal error", "Kesalahan internal"),
    ]:  # fmt: skip
        a, b = c.get(path, headers=EN), c.get(path, headers=ID)
        assert (a.status_code, b.status_code) == (status, status)
        assert a.json() == {"detail": en, "error_code": code}
        assert b.json() == {"detail": id_, "error_code": code}
        assert (a.headers["content-language"], b.headers["content-language"]) == ("en", "id")
        assert "accept-language" in b.headers["vary"].lower()
    assert c.get("/missing").json()["detail"] == "no campaign 42"  # no header: English, as before


def test_no_such_path_and_a_wrong_method_are_worded_too_and_keep_allow():
    c = _app()
    assert c.get("/nope", headers=ID).json() == {"detail": "Alamat (URL) ini tidak ada", "error_code": "no_such_path"}
    assert c.get("/nope").json() == {"detail": "Not Found", "error_code": "no_such_path"}
    wrong = c.delete("/missing", headers=ID)
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET")
    assert wrong.json() == {"detail": "Metode HTTP ini tidak diizinkan untuk alamat ini",
                            "error_code": "method_not_allowed"}  # fmt: skip


def test_validation_errors_name_the_parameter_in_the_language_with_pydantic_types():
    c = _app()
    en, id_ = c.get("/limit?n=0", headers=EN).json(), c.get("/limit?n=0", headers=ID).json()
    assert en == {"detail": "n: Input should be greater than or equal to 1", "error_code": "invalid_parameter",
                  "parameters": [{"name": "n", "type": "greater_than_equal"}]}  # fmt: skip
    assert id_ == {"detail": "n: harus paling kecil 1", "error_code": "invalid_parameter",
                   "parameters": [{"name": "n", "type": "greater_than_equal"}]}  # fmt: skip
    assert c.get("/limit", headers=ID).json()["detail"] == "n: wajib diisi"
    assert c.get("/limit?n=x", headers=ID).json()["detail"] == "n: harus bilangan bulat"


def test_ogc_exceptions_keep_their_standard_fields_in_either_language():
    c = _app()
    en, id_ = c.get("/ogc/missing", headers=EN).json(), c.get("/ogc/missing", headers=ID).json()
    assert en == {"code": "NotFound", "description": "no collection 'x'; collections: rt, rw",
                  "detail": "no collection 'x'; collections: rt, rw", "error_code": "collection_not_found"}
    assert id_ == {"code": "NotFound", "description": "Koleksi 'x' tidak ada; koleksi yang ada: rt, rw",
                   "detail": "Koleksi 'x' tidak ada; koleksi yang ada: rt, rw", "error_code": "collection_not_found"}


def test_a_refused_file_keeps_its_problems_under_a_worded_head():
    body = _app().get("/rows", headers=ID).json()
    assert body["error_code"] == "prelist_refused" and body["problems"] == ["row 2: no NIK"]
    assert body["detail"] == ("Prelist ditolak, tidak ada yang ditambahkan: 1 dari 2 baris salah"
                              "\n  - row 2: no NIK")  # fmt: skip
    assert _app().get("/rows", headers=EN).json()["detail"] == (
        "prelist refused, nothing added: 1 of 2 rows are wrong\n  - row 2: no NIK")


# --- the real API over the seeded city ------------------------------------------------------------------------------
def test_the_seeded_api_answers_not_found_conflict_and_bad_input_in_both_languages(api, seeded):
    today = date.today()
    made = api.post("/api/v1/campaigns", headers=seeded.auth("koor"), json={
        "name": "Bahasa", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
        "starts_on": str(today - timedelta(days=3)), "ends_on": str(today + timedelta(days=30))})  # fmt: skip
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    missing = [api.get(f"/api/v1/campaigns/{cid + 1000}/coverage", headers={**seeded.auth("koor"), **h})
               for h in (ID, EN)]  # fmt: skip
    assert [r.status_code for r in missing] == [404, 404]
    assert [r.json() for r in missing] == [
        {"detail": f"Kampanye {cid + 1000} tidak ditemukan", "error_code": "campaign_not_found"},
        {"detail": f"no campaign {cid + 1000}", "error_code": "campaign_not_found"}]
    body = {"rt_codes": [seeded.rts[0]], "verifier": "rt.satu", "due_on": str(today + timedelta(days=7))}
    first = api.post(f"/api/v1/campaigns/{cid}/assignments", json=body, headers=seeded.auth("koor"))
    assert first.status_code == 201, first.text
    again = [api.post(f"/api/v1/campaigns/{cid}/assignments", json=body, headers={**seeded.auth("koor"), **h})
             for h in (ID, EN)]  # fmt: skip
    assert [r.status_code for r in again] == [409, 409]
    assert [r.json()["error_code"] for r in again] == ["already_assigned", "already_assigned"]
    assert again[0].json()["detail"] == "RT atau keluarga ini sudah ditugaskan dalam kampanye ini"
    assert again[1].json()["detail"].startswith("already assigned in this campaign: ")
    past = {**body, "due_on": str(today - timedelta(days=1))}
    late = [api.post(f"/api/v1/campaigns/{cid}/assignments", json=past, headers={**seeded.auth("koor"), **h})
            for h in (ID, EN)]  # fmt: skip
    assert [r.json() for r in late] == [
        {"detail": f"Tenggat {past['due_on']} sudah lewat", "error_code": "due_in_past"},
        {"detail": f"due_on {past['due_on']} is in the past", "error_code": "due_in_past"}]
    denied = [api.post("/api/v1/campaigns", json={}, headers={**seeded.auth("plan"), **h}) for h in (ID, EN)]
    assert [r.status_code for r in denied] == [403, 403]
    assert [r.json()["error_code"] for r in denied] == ["forbidden_role", "forbidden_role"]
    assert denied[0].json()["detail"] == "Peran perencana tidak boleh memakai POST /api/v1/campaigns"


# --- the errors of filters, two-step approval, files and programmes, from real requests ------------------------------
GENERIC_CODES = {m.code for m in messages.GENERIC.values()}
KEL_ITEMS = "/ogc/collections/kelurahan/items"
POLYGON_250 = "POLYGON((" + ", ".join(f"{103.5 + 0.001 * i} -1.6" for i in range(248)) + ", 103.0 -1.7, 103.5 -1.6))"


def _worded(r, status: int, code: str) -> None:
    """An error answered with its own code (never a status's generic one) and a detail worded in Indonesian."""
    body = r.json()
    assert (r.status_code, body.get("error_code")) == (status, code), (r.request.url, r.text)
    assert code not in GENERIC_CODES
    lead = messages.GENERIC[status].text["id"]
    assert not body["detail"].startswith(lead), body["detail"]  # not the generic sentence before English
    assert r.headers["content-language"] == "id"


def test_filter_errors_of_real_requests_have_their_own_codes_in_indonesian(api, seeded):
    admin = {**seeded.auth("admin"), **ID}
    cases = [
        ({"filter": "name =", "filter-lang": "cql2-text"}, "invalid_filter"),
        ({"filter": "{", "filter-lang": "cql2-json"}, "invalid_filter"),
        ({"filter": "x", "filter-lang": "cql3"}, "invalid_filter_lang"),
        ({"filter": "nope = 1"}, "filter_unknown_property"),
        ({"filter": "name = 5"}, "filter_wrong_type"),
        ({"filter": "name LIKE 5"}, "filter_wrong_type"),
        ({"filter": "name IN ()"}, None),  # the parser or the translator: either way, a filter code
        ({"filter": "S_INTERSECTS(name, name)"}, "filter_wrong_type"),
        ({"filter": '{"op": "=", "args": [{"property": "name"}]}', "filter-lang": "cql2-json"},
         "filter_argument_count"),
        ({"filter": '{"op": "and", "args": [true]}', "filter-lang": "cql2-json"}, "filter_argument_count"),
        ({"filter": '{"op": "frobnicate", "args": [1, 2]}', "filter-lang": "cql2-json"}, None),
        ({"filter": "S_INTERSECTS(geometry, BBOX(1, 2, 3))"}, None),
        ({"filter": "name = 'x' AND " * 800 + "name = 'x'"}, "filter_too_long"),
        ({"filter": "(" * 60 + "name = 'x'" + ")" * 60}, "filter_too_deep"),
        ({"filter": "name IN (" + ",".join(["'a'"] * 2100) + ")"}, "filter_too_many_terms"),
    ]  # fmt: skip
    answered = []
    for params, code in cases:
        r = api.get(KEL_ITEMS, params=params, headers=admin)
        got = r.json().get("error_code", "")
        assert r.status_code == 400 and got not in GENERIC_CODES, (params, r.text)
        assert code is None or got == code, (params, r.text)
        assert got.startswith(("filter", "invalid_filter", "too_many")), (params, got)
        _worded(r, 400, got)
        answered.append(got)
    assert len(answered) == len(cases) > 10
    big = api.get(KEL_ITEMS, params={"filter": f"S_INTERSECTS(geometry, {POLYGON_250})"}, headers=ID)  # anonymous
    _worded(big, 400, "too_many_vertices")
    assert big.json()["detail"].startswith("Filter: geometrinya memiliki 250 titik sudut; paling banyak ")
    assert "untuk permintaan anonim" in big.json()["detail"]
    worded = api.get(KEL_ITEMS, params={"filter": "nope = 1"}, headers=admin).json()
    assert worded["description"].startswith("Filter: 'nope' bukan properti yang dapat ditanya di koleksi ini")
    english = api.get(KEL_ITEMS, params={"filter": "nope = 1"}, headers={**seeded.auth("admin"), **EN}).json()
    assert english["error_code"] == "filter_unknown_property"
    assert english["detail"].startswith("filter: 'nope' is not a queryable of this collection (queryables: ")


def test_parameter_errors_of_real_ogc_requests_have_their_own_codes_in_indonesian(api, seeded):
    admin = {**seeded.auth("admin"), **ID}
    cases = [
        ({"crs": "EPSG:3857"}, "unsupported_crs"),
        ({"filter": "name = 'x'", "filter-crs": "EPSG:3857"}, "unsupported_crs"),
        ({"bbox": "103.5,-1.5,103.6,-1.6", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}, "invalid_bbox"),
        ({"bbox": "0,0,1,1", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/32748"}, "invalid_bbox"),
        ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/32748"}, "bbox_crs_without_bbox"),
        ({"datetime": "2026-01-01"}, "no_temporal_extent"),
        ({"sortby": "geometry"}, "not_sortable"),
        ({"properties": "nope"}, "unknown_property"),
    ]  # fmt: skip
    for params, code in cases:
        _worded(api.get(KEL_ITEMS, params=params, headers=admin), 400, code)
    crs = api.get(KEL_ITEMS, params={"crs": "EPSG:3857"}, headers=admin).json()["detail"]
    assert crs.startswith("Crs: CRS 'EPSG:3857' tidak didukung; pakai ") and "(utara khatulistiwa)" in crs


def test_the_second_approval_steps_refusals_have_their_own_codes_in_indonesian(api, seeded):
    from tests.api.test_two_step_approval import _decide, _head, _steps, _visits

    _steps(api, 2)
    _, (a, b), _ = _visits(api, seeded, 2)
    assert _decide(api, seeded, "koor", a).json()["status"] == "checked"
    not_head = api.post(f"/api/v1/verifications/{a}/decision", json={"decision": "approve"},
                        headers={**seeded.auth("koor"), **ID})  # fmt: skip
    _worded(not_head, 403, "second_step_head_only")
    assert not_head.json()["detail"] == (f"Verifikasi {a} sudah diperiksa oleh user:koor; langkah kedua dilakukan oleh"
                                         " kepala dinas")  # fmt: skip
    _head(api, "koor")
    assert _decide(api, seeded, "koor", b).json()["status"] == "checked"
    own = api.post(f"/api/v1/verifications/{b}/decision", json={"decision": "approve"},
                   headers={**seeded.auth("koor"), **ID})  # fmt: skip
    _worded(own, 403, "four_eyes")
    assert own.json()["detail"].startswith(f"Verifikasi {b} sudah Anda periksa (user:koor): ")


def _roster(api, seeded, code: str, body: bytes | None, name: str = "daftar.csv", **form: str):
    files = {"file": (name, body, "text/csv")} if body is not None else None
    return api.post(f"/api/v1/programmes/{code}/rosters", files=files, data=form,
                    headers={**seeded.auth("admin"), **ID})  # fmt: skip


def test_file_roster_and_programme_errors_of_real_requests_have_their_own_codes_in_indonesian(api, seeded):
    cases = [
        (_roster(api, seeded, "PKH", None, period="2026-12"), 400, "roster_file_required"),
        (_roster(api, seeded, "PKH", b"no_kk\n1571010000000001\n"), 400, "programme_period_required"),
        (_roster(api, seeded, "PKH", b"no_kk\n1571010000000001\n", period="2026"), 400, "programme_period"),
        (_roster(api, seeded, "PKH", b"nama,alamat\nA,B\n", period="2026-12"), 400, "file_no_column"),
        (_roster(api, seeded, "PKH", b"no_kk\n", period="2026-12"), 400, "file_no_rows"),
        (_roster(api, seeded, "PKH", b"", period="2026-12"), 400, "file_empty"),
        (_roster(api, seeded, "PKH", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "daftar.xls", period="2026-12"),
         400, "file_old_excel"),
        (_roster(api, seeded, "PKH", b"bukan zip", "daftar.xlsx", period="2026-12"), 400, "file_bad_xlsx"),
        (_roster(api, seeded, "PKH", b"no_kk\n12345\n1571010000000001\n", period="2026-12"), 400, "roster_refused"),
        (_roster(api, seeded, "BEASISWA", b"no_kk\n1571010000000001\n", period="2026-12"), 404,
         "programme_not_found"),
        (api.get("/api/v1/programmes/PKH/rosters/999999", headers={**seeded.auth("admin"), **ID}), 404,
         "roster_not_found"),
    ]  # fmt: skip
    for r, status, code in cases:
        _worded(r, status, code)
    said = {code: r.json()["detail"] for r, _, code in cases}
    assert said["file_no_rows"] == "Daftar.csv: tidak ada baris data di bawah judul kolom"
    assert said["file_no_column"] == ("Daftar.csv: tidak ada kolom no_kk, nik, kk_hash atau nik_hash"
                                      " (yang ada: nama, alamat)")  # fmt: skip
    assert said["file_old_excel"].startswith("Daftar.xls: buku kerja Excel lama .xls")
    assert said["programme_period"].startswith("Period: program PKH ")  # the programme entries: issue 18's block
    refused = next(r for r, _, code in cases if code == "roster_refused").json()
    assert refused["problems"][0] == "row 2: no_kk must be 16 digits (got 5)"  # each row's reason stays as written


def test_prelist_errors_of_real_requests_have_their_own_codes_in_indonesian(api, seeded):
    koor = seeded.auth("koor")
    today = date.today()
    dates = {"starts_on": str(today - timedelta(days=3)), "ends_on": str(today + timedelta(days=30))}
    by_desil = api.post("/api/v1/campaigns", headers=koor, json={
        "name": "Desil", "target_kind": "desil", "desil_min": 1, "desil_max": 2, **dates}).json()["id"]  # fmt: skip
    listed = api.post("/api/v1/campaigns", headers=koor, json={
        "name": "Prelist", "target_kind": "prelist", **dates}).json()["id"]  # fmt: skip

    def send(cid: int, body: bytes):
        return api.post(f"/api/v1/campaigns/{cid}/prelist", files={"file": ("prelist.csv", body, "text/csv")},
                        headers={**koor, **ID})  # fmt: skip

    cases = [
        (send(by_desil, b"no_kk\n1571010000000001\n"), "not_a_prelist_campaign"),
        (send(listed, b"nama\nA\n"), "file_no_column"),
        (send(listed, b"household_id\nabc\n"), "rows_unreadable"),
        (send(listed, b"no_kk\n1571019999999999\n"), "prelist_refused"),
    ]
    for r, code in cases:
        _worded(r, 400, code)
    assert cases[0][0].json()["detail"] == f"Kampanye {by_desil} mengambil sasarannya menurut desil, bukan dari prelist"
    assert cases[3][0].json()["detail"].startswith("Prelist ditolak, tidak ada yang ditambahkan: 1 dari 1 baris salah")
