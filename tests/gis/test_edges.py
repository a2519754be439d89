"""Every threshold on both sides of its edge (issue 19), with the expected values written by hand.

Each edge is probed half a unit (or one count) inside and outside the configured value, so that moving
the threshold by one, flipping a comparison or swapping an order fails a test here. The families and
visits are made in a transaction rolled back after each test (the `conn` fixture, or `db` (tests/bridge.py) when the
async code of the API runs too).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import verval.config
import verval.flags
import verval.records
from core.errors import InputError
from gis import figures
from gis.figures import read_stats
from gis.ranking import explain
from tests.bridge import Bridge
from tests.worlds import insert_areas, set_local_programs

KEL = "15.71.01.1001"
RT_A, RT_B = f"{KEL}.001.001", f"{KEL}.001.002"
PROGRAMS = ("PKH", "BPNT", "PBI-JK", "BPJS-TK", "KARTU-SEHAT")
WITHOUT = ("poor_without_pkh", "poor_without_bpnt", "poor_without_pbi_jk", "poor_without_bpjs_tk",
           "poor_without_local")  # fmt: skip
LON, LAT = 103.605, -1.605  # inside RT A

_AREAS = [  # code, level, parent, envelope (xmin, ymin, xmax, ymax)
    ("15.71", "kota", None, (103.60, -1.63, 103.62, -1.60)),  # room for a second kelurahan south of the first
    ("15.71.01", "kecamatan", "15.71", (103.60, -1.63, 103.62, -1.60)),
    (KEL, "kelurahan", "15.71.01", (103.60, -1.62, 103.62, -1.60)),
    (f"{KEL}.001", "rw", KEL, (103.60, -1.62, 103.62, -1.60)),
    (RT_A, "rt", f"{KEL}.001", (103.60, -1.61, 103.61, -1.60)),
    (RT_B, "rt", f"{KEL}.001", (103.61, -1.61, 103.62, -1.60)),
]


def _areas(c: Any) -> None:
    insert_areas(c, _AREAS)


_FAMILY = (
    "INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, geom, jumlah_anggota, programs, record_key,"
    " desil_resmi, "
    + ", ".join(f"k{i:02d}" for i in range(1, 15))
    + ", source) VALUES (%s, '157101******0001', %s, left(%s, 5), ST_SetSRID(ST_MakePoint(%s, %s), 4326),"
    " %s, %s, %s, %s, "
    + ", ".join(["%s"] * 14)
    + ", 'test') RETURNING id"
)


def _family_args(kk: str, rt: str, met: int, *, members: int = 4, programs: tuple[str, ...] = (),
                 key: int = 0, lon: float = LON, lat: float = LAT, desil: int | None = None) -> tuple:  # fmt: skip
    criteria = [True] * met + [False] * (14 - met)
    return (kk, rt, rt, lon, lat, members, list(programs), key, desil, *criteria)


def _family(c: Any, kk: str, rt: str, met: int, **kw: Any) -> int:
    return int(c.execute(_FAMILY, _family_args(kk, rt, met, **kw)).fetchone()[0])



# --- 2. the BPS "9 or more" criteria, in every place it is counted ---------------------------------------

B_LON = 103.615  # inside RT B


@pytest.fixture
def bps_world(db):
    """RT A: one family meeting 8 criteria (no programme). RT B: one meeting 9 (no programme) and one
    meeting 9 with every programme. Record keys 1000, 20 and 300."""
    _areas(db)
    set_local_programs(db, ("KARTU-SEHAT",))
    ids = {
        "a8": _family(db, "kk-a8", RT_A, 8, members=3, key=1000),
        "b9": _family(db, "kk-b9", RT_B, 9, members=5, key=20, lon=B_LON),
        "b9all": _family(db, "kk-b9all", RT_B, 9, members=2, programs=PROGRAMS, key=300, lon=B_LON),
    }
    return db, ids


def test_bps_poor_at_8_and_9_criteria_in_the_stored_figures_and_programme_gaps(bps_world):
    conn, _ = bps_world
    rt = {r["code"]: r for r in conn.call(read_stats, "rt")}
    a, b = rt[RT_A], rt[RT_B]
    assert (a["families"], a["poor_bps_families"], a["poor_bps_people"]) == (1, 0, 0)  # 8 criteria: not poor
    assert (b["families"], b["poor_bps_families"], b["poor_bps_people"]) == (2, 2, 7)  # 9 criteria: poor
    for col in WITHOUT:  # each programme-gap column on its own
        assert (col, a[col]) == (col, 0)
        assert (col, b[col]) == (col, 1)
    kel = conn.call(read_stats, "kelurahan")[0]
    assert (kel["poor_bps_families"], kel["poor_bps_people"]) == (2, 7)
    assert [kel[c] for c in WITHOUT] == [1] * 5


def test_local_programmes_are_the_configured_ones(bps_world):
    """recipients_local and poor_without_local count the programmes of programs.local, any of them; with none
    configured both are 0 (nothing to be without), and a family's code that is not configured counts in neither."""
    conn, _ = bps_world

    def local_cells(codes: tuple[str, ...]) -> dict[str, tuple[int, int, int, int]]:
        """Per RT: the two counts, then their cell keys (record keys a8 1000, b9 20, b9all 300)."""
        set_local_programs(conn, codes)
        conn.execute("SELECT peta_refresh(NULL, NULL)")
        rows = conn.call(read_stats, "rt")
        assert rows
        keys = dict(conn.execute("SELECT code, ARRAY[recipients_local, poor_without_local] FROM area_cell_key"
                                 " WHERE level = 'rt'").fetchall())  # fmt: skip
        return {r["code"]: (r["recipients_local"], r["poor_without_local"], *keys[r["code"]]) for r in rows}

    # the 8-criteria family is not poor; b9all holds KARTU-SEHAT
    assert local_cells(("KARTU-SEHAT",)) == {RT_A: (0, 0, 0, 0), RT_B: (1, 1, 300, 20)}
    assert local_cells(()) == {RT_A: (0, 0, 0, 0), RT_B: (0, 0, 0, 0)}  # nothing to be without
    assert local_cells(("KARTU-LAIN",)) == {RT_A: (0, 0, 0, 0), RT_B: (0, 2, 0, 320)}
    assert local_cells(("KARTU-LAIN", "KARTU-SEHAT")) == {RT_A: (0, 0, 0, 0), RT_B: (1, 1, 300, 20)}
    kel = conn.call(read_stats, "kelurahan")[0]
    assert (kel["recipients_local"], kel["poor_without_local"]) == (1, 1)


