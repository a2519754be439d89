"""Subject access (Law 27/2022): a family's own data and the trail of its processing, as one document."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from db.rows import fetch_dict, fetch_dicts
from gis.ranking import explain

_RECORD = """SELECT id, kk_masked, nik_kepala_masked, nama_kepala, alamat, kode_rt, rt_code,
                    ST_X(geom) AS lon, ST_Y(geom) AS lat, jumlah_anggota, programs, desil_resmi, tgl_verval,
                    hasil_verval, source, version, created_at, updated_at,
                    json_build_object({criteria}) AS criteria
             FROM household WHERE kk_hash = %s""".format(
    criteria=", ".join(f"'k{i:02d}', k{i:02d}" for i in range(1, 15))
)


async def subject_export(conn: AsyncConnection[Any], kk_hash: str, actor: str) -> dict[str, Any] | None:
    """Everything held on the family with this KK (current record, versions, ranking, audit trail); None if
    unknown. The export itself is audited as a read."""
    record = await fetch_dict(conn, _RECORD, (kk_hash,))
    if record is None:
        return None
    hid = record["id"]
    secret = ("kk_hash", "nik_kepala_hash")
    versions = [
        {k: v for k, v in row["data"].items() if k not in secret} | {"valid_to": row["valid_to"]}
        for row in await fetch_dicts(
            conn, "SELECT data, valid_to FROM household_version WHERE household_id = %s ORDER BY version", (hid,)
        )
    ]
    trail = await fetch_dicts(
        conn,
        """SELECT id, at, actor, role, action, reason FROM audit_log
           WHERE object_type = 'household' AND %s = ANY (object_ids) AND at >= %s ORDER BY id""",
        (str(hid), record["created_at"]),
    )
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO audit_log (id, kota_code, actor, role, action, object_type, object_ids, reason, prev_hash,
                                      hash)
               VALUES (0, %s, %s, 'admin', 'read', 'household', %s, 'subject access export', '', '')""",
            ((record["rt_code"] or "")[:5], actor, [str(hid)]),
        )
    return {"family": record, "ranking": await explain(conn, hid), "previous_versions": versions, "processing": trail}
