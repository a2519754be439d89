"""The area map page as a Folium document; layers load by URL from the API."""

from __future__ import annotations

from typing import Any

import folium
import numpy as np
from branca.element import Element

from portal.i18n import STRINGS, fmt_int
from portal.layers import PALETTE, RemoteGeoJson

JAMBI_CENTRE = (-1.61, 103.61)
LEAFLET = "/static/vendor/leaflet-1.9.4"


def quantile_breaks(values: list[float], classes: int = 5) -> list[float]:
    """Upper bounds of the first classes-1 quantile classes (the last class is open)."""
    clean = np.asarray([v for v in values if v is not None], dtype=float)
    if clean.size == 0:
        return []
    qs = np.quantile(clean, np.linspace(0, 1, classes + 1)[1:-1])
    return sorted({round(float(q), 0) for q in qs})


def _legend(breaks: list[float], title: str, lang: str) -> Element:
    labels, lo = [], 0.0
    for b in breaks + [None]:
        labels.append(f"{fmt_int(lo, lang)} – {fmt_int(b, lang)}" if b is not None else f"> {fmt_int(lo, lang)}")
        lo = b if b is not None else lo
    rows = "".join(
        f"<div><span style='display:inline-block;width:14px;height:14px;background:{PALETTE[i]};"
        f"margin-right:6px;border:1px solid #888'></span>{label}</div>"
        for i, label in enumerate(labels)
    )
    return Element(
        f"<div id='legend' style='position:fixed;bottom:28px;right:10px;z-index:1000;background:white;"
        f"padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif'>"
        f"<b>{title}</b>{rows}</div>"
    )


def _header(t: dict[str, str], summary: str, lang: str) -> Element:
    other = "en" if lang == "id" else "id"
    return Element(
        f"<div id='header' style='position:fixed;top:0;left:0;right:0;height:48px;z-index:1001;"
        f"background:#243b55;color:white;display:flex;align-items:center;gap:16px;padding:0 16px;"
        f"font:15px sans-serif'><b>{t['title']}</b><span>{t['subtitle']}</span>"
        f"<span id='summary' style='opacity:.85'>{summary}</span>"
        f"<a href='?lang={other}' style='margin-left:auto;color:#cfe3ff'>{t['other_lang']}</a></div>"
        "<style>.folium-map{top:48px !important;height:calc(100% - 48px) !important}</style>"
    )


def area_map(
    summary: list[dict[str, Any]], bbox: tuple[float, float, float, float] | None, api_base: str, lang: str
) -> str:
    """The whole page HTML: density choropleth by RT (and kelurahan), outlines of kelurahan and kecamatan."""
    t = STRINGS[lang]
    by_level = {row["level"]: row for row in summary}
    m = folium.Map(location=JAMBI_CENTRE, zoom_start=12, tiles="OpenStreetMap", control_scale=True)
    # Leaflet is served by the app itself: the portal must work without reaching a CDN
    m.default_js = [("leaflet", f"{LEAFLET}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET}/leaflet.css")]
    if bbox:
        m.fit_bounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]])
    fields = [
        ("code", t["code"]),
        ("name", t["name"]),
        ("population", t["population"]),
        ("density_km2", t["density"]),
        ("area_m2", t["area"]),
    ]
    choro_level = "rt" if "rt" in by_level else "kelurahan"
    breaks = quantile_breaks(by_level.get(choro_level, {}).get("densities", []))
    specs = [
        ("rt", t["rt_density"], dict(prop="density_km2", breaks=breaks, weight=0.4, line="#666"), True, 3),
        (
            "kelurahan",
            t["kel_density"],
            dict(
                prop="density_km2",
                breaks=quantile_breaks(by_level.get("kelurahan", {}).get("densities", [])),
                weight=0.8,
            ),
            choro_level != "rt",
            0,
        ),
        ("kelurahan", t["kel_lines"], dict(line="#222", weight=1.5), True, 0),
        ("kecamatan", t["kec_lines"], dict(line="#000", weight=3.0), True, 0),
    ]
    for level, title, style, show, simplify in specs:
        if level not in by_level or style.get("breaks") == []:
            continue  # level not loaded, or a density layer without any population figures
        group = folium.FeatureGroup(name=title, show=show)
        url = f"{api_base}/areas?level={level}&simplify={simplify}"
        key = f"layer{level.capitalize()}{'Fill' if style.get('breaks') is not None else 'Line'}"
        RemoteGeoJson(url, fields=fields, ready_key=key, **style).add_to(group)  # type: ignore[arg-type]
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    root = m.get_root()
    kinds = {lv: fmt_int(by_level.get(lv, {}).get("areas", 0), lang) for lv in ("kecamatan", "kelurahan", "rw", "rt")}
    pop = by_level.get("kota", by_level.get("kecamatan", {})).get("population")
    text = (
        t["summary"].format(
            kec=kinds["kecamatan"], kel=kinds["kelurahan"], rw=kinds["rw"], rt=kinds["rt"], pop=fmt_int(pop, lang)
        )
        if by_level
        else t["no_data"]
    )
    root.html.add_child(_header(t, text, lang))  # type: ignore[attr-defined]
    if breaks:
        root.html.add_child(_legend(breaks, t["legend"], lang))  # type: ignore[attr-defined]
    root.header.add_child(Element(f"<title>{t['title']}</title>"))  # type: ignore[attr-defined]
    return root.render()
