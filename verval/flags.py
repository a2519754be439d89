"""The objectivity checks of a visit (distance, speed, bursts, accuracy, identical runs) and back-check comparison."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from verval.records import RESULTS, Visit

_FLAGS = """
WITH me AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p, %(at)s::timestamptz AS at),
prev AS (
    SELECT v.visit_geom, v.visited_at FROM verification v
    WHERE v.verifier_id = %(v)s AND v.visited_at < %(at)s AND v.visit_geom IS NOT NULL
    ORDER BY v.visited_at DESC LIMIT 1
)
SELECT
    (SELECT ST_Distance(h.geom::geography, me.p::geography) FROM household h, me WHERE h.id = %(h)s),
    (SELECT ST_Distance(prev.visit_geom::geography, me.p::geography) FROM prev, me),
    (SELECT extract(epoch FROM me.at - prev.visited_at) FROM prev, me),
    (SELECT count(*) FROM verification v WHERE v.verifier_id = %(v)s
        AND v.visited_at BETWEEN %(at)s::timestamptz - make_interval(mins => %(burst_min)s) AND %(at)s),
    (SELECT count(*) FROM (
        SELECT v.result_code, v.jumlah_anggota, v.criteria FROM verification v
        WHERE v.verifier_id = %(v)s AND v.visited_at < %(at)s ORDER BY v.visited_at DESC LIMIT %(run)s - 1) r
     WHERE (r.result_code, r.jumlah_anggota, r.criteria)
           IS NOT DISTINCT FROM (%(rc)s::smallint, %(n)s::smallint, %(k)s::boolean[])),
    (SELECT u.kk_hash = h.kk_hash FROM app_user u, household h WHERE u.id = %(v)s AND h.id = %(h)s)
"""


async def visit_flags(
    conn: AsyncConnection[Any], v: Visit, verifier_id: int, cfg: dict[str, Any]
) -> list[dict[str, Any]]:
    """The objectivity checks of one visit, each explained in English (`detail`) and by its numbers (the fields
    beside it, which the portal words in the interface language); thresholds from the 'verval' settings."""
    max_distance_m, max_speed_kmh, max_accuracy_m = cfg["max_distance_m"], cfg["max_speed_kmh"], cfg["max_accuracy_m"]
    burst_visits, burst_minutes, identical_run = cfg["burst_visits"], cfg["burst_minutes"], cfg["identical_run"]
    cur = await conn.execute(_FLAGS, {
        "lon": v.lon, "lat": v.lat, "at": v.visited_at, "v": verifier_id, "h": v.household_id,
        "burst_min": burst_minutes, "run": identical_run, "rc": v.result_code, "n": v.jumlah_anggota,
        "k": list(v.criteria) if v.criteria is not None else None,
    })  # fmt: skip
    home_m, hop_m, hop_s, recent, same, own = await cur.fetchone() or (None, None, None, 0, 0, None)
    flags: list[dict[str, Any]] = []
    if own:
        flags.append({"code": "own_family", "detail": "the verifier is a member of this family (same KK)"})
    if v.lon is None:
        flags.append({"code": "no_position", "detail": "the visit has no GPS position"})
    if home_m is not None and home_m > max_distance_m:
        flags.append({"code": "far_from_family", "detail": f"visit {home_m:,.0f} m from the family's point "
                                                           f"(more than {max_distance_m:,.0f} m)",
                      "distance_m": round(home_m, 1), "max_distance_m": max_distance_m})  # fmt: skip
    if v.accuracy_m is not None and v.accuracy_m > max_accuracy_m:
        flags.append({"code": "imprecise_gps", "detail": f"GPS accuracy {v.accuracy_m:,.0f} m",
                      "accuracy_m": v.accuracy_m, "max_accuracy_m": max_accuracy_m})  # fmt: skip
    if hop_m is not None and hop_s is not None:
        speed = hop_m / 1000 / max(float(hop_s) / 3600, 1e-9)
        if speed > max_speed_kmh:
            flags.append({"code": "implausible_speed", "detail": f"{hop_m:,.0f} m in {float(hop_s):,.0f} s since the "
                          f"previous visit: {speed:,.0f} km/h (more than {max_speed_kmh:,.0f})",
                          "distance_m": round(hop_m, 1), "seconds": round(float(hop_s), 1),
                          "speed_kmh": round(speed, 1), "max_speed_kmh": max_speed_kmh})  # fmt: skip
    if recent + 1 > burst_visits:
        flags.append({"code": "too_many_visits", "detail": f"{recent + 1} visits within {burst_minutes} minutes "
                                                           f"(more than {burst_visits})",
                      "visits": recent + 1, "minutes": burst_minutes, "max_visits": burst_visits})  # fmt: skip
    if same >= identical_run - 1:
        flags.append({"code": "identical_answers", "detail": f"the same answers as the previous {same} visits",
                      "visits": same})  # fmt: skip
    return flags


_DIFFERENCES = """
SELECT o.result_code, b.result_code, o.jumlah_anggota, b.jumlah_anggota,
       (SELECT count(*) FROM unnest(o.criteria) WITH ORDINALITY x(v, i) JOIN unnest(b.criteria) WITH ORDINALITY y(v, i)
            USING (i) WHERE x.v IS DISTINCT FROM y.v)
FROM verification o JOIN verification b ON b.kota_code = o.kota_code WHERE o.id = %s AND b.id = %s
"""


def differences(orig_rc: int, rc: int, orig_n: int | None, n: int | None, criteria_differ: int | None) -> list[str]:
    """How a back-check disagrees with the visit it re-checks, in words (empty: they agree)."""
    out = []
    if orig_rc != rc:
        out.append(f"result {rc} ({RESULTS.get(rc)}) where {orig_rc} ({RESULTS.get(orig_rc)}) was recorded")
    if orig_n is not None and n is not None and orig_n != n:
        out.append(f"{n} members where {orig_n} were recorded")
    if criteria_differ:
        out.append(f"{criteria_differ} of the 14 criteria answered differently")
    return out


async def compare_backcheck(conn: AsyncConnection[Any], original: int, backcheck: int, by: str) -> None:
    """A back-check that disagrees flags the visit it re-checked, so the coordinator sees it there."""
    import json

    cur = await conn.execute(_DIFFERENCES, (original, backcheck))
    row = await cur.fetchone()
    if row is None:
        return
    diff = differences(*row)
    if diff:
        orig_rc, rc, orig_n, n, criteria_differ = row
        flag = {"code": "backcheck_disagrees", "detail": f"back-check {backcheck} by {by}: " + "; ".join(diff),
                "backcheck_id": backcheck, "by": by, "result_code": rc, "original_result_code": orig_rc,
                "members": n, "original_members": orig_n, "criteria_differ": criteria_differ or 0}
        await conn.execute("UPDATE verification SET flags = flags || %s::jsonb WHERE id = %s",
                           (json.dumps([flag]), original))  # fmt: skip
