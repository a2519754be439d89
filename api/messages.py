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
    "staff": "staf", "number": "angka", "integer": "bilangan bulat", "string": "teks", "geometry": "geometri",
    "date": "tanggal", "boolean": "benar/salah", "month": "bulan", "quarter": "triwulan", "year": "tahun",
    "desil": "desil", "category": "kategori", "prelist": "prelist",
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
    # --- OGC API parameters (api.params, gis.features) ------------------------------------------------------------
    _m("unsupported_crs", r"(?P<param>[\w-]+): unsupported CRS (?P<raw>.+); use (?P<a>\S+), (?P<b>\S+) or a UTM zone of"
       r" Indonesia, (?P<north>\S+) to (?P<nmax>\d+) \(north of the equator\) or (?P<south>\S+) to (?P<smax>\d+)"
       r" \(south\)",
       "{param}: unsupported CRS {raw}; use {a}, {b} or a UTM zone of Indonesia, {north} to {nmax} (north of the"
       " equator) or {south} to {smax} (south)",
       "{param}: CRS {raw} tidak didukung; pakai {a}, {b} atau zona UTM Indonesia, {north} sampai {nmax} (utara"
       " khatulistiwa) atau {south} sampai {smax} (selatan)",
       "crs: unsupported CRS 'EPSG:3857'; use http://www.opengis.net/def/crs/OGC/1.3/CRS84,"
       " http://www.opengis.net/def/crs/EPSG/0/4326 or a UTM zone of Indonesia, http://www.opengis.net/def/crs/EPSG/0/"
       "32646 to 32654 (north of the equator) or http://www.opengis.net/def/crs/EPSG/0/32746 to 32754 (south)"),
    _m("invalid_bbox", r"bbox: the southern edge (?P<a>\S+) is north of the northern edge (?P<b>\S+)",
       "bbox: the southern edge {a} is north of the northern edge {b}",
       "bbox: tepi selatan {a} berada di utara tepi utara {b}", "bbox: the southern edge -1.5 is north of the"
       " northern edge -1.6"),
    _m("invalid_bbox", rf"bbox: {Q} lies outside the area where EPSG:(?P<srid>\d+) is used \((?P<area>.*)\)",
       "bbox: {name} lies outside the area where EPSG:{srid} is used ({area})",
       "bbox: {name} berada di luar wilayah pemakaian EPSG:{srid} ({area})",
       "bbox: '0,0,1,1' lies outside the area where EPSG:32748 is used (longitude 102 to 108, latitude -10 to 0)"),
    _m("invalid_bbox", rf"bbox: {Q} (?P<reason>.+)", "bbox: {name} {reason}", "bbox: {name} tidak sah ({reason})",
       "bbox: '1,2,3,4' does not reproject from EPSG:32748 to longitude/latitude"),
    _m("bbox_crs_without_bbox", r"bbox-crs is given without bbox", "bbox-crs is given without bbox",
       "bbox-crs diberikan tanpa bbox", "bbox-crs is given without bbox"),
    _m("no_temporal_extent", r"datetime: these collections have no temporal extent",
       "datetime: these collections have no temporal extent", "datetime: koleksi ini tidak memiliki rentang waktu",
       "datetime: these collections have no temporal extent"),
    _m("geometry_parameter", r"geometry: filter on the geometry with bbox or a CQL2 spatial function",
       "geometry: filter on the geometry with bbox or a CQL2 spatial function",
       "geometry: saring geometri dengan bbox atau fungsi spasial CQL2",
       "geometry: filter on the geometry with bbox or a CQL2 spatial function"),
    _m("not_sortable", rf"sortby: {Q} is not a sortable property", "sortby: {name} is not a sortable property",
       "sortby: {name} bukan properti yang dapat diurutkan", "sortby: 'geometry' is not a sortable property"),
    _m("unknown_property", r"properties: unknown (?P<unknown>.+); available: (?P<available>.*)",
       "properties: unknown {unknown}; available: {available}",
       "properties: {unknown} tidak dikenal; yang tersedia: {available}",
       "properties: unknown x; available: code, name"),
    _m("not_a_boolean", r"(?P<param>[\w-]+): (?P<raw>.+) is not true or false", "{param}: {raw} is not true or false",
       "{param}: {raw} bukan benar atau salah (true/false)", "aktif: 'x' is not true or false"),
    _m("not_a_number", r"(?P<param>[\w-]+): (?P<raw>.+) is not a number", "{param}: {raw} is not a number",
       "{param}: {raw} bukan angka", "population: 'x' is not a number"),
    # --- CQL2 filters (gis.cql, gis.cql_bounds) ------------------------------------------------------------------
    _m("invalid_filter_lang", r"filter-lang must be cql2-text or cql2-json, not (?P<raw>.+)",
       "filter-lang must be cql2-text or cql2-json, not {raw}",
       "filter-lang harus cql2-text atau cql2-json, bukan {raw}",
       "filter-lang must be cql2-text or cql2-json, not 'x'"),
    _m("invalid_filter", r"filter is not valid (?P<lang>cql2-text|cql2-json): not JSON \((?P<reason>.*)\)",
       "filter is not valid {lang}: not JSON ({reason})", "filter bukan {lang} yang sah: bukan JSON ({reason})",
       "filter is not valid cql2-json: not JSON (Expecting value: line 1 column 1 (char 0))"),
    _m("invalid_filter", r"filter is not valid (?P<lang>cql2-text|cql2-json): (?P<reason>.*)",
       "filter is not valid {lang}: {reason}", "filter bukan {lang} yang sah: {reason}",
       "filter is not valid cql2-text: expected expression"),
    _m("filter_unknown_property", rf"filter: {Q} is not a queryable of this collection \(queryables: (?P<list>.*)\)",
       "filter: {name} is not a queryable of this collection (queryables: {list})",
       "filter: {name} bukan properti yang dapat ditanya di koleksi ini (yang dapat: {list})",
       "filter: 'x' is not a queryable of this collection (queryables: code, name)"),
    _m("filter_list_misplaced", r"filter: a list is only allowed on the right of IN",
       "filter: a list is only allowed on the right of IN", "filter: daftar hanya boleh di sebelah kanan IN",
       "filter: a list is only allowed on the right of IN"),
    _m("filter_unsupported_value", r"filter: unsupported value (?P<raw>.+)", "filter: unsupported value {raw}",
       "filter: nilai {raw} tidak didukung", "filter: unsupported value None"),
    _m("filter_wrong_type", r"filter: (?P<op>[A-Z_]+) needs a string", "filter: {op} needs a string",
       "filter: {op} memerlukan teks", "filter: CASEI needs a string"),
    _m("filter_not_a_value", rf"filter: {Q} is not a value", "filter: {name} is not a value",
       "filter: {name} bukan nilai", "filter: 'and' is not a value"),
    _m("filter_invalid_bbox", r"filter: BBOX needs 4 \(or 6\) finite numbers: west, south, east, north",
       "filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north",
       "filter: BBOX memerlukan 4 (atau 6) angka terhingga: barat, selatan, timur, utara",
       "filter: BBOX needs 4 (or 6) finite numbers: west, south, east, north"),
    _m("filter_invalid_geometry", r"filter: a geometry's coordinates must be finite numbers",
       "filter: a geometry's coordinates must be finite numbers",
       "filter: koordinat geometri harus angka terhingga", "filter: a geometry's coordinates must be finite numbers"),
    _m("filter_invalid_geometry", r"filter: a geometry's position needs at least two coordinates",
       "filter: a geometry's position needs at least two coordinates",
       "filter: setiap titik geometri memerlukan sedikitnya dua koordinat",
       "filter: a geometry's position needs at least two coordinates"),
    _m("filter_outside_crs", r"filter: a geometry lies outside the area where EPSG:(?P<srid>\d+) is used"
       r" \((?P<area>.*)\)",
       "filter: a geometry lies outside the area where EPSG:{srid} is used ({area})",
       "filter: geometri berada di luar wilayah pemakaian EPSG:{srid} ({area})",
       "filter: a geometry lies outside the area where EPSG:32748 is used (longitude 102 to 108, latitude -10 to 0)"),
    _m("filter_invalid_geometry", r"filter: a geometry (?P<reason>.+)", "filter: a geometry {reason}",
       "filter: geometri tidak sah ({reason})", "filter: a geometry has coordinates that are not finite numbers"),
    _m("filter_not_evaluated", r"filter could not be evaluated: (?P<reason>.+)",
       "filter could not be evaluated: {reason}", "filter tidak dapat dihitung oleh basis data: {reason}",
       "filter could not be evaluated: value out of range: overflow"),
    _m("filter_invalid_date", r"filter: (?P<raw>.+) is not a date \(YYYY-MM-DD\)",
       "filter: {raw} is not a date (YYYY-MM-DD)", "filter: {raw} bukan tanggal (YYYY-MM-DD)",
       "filter: '2026-13-01' is not a date (YYYY-MM-DD)"),
    _m("filter_invalid_timestamp", r"filter: (?P<raw>.+) is not an RFC 3339 timestamp",
       "filter: {raw} is not an RFC 3339 timestamp", "filter: {raw} bukan waktu RFC 3339",
       "filter: 'kemarin' is not an RFC 3339 timestamp"),
    _m("filter_wrong_type", r"filter: arithmetic needs numbers, got a (?P<kind>\w+)",
       "filter: arithmetic needs numbers, got a {kind}", "filter: aritmetika memerlukan angka, bukan {kind}",
       "filter: arithmetic needs numbers, got a string", ("kind",)),
    _m("filter_argument_count", rf"filter: {Q} takes (?P<n>\d+) arguments, got (?P<got>\d+)",
       "filter: {name} takes {n} arguments, got {got}", "filter: {name} memerlukan {n} argumen, bukan {got}",
       "filter: 'like' takes 2 arguments, got 3"),
    _m("filter_wrong_type", rf"filter: cannot compare a (?P<a>\w+) with a (?P<b>\w+) using {Q}",
       "filter: cannot compare a {a} with a {b} using {name}",
       "filter: {a} tidak dapat dibandingkan dengan {b} memakai {name}",
       "filter: cannot compare a string with a number using '='", ("a", "b")),
    _m("filter_not_a_condition", r"filter: expected a condition, got (?P<raw>.+)",
       "filter: expected a condition, got {raw}", "filter: diharapkan sebuah kondisi, bukan {raw}",
       "filter: expected a condition, got 5"),
    _m("filter_argument_count", r"filter: (?P<op>AND|OR) needs two or more conditions",
       "filter: {op} needs two or more conditions", "filter: {op} memerlukan dua kondisi atau lebih",
       "filter: AND needs two or more conditions"),
    _m("filter_wrong_type", r"filter: compare geometries with S_EQUALS, not =",
       "filter: compare geometries with S_EQUALS, not =", "filter: bandingkan geometri dengan S_EQUALS, bukan =",
       "filter: compare geometries with S_EQUALS, not ="),
    _m("filter_wrong_type", r"filter: LIKE needs strings", "filter: LIKE needs strings",
       "filter: LIKE memerlukan teks", "filter: LIKE needs strings"),
    _m("filter_empty_list", r"filter: IN needs a non-empty list", "filter: IN needs a non-empty list",
       "filter: IN memerlukan daftar yang tidak kosong", "filter: IN needs a non-empty list"),
    _m("filter_wrong_type", r"filter: (?P<op>[A-Z_]+) needs two geometries", "filter: {op} needs two geometries",
       "filter: {op} memerlukan dua geometri", "filter: S_INTERSECTS needs two geometries"),
    _m("filter_unsupported_operator", rf"filter: the operator {Q} is not supported",
       "filter: the operator {name} is not supported", "filter: operator {name} tidak didukung",
       "filter: the operator 'a_contains' is not supported"),
    _m("unsupported_crs", r"filter-crs: unsupported EPSG:(?P<srid>\d+)", "filter-crs: unsupported EPSG:{srid}",
       "filter-crs: EPSG:{srid} tidak didukung", "filter-crs: unsupported EPSG:3857"),
    _m("filter_too_long", r"filter: too long \((?P<n>[\d,]+) characters; at most (?P<max>[\d,]+), (?P<setting>\w+)\)",
       "filter: too long ({n} characters; at most {max}, {setting})",
       "filter: terlalu panjang ({n} karakter; paling banyak {max}, {setting})",
       "filter: too long (5,001 characters; at most 5,000, PETA_FILTER_MAX_CHARS)"),
    _m("filter_too_deep", r"filter: nested too deeply \(at most (?P<max>\d+) levels of parentheses, NOT, functions or"
       r" chained arithmetic, (?P<setting>\w+)\)",
       "filter: nested too deeply (at most {max} levels of parentheses, NOT, functions or chained arithmetic,"
       " {setting})",
       "filter: bersarang terlalu dalam (paling banyak {max} tingkat tanda kurung, NOT, fungsi atau aritmetika"
       " berantai, {setting})",
       "filter: nested too deeply (at most 40 levels of parentheses, NOT, functions or chained arithmetic,"
       " PETA_FILTER_MAX_DEPTH)"),
    _m("filter_too_many_terms", r"filter: too many terms \(at most (?P<max>[\d,]+) values, names and operators,"
       r" (?P<setting>\w+)\)",
       "filter: too many terms (at most {max} values, names and operators, {setting})",
       "filter: terlalu banyak unsur (paling banyak {max} nilai, nama dan operator, {setting})",
       "filter: too many terms (at most 2,000 values, names and operators, PETA_FILTER_MAX_NODES)"),
    _m("too_many_vertices", r"filter: the geometries have (?P<n>[\d,]+) vertices; at most (?P<max>[\d,]+) for"
       r" (?P<who>\w+) requests \((?P<setting>\w+)\)",
       "filter: the geometries have {n} vertices; at most {max} for {who} requests ({setting})",
       "filter: geometrinya memiliki {n} titik sudut; paling banyak {max} untuk permintaan {who} ({setting})",
       "filter: the geometries have 20,001 vertices; at most 20,000 for anonymous requests"
       " (PETA_MAX_VERTICES_ANONYMOUS)", ("who",)),
    _m("too_many_vertices", r"the polygon has (?P<n>[\d,]+) vertices; at most (?P<max>[\d,]+) for (?P<who>\w+)"
       r" requests \((?P<setting>\w+)\)",
       "the polygon has {n} vertices; at most {max} for {who} requests ({setting})",
       "poligon memiliki {n} titik sudut; paling banyak {max} untuk permintaan {who} ({setting})",
       "the polygon has 20,001 vertices; at most 20,000 for staff requests (PETA_MAX_VERTICES)", ("who",)),
    # --- two-step approval (verval.approval) ------------------------------------------------------------------
    _m("second_step_head_only", r"verification (?P<id>\d+) was checked by (?P<by>.+); the second step is a head of"
       r" office's",
       "verification {id} was checked by {by}; the second step is a head of office's",
       "verifikasi {id} sudah diperiksa oleh {by}; langkah kedua dilakukan oleh kepala dinas",
       "verification 7 was checked by koor; the second step is a head of office's"),
    _m("four_eyes", r"verification (?P<id>\d+) was checked by you \((?P<by>.+)\): another person, a head of office,"
       r" decides it \(four eyes\)",
       "verification {id} was checked by you ({by}): another person, a head of office, decides it (four eyes)",
       "verifikasi {id} sudah Anda periksa ({by}): yang memutuskannya harus orang lain, yaitu kepala dinas"
       " (prinsip empat mata)",
       "verification 7 was checked by you (kadis): another person, a head of office, decides it (four eyes)"),
    # --- files sent to the API: prelists and programme rosters (registry.tables, .prelist, .rosters, verval.prelist)
    _m("file_empty", r"(?P<file>.+?): the file is empty(?P<more>(?: \(no header row\))?)",
       "{file}: the file is empty{more}", "{file}: berkas kosong", "x.csv: the file is empty (no header row)"),
    _m("file_no_header", r"(?P<file>.+?): no header row: the first (?P<n>\d+) rows are blank",
       "{file}: no header row: the first {n} rows are blank",
       "{file}: tidak ada baris judul kolom: {n} baris pertama kosong",
       "x.csv: no header row: the first 50 rows are blank"),
    _m("file_no_rows", r"(?P<file>.+?): no rows under the header", "{file}: no rows under the header",
       "{file}: tidak ada baris data di bawah judul kolom", "x.csv: no rows under the header"),
    _m("file_too_many_rows", r"(?P<file>.+?): (?P<found>.+); at most (?P<max>[\d,]+) rows under the header are read"
       r" \(blank rows count too\)",
       "{file}: {found}; at most {max} rows under the header are read (blank rows count too)",
       "{file}: {found}; paling banyak {max} baris di bawah judul kolom yang dibaca (baris kosong ikut dihitung)",
       "x.csv: more than 100,001 rows in all; at most 100,000 rows under the header are read (blank rows count too)"),
    _m("file_too_many_rows", r"(?P<file>.+?): (?P<found>.+); a worksheet holds at most (?P<max>[\d,]+) rows",
       "{file}: {found}; a worksheet holds at most {max} rows",
       "{file}: {found}; sebuah lembar kerja memuat paling banyak {max} baris",
       "x.xlsx: sheet 'S' declares cells down to row 2,000,000; a worksheet holds at most 1,048,576 rows"),
    _m("file_old_excel", r"(?P<file>.+?): old Excel \.xls \(or password-protected\) workbook; save it as \.xlsx or CSV",
       "{file}: old Excel .xls (or password-protected) workbook; save it as .xlsx or CSV",
       "{file}: buku kerja Excel lama .xls (atau dilindungi kata sandi); simpan sebagai .xlsx atau CSV",
       "x.xls: old Excel .xls (or password-protected) workbook; save it as .xlsx or CSV"),
    _m("file_not_text", r"(?P<file>.+?): not a text CSV file \(binary content; UTF-16 text is not supported\)",
       "{file}: not a text CSV file (binary content; UTF-16 text is not supported)",
       "{file}: bukan berkas teks CSV (isi biner; teks UTF-16 tidak didukung)",
       "x.csv: not a text CSV file (binary content; UTF-16 text is not supported)"),
    _m("file_encoding", r"(?P<file>.+?): line (?P<line>\d+) \(byte (?P<at>[\d,]+)\): not UTF-8 \((?P<reason>.+)\)"
       r" although the text before it is UTF-8: the file mixes encodings; save it again as CSV UTF-8",
       "{file}: line {line} (byte {at}): not UTF-8 ({reason}) although the text before it is UTF-8: the file mixes"
       " encodings; save it again as CSV UTF-8",
       "{file}: baris {line} (bita {at}): bukan UTF-8 ({reason}) padahal teks sebelumnya UTF-8: berkas mencampur"
       " pengodean; simpan ulang sebagai CSV UTF-8",
       "x.csv: line 3 (byte 120): not UTF-8 (invalid start byte, byte 0xE9) although the text before it is UTF-8:"
       " the file mixes encodings; save it again as CSV UTF-8"),
    _m("file_encoding", r"(?P<file>.+?): line (?P<line>\d+) \(byte (?P<at>[\d,]+)\): byte (?P<byte>0x[0-9A-F]{2}) is"
       r" neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8",
       "{file}: line {line} (byte {at}): byte {byte} is neither UTF-8 nor Windows-1252 text; save the file as CSV"
       " UTF-8",
       "{file}: baris {line} (bita {at}): bita {byte} bukan teks UTF-8 maupun Windows-1252; simpan berkas sebagai"
       " CSV UTF-8",
       "x.csv: line 2 (byte 40): byte 0x81 is neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8"),
    _m("file_encoding", r"(?P<file>.+?): after line (?P<line>\d+): not text of the file's encoding \((?P<reason>.+)\)",
       "{file}: after line {line}: not text of the file's encoding ({reason})",
       "{file}: setelah baris {line}: bukan teks dalam pengodean berkas ({reason})",
       "x.csv: after line 9: not text of the file's encoding (invalid start byte)"),
    _m("file_bad_csv", r"(?P<file>.+?): line (?P<line>\d+): not a readable CSV record: (?P<reason>.+)",
       "{file}: line {line}: not a readable CSV record: {reason}",
       "{file}: baris {line}: bukan rekaman CSV yang dapat dibaca: {reason}",
       "x.csv: line 4: not a readable CSV record: field larger than field limit (131072)"),
    _m("file_bad_xlsx", r"(?P<file>.+?): not an XLSX workbook \(not a zip archive\)",
       "{file}: not an XLSX workbook (not a zip archive)", "{file}: bukan buku kerja XLSX (bukan arsip zip)",
       "x.xlsx: not an XLSX workbook (not a zip archive)"),
    _m("file_bad_xlsx", r"(?P<file>.+?): cannot read as an XLSX workbook: (?P<reason>.+)",
       "{file}: cannot read as an XLSX workbook: {reason}", "{file}: tidak dapat dibaca sebagai buku kerja XLSX:"
       " {reason}", "x.xlsx: cannot read as an XLSX workbook: bad zip"),
    _m("file_bad_xlsx", r"(?P<file>.+?): the workbook has no sheets", "{file}: the workbook has no sheets",
       "{file}: buku kerja tidak memiliki lembar", "x.xlsx: the workbook has no sheets"),
    _m("file_bad_xlsx", rf"(?P<file>.+?): sheet {Q} is a chart, not a worksheet",
       "{file}: sheet {name} is a chart, not a worksheet", "{file}: lembar {name} adalah grafik, bukan lembar kerja",
       "x.xlsx: sheet 'Chart1' is a chart, not a worksheet"),
    _m("file_bad_xlsx", rf"(?P<file>.+?): sheet {Q}: cannot read after row (?P<row>\d+): (?P<reason>.+)",
       "{file}: sheet {name}: cannot read after row {row}: {reason}",
       "{file}: lembar {name}: tidak dapat dibaca setelah baris {row}: {reason}",
       "x.xlsx: sheet 'S': cannot read after row 12: bad cell"),
    _m("file_no_column",
       r"(?P<file>.+?): no column no_kk or household_id \(found(?P<where>(?: in row \d+)?): (?P<list>.*)\)",
       "{file}: no column no_kk or household_id (found{where}: {list})",
       "{file}: tidak ada kolom no_kk atau household_id (yang ada: {list})",
       "x.csv: no column no_kk or household_id (found in row 3: nama, alamat)"),
    _m("file_no_column", r"(?P<file>.+?): no column no_kk, nik, kk_hash or nik_hash \(found: (?P<list>.*)\)",
       "{file}: no column no_kk, nik, kk_hash or nik_hash (found: {list})",
       "{file}: tidak ada kolom no_kk, nik, kk_hash atau nik_hash (yang ada: {list})",
       "x.csv: no column no_kk, nik, kk_hash or nik_hash (found: nama, alamat)"),
    _m("rows_unreadable", r"(?P<file>.+?): (?P<n>\d+) rows cannot be read, nothing added",
       "{file}: {n} rows cannot be read, nothing added",
       "{file}: {n} baris tidak dapat dibaca, tidak ada yang ditambahkan",
       "x.csv: 2 rows cannot be read, nothing added"),
    _m("prelist_refused", r"prelist refused, nothing added: (?P<n>\d+) of (?P<m>\d+) rows are wrong",
       "prelist refused, nothing added: {n} of {m} rows are wrong",
       "prelist ditolak, tidak ada yang ditambahkan: {n} dari {m} baris salah",
       "prelist refused, nothing added: 1 of 2 rows are wrong"),
    _m("not_a_prelist_campaign", r"campaign (?P<id>\d+) takes its targets by (?P<kind>\w+), not from a prelist",
       "campaign {id} takes its targets by {kind}, not from a prelist",
       "kampanye {id} mengambil sasarannya menurut {kind}, bukan dari prelist",
       "campaign 4 takes its targets by desil, not from a prelist", ("kind",)),
    # --- the transport (api.middleware) -----------------------------------------------------------------------------
    _m("body_too_large", r"request body larger than (?P<max>[\d,]+) bytes", "request body larger than {max} bytes",
       "isi permintaan lebih besar dari {max} bita", "request body larger than 10,485,760 bytes"),
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
    # issue 18: programme errors
    _m("programme_period", r"period: programme (?P<code>\S+) runs by month, e\.g\. (?P<example>\S+); got (?P<got>.*)",
       "period: programme {code} runs by month, e.g. {example}; got {got}",
       "period: program {code} berjalan per bulan, mis. {example}; diberikan {got}",
       "period: programme PKH runs by month, e.g. 2026-12; got '2026-Q4'"),
    _m("programme_period", r"period: programme (?P<code>\S+) runs by quarter, e\.g\. (?P<example>\S+); got (?P<got>.*)",
       "period: programme {code} runs by quarter, e.g. {example}; got {got}",
       "period: program {code} berjalan per triwulan, mis. {example}; diberikan {got}",
       "period: programme BPNT runs by quarter, e.g. 2026-Q4; got '2026-12'"),
    _m("programme_period", r"period: programme (?P<code>\S+) runs by year, e\.g\. (?P<example>\S+); got (?P<got>.*)",
       "period: programme {code} runs by year, e.g. {example}; got {got}",
       "period: program {code} berjalan per tahun, mis. {example}; diberikan {got}",
       "period: programme KARTU-BAHAGIA runs by year, e.g. 2026; got '2026-12'"),
    _m("programme_period_required", r"period: the roster's period is required \(programme (?P<code>\S+) runs by"
       r" (?P<form>month|quarter|year), e\.g\. (?P<example>\S+)\)",
       "period: the roster's period is required (programme {code} runs by {form}, e.g. {example})",
       "period: periode roster wajib diisi (program {code}, bentuk {form}, mis. {example})",
       "period: the roster's period is required (programme PKH runs by month, e.g. 2026-12)"),
    _m("programme_key_other", r"this key serves programme (?P<own>\S+) only, not (?P<code>\S+)",
       "this key serves programme {own} only, not {code}", "kunci ini hanya melayani program {own}, bukan {code}",
       "this key serves programme PKH only, not KARTU-BAHAGIA"),
    _m("programme_not_found", r"no programme (?P<code>\S+); configured: (?P<list>.*)",
       "no programme {code}; configured: {list}", "program {code} tidak ada; yang dikonfigurasi: {list}",
       "no programme BEASISWA; configured: BPJS-TK, BPNT, PKH"),
    _m("programme_no_rule", r"programme (?P<code>\S+) has no eligibility rule in the configuration \(eligibility:"
       r" \.\.\.\)",
       "programme {code} has no eligibility rule in the configuration (eligibility: ...)",
       "program {code} tidak memiliki aturan kelayakan dalam konfigurasi (eligibility: ...)",
       "programme KARTU-SEHAT has no eligibility rule in the configuration (eligibility: ...)"),
    _m("programme_parent_level", r"parent: (?P<parent>\S+) is not an area code above the (?P<level>\w+) level",
       "parent: {parent} is not an area code above the {level} level",
       "parent: {parent} bukan kode wilayah di atas tingkat {level}",
       "parent: 15.71.01.1001 is not an area code above the kecamatan level"),
    _m("roster_not_found", r"no roster (?P<id>\d+) of programme (?P<code>\S+)", "no roster {id} of programme {code}",
       "roster {id} program {code} tidak ditemukan", "no roster 7 of programme PKH"),
    _m("roster_refused", r"roster refused, nothing kept: (?P<n>\d+) of (?P<rows>\d+) rows are wrong",
       "roster refused, nothing kept: {n} of {rows} rows are wrong",
       "roster ditolak, tidak ada yang disimpan: {n} dari {rows} baris salah",
       "roster refused, nothing kept: 2 of 4 rows are wrong"),
    _m("roster_file_required", r"file: a CSV or XLSX file is required \(multipart form field 'file'\)",
       "file: a CSV or XLSX file is required (multipart form field 'file')",
       "file: berkas CSV atau XLSX wajib dikirim (kolom formulir multipart 'file')",
       "file: a CSV or XLSX file is required (multipart form field 'file')"),
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
