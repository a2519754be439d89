"""Printable documents: the berita acara (minutes) of a kelurahan's community meeting as a PDF."""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

COLUMNS = [  # (key, heading, width in mm)
    ("rt_code", "RT", 42), ("kk_masked", "No. KK", 34), ("nama_kepala", "Kepala keluarga", 45),
    ("alamat", "Alamat", 55), ("hasil", "Hasil", 38), ("jumlah_anggota", "Jiwa", 12),
    ("visited_on", "Tanggal", 22), ("verifier", "Verifikator", 26),
]  # fmt: skip


def berita_acara_pdf(head: dict[str, Any], rows: list[dict[str, Any]], printed_on: date | None = None) -> bytes:
    """A4 landscape: title, the results by RT (the table repeats its heading on every page), a count per
    result, and signature lines for the lurah, the RT heads' representative and the facilitator."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=9.5)
    buf = io.BytesIO()
    # every value from the database is text, never markup: a name like <img src="/etc/passwd"/> or
    # <a href="javascript:..."> would otherwise be read by reportlab as an image or a link (or fail to parse)
    title = f"Berita Acara Musyawarah Kelurahan {head['kelurahan_name']} ({head['kelurahan']})"
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title, author="Peta Verval",
                            subject=head["campaign"])  # fmt: skip
    data = [[Paragraph(f"<b>{_text(h)}</b>", small) for _, h, _ in COLUMNS]]
    for r in rows:
        data.append([Paragraph(_text(r.get(k)), small) for k, _, _ in COLUMNS])
    table = LongTable(data, colWidths=[w * mm for _, _, w in COLUMNS], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))  # fmt: skip
    tally: dict[str, int] = {}
    for r in rows:
        tally[r["hasil"]] = tally.get(r["hasil"], 0) + 1
    summary = Table(
        [[Paragraph(_text(k), small), str(v)] for k, v in sorted(tally.items())] or [["-", "0"]],
        colWidths=[60 * mm, 20 * mm],
    )
    summary.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
    signs = Table([["Lurah", "Perwakilan Ketua RT", "Pendamping / Verifikator"], ["\n\n\n", "", ""],
                   ["(____________________)"] * 3], colWidths=[85 * mm] * 3)  # fmt: skip
    signs.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    story = [
        Paragraph(_text(title), styles["Title"]),
        Paragraph(f"{_text(head['campaign'])} — dicetak {(printed_on or date.today()).isoformat()} — "
                  f"{len(rows)} keluarga dikunjungi", styles["BodyText"]),  # fmt: skip
        Spacer(1, 4 * mm), table, Spacer(1, 6 * mm), Paragraph("Rekapitulasi hasil", styles["Heading3"]), summary,
        Spacer(1, 10 * mm), signs,
    ]  # fmt: skip
    doc.build(story)
    return buf.getvalue()


def _text(value: object) -> str:
    """A value as literal paragraph text: &, < and > escaped, so reportlab parses no tag or entity in it."""
    return escape("" if value is None else str(value))