def test_bps_poor_at_8_and_9_criteria_in_the_cell_keys(bps_world):
    conn, _ = bps_world
    cols = ", ".join(["poor_bps_families", "poor_bps_people", *WITHOUT])
    keys = dict(conn.execute(f"SELECT code, ARRAY[{cols}] FROM area_cell_key WHERE level = 'rt'").fetchall())
    assert keys[RT_A] == [0] * 7  # the 8-criteria family (key 1000) is in no poor cell
    assert keys[RT_B] == [320, 320] + [20] * 5  # both 9-criteria families; only b9 lacks the programmes


def test_bps_poor_at_8_and_9_criteria_in_the_filtered_figures(bps_world):
    conn, _ = bps_world

    async def go(ac: psycopg.AsyncConnection) -> dict[str, Any]:
        rows = await figures.filtered(ac, "rt", KEL, True, figures.HouseholdFilter(desil_max=10))
        return {r["code"]: r for r in rows}

    rows = conn.run(go)
    assert (rows[RT_A]["families"], rows[RT_A]["poor_bps_families"], rows[RT_A]["poor_bps_people"]) == (1, 0, 0)
    assert (rows[RT_B]["families"], rows[RT_B]["poor_bps_families"], rows[RT_B]["poor_bps_people"]) == (2, 2, 7)


def test_bps_edge_moves_with_the_setting(bps_world):
    """bps_poor_min 8: the 8-criteria family is poor too; 10: nobody is."""
    conn, _ = bps_world
    for threshold, a_poor, b_poor in ((8, 1, 2), (10, 0, 0)):
        conn.execute("UPDATE peta_config SET value = jsonb_set(value, '{bps_poor_min}', %s::jsonb)"
                     " WHERE key = 'ranking'", (str(threshold),))  # fmt: skip
        conn.execute("SELECT peta_refresh(NULL, NULL)")
        rt = {r["code"]: r for r in conn.call(read_stats, "rt")}
        assert (threshold, rt[RT_A]["poor_bps_families"], rt[RT_B]["poor_bps_families"]) == (threshold, a_poor, b_poor)
        assert rt[RT_A]["poor_without_pbi_jk"] == a_poor and rt[RT_B]["poor_without_pkh"] == min(b_poor, 1)


