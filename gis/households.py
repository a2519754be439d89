"""One family's record for authorised readers, and the audit entry every such read leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql

from core.principal import Principal
from core.scope import PERSONAL_DATA_ROLES
from db.rows import fetch_dict, fetch_dicts
from gis.scope_sql import records_sql

_FAMILY = """
SELECT h.id, h.kk_masked, h.nik_kepala_masked, h.nama_kepala, h.alamat, h.rt_code, h.kode_rt,
       round(ST_X(h.geom)::numeric, 6)::float8 AS lon, round(ST_Y(h.geom)::numeric, 6)::float8 AS lat,
       h.placement, h.jumlah_anggota, h.bps_count,
       json_build_object({criteria}) AS criteria,
       h.programs, h.desil_resmi, r.score::float8 AS score, r.local_desil, r.category,
       h.tgl_verval, h.hasil_verval, h.version, h.updated_at
FROM household h LEFT JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id
WHERE h.id = {{id}} AND {{visible}}
""".format(criteria=", ".join(f"'k{i:02d}', h.k{i:02d}" for i in range(1, 15)))


async def family(conn: AsyncConnection[Any], household_id: int, principal: Principal) -> dict[str, Any] | None:
    """The family's record with masked identity numbers when the principal may read it (core.scope), else None:
    outside the scope a family does not exist."""
    if principal.role not in PERSONAL_DATA_ROLES:
        return None
    query = sql.SQL(_FAMILY).format(id=sql.Literal(household_id), visible=records_sql(principal))
    return await fetch_dict(conn, query)


_CHAIN_OF = {  # where a read object's kab/kota is found, by object type: the table holding its id
    "household": "household",
    "verification": "verification",
    "verification_photo": "verification",  # "<verification id>:<sha256>"
}


async def audit_read(
    conn: AsyncConnection[Any], actor: str, role: str, object_type: str, ids: list[str],
    kotas: Sequence[str] | None = None,
) -> None:
    """Record that personal data was read (the caller commits it with the response): one audit row per kab/kota
    of the objects read, in that kab/kota's chain (the ids in the order given; an empty read is recorded too).
    The kab/kota are looked up first and each row is a plain VALUES insert, which Citus routes to its chain's
    shard. `kotas`, when the read was bounded to them (a routed bbox or tile), bounds the lookup too: on Citus it
    then asks their shards only."""
    table = _CHAIN_OF.get(object_type)
    kota_of: dict[str, str] = {}
    keys = sorted({int(i.split(":", 1)[0]) for i in ids if i.split(":", 1)[0].isdigit()})
    if table and keys:
        bound = sql.SQL("") if kotas is None else sql.SQL(" AND kota_code = ANY ({}::text[])").format(
            sql.Literal(list(kotas)))  # fmt: skip
        cur = await conn.execute(
            sql.SQL("SELECT id, kota_code FROM {} WHERE id = ANY (%s){}").format(sql.Identifier(table), bound), (keys,)
        )
        kota_of = {str(k): kota for k, kota in await cur.fetchall()}
    chains: dict[str, list[str]] = {}
    for i in ids:
        chains.setdefault(kota_of.get(i.split(":", 1)[0], ""), []).append(i)
    for kota, read in sorted(chains.items()) or [("", [])]:
        await conn.execute(
            """INSERT INTO audit_log (id, kota_code, actor, role, action, object_type, object_ids, prev_hash, hash)
               VALUES (0, %s, %s, %s, 'read', %s, %s, '', '')""",
            (kota, actor, role, object_type, read),
        )


async def trail(conn: AsyncConnection[Any], household_id: int) -> dict[str, Any]:
    """A family's score explained, its earlier versions and its visits (for authorised readers)."""
    from gis.ranking import explain

    versions = await fetch_dicts(
        conn,
        """SELECT version, valid_to, data->>'hasil_verval' AS hasil_verval, data->>'tgl_verval' AS tgl_verval,
                  (data->>'jumlah_anggota')::int AS jumlah_anggota, (data->>'bps_count')::int AS bps_count
           FROM household_version WHERE household_id = %s ORDER BY version DESC""",
        (household_id,),
    )
    visits = await fetch_dicts(
        conn,
        """SELECT v.id, c.name AS campaign, v.visited_at, u.username AS verifier, v.result_code, v.jumlah_anggota,
                  v.status, v.flags, v.decided_by, v.decided_at
           FROM verification v JOIN campaign c ON c.id = v.campaign_id JOIN app_user u ON u.id = v.verifier_id
           WHERE v.household_id = %s ORDER BY v.visited_at DESC""",
        (household_id,),
    )
    return {
        "explanation": await explain(conn, household_id),
        "versions": versions,
        "visits": visits,
    }
