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
    assert body["error_code"] == "invalid_request" and body["problems"] == ["row 2: no NIK"]
    assert body["detail"] == ("Permintaan tidak dapat diterima: prelist refused, nothing added: 1 of 2 rows are wrong"
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