# --- 6. `rank explain`: ranks known by construction ------------------------------------------------------


def test_rank_explain_puts_the_poorest_first(bps_world):
    """With equal weights the two 9-criteria families come before the 8-criteria one; between them the
    larger family (5 members) first. Ranks 1, 2, 3 city-wide and in the kelurahan."""
    conn, ids = bps_world
    got = {k: conn.run(lambda c, i=i: explain(c, i)) for k, i in ids.items()}
    assert [(k, got[k]["local_rank"], got[k]["kelurahan_rank"]) for k in ("b9", "b9all", "a8")] == [
        ("b9", 1, 1), ("b9all", 2, 2), ("a8", 3, 3)]  # fmt: skip
    assert got["b9"]["ranked_families"] == 3
    assert (got["b9"]["score"], got["a8"]["score"]) == (64.29, 57.14)  # 9/14 and 8/14 of 100
    assert (got["b9"]["bps_count"], got["a8"]["bps_count"]) == (9, 8)
    assert [got[k]["local_desil"] for k in ("b9", "b9all", "a8")] == [1, 2, 3]


def test_rank_explain_with_one_more_criterion_overtakes(db):
    conn = db
    """A family meeting 10 criteria in another kelurahan is first city-wide, but first in its own kelurahan
    too; the others move down one city-wide only."""
    _areas(conn)
    conn.execute(
        "INSERT INTO area (code, name, level, parent_code, geom, area_m2, population, source, geom_hash) VALUES"
        " ('15.71.01.1002', 'K2', 'kelurahan', '15.71.01', ST_Multi(ST_MakeEnvelope(103.6, -1.63, 103.62, -1.62,"
        " 4326)), 1, 100, 't', 'k2'), ('15.71.01.1002.001', 'W', 'rw', '15.71.01.1002', ST_Multi(ST_MakeEnvelope("
        "103.6, -1.63, 103.62, -1.62, 4326)), 1, 100, 't', 'w2'), ('15.71.01.1002.001.001', 'R', 'rt',"
        " '15.71.01.1002.001', ST_Multi(ST_MakeEnvelope(103.6, -1.63, 103.62, -1.62, 4326)), 1, 100, 't', 'r2')"
    )
    nine = _family(conn, "kk-9", RT_A, 9, members=1)
    ten = _family(conn, "kk-10", "15.71.01.1002.001.001", 10, members=1, lat=-1.625)
    eight = _family(conn, "kk-8", RT_A, 8, members=9)  # more members do not outweigh one criterion
    got = {n: conn.run(lambda c, i=i: explain(c, i)) for n, i in (("ten", ten), ("nine", nine), ("eight", eight))}
    assert [(n, g["local_rank"], g["kelurahan_rank"]) for n, g in got.items()] == [
        ("ten", 1, 1), ("nine", 2, 1), ("eight", 3, 2)]  # fmt: skip


# --- 3. suppression: shown counts 1..4 hidden, 5 shown; people beside at least 7 shown families --------

HALF = 2**31  # a cell key whose uniform draw is exactly 0.5: noise 0 for counts of 2 or more
ZERO = 0  # draw 0: noise -2 for counts of 2 or more, a count of 1 shows 0


