"""The programmes the database's configuration defines (core.programmes over peta_config), and the SQL condition
of the kab/kota where one runs."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.config import shipped
from core.errors import NotFound
from core.programmes import Programme, programmes


async def configured(conn: AsyncConnection[Any]) -> dict[str, Programme]:
    """Every programme as the stored settings define it (the shipped national programmes until the settings list
    their own: a database configured before issue 18 holds no programs.national)."""
    cur = await conn.execute("SELECT key, value FROM peta_config WHERE key IN ('programs', 'kab_kota')")
    stored = dict(await cur.fetchall())
    programs = dict(stored.get("programs") or {})
    programs.setdefault("national", shipped("programs")["national"])
    return programmes(programs, stored.get("kab_kota") or {})


async def programme(conn: AsyncConnection[Any], code: str) -> Programme:
    """One programme by code; NotFound naming the codes there are."""
    known = await configured(conn)
    if code not in known:
        raise NotFound(f"no programme {code}; configured: {', '.join(sorted(known)) or 'none'}")
    return known[code]


def runs_in_sql(p: Programme, column: str = "h.kota_code") -> tuple[str, dict[str, Any]]:
    """SQL (with its parameters) true for the kab/kota codes where the programme runs."""
    if p.national:
        return "TRUE", {}
    cond = f"({column} = ANY (%(p_kotas)s::text[]) OR (%(p_dep)s AND NOT {column} = ANY (%(p_not)s::text[])))"
    return cond, {"p_kotas": list(p.kotas), "p_dep": p.deployment, "p_not": list(p.not_in)}


def as_dict(p: Programme) -> dict[str, Any]:
    """A programme as the API shows it (configuration, no personal data)."""
    rule = None if p.rule is None else {**p.rule.__dict__, "categories": list(p.rule.categories),
                                         "criteria": list(p.rule.criteria)}  # fmt: skip
    where = "national" if p.national else ("deployment" if p.deployment else "local")
    return {"code": p.code, "name": p.name, "owner": p.owner, "period": p.period, "eligibility": rule,
            "runs": where, "kab_kota": list(p.kotas), "not_in": list(p.not_in)}  # fmt: skip
