"""Interface strings: Bahasa Indonesia by default, English available."""

from __future__ import annotations

LANGS = ("id", "en")

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Peta Verval Kota Jambi",
        "subtitle": "Peta wilayah",
        "rt_density": "Kepadatan penduduk per RT",
        "kel_density": "Kepadatan penduduk per kelurahan",
        "kel_lines": "Batas kelurahan",
        "kec_lines": "Batas kecamatan",
        "code": "Kode",
        "name": "Nama",
        "population": "Penduduk",
        "density": "Jiwa/km²",
        "area": "Luas (m²)",
        "legend": "Jiwa per km²",
        "no_data": "Belum ada data wilayah. Jalankan `peta demo` atau impor batas wilayah.",
        "summary": "{kec} kecamatan · {kel} kelurahan · {rw} RW · {rt} RT · {pop} jiwa",
        "other_lang": "English",
    },
    "en": {
        "title": "Peta Verval Kota Jambi",
        "subtitle": "Area map",
        "rt_density": "Population density by RT",
        "kel_density": "Population density by kelurahan",
        "kel_lines": "Kelurahan boundaries",
        "kec_lines": "Kecamatan boundaries",
        "code": "Code",
        "name": "Name",
        "population": "Population",
        "density": "People/km²",
        "area": "Area (m²)",
        "legend": "People per km²",
        "no_data": "No areas yet. Run `peta demo` or import boundaries.",
        "summary": "{kec} kecamatan · {kel} kelurahan · {rw} RW · {rt} RT · {pop} residents",
        "other_lang": "Bahasa Indonesia",
    },
}


def pick_lang(value: str | None) -> str:
    """A supported language code, Indonesian when unknown."""
    return value if value in LANGS else "id"


def fmt_int(value: int | float | None, lang: str) -> str:
    """Thousands separators as each language writes them."""
    if value is None:
        return "–"
    text = f"{round(value):,}"
    return text.replace(",", ".") if lang == "id" else text