@pytest.mark.parametrize("x,key,expected", [
    (0, HALF, 0), (0, ZERO, 0),     # no family: 0, never hidden
    (1, HALF, None),                # 1 + no noise: hidden
    (1, ZERO, 0),                   # 1 shown as 0 (draw 0 < 0.45)
    (4, HALF, None), (5, HALF, 5),  # the edge without noise
    (6, ZERO, None), (7, ZERO, 5),  # the edge after noise -2: shown 4 hidden, shown 5 published
    (2, HALF + HALF // 2, None),    # draw 0.75 -> noise +1: 3, hidden
    (4, 2**32 - 1, 6),              # draw just under 1 -> noise +2: a count of 4 can show as 6
])  # fmt: skip
def test_peta_shown_at_the_suppression_edge(conn, x, key, expected):
    assert conn.execute("SELECT peta_shown(%s, %s, 1)", (x, key)).fetchone()[0] == expected


def test_peta_shown_edges_without_noise_one_by_one(conn):
    got = [conn.execute("SELECT peta_shown(%s, %s, 1)", (x, HALF)).fetchone()[0] for x in range(0, 8)]
    assert got == [0, None, None, None, None, 5, 6, 7]


@pytest.mark.parametrize("people,families,expected", [
    (30, 6, None), (30, 7, 30),   # the "at least 7 shown families" edge
    (30, None, None), (0, 0, 0),  # hidden families hide the people; a shown 0 shows 0
    (4, 7, None), (5, 7, 5),      # the people count's own small-cell edge
])  # fmt: skip
def test_peta_people_shown_at_its_edges(conn, people, families, expected):
    assert conn.execute("SELECT peta_people_shown(%s, %s)", (people, families)).fetchone()[0] == expected


# --- 4. desil bounds of the filtered figures: the non-staff rule -----------------------------------------


@pytest.mark.parametrize("desil_min,refused", [(None, False), (1, False), (2, True)])
def test_non_staff_desil_min_above_1_is_refused(db, desil_min, refused):
    _areas(db)

    async def go(ac: psycopg.AsyncConnection) -> Any:
        return await figures.filtered(ac, "rt", KEL, False, figures.HouseholdFilter(desil_min=desil_min, desil_max=4))

    if refused:
        with pytest.raises(InputError, match="desil_min is for Dinsos staff"):
            db.run(go)
    else:
        assert {r["code"] for r in db.run(go)} == {RT_A, RT_B}
    # staff may use any lower bound
    assert len(db.run(lambda ac: figures.filtered(ac, "rt", KEL, True, figures.HouseholdFilter(desil_min=2)))) == 2


# --- 1. the objectivity checks of a visit -----------------------------------------------------------------



# --- 1. the objectivity checks of a visit (verval.flags.visit_flags, thresholds from `verval:` in defaults.yaml) --
# max_distance_m 100, max_accuracy_m 100, max_speed_kmh 60, burst_visits 6 within burst_minutes 10,
# identical_run 5: each probed half a unit (or one visit) on both sides.

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SAME = [True] * 9 + [False] * 5


@pytest.fixture
def field(db):
    """A family at (LON, LAT) in RT A, a campaign and the verifier of RT A."""
    _areas(db)
    fam = _family(db, "kk-field", RT_A, 9)
    cid = db.execute(
        "INSERT INTO campaign (name, target_kind, desil_min, desil_max, starts_on, ends_on, created_by)"
        " VALUES ('uji', 'desil', 1, 10, '2026-01-01', '2026-12-31', 'test') RETURNING id"
    ).fetchone()[0]
    vid = db.execute("INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes)"
                     " VALUES ('rt.uji', 'x', 'verifier', 'rt', %s) RETURNING id", ([RT_A],)).fetchone()[0]  # fmt: skip
    return {"db": db, "fam": fam, "cid": cid, "vid": vid}


def _east(db: Bridge, metres: float) -> tuple[float, float]:
    """The point `metres` east of the family's point, on the spheroid (PostGIS ST_Project)."""
    return db.execute("SELECT ST_X(p::geometry), ST_Y(p::geometry) FROM (SELECT ST_Project("
                      "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, radians(90)) AS p) x",
                      (LON, LAT, metres)).fetchone()  # fmt: skip


def _earlier(f: dict, at: datetime, *, east_m: float = 0.0, rc: int = 1, n: int = 4, criteria: list = SAME) -> None:
    """A visit already recorded by the verifier."""
    lon, lat = _east(f["db"], east_m)
    f["db"].execute(
        "INSERT INTO verification (client_id, campaign_id, household_id, verifier_id, result_code, jumlah_anggota,"
        " criteria, visit_geom, accuracy_m, visited_at, kota_code) VALUES (%s, %s, %s, %s, %s, %s, %s,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326), 8, %s, (SELECT kota_code FROM household WHERE id = %s))",
        (uuid.uuid4(), f["cid"], f["fam"], f["vid"], rc, n, criteria, lon, lat, at, f["fam"]),
    )


def _codes(f: dict, at: datetime = T0, *, east_m: float = 0.0, accuracy_m: float = 8.0, rc: int = 1, n: int = 4,
           criteria: list = SAME) -> set[str]:  # fmt: skip
    """The flag codes of a new visit, under the settings in force."""
    lon, lat = _east(f["db"], east_m)
    v = verval.records.Visit(client_id=str(uuid.uuid4()), campaign_id=f["cid"], household_id=f["fam"], result_code=rc,
                     visited_at=at, lon=lon, lat=lat, accuracy_m=accuracy_m, jumlah_anggota=n,
                     criteria=tuple(criteria))  # fmt: skip

    async def go(ac: psycopg.AsyncConnection) -> list[dict[str, str]]:
        return await verval.flags.visit_flags(ac, v, f["vid"], await verval.config.settings(ac))

    return {x["code"] for x in f["db"].run(go)}


@pytest.mark.parametrize("east_m,flagged", [(0.0, False), (99.5, False), (100.5, True), (140.0, True)])
def test_distance_from_the_family_at_100_m(field, east_m, flagged):
    assert ("far_from_family" in _codes(field, east_m=east_m)) is flagged


@pytest.mark.parametrize("accuracy,flagged", [(99.5, False), (100.0, False), (100.5, True)])
def test_gps_accuracy_at_100_m(field, accuracy, flagged):
    assert ("imprecise_gps" in _codes(field, accuracy_m=accuracy)) is flagged


@pytest.mark.parametrize("kmh,flagged", [(59.5, False), (60.5, True)])
def test_speed_between_consecutive_visits_at_60_kmh(field, kmh, flagged):
    _earlier(field, T0)  # at the family's point
    seconds = 1000 / (kmh / 3.6)  # 1,000 m at `kmh`
    codes = _codes(field, T0 + timedelta(seconds=seconds), east_m=1000)
    assert ("implausible_speed" in codes) is flagged


@pytest.mark.parametrize("before,flagged", [(5, False), (6, True)])
def test_burst_of_visits_at_6_within_10_minutes(field, before, flagged):
    """6 visits within 10 minutes pass (this one and 5 before it); a 7th is flagged."""
    for i in range(before):
        _earlier(field, T0 - timedelta(minutes=9, seconds=50) + timedelta(seconds=i), n=i + 1)  # answers differ
    assert ("too_many_visits" in _codes(field, T0, n=20)) is flagged


@pytest.mark.parametrize("oldest,flagged", [(timedelta(minutes=10), True), (timedelta(minutes=10, seconds=30), False)])
def test_burst_window_ends_at_10_minutes(field, oldest, flagged):
    """Six earlier visits, the oldest exactly 10 minutes before (inside the window) or 10.5 minutes before."""
    _earlier(field, T0 - oldest, n=1)
    for i in range(5):
        _earlier(field, T0 - timedelta(minutes=5) + timedelta(seconds=i), n=i + 2)
    assert ("too_many_visits" in _codes(field, T0, n=20)) is flagged


@pytest.mark.parametrize("same_before,flagged", [(3, False), (4, True)])
def test_identical_answers_at_a_run_of_5(field, same_before, flagged):
    """A run of 5 identical visits (this one and 4 before) is flagged; 4 are not. Hours apart: no burst."""
    _earlier(field, T0 - timedelta(hours=10), n=9)  # a different visit before the run
    for i in range(same_before):
        _earlier(field, T0 - timedelta(hours=i + 1))
    assert ("identical_answers" in _codes(field, T0)) is flagged


# --- 5. CQL2 filter bounds exactly at the bound (tests/gis/test_cql_bounds.py probes past it) ------------


@pytest.mark.parametrize("text,refusal", [
    ("a = '" + "x" * 194 + "'", None),  # 200 characters
    ("a = '" + "x" * 195 + "'", "filter: too long (201 characters; at most 200, PETA_FILTER_MAX_CHARS)"),
    ("a IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)", None),  # a, IN and 10 values: 12 terms
    ("a IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)",
     "filter: too many terms (at most 12 values, names and operators, PETA_FILTER_MAX_NODES)"),
])  # fmt: skip
def test_cql_text_at_the_char_and_term_bounds(text, refusal):
    from gis.cql import parse
    from gis.cql_bounds import FilterLimits

    try:
        parse(text, "cql2-text", FilterLimits(max_chars=200, max_depth=4, max_nodes=12))
        got = None
    except InputError as exc:
        got = str(exc)
    assert got == refusal
