"""Issue 19, the visit flags (verval.flags: visit_flags, differences, compare_backcheck) with their exact words.

tests/gis/test_edges.py probes each threshold half a unit on both sides; here: the flags it does not reach
(own family, no position, no accuracy), the speed within 0.05 % of its 60 km/h edge (a km or an hour off by
one unit moves it), the numbers each flag's detail shows and also gives as fields of its own (which the portal
words in the interface language), and the words of a disagreeing back-check. Every expected value is written
by hand; the families, users and visits are made in a transaction rolled back after each test (`db` of
tests/gis/test_edges.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import verval.config
import verval.flags
import verval.records
from tests.gis.test_edges import LAT, LON, RT_A, _areas, _family

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SAME = [True] * 9 + [False] * 5


@pytest.fixture
def field(db):  # noqa: F811
    """A family at (LON, LAT) in RT A (KK hash 'kk-field'), a campaign, and verifier rt.uji (own KK 'kk-own')."""
    _areas(db)
    fam = _family(db, "kk-field", RT_A, 9)
    cid = db.execute(
        "INSERT INTO campaign (name, target_kind, desil_min, desil_max, starts_on, ends_on, created_by)"
        " VALUES ('uji', 'desil', 1, 10, '2026-01-01', '2026-12-31', 'test') RETURNING id"
    ).fetchone()[0]
    vid = db.execute(
        "INSERT INTO app_user (username, password_hash, role, scope_level, scope_codes, kk_hash)"
        " VALUES ('rt.uji', 'x', 'verifier', 'rt', %s, 'kk-own') RETURNING id",
        ([RT_A],),
    ).fetchone()[0]
    return {"db": db, "fam": fam, "cid": cid, "vid": vid}


def _east(db, metres: float) -> tuple[float, float]:  # noqa: F811
    """The point `metres` east of the family's point, on the spheroid."""
    return db.execute(
        "SELECT ST_X(p::geometry), ST_Y(p::geometry) FROM (SELECT ST_Project("
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, radians(90)) AS p) x",
        (LON, LAT, metres),
    ).fetchone()


def _earlier(f: dict, at: datetime, *, east_m: float | None = 0.0, rc: int = 1, n: int = 4, criteria=SAME) -> int:
    """A visit already recorded by the verifier (east_m None: without a position); its id."""
    lon, lat = _east(f["db"], east_m) if east_m is not None else (None, None)
    cur = f["db"].execute(
        "INSERT INTO verification (client_id, campaign_id, household_id, verifier_id, result_code, jumlah_anggota,"
        " criteria, visit_geom, accuracy_m, visited_at, kota_code) VALUES (%s, %s, %s, %s, %s, %s, %s,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326), 8, %s, (SELECT kota_code FROM household WHERE id = %s)) RETURNING id",
        (uuid.uuid4(), f["cid"], f["fam"], f["vid"], rc, n, criteria, lon, lat, at, f["fam"]),
    )
    return cur.fetchone()[0]


def _flags(f: dict, at: datetime = T0, *, east_m: float | None = 0.0, accuracy_m: float | None = 8.0, rc: int = 1,
           n: int | None = 4, criteria: list | None = SAME, **cfg) -> list[dict]:  # fmt: skip
    """The flags of a new visit (east_m None: no position), under the default settings but `cfg`."""
    lon, lat = _east(f["db"], east_m) if east_m is not None else (None, None)
    v = verval.records.Visit(client_id=str(uuid.uuid4()), campaign_id=f["cid"], household_id=f["fam"], result_code=rc,
                     visited_at=at, lon=lon, lat=lat, accuracy_m=accuracy_m, jumlah_anggota=n,
                     criteria=tuple(criteria) if criteria is not None else None)  # fmt: skip

    async def go(ac):
        return await verval.flags.visit_flags(ac, v, f["vid"], {**await verval.config.settings(ac), **cfg})

    return f["db"].run(go)


def test_a_visit_at_the_door_with_nothing_before_it_has_no_flag(field):
    assert _flags(field) == []


def _metres(db, a: tuple[float, float], b: tuple[float, float]) -> float:  # noqa: F811
    return db.execute(
        "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)",
        (*a, *b),
    ).fetchone()[0]


def test_a_distance_exactly_at_the_limit_is_not_more_than_it(field):
    """The limit set to the very distance measured (to the last bit): only more than it is flagged."""
    d = _metres(field["db"], (LON, LAT), _east(field["db"], 150))
    assert abs(d - 150) < 1e-6
    assert _flags(field, east_m=150, max_distance_m=d) == []
    assert [f["code"] for f in _flags(field, east_m=150, max_distance_m=d - 1e-9)] == ["far_from_family"]


def test_an_accuracy_exactly_at_the_limit_is_not_worse_than_it(field):
    assert _flags(field, accuracy_m=37.25, max_accuracy_m=37.25) == []
    assert _flags(field, accuracy_m=37.25, max_accuracy_m=37.24) == [
        {"code": "imprecise_gps", "detail": "GPS accuracy 37 m", "accuracy_m": 37.25, "max_accuracy_m": 37.24}
    ]


