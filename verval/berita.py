"""The berita acara (minutes) of a kelurahan's community meeting: its rows, and the printable PDF."""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from psycopg import AsyncConnection
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.errors import NotFound
from db.rows import fetch_dicts
from verval.campaigns import campaign
from verval.records import RESULTS

BERITA_COLUMNS = ["rt_code", "kk_masked", "nama_kepala", "alamat", "hasil", "jumlah_anggota", "visited_on", "verifier",
                  "status", "flags"]  # fmt: skip


async def berita_acara(
    conn: AsyncConnection[Any], cid: int, kelurahan: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The kelurahan's visit results for the community meeting: the latest visit of each family, by RT."""
    c = await campaign(conn, cid)
    cur = await conn.execute("SELECT code, name FROM area WHERE code = %s AND level = 'kelurahan'", (kelurahan,))
    area = await cur.fetchone()
    if area is None:
        raise NotFound(f"no kelurahan {kelurahan}")
    rows = await fetch_dicts(
        conn,
        """SELECT DISTINCT ON (v.household_id) h.rt_code, h.kk_masked, h.nama_kepala, h.alamat, v.result_code,
                  v.jumlah_anggota, (v.visited_at AT TIME ZONE peta_timezone(h.rt_code))::date AS visited_on,
                  u.username AS verifier, v.status, jsonb_array_length(v.flags) AS flags, v.id AS verification_id
           FROM verification v JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
           JOIN app_user u ON u.id = v.verifier_id
           WHERE v.campaign_id = %s AND h.rt_code LIKE %s
           ORDER BY v.household_id, v.visited_at DESC""",
        (cid, kelurahan + ".%"),
    )
    rows.sort(key=lambda r: (r["rt_code"], r["nama_kepala"] or ""))
    for r in rows:
        r["hasil"] = RESULTS.get(r["result_code"], str(r["result_code"]))
    return {"campaign": c["name"], "kelurahan": area[0], "kelurahan_name": area[1]}, rows


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
