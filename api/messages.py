"""Error details in the client's language: a stable code for each message and its Bahasa Indonesia and English text.

The domain layers raise errors with an English message (core.errors: the CLI and the log read it). Here each
message the API answers with is recognised by a pattern, given a stable machine-readable code, and worded again in
the language the client asks for with Accept-Language (`negotiate`). English text is the message as raised. A
message no pattern knows keeps its status's generic code and, in Indonesian, a generic sentence before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

LANGS = ("en", "id")
DEFAULT_LANG = "en"  # no Accept-Language (scripts, other agencies): the API's documented language

# words that messages carry as values (what was not found, a role, a status), in Bahasa Indonesia
WORDS_ID = {
    "campaign": "kampanye", "family": "keluarga", "families": "keluarga", "area": "wilayah", "RT": "RT",
    "user": "pengguna", "assignment": "penugasan", "verification": "verifikasi", "kelurahan": "kelurahan",
    "visit": "kunjungan", "kab/kota": "kab/kota", "active verifiers": "verifikator aktif",
    "admin": "administrator", "coordinator": "koordinator", "verifier": "verifikator", "planner": "perencana",
    "agency": "instansi", "anonymous": "anonim",
    "assigned": "ditugaskan", "in_progress": "sedang dikerjakan", "done": "selesai", "cancelled": "dibatalkan",
    "pending": "menunggu", "approved": "disetujui", "returned": "dikembalikan", "rejected": "ditolak",
    "submitted": "terkirim", "checked": "diperiksa",
    "tiles": "ubin", "exports": "ekspor", "records": "data",
}  # fmt: skip


def word(value: str, lang: str) -> str:
    """A value word in `lang` (unknown words, codes and names stay as they are)."""
    return WORDS_ID.get(value, value) if lang == "id" else value


@dataclass(frozen=True)
class Message:
    """One kind of error message: its code (may name a group: {what}), the English message it recognises (a
    regular expression with named groups), the same text as a template per language, and an example of it."""

    code: str
    pattern: str
    text: dict[str, str]
    example: str
    words: tuple[str, ...] = ()  # groups whose value is a word to translate (WORDS_ID)

    def render(self, lang: str, groups: dict[str, str]) -> str:
        values = {k: word(v, lang) if k in self.words else v for k, v in groups.items()}
        return self.text[lang].format(**values)


def _m(code: str, pattern: str, en: str, id_: str, example: str, words: tuple[str, ...] = ()) -> Message:
    return Message(code, pattern, {"en": en, "id": id_}, example, words)


# the generic message of each status: the code of a message no pattern knows, and its Indonesian lead
GENERIC: dict[int, Message] = {
    400: _m("invalid_request", r"invalid request", "invalid request", "Permintaan tidak dapat diterima",
            "invalid request"),
    401: _m("unauthenticated", r"authentication failed", "authentication failed", "Autentikasi gagal",
            "authentication failed"),
    403: _m("forbidden", r"forbidden", "forbidden", "Tidak diizinkan", "forbidden"),
    404: _m("not_found", r"not found", "not found", "Tidak ditemukan", "not found"),
    409: _m("conflict", r"conflict", "conflict", "Bertentangan dengan keadaan data saat ini", "conflict"),
    429: _m("throttled", r"too many requests", "too many requests", "Terlalu banyak permintaan", "too many requests"),
    500: _m("internal_error", r"internal error", "internal error", "Kesalahan internal", "internal error"),
    503: _m("unavailable", r"service unavailable", "service unavailable", "Layanan tidak tersedia",
            "service unavailable"),
}  # fmt: skip

Q = r"(?P<name>'[^']*'|\"[^\"]*\")"  # a quoted name, as Python's repr writes it
WHAT = (r"(?P<what>campaign|family|families|area|RT|user|assignment|verification|kelurahan|visit|kab/kota"
        r"|active verifiers)")

CATALOGUE: tuple[Message, ...] = (
    # --- not found ---------------------------------------------------------------------------------------------
    _m("visit_not_found", r"no visit (?P<id>\d+) of yours", "no visit {id} of yours",
       "kunjungan {id} milik Anda tidak ditemukan", "no visit 5 of yours"),
    _m("photo_not_found", r"no photo (?P<sha>\w+) of visit (?P<id>\d+)", "no photo {sha} of visit {id}",
       "foto {sha} dari kunjungan {id} tidak ditemukan", "no photo abc123 of visit 5"),
    _m("feature_not_found", rf"no feature {Q} in (?P<coll>\S+)", "no feature {name} in {coll}",
       "fitur {name} tidak ada di {coll}", "no feature '9' in rt"),
    _m("collection_not_found", rf"no collection {Q}; collections: (?P<list>.+)",
       "no collection {name}; collections: {list}",
       "koleksi {name} tidak ada; koleksi yang ada: {list}", "no collection 'x'; collections: rt, rw"),
    _m("layer_not_found", rf"no layer {Q}; layers: (?P<list>.+)", "no layer {name}; layers: {list}",
       "lapisan {name} tidak ada; lapisan yang ada: {list}", "no layer 'x'; layers: rt, rw"),
    _m("layer_not_found", rf"no tile layer {Q}; layers: (?P<list>.+) and households",
       "no tile layer {name}; layers: {list} and households",
       "lapisan ubin {name} tidak ada; lapisan yang ada: {list} dan households",
       "no tile layer 'x'; layers: rt, rw and households"),
    _m("layer_not_found", rf"no tile layer {Q}", "no tile layer {name}", "lapisan ubin {name} tidak ada",
       "no tile layer 'x'"),
    _m("{what}_not_found", rf"no {WHAT} (?P<ref>.+)", "no {what} {ref}", "{what} {ref} tidak ditemukan",
       "no campaign 99", ("what",)),
    _m("no_such_path", r"Not Found", "Not Found", "alamat (URL) ini tidak ada", "Not Found"),
    _m("method_not_allowed", r"Method Not Allowed", "Method Not Allowed",
       "metode HTTP ini tidak diizinkan untuk alamat ini", "Method Not Allowed"),
    # --- conflicts ---------------------------------------------------------------------------------------------
    _m("already_assigned", r"already assigned in this campaign: (?P<what>.+)",
       "already assigned in this campaign: {what}", "RT atau keluarga ini sudah ditugaskan dalam kampanye ini",
       "already assigned in this campaign: an RT or family"),
    _m("already_decided", r"verification (?P<id>\d+) is already (?P<status>\w+)",
       "verification {id} is already {status}", "verifikasi {id} sudah {status}",
       "verification 7 is already approved", ("status",)),
    _m("already_decided", r"verification (?P<id>\d+) was decided meanwhile", "verification {id} was decided meanwhile",
       "verifikasi {id} sudah diputuskan orang lain sementara itu", "verification 7 was decided meanwhile"),
    _m("status_move", r"assignment (?P<id>\d+) is (?P<status>\w+): it can move to (?P<allowed>.*), not (?P<to>\w+)",
       "assignment {id} is {status}: it can move to {allowed}, not {to}",
       "penugasan {id} berstatus {status}: dapat diubah ke {allowed}, bukan {to}",
       "assignment 3 is done: it can move to cancelled, not assigned", ("status",)),
    _m("visit_closed", r"visit (?P<id>\d+) is already (?P<status>\w+): photos can no longer be added",
       "visit {id} is already {status}: photos can no longer be added",
       "kunjungan {id} sudah {status}: foto tidak dapat ditambahkan lagi",
       "visit 5 is already approved: photos can no longer be added", ("status",)),
    _m("too_many_photos", r"visit (?P<id>\d+) already has (?P<n>\d+) photos", "visit {id} already has {n} photos",
       "kunjungan {id} sudah memiliki {n} foto", "visit 5 already has 6 photos"),
    _m("name_taken", rf"a campaign named {Q} already exists in (?P<kota>\S+)",
       "a campaign named {name} already exists in {kota}", "kampanye bernama {name} sudah ada di {kota}",
       "a campaign named 'Verval' already exists in 15.71"),
    _m("backcheck_race", r"these visits were just drawn for a back-check by someone else; draw again",
       "these visits were just drawn for a back-check by someone else; draw again",
       "kunjungan ini baru saja diundi untuk pemeriksaan ulang oleh orang lain; undi lagi",
       "these visits were just drawn for a back-check by someone else; draw again"),
    # --- rights ------------------------------------------------------------------------------------------------
    _m("forbidden_role", r"the (?P<role>\w+) role may not use (?P<method>[A-Z]+) (?P<path>\S+)",
       "the {role} role may not use {method} {path}", "peran {role} tidak boleh memakai {method} {path}",
       "the planner role may not use POST /api/v1/campaigns", ("role",)),
    _m("forbidden_move", r"a (?P<role>verifier|coordinator) may set (?P<allowed>.+), not (?P<to>\w+)",
       "a {role} may set {allowed}, not {to}", "{role} boleh mengubah status ke {allowed}, bukan {to}",
       "a verifier may set done, in_progress, not cancelled", ("role",)),
    _m("own_assignments_only", r"a verifier sees only their own assignments",
       "a verifier sees only their own assignments",
       "verifikator hanya melihat penugasannya sendiri", "a verifier sees only their own assignments"),
    # --- authentication ----------------------------------------------------------------------------------------
    _m("authentication_required", r"authentication required: a bearer token or an X-API-Key header",
       "authentication required: a bearer token or an X-API-Key header",
       "perlu autentikasi: token bearer atau header X-API-Key",
       "authentication required: a bearer token or an X-API-Key header"),
    _m("csrf_missing", r"a cookie session needs the X-CSRF-Token header for this request",
       "a cookie session needs the X-CSRF-Token header for this request",
       "sesi cookie memerlukan header X-CSRF-Token untuk permintaan ini",
       "a cookie session needs the X-CSRF-Token header for this request"),
    _m("user_token_required", r"this needs a user's bearer token, not an API key",
       "this needs a user's bearer token, not an API key", "ini memerlukan token bearer pengguna, bukan kunci API",
       "this needs a user's bearer token, not an API key"),
    _m("household_credentials", r"household (?P<what>tiles|exports|records) need a bearer token or an agency key",
       "household {what} need a bearer token or an agency key",
       "{what} keluarga memerlukan token bearer atau kunci instansi",
       "household tiles need a bearer token or an agency key", ("what",)),
    _m("wrong_credentials", r"wrong username or password", "wrong username or password",
       "nama pengguna atau kata sandi salah", "wrong username or password"),
    _m("invalid_token", r"the token is invalid, expired or revoked", "the token is invalid, expired or revoked",
       "token tidak sah, kedaluwarsa atau dicabut", "the token is invalid, expired or revoked"),
    _m("too_many_logins", rf"too many failed logins for {Q} from this address; try again later",
       "too many failed logins for {name} from this address; try again later",
       "terlalu banyak percobaan masuk yang gagal untuk {name} dari alamat ini; coba lagi nanti",
       "too many failed logins for 'koor' from this address; try again later"),
    _m("throttled", r"too many requests; at most (?P<n>\d+) a minute", "too many requests; at most {n} a minute",
       "terlalu banyak permintaan; paling banyak {n} per menit", "too many requests; at most 60 a minute"),
    # --- parameters --------------------------------------------------------------------------------------------
    _m("not_an_integer", r"(?P<param>[\w-]+): (?P<raw>.+) is not an integer", "{param}: {raw} is not an integer",
       "{param}: {raw} bukan bilangan bulat", "limit: 'x' is not an integer"),
    _m("out_of_range", r"(?P<param>[\w-]+): (?P<value>-?\d+) is out of range \(at least (?P<min>-?\d+)\)",
       "{param}: {value} is out of range (at least {min})", "{param}: {value} di luar rentang (paling kecil {min})",
       "limit: 0 is out of range (at least 1)"),
    _m("repeated_parameter", r"(?P<param>[\w-]+): given more than once", "{param}: given more than once",
       "{param}: diberikan lebih dari sekali", "bbox: given more than once"),
    _m("invalid_bbox", r"bbox: (?P<raw>.+) is not 4 comma-separated numbers",
       "bbox: {raw} is not 4 comma-separated numbers",
       "bbox: {raw} bukan 4 angka yang dipisahkan koma", "bbox: '1,2' is not 4 comma-separated numbers"),
    _m("invalid_bbox", r"bbox: (?P<raw>.+) is outside the valid longitude/latitude range",
       "bbox: {raw} is outside the valid longitude/latitude range",
       "bbox: {raw} di luar rentang bujur/lintang yang sah",
       "bbox: '0,0,200,1' is outside the valid longitude/latitude range"),
    _m("invalid_bbox", r"bbox: (?P<raw>.+) has its minimum above its maximum",
       "bbox: {raw} has its minimum above its maximum",
       "bbox: {raw} memiliki nilai minimum di atas maksimum", "bbox: '2,2,1,1' has its minimum above its maximum"),
    _m("unknown_parameter", rf"unknown parameter {Q}: use the standard ones or a queryable \((?P<list>.*)\)",
       "unknown parameter {name}: use the standard ones or a queryable ({list})",
       "parameter {name} tidak dikenal: pakai parameter baku atau salah satu properti yang dapat ditanya ({list})",
       "unknown parameter 'x': use the standard ones or a queryable (code, name)"),
    _m("not_an_area_code", rf"{Q} is not an area code", "{name} is not an area code", "{name} bukan kode wilayah",
       "'15.7x' is not an area code"),
    _m("invalid_desil_range", r"desil_min \(?(?P<a>\d+)\)? is above desil_max \(?(?P<b>\d+)\)?",
       "desil_min ({a}) is above desil_max ({b})", "desil_min ({a}) lebih besar dari desil_max ({b})",
       "desil_min (5) is above desil_max (2)"),
    _m("bad_text", r"a text value holds a NUL character \(0x00\), which no field can store",
       "a text value holds a NUL character (0x00), which no field can store",
       "sebuah teks memuat karakter NUL (0x00), yang tidak dapat disimpan di kolom mana pun",
       "a text value holds a NUL character (0x00), which no field can store"),
    # --- assignments, visits, campaigns ------------------------------------------------------------------------
    _m("nothing_to_assign", r"give at least one RT code or household id", "give at least one RT code or household id",
       "berikan sedikitnya satu kode RT atau id keluarga", "give at least one RT code or household id"),
    _m("due_in_past", r"due_on (?P<due>\S+) is in the past", "due_on {due} is in the past",
       "tenggat {due} sudah lewat", "due_on 2020-01-01 is in the past"),
    _m("due_after_end", r"due_on (?P<due>\S+) is after the campaign ends \((?P<end>\S+)\)",
       "due_on {due} is after the campaign ends ({end})", "tenggat {due} melewati akhir kampanye ({end})",
       "due_on 2031-01-01 is after the campaign ends (2030-12-31)"),
    _m("due_out_of_range", r"due_on (?P<due>\S+) must be between today and the campaign's end \((?P<end>\S+)\)",
       "due_on {due} must be between today and the campaign's end ({end})",
       "tenggat {due} harus di antara hari ini dan akhir kampanye ({end})",
       "due_on 2031-01-01 must be between today and the campaign's end (2030-12-31)"),
    _m("not_a_verifier", rf"{Q} is a (?P<role>\w+), not a verifier", "{name} is a {role}, not a verifier",
       "{name} adalah {role}, bukan verifikator", "'plan' is a planner, not a verifier", ("role",)),
    _m("user_disabled", rf"{Q} is disabled", "{name} is disabled", "{name} dinonaktifkan", "'rt.satu' is disabled"),
    _m("invalid_status", r"status must be one of (?P<list>.+)", "status must be one of {list}",
       "status harus salah satu dari {list}", "status must be one of assigned, done"),
    _m("reason_required", r"(?P<status>\w+) needs a reason", "{status} needs a reason", "{status} memerlukan alasan",
       "cancelled needs a reason", ("status",)),
    _m("reason_required", r"returning a visit needs a reason", "returning a visit needs a reason",
       "mengembalikan kunjungan memerlukan alasan", "returning a visit needs a reason"),
    _m("lon_lat_pair", r"(?P<who>visit|verifier) (?P<ref>\S+): give both lon and lat, or neither",
       "{who} {ref}: give both lon and lat, or neither",
       "{who} {ref}: berikan lon dan lat sekaligus, atau tidak keduanya",
       "visit abc: give both lon and lat, or neither", ("who",)),
    _m("invalid_nik", r"member (?P<i>\d+): a NIK has 16 digits", "member {i}: a NIK has 16 digits",
       "anggota {i}: NIK terdiri atas 16 angka", "member 2: a NIK has 16 digits"),
    _m("not_assignable", r"not unassigned RTs with targets to verify \(in your area\): (?P<list>.+)",
       "not unassigned RTs with targets to verify (in your area): {list}",
       "bukan RT belum ditugaskan yang punya sasaran verifikasi (di wilayah Anda): {list}",
       "not unassigned RTs with targets to verify (in your area): 15.71.01.1001.001.001"),
    _m("no_verifiers", r"no verifiers to propose for", "no verifiers to propose for",
       "tidak ada verifikator untuk diberi usulan", "no verifiers to propose for"),
    _m("doubled_rts", r"RTs given to more than one verifier: (?P<list>.+)",
       "RTs given to more than one verifier: {list}",
       "RT diberikan kepada lebih dari satu verifikator: {list}", "RTs given to more than one verifier: 15.71.01"),
    _m("photo_empty", r"the photo is empty", "the photo is empty", "foto kosong", "the photo is empty"),
    _m("photo_type", r"photos are JPEG, PNG or WebP, not (?P<kind>\S+)", "photos are JPEG, PNG or WebP, not {kind}",
       "foto harus JPEG, PNG atau WebP, bukan {kind}", "photos are JPEG, PNG or WebP, not gif"),
    _m("photo_too_large", r"the photo has (?P<n>[\d,]+) bytes; at most (?P<max>[\d,]+)",
       "the photo has {n} bytes; at most {max}", "foto berukuran {n} bita; paling besar {max}",
       "the photo has 9,000,000 bytes; at most 8,000,000"),
    # --- the server ----------------------------------------------------------------------------------------------
    _m("database_unreachable", r"the database is not reachable", "the database is not reachable",
       "basis data tidak dapat dihubungi", "the database is not reachable"),
    _m("server_busy", r"the server is busy: every database connection this request may use is taken",
       "the server is busy: every database connection this request may use is taken",
       "server sedang sibuk: semua sambungan basis data untuk permintaan ini sedang dipakai",
       "the server is busy: every database connection this request may use is taken"),
    _m("query_timeout", r"the query took too long: (?P<bound>.+); narrow it \(a smaller bbox, a simpler filter, a lower"
       r" limit\) or retry later",
       "the query took too long: {bound}; narrow it (a smaller bbox, a simpler filter, a lower limit) or retry later",
       "kueri terlalu lama: {bound}; persempit (bbox lebih kecil, filter lebih sederhana, limit lebih rendah) atau"
       " coba lagi nanti",
       "the query took too long: over 5,000 ms; narrow it (a smaller bbox, a simpler filter, a lower limit) or retry"
       " later"),
)  # fmt: skip


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[re.Pattern[str], Message], ...]:
    return tuple((re.compile(m.pattern, re.DOTALL), m) for m in CATALOGUE)


def _slug(value: str) -> str:
    """A value as part of a code: 'active verifiers' -> active_verifier, 'kab/kota' -> kab_kota, RT -> rt."""
    v = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    return {"families": "family", "active_verifiers": "verifier"}.get(v, v)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def localize(message: str, status: int, lang: str) -> tuple[str, str]:
    """(code, detail): the message's stable code and its text in `lang` (English: the message as raised)."""
    for pattern, m in _compiled():
        found = pattern.fullmatch(message)
        if found:
            groups = found.groupdict()
            code = m.code.format(**{k: _slug(v) for k, v in groups.items()})
            return code, message if lang == "en" else _capital(m.render(lang, groups))
    generic = GENERIC.get(status) or GENERIC[500 if status >= 500 else 400]
    if lang == "en":
        return generic.code, message
    return generic.code, f"{generic.text[lang]}: {message}" if message != generic.example else generic.text[lang]


