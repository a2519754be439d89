"""Verification campaigns and their target families.

A family counts as verified for a campaign when its last verification (`household.tgl_verval`) falls
on or after the campaign's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection

from core.errors import Conflict, InputError, NotFound
from db.rows import fetch_dicts


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


async def create_campaign(conn: AsyncConnection[Any], spec: CampaignSpec, actor: str) -> dict[str, Any]:
    """A new campaign with its targets selected now (desil range or categories of the active families)."""
    if spec.target_kind == "desil" and (spec.desil_min is None or spec.desil_max is None):
        raise InputError("a desil campaign needs desil_min and desil_max")
    if spec.target_kind == "category" and not spec.categories:
        raise InputError("a category campaign needs at least one category")
    if spec.desil_min is not None and spec.desil_max is not None and spec.desil_min > spec.desil_max:
        raise InputError(f"desil_min {spec.desil_min} is above desil_max {spec.desil_max}")
    if spec.ends_on < spec.starts_on:
        raise InputError(f"ends_on {spec.ends_on} is before starts_on {spec.starts_on}")
    try:
        async with conn.transaction():
            cur = await conn.execute(
                """INSERT INTO campaign (name, target_kind, desil_min, desil_max, categories, starts_on, ends_on,
                                         cutoff_day, created_by)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (spec.name.strip(), spec.target_kind, spec.desil_min, spec.desil_max, list(spec.categories) or None,
                 spec.starts_on, spec.ends_on, spec.cutoff_day, actor),
            )  # fmt: skip
            row = await cur.fetchone()
            assert row is not None
            cid = int(row[0])
            if spec.target_kind != "prelist":
                await conn.execute(
                    """INSERT INTO campaign_target (campaign_id, household_id, rt_code)
                       SELECT %(c)s, h.id, h.rt_code FROM household h JOIN household_rank r ON r.household_id = h.id
                       WHERE h.active AND h.rt_code IS NOT NULL
                         AND ((%(kind)s = 'desil' AND r.local_desil BETWEEN %(lo)s AND %(hi)s)
                              OR (%(kind)s = 'category' AND r.category = ANY (%(cats)s)))""",
                    {"c": cid, "kind": spec.target_kind, "lo": spec.desil_min, "hi": spec.desil_max,
                     "cats": list(spec.categories)},
                )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"a campaign named {spec.name.strip()!r} already exists") from exc
    except psycopg.errors.CheckViolation as exc:  # the table's own rules, should a case slip past the above
        raise InputError(f"campaign refused: {exc.diag.message_primary}") from exc
    return await campaign(conn, cid)


# a campaign's number of targets; published (planners) by the cell-key rule like every other count
_TARGETS = """(SELECT count(*) FROM campaign_target t WHERE t.campaign_id = c.id)"""
_TARGETS_PUBLISHED = """(SELECT peta_shown(count(*), COALESCE(sum(h.record_key), 0)::bigint, 1)
                         FROM campaign_target t JOIN household h ON h.id = t.household_id WHERE t.campaign_id = c.id)"""


async def campaign(conn: AsyncConnection[Any], cid: int, *, published: bool = False) -> dict[str, Any]:
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    rows = await fetch_dicts(
        conn,
        f"""SELECT c.id, c.name, c.target_kind, c.desil_min, c.desil_max, c.categories, c.starts_on, c.ends_on,
                  c.cutoff_day, c.created_by, c.created_at, {targets} AS targets
           FROM campaign c WHERE c.id = %s""",
        (cid,),
    )
    if not rows:
        raise NotFound(f"no campaign {cid}")
    return rows[0]


async def campaigns(conn: AsyncConnection[Any], *, published: bool = False) -> list[dict[str, Any]]:
    targets = _TARGETS_PUBLISHED if published else _TARGETS
    return await fetch_dicts(
        conn,
        f"""SELECT c.id, c.name, c.target_kind, c.starts_on, c.ends_on, c.cutoff_day, {targets} AS targets
           FROM campaign c ORDER BY c.starts_on DESC, c.id DESC""",
    )
