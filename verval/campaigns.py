"""Verification campaigns and their target families.

A campaign belongs to one kab/kota (its targets are that kab/kota's families; by default the one kab/kota loaded).
A family counts as verified for a campaign when its last verification (`household.tgl_verval`) falls on or after
the campaign's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection

from core.errors import Conflict, InputError, NotFound
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    target_kind: str  # desil, category or prelist
    starts_on: date
    ends_on: date
    desil_min: int | None = None
    desil_max: int | None = None
    categories: tuple[str, ...] = ()
    cutoff_day: int = 17
    kota: str | None = None  # the kab/kota code; None: the one kab/kota loaded


async def campaign_kota(conn: AsyncConnection[Any], kota: str | None, scope: tuple[str, ...] | None = None) -> str:
    """The kab/kota a new campaign belongs to: the one named (loaded, and sharing ground with `scope`, else as if
    absent), or the one kab/kota loaded; InputError naming the choice when several are and none is named."""
    cur = await conn.execute(scoped("SELECT code FROM area WHERE level = 'kota' AND SHARES_SCOPE(code) ORDER BY code"),
                             {"scope": scope_param(scope)})  # fmt: skip
    loaded = [code for (code,) in await cur.fetchall()]
    if kota is not None:
        if kota not in loaded:
            raise NotFound(f"no kab/kota {kota}" + (f"; loaded: {', '.join(loaded)}" if loaded else ""))
        return kota
    if len(loaded) == 1:
        return loaded[0]
    if not loaded:
        raise InputError("no kab/kota is loaded: import boundaries first")
    raise InputError(f"several kab/kota are loaded ({', '.join(loaded)}): name the campaign's kab/kota")


async def create_campaign(
    conn: AsyncConnection[Any], spec: CampaignSpec, actor: str, scope: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A new campaign of one kab/kota with its targets selected now (desil range or categories of its active
    families). `scope` (core.scope.area_scope): a bounded creator names only a kab/kota of their own ground."""
    if spec.target_kind == "desil" and (spec.desil_min is None or spec.desil_max is None):
        raise InputError("a desil campaign needs desil_min and desil_max")
    if spec.target_kind == "category" and not spec.categories:
        raise InputError("a category campaign needs at least one category")
    if spec.desil_min is not None and spec.desil_max is not None and spec.desil_min > spec.desil_max:
        raise InputError(f"desil_min {spec.desil_min} is above desil_max {spec.desil_max}")
    if spec.ends_on < spec.starts_on:
        raise InputError(f"ends_on {spec.ends_on} is before starts_on {spec.starts_on}")
    kota = await campaign_kota(conn, spec.kota, scope)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """INSERT INTO campaign (name, target_kind, desil_min, desil_max, categories, starts_on, ends_on,
                                         cutoff_day, created_by, kota_code)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (spec.name.strip(), spec.target_kind, spec.desil_min, spec.desil_max, list(spec.categories) or None,
                 spec.starts_on, spec.ends_on, spec.cutoff_day, actor, kota),
            )  # fmt: skip
            row = await cur.fetchone()
            assert row is not None
            cid = int(row[0])
            if spec.target_kind != "prelist":
                await conn.execute(
                    """INSERT INTO campaign_target (campaign_id, household_id, rt_code, kota_code)
                       SELECT %(c)s, h.id, h.rt_code, h.kota_code
                       FROM household h JOIN household_rank r ON r.household_id = h.id AND r.kota_code = h.kota_code
                       WHERE h.active AND starts_with(h.rt_code, %(kota)s || '.')
                         AND ((%(kind)s = 'desil' AND r.local_desil BETWEEN %(lo)s AND %(hi)s)
                              OR (%(kind)s = 'category' AND r.category = ANY (%(cats)s)))""",
                    {"c": cid, "kind": spec.target_kind, "lo": spec.desil_min, "hi": spec.desil_max,
                     "cats": list(spec.categories), "kota": kota},
                )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"a campaign named {spec.name.strip()!r} already exists in {kota}") from exc
    except psycopg.errors.CheckViolation as exc:  # the table's own rules, should a case slip past the above
        raise InputError(f"campaign refused: {exc.diag.message_primary}") from exc
    return await campaign(conn, cid)


async def kota_of(conn: AsyncConnection[Any], cid: int) -> str | None:
    """The kab/kota a campaign belongs to (None: a campaign older than the rule); NotFound when there is none."""
    cur = await conn.execute("SELECT kota_code FROM campaign WHERE id = %s", (cid,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no campaign {cid}")
    return row[0]


# a campaign's number of targets; published (planners) by the cell-key rule like every other count
# each campaign's targets counted in a grouped join, not in a subquery correlated with the campaigns (a reference
# table on Citus, which runs no such subquery); {only} narrows it to one campaign
_TARGETS_JOIN = """LEFT JOIN (SELECT t.campaign_id, count(*) AS n, COALESCE(sum(h.record_key), 0)::bigint AS k
                   FROM campaign_target t JOIN household h ON h.kota_code = t.kota_code AND h.id = t.household_id
                   {only} GROUP BY 1) tg ON tg.campaign_id = c.id"""
_TARGETS = "COALESCE(tg.n, 0)"
_TARGETS_PUBLISHED = "peta_shown(COALESCE(tg.n, 0), COALESCE(tg.k, 0), 1)"


async def campaign(conn: AsyncConnection[Any], cid: int, *, published: bool = False) -> dict[str, Any]:
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    rows = await fetch_dicts(
        conn,
        f"""SELECT c.id, c.name, c.kota_code, c.target_kind, c.desil_min, c.desil_max, c.categories, c.starts_on,
                  c.ends_on, c.cutoff_day, c.created_by, c.created_at, {targets} AS targets
           FROM campaign c {_TARGETS_JOIN.format(only="WHERE t.campaign_id = %(c)s")} WHERE c.id = %(c)s""",
        {"c": cid},
    )
    if not rows:
        raise NotFound(f"no campaign {cid}")
    return rows[0]


async def campaigns(
    conn: AsyncConnection[Any], *, published: bool = False, scope: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Every campaign, newest first; with a `scope`, those of the kab/kota sharing ground with it."""
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    return await fetch_dicts(
        conn,
        scoped(f"""SELECT c.id, c.name, c.kota_code, c.target_kind, c.starts_on, c.ends_on, c.cutoff_day,
                          {targets} AS targets
                   FROM campaign c {_TARGETS_JOIN.format(only="")}
                   WHERE c.kota_code IS NULL OR SHARES_SCOPE(c.kota_code)
                   ORDER BY c.starts_on DESC, c.id DESC"""),
        {"scope": scope_param(scope)},
    )