def negotiate(header: str | None) -> str:
    """The language an Accept-Language header prefers among LANGS (q-values honoured); DEFAULT_LANG without one."""
    best, best_q = DEFAULT_LANG, 0.0
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if lang in LANGS and q > best_q:  # the first of equal weights wins
            best, best_q = lang, q
    return best


# pydantic's error types (a request FastAPI could not parse), in Bahasa Indonesia; {x}: the error's context
VALIDATION_ID = {
    "missing": "wajib diisi", "int_parsing": "harus bilangan bulat", "int_type": "harus bilangan bulat",
    "int_from_float": "harus bilangan bulat", "float_parsing": "harus angka", "float_type": "harus angka",
    "bool_parsing": "harus benar atau salah (true/false)", "bool_type": "harus benar atau salah (true/false)",
    "greater_than_equal": "harus paling kecil {ge}", "greater_than": "harus lebih besar dari {gt}",
    "less_than_equal": "harus paling besar {le}", "less_than": "harus lebih kecil dari {lt}",
    "string_too_short": "harus paling sedikit {min_length} karakter",
    "string_too_long": "harus paling banyak {max_length} karakter",
    "too_short": "harus berisi paling sedikit {min_length} butir",
    "too_long": "harus berisi paling banyak {max_length} butir",
    "date_parsing": "harus tanggal (YYYY-MM-DD)", "date_from_datetime_parsing": "harus tanggal (YYYY-MM-DD)",
    "date_type": "harus tanggal (YYYY-MM-DD)", "datetime_parsing": "harus waktu ISO 8601",
    "datetime_from_date_parsing": "harus waktu ISO 8601", "datetime_type": "harus waktu ISO 8601",
    "enum": "harus salah satu dari {expected}", "literal_error": "harus salah satu dari {expected}",
    "string_pattern_mismatch": "tidak sesuai pola {pattern}", "string_type": "harus teks",
    "json_invalid": "bukan JSON yang sah", "json_type": "bukan JSON yang sah",
    "model_attributes_type": "harus objek", "dict_type": "harus objek", "model_type": "harus objek",
    "list_type": "harus daftar", "extra_forbidden": "tidak dikenal", "value_error": "nilai tidak sah: {error}",
    "uuid_parsing": "harus UUID", "decimal_parsing": "harus angka desimal", "bytes_type": "harus data biner",
}  # fmt: skip
VALIDATION_GENERIC_ID = "tidak sah"


def validation_text(err: dict[str, object], lang: str) -> str:
    """One of pydantic's errors as a sentence in `lang` (English: pydantic's own message)."""
    msg = str(err.get("msg", "invalid"))
    if lang == "en":
        return msg
    template = VALIDATION_ID.get(str(err.get("type", "")))
    if template is None:
        return f"{VALIDATION_GENERIC_ID} ({msg})"
    ctx = err.get("ctx")
    values = {str(k): str(v) for k, v in ctx.items()} if isinstance(ctx, dict) else {}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return f"{VALIDATION_GENERIC_ID} ({msg})"
