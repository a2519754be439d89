"""What a visit records: the Visit a verifier sends, the result codes, the members' relations, and member
records that keep no NIK in clear."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.privacy import keyed_hash, mask_number


@dataclass(frozen=True)
class Visit:
    """One visit as the verifier sends it (from the phone, or a form)."""

    client_id: str
    campaign_id: int
    household_id: int
    result_code: int
    visited_at: Any  # an aware datetime
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    jumlah_anggota: int | None = None
    criteria: tuple[bool, ...] | None = None
    photo_sha256: str | None = None
    notes: str | None = None
    members: tuple[dict[str, Any], ...] | None = None  # as `member_records` makes them: no NIK in clear


RELATIONS = ("kepala", "suami_istri", "anak", "menantu", "cucu", "orang_tua", "mertua", "famili_lain", "lainnya")


def member_records(members: list[dict[str, Any]], key: bytes) -> tuple[dict[str, Any], ...]:
    """Members as stored with a visit: a NIK becomes its keyed hash and masked form (the number is dropped)."""
    out = []
    for i, m in enumerate(members, 1):
        rec = {k: m.get(k) for k in ("nama", "hubungan", "jenis_kelamin", "tahun_lahir")}
        nik = (m.get("nik") or "").strip()
        if nik:
            if not (len(nik) == 16 and nik.isdigit()):
                raise InputError(f"member {i}: a NIK has 16 digits")
            rec["nik_hash"], rec["nik_masked"] = keyed_hash(key, nik), mask_number(nik)
        out.append(rec)
    return tuple(out)


RESULTS = {1: "terverifikasi", 2: "tidak ditemukan", 3: "pindah / bangunan tidak ada", 4: "bagian keluarga lain",
           5: "ganda", 6: "meninggal", 7: "tidak layak"}  # fmt: skip