def test_a_speed_exactly_at_the_limit_is_not_faster_than_it(field):
    """The limit set to the very speed of the hop, computed here from the measured metres and the seconds."""
    _earlier(field, T0 - timedelta(seconds=75))
    hop_m = _metres(field["db"], (LON, LAT), _east(field["db"], 1000))
    speed = hop_m / 1000 / (75 / 3600)  # 48 km/h
    assert abs(speed - 48) < 1e-6
    assert _flags(field, east_m=1000, max_distance_m=2000, max_speed_kmh=speed) == []
    assert [f["code"] for f in _flags(field, east_m=1000, max_distance_m=2000, max_speed_kmh=speed - 1e-9)] == [
        "implausible_speed"
    ]


@pytest.mark.parametrize(("before", "flagged"), [(2, False), (3, True)])
def test_a_burst_at_3_visits_counts_this_one(field, before, flagged):
    """burst_visits 3: this visit and 2 before it within the 10 minutes pass, with 3 before it they do not."""
    for i in range(before):
        _earlier(field, T0 - timedelta(minutes=5) + timedelta(seconds=i), n=i + 1)
    burst = {"code": "too_many_visits", "detail": "4 visits within 10 minutes (more than 3)", "visits": 4,
             "minutes": 10, "max_visits": 3}  # fmt: skip
    assert _flags(field, n=20, burst_visits=3) == ([burst] if flagged else [])


def test_a_visit_to_the_verifiers_own_family_is_flagged(field):
    field["db"].execute("UPDATE app_user SET kk_hash = 'kk-field' WHERE id = %s", (field["vid"],))
    assert _flags(field) == [{"code": "own_family", "detail": "the verifier is a member of this family (same KK)"}]


def test_a_verifier_without_a_kk_of_their_own_is_not_flagged(field):
    field["db"].execute("UPDATE app_user SET kk_hash = NULL WHERE id = %s", (field["vid"],))
    assert _flags(field) == []


def test_a_visit_without_position_or_accuracy_is_flagged_no_position_only(field):
    assert _flags(field, east_m=None, accuracy_m=None) == [
        {"code": "no_position", "detail": "the visit has no GPS position"}
    ]


def test_a_visit_without_position_after_a_positioned_one_has_no_speed(field):
    """The previous visit has a position, this one none: a time since it but no distance, so no speed."""
    _earlier(field, T0 - timedelta(seconds=10), east_m=5000)
    assert _flags(field, east_m=None, n=5) == [{"code": "no_position", "detail": "the visit has no GPS position"}]


def test_far_and_imprecise_show_the_distance_and_the_accuracy(field):
    assert _flags(field, east_m=1234.4, accuracy_m=250.0) == [
        {"code": "far_from_family", "detail": "visit 1,234 m from the family's point (more than 100 m)",
         "distance_m": 1234.4, "max_distance_m": 100},
        {"code": "imprecise_gps", "detail": "GPS accuracy 250 m", "accuracy_m": 250.0, "max_accuracy_m": 100},
    ]


@pytest.mark.parametrize(("kmh", "flagged"), [(59.99, False), (60.01, True)])
def test_speed_within_a_sixtieth_of_a_percent_of_60_kmh(field, kmh, flagged):
    """1,000 m at 59.99 or 60.01 km/h: one unit off the metres per km (999, 1001) or the seconds per hour
    (3599, 3601) crosses the edge; a time floor of an hour instead of 1e-9 h would see 1 km/h."""
    _earlier(field, T0)  # at the family's point
    seconds = round(3600 / kmh, 6)
    flags = _flags(field, T0 + timedelta(seconds=seconds), east_m=1000)
    codes = [f["code"] for f in flags]
    assert codes == (["far_from_family", "implausible_speed"] if flagged else ["far_from_family"])
    if flagged:
        assert flags[1]["detail"] == "1,000 m in 60 s since the previous visit: 60 km/h (more than 60)"


def test_speed_shows_metres_seconds_and_km_per_hour(field):
    _earlier(field, T0 - timedelta(seconds=45), east_m=0.0)
    # 1,500 m (from the family's point, 1,500 m east) in 45 s: 120 km/h
    assert _flags(field, east_m=1500) == [
        {"code": "far_from_family", "detail": "visit 1,500 m from the family's point (more than 100 m)",
         "distance_m": 1500.0, "max_distance_m": 100},
        {"code": "implausible_speed", "detail": "1,500 m in 45 s since the previous visit: 120 km/h (more than 60)",
         "distance_m": 1500.0, "seconds": 45.0, "speed_kmh": 120.0, "max_speed_kmh": 60},
    ]


def test_a_hop_of_a_microsecond_is_timed_as_at_least_a_billionth_of_an_hour(field):
    """50 m one microsecond after the previous visit: the speed is 0.05 km / 1e-9 h, not 0.05 km / 2.8e-10 h."""
    _earlier(field, T0 - timedelta(microseconds=1), east_m=0.0)
    assert _flags(field, east_m=50) == [
        {"code": "implausible_speed", "detail": "50 m in 0 s since the previous visit: 50,000,000 km/h (more than 60)",
         "distance_m": 50.0, "seconds": 0.0, "speed_kmh": 50_000_000.0, "max_speed_kmh": 60}
    ]


