"""Small hand-built worlds for the tests: areas from envelopes, and what a superuser could do behind the triggers."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

Envelope = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in EPSG:4326


def insert_areas(conn: Any, areas: list[tuple[str, str, str | None, Envelope]]) -> None:
    """(code, level, parent, envelope) rows as areas of population 100, named by their code."""
    for code, level, parent, (x0, y0, x1, y1) in areas:
        conn.execute(
            "INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source, geom_hash)"
            " VALUES (%s, %s, %s, %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)), 1, 100, 'test', %s)",
            (code, code, level, parent, x0, y0, x1, y1, code),
        )


def insert_kota_chains(conn: Any, kotas: tuple[str, ...], box: Envelope, rts: tuple[str, ...] = ("001",)) -> None:
    """For each kab/kota: the kota, its kecamatan 01, kelurahan 1001, RW 001 and the RTs `rts` of that RW, all on
    `box` (several cities in one database, each one chain deep)."""
    areas: list[tuple[str, str, str | None, Envelope]] = []
    for kota in kotas:
        kec, kel, rw = f"{kota}.01", f"{kota}.01.1001", f"{kota}.01.1001.001"
        areas += [(kota, "kota", None, box), (kec, "kecamatan", kota, box), (kel, "kelurahan", kec, box),
                  (rw, "rw", kel, box), *((f"{rw}.{rt}", "rt", rw, box) for rt in rts)]  # fmt: skip
    insert_areas(conn, areas)


def tamper(conn: Any, sql: str, params: object = None) -> None:
    """What an intruder with superuser rights would do: run `sql` with the triggers bypassed (on Citus on the
    workers too: the SET is passed on to the transaction's connections to them)."""
    conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")  # a mere placeholder without Citus
    conn.execute("SET LOCAL session_replication_role = replica")
    conn.execute(sql, params)
    conn.execute("SET LOCAL session_replication_role = origin")


def set_local_programs(conn: Any, codes: tuple[str, ...]) -> None:
    """Configure these local programmes (programs.local); figures count them from the next refresh on."""
    local = [{"code": c, "name": c.title()} for c in codes]
    conn.execute("UPDATE peta_config SET value = %s WHERE key = 'programs'", (Jsonb({"local": local}),))
