"""HTML and CSV renderings of what the routers answer: OGC pages and feature tables, per-area figures, the
berita acara. Pure functions over values the data layer returned; every text is escaped (HTML) or made
formula-safe (CSV, core.csvsafe) here."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core import csvsafe


def cell(value: Any) -> Any:
    """A value as one table cell: lists joined by ';', nothing as an empty cell."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def _text(value: Any) -> str:
    return html.escape(str(cell(value)))


def page(title: str, body: str, *, style: str = "") -> str:
    """A whole HTML document (Indonesian) titled `title`, with `body` (already HTML) under the heading."""
    css = f"<style>{style}</style>" if style else ""
    return (
        f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{css}</head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def links(items: Iterable[Mapping[str, str]]) -> str:
    """OGC links as a list: title (or rel) linked, then rel and media type."""
    lis = "".join(
        f'<li><a href="{html.escape(lk["href"])}">{html.escape(lk.get("title") or lk["rel"])}</a> '
        f"({html.escape(lk['rel'])}, {html.escape(lk['type'])})</li>"
        for lk in items
    )
    return f"<ul>{lis}</ul>"


def bullets(items: Iterable[str]) -> str:
    """Plain texts as a list."""
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A table with a header row."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_text(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def fields(values: Mapping[str, Any]) -> str:
    """One record as a two-column table: name, value."""
    return (
        "<table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{_text(v)}</td></tr>" for k, v in values.items())
        + "</table>"
    )


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a header row; cells as `cell`, formula-safe."""
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(columns)
    writer.writerows([cell(v) for v in r] for r in rows)
    return out.getvalue()


def records_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """Records with the same keys as CSV, the first record's keys as the header; nothing for no records."""
    if not records:
        return ""
    return csv_text(list(records[0]), (list(r.values()) for r in records))


def _features(features_json: str) -> tuple[list[dict[str, Any]], list[str]]:
    feats = json.loads(features_json)
    names: list[str] = []
    for f in feats:
        names.extend(k for k in f["properties"] if k not in names)
    return feats, names


def features_csv(features_json: str) -> str:
    """GeoJSON features as CSV: the id, every property seen as a column, the geometry as GeoJSON text."""
    feats, names = _features(features_json)
    rows = ([f["id"], *(f["properties"].get(n) for n in names), json.dumps(f["geometry"], separators=(",", ":"))]
            for f in feats)  # fmt: skip
    return csv_text(["id", *names, "geometry"], rows)


def features_table(features_json: str) -> str:
    """GeoJSON features as an HTML table of their ids and properties (the first feature's columns)."""
    feats = json.loads(features_json)
    names = list(feats[0]["properties"]) if feats else []
    return table(["id", *names], ([f["id"], *f["properties"].values()] for f in feats))