def test_a_burst_names_the_number_of_visits_with_this_one(field):
    for i in range(7):  # 7 before, answers differing: 8 within 10 minutes
        _earlier(field, T0 - timedelta(minutes=9) + timedelta(seconds=i), n=i + 1)
    assert _flags(field, n=20) == [{"code": "too_many_visits", "detail": "8 visits within 10 minutes (more than 6)",
                                    "visits": 8, "minutes": 10, "max_visits": 6}]  # fmt: skip


def test_identical_answers_name_the_run_before_this_visit(field):
    _earlier(field, T0 - timedelta(hours=10), n=9)
    for i in range(6):  # 6 identical before, hours apart: the run counts the last 4
        _earlier(field, T0 - timedelta(hours=i + 1))
    assert _flags(field) == [{"code": "identical_answers", "detail": "the same answers as the previous 4 visits",
                              "visits": 4}]  # fmt: skip


def test_three_identical_answers_before_are_not_yet_a_run_of_5(field):
    _earlier(field, T0 - timedelta(hours=10), n=9)
    for i in range(3):
        _earlier(field, T0 - timedelta(hours=i + 1))
    assert _flags(field) == []


def test_identical_answers_without_criteria_compare_the_missing_criteria(field):
    for i in range(4):
        _earlier(field, T0 - timedelta(hours=i + 1), rc=2, n=None, criteria=None)
    assert _flags(field, rc=2, n=None, criteria=None) == [
        {"code": "identical_answers", "detail": "the same answers as the previous 4 visits", "visits": 4}
    ]
    assert _flags(field, rc=2, n=None, criteria=SAME) == []  # the same result, but criteria this time


# --- differences and the back-check comparison ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1, 1, 4, 4, 0), []),
        ((1, 1, 4, 4, None), []),
        ((1, 2, 4, 4, 0), ["result 2 (tidak ditemukan) where 1 (terverifikasi) was recorded"]),
        ((6, 1, 4, 4, 0), ["result 1 (terverifikasi) where 6 (meninggal) was recorded"]),
        ((1, 1, 4, 5, 0), ["5 members where 4 were recorded"]),
        ((1, 1, None, 5, 0), []),
        ((1, 1, 4, None, 0), []),
        ((1, 1, None, None, 0), []),
        ((1, 1, 4, 4, 1), ["1 of the 14 criteria answered differently"]),
        (
            (1, 3, 6, 2, 14),
            [
                "result 3 (pindah / bangunan tidak ada) where 1 (terverifikasi) was recorded",
                "2 members where 6 were recorded",
                "14 of the 14 criteria answered differently",
            ],
        ),
    ],
)
def test_differences_in_words(args, expected):
    assert verval.flags.differences(*args) == expected


def _compare(f: dict, original: int, backcheck: int) -> list:
    async def go(ac):
        await verval.flags.compare_backcheck(ac, original, backcheck, "rt.cek")

    f["db"].run(go)
    return f["db"].execute("SELECT flags FROM verification WHERE id = %s", (original,)).fetchone()[0]


def test_a_disagreeing_back_check_flags_the_visit_it_rechecked_in_words(field):
    original = _earlier(field, T0, rc=1, n=4, criteria=SAME)
    other = [True] * 7 + [False] * 7  # criteria 8 and 9 differ
    backcheck = _earlier(field, T0 + timedelta(days=1), rc=2, n=5, criteria=other)
    assert _compare(field, original, backcheck) == [{
        "code": "backcheck_disagrees",
        "detail": f"back-check {backcheck} by rt.cek: result 2 (tidak ditemukan) where 1 (terverifikasi) was recorded; "
                  "5 members where 4 were recorded; 2 of the 14 criteria answered differently",
        "backcheck_id": backcheck, "by": "rt.cek", "result_code": 2, "original_result_code": 1,
        "members": 5, "original_members": 4, "criteria_differ": 2,
    }]  # fmt: skip


def test_an_agreeing_back_check_leaves_the_visit_unflagged(field):
    original = _earlier(field, T0)
    backcheck = _earlier(field, T0 + timedelta(days=1))
    assert _compare(field, original, backcheck) == []


def test_a_back_check_of_a_missing_visit_changes_nothing(field):
    original = _earlier(field, T0, rc=1)
    backcheck = _earlier(field, T0 + timedelta(days=1), rc=2)
    assert _compare(field, original, 999_999_999) == []  # no back-check row: nothing to compare, no error

    async def go(ac):
        await verval.flags.compare_backcheck(ac, 999_999_999, backcheck, "rt.cek")

    field["db"].run(go)  # no original row: no error
    flags = field["db"].execute("SELECT id, flags FROM verification ORDER BY id").fetchall()
    assert flags == [(original, []), (backcheck, [])]
