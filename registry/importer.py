"""Import a registry file (CSV, XLSX) into `household`: all-or-nothing, or valid rows only with a report."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from core import csvsafe
from core.errors import InputError
from registry.mapping import Mapping
from registry.rows import read_households
from registry.stage import PLACED, STAGE_COLUMNS, add_issues, check_and_place, copy_line, create_stage
from registry.validate import Household

SHOWN_ISSUES = 200
CRITERIA = tuple(f"k{i:02d}" for i in range(1, 15))
# household column <- stage expression; the compared ones decide whether a family changed
DATA = {
    "kk_masked": "kk_masked", "nik_kepala_hash": "nik_hash", "nik_kepala_masked": "nik_masked",
    "nama_kepala": "nama_kepala", "alamat": "alamat", "kode_rt": "kode_rt", "rt_code": "rt_code", "geom": "geom",
    "jumlah_anggota": "jumlah_anggota", **{k: k for k in CRITERIA}, "programs": "programs",
    "desil_resmi": "desil_resmi", "tgl_verval": "tgl_verval", "hasil_verval": "hasil_verval",
    "placement": "placement", "placement_m": "placement_m", "point_rt_code": "point_rt",
}  # fmt: skip
COMPARED = [c for c in DATA if c not in ("placement", "placement_m", "point_rt_code")]

_UPSERT = """
WITH up AS (
    INSERT INTO household AS h (kk_hash, kota_code, {cols}, source, updated_at)
    SELECT kk_hash, left(rt_code, 5), {exprs}, %(source)s, now() FROM ({placed}) s ORDER BY row
    ON CONFLICT (kk_hash, kota_code) DO UPDATE SET ({cols}, source) = ({excluded}, EXCLUDED.source),
        version = h.version + 1, updated_at = EXCLUDED.updated_at  -- now(), given as a value (Citus: no function here)
    WHERE ({current}) IS DISTINCT FROM ({compared})
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
""".format(
    cols=", ".join(DATA),
    exprs=", ".join(DATA.values()),
    excluded=", ".join(f"EXCLUDED.{c}" for c in DATA),
    current=", ".join(f"h.{c}" for c in COMPARED),
    compared=", ".join(f"EXCLUDED.{c}" for c in COMPARED),
    placed=PLACED,
)

_REACH = f"""SELECT count(peta_reach_grow(kota, box)) FROM (
    SELECT left(rt_code, 5) AS kota, ST_Extent(geom)::geometry AS box FROM ({PLACED}) s
    WHERE geom IS NOT NULL GROUP BY 1
) x"""


@dataclass
class HouseholdImport:
    """What an import did or would have done."""

    path: str
    rows: int = 0
    rejected_rows: int = 0
    warnings: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[tuple[int, str, str, str]] = field(default_factory=list)  # the first SHOWN_ISSUES
    report: Path | None = None

    def lines(self) -> list[str]:
        """The shown issues as text, one per line."""
        return [f"row {r}, {c}: {why}" + (" (warning)" if sev == "warning" else "") for r, c, why, sev in self.issues]


def _stream(
    conn: psycopg.Connection,
    path: Path,
    mapping: Mapping,
    key: bytes,
    today: date,
    progress: Callable[[float], None] | None,
    spool: tempfile.SpooledTemporaryFile,
) -> int:  # type: ignore[type-arg]
    """COPY the valid rows into hh_stage and spool the invalid rows' issues; returns the row count."""
    rows = 0
    writer = csv.writer(spool)
    batch: list[str] = []
    with conn.cursor().copy(f"COPY hh_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for result in read_households(path, mapping, key, today=today, progress=progress):
            rows += 1
            if isinstance(result, Household):
                batch.append(copy_line(result))
                if len(batch) == 2000:
                    copy.write("".join(batch))
                    batch.clear()
            else:
                writer.writerows((i.row, i.column, i.reason, "error") for i in result)
        copy.write("".join(batch))
    return rows


def _spooled_issues(spool: tempfile.SpooledTemporaryFile) -> Iterator[list[str]]:  # type: ignore[type-arg]
    spool.seek(0)
    return csv.reader(spool)


def _write_report(conn: psycopg.Connection, target: Path) -> None:
    with target.open("w", newline="") as f:
        writer = csvsafe.writer(f)
        writer.writerow(["row", "column", "reason", "severity"])
        writer.writerows(conn.execute("SELECT row, col, reason, severity FROM hh_issue ORDER BY row, col"))


def import_households(
    conn: psycopg.Connection,
    path: str | Path,
    *,
    key: bytes,
    mapping: Mapping | None = None,
    trust: str = "point",
    tolerance_m: float = 100.0,
    skip_invalid: bool = False,
    report: Path | None = None,
    today: date | None = None,
    progress: Callable[[float], None] | None = None,
) -> HouseholdImport:
    """Import a registry file in one transaction; InputError (nothing written) on any bad row unless skip_invalid."""
    if trust not in ("point", "code"):
        raise ValueError(f"trust must be 'point' or 'code', got {trust!r}")
    path = Path(path)
    result = HouseholdImport(path=str(path), report=report)
    with conn.transaction(), tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", newline="") as spool:
        create_stage(conn)
        result.rows = _stream(conn, path, mapping or Mapping(), key, today or date.today(), progress, spool)
        add_issues(conn, ((int(r), c, why, sev) for r, c, why, sev in _spooled_issues(spool)))
        check_and_place(conn, tolerance_m=tolerance_m, trust=trust)
        _summarise(conn, result)
        if report is not None and result.issues:
            _write_report(conn, report)
        if result.rejected_rows and not skip_invalid:
            more = result.rejected_rows + result.warnings - len(result.issues)
            tail = [f"… and more issues; every one is in {report}"] if more > 0 and report else []
            raise InputError(
                f"{path}: {result.rejected_rows} of {result.rows} rows are invalid, nothing imported"
                " (fix them, or import the valid rows with --skip-invalid)",
                [line for line in result.lines() if not line.endswith("(warning)")] + tail,
            )
        # the box each kab/kota's families are routed by holds the points about to be written (migration 0030)
        conn.execute(_REACH, {"trust": trust})
        row = conn.execute(_UPSERT, {"source": path.name, "trust": trust}).fetchone()
        result.inserted, result.updated = (row[0], row[1]) if row else (0, 0)
        result.unchanged = result.rows - result.rejected_rows - result.inserted - result.updated
    return result


def _summarise(conn: psycopg.Connection, result: HouseholdImport) -> None:
    counts = conn.execute(
        """SELECT count(DISTINCT row) FILTER (WHERE severity = 'error'),
                  count(*) FILTER (WHERE severity = 'warning') FROM hh_issue"""
    ).fetchone()
    result.rejected_rows, result.warnings = counts if counts else (0, 0)
    result.issues = [
        tuple(r)  # type: ignore[misc]
        for r in conn.execute(
            "SELECT row, col, reason, severity FROM hh_issue ORDER BY severity, row, col LIMIT %s", (SHOWN_ISSUES,)
        ).fetchall()
    ]
