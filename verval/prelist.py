"""A prelist (families proposed by the community, by NIK or KK) added to a campaign's targets."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.errors import InputError
from core.privacy import keyed_hash, mask_number
from db.acting import acting_as
from db.rows import fetch_dicts
from gis.scope_sql import scope_param, scoped
from registry.prelist import PrelistEntry
from verval.campaigns import campaign

# joins, no correlated subquery, and the campaign's kab/kota named (Citus: one shard group answers)
_PRELIST = scoped("""
SELECT e.row, e.kk_hash, e.hid, h.id, h.active, h.rt_code, t.household_id IS NOT NULL AS already
FROM unnest(%(rows)s::int[], %(hashes)s::text[], %(hids)s::bigint[]) AS e(row, kk_hash, hid)
LEFT JOIN household h ON ((e.kk_hash IS NOT NULL AND h.kk_hash = e.kk_hash) OR h.id = e.hid)
    AND IN_SCOPE(h.rt_code)
    -- a family of another kab/kota than the campaign's reads as an unknown one
    AND (%(k)s::text IS NULL OR h.kota_code = %(k)s)
LEFT JOIN campaign_target t ON t.kota_code = h.kota_code AND t.campaign_id = %(c)s AND t.household_id = h.id
ORDER BY e.row
""")


async def add_prelist(
    conn: AsyncConnection[Any],
    cid: int,
    entries: list[PrelistEntry],
    key: bytes,
    *,
    partial: bool,
    actor: str,
    scope: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Add a prelist's families (by KK number or household id) to a prelist campaign's targets.

    All or nothing by default: any row that names no active, placed family refuses the whole list with a
    report of every such row. With `partial`, the good rows are added and the others reported. With a
    `scope` (the uploader's), a family outside it does not exist: its row reads exactly as an unknown one's.
    """
    c = await campaign(conn, cid)
    if c["target_kind"] != "prelist":
        raise InputError(f"campaign {cid} takes its targets by {c['target_kind']}, not from a prelist")
    issues: list[str] = []
    rows, hashes, hids = [], [], []
    for e in entries:
        kk = (e.no_kk or "").strip()
        if kk and not (len(kk) == 16 and kk.isdigit()):
            issues.append(f"row {e.row}: no_kk {mask_number(kk)!r} is not 16 digits")
            continue
        if not kk and e.household_id is None:
            issues.append(f"row {e.row}: neither no_kk nor household_id")
            continue
        rows.append(e.row)
        hashes.append(keyed_hash(key, kk) if kk else None)
        hids.append(e.household_id if not kk else None)
    found = await fetch_dicts(conn, _PRELIST, {"c": cid, "k": c["kota_code"], "rows": rows, "hashes": hashes,
                                         "hids": hids, "scope": scope_param(scope)})  # fmt: skip
    seen: dict[int, int] = {}
    good: list[tuple[int, str]] = []
    already = 0
    for f in found:
        what = f"KK {'*' * 6}" if f["kk_hash"] else f"household {f['hid']}"
        if f["id"] is None:
            issues.append(f"row {f['row']}: no family with this {'KK number' if f['kk_hash'] else 'id'}")
        elif not f["active"]:
            issues.append(f"row {f['row']}: {what} is no longer an active family")
        elif f["rt_code"] is None:
            issues.append(f"row {f['row']}: family {f['id']} has no RT (unplaced)")
        elif f["id"] in seen:
            issues.append(f"row {f['row']}: the same family as row {seen[f['id']]}")
        elif f["already"]:
            seen[f["id"]] = f["row"]
            already += 1
        else:
            seen[f["id"]] = f["row"]
            good.append((f["id"], f["rt_code"]))
    if issues and not partial:
        raise InputError(f"prelist refused, nothing added: {len(issues)} of {len(entries)} rows are wrong", issues)
    async with conn.transaction():
        await acting_as(conn, actor)
        await conn.execute(
            "INSERT INTO campaign_target (campaign_id, household_id, rt_code, kota_code)"
            " SELECT %s, h, r, left(r, 5) FROM unnest(%s::bigint[], %s::text[]) AS x(h, r)",
            (cid, [g[0] for g in good], [g[1] for g in good]),
        )
    return {"rows": len(entries), "added": len(good), "already_targets": already, "refused": len(issues),
            "issues": issues, "targets": (await campaign(conn, cid))["targets"]}  # fmt: skip
