"""The proposal solver on small problems whose best answer is known (plane metres, no database)."""

from __future__ import annotations

import random

from verval.solver import Problem, solve


def _rt(code: str, x: float, load: int, priority: float = 50.0, y: float = 0.0) -> dict:
    return {"code": code, "x": x, "y": y, "load": load, "priority": priority}


def _v(name: str, x: float, capacity: int, own: set[str] | None = None, y: float = 0.0) -> dict:
    return {"username": name, "x": x, "y": y, "capacity": capacity, "own": own or set()}


def test_two_clusters_go_to_their_nearest_verifier_with_exact_travel():
    rts = [_rt("a1", 100, 10), _rt("a2", 300, 10), _rt("b1", 9_800, 10), _rt("b2", 9_900, 10)]
    out = solve(Problem(rts, [_v("west", 0, 20), _v("east", 10_000, 20)], keep_off_own=True))
    got = {v["verifier"]: v for v in out["verifiers"]}
    assert got["west"]["rt_codes"] == ["a1", "a2"] and got["east"]["rt_codes"] == ["b1", "b2"]
    assert got["west"]["travel_km"] == 0.4 and got["east"]["travel_km"] == 0.3
    assert got["west"]["spread_km"] == 0.1 and got["west"]["farthest_km"] == 0.3
    s = out["summary"]
    assert (s["rts"], s["families"], s["largest_workload"], s["smallest_workload"], s["travel_km"]) == (4, 40, 20, 20,
                                                                                                       0.7)  # fmt: skip
    assert out["left_out"] == []


def test_workloads_are_balanced_even_when_every_rt_is_near_one_verifier():
    rts = [_rt(f"r{i}", 100 * i, 10) for i in range(1, 5)]  # all near "near"
    out = solve(Problem(rts, [_v("near", 0, 40), _v("far", 5_000, 40)], keep_off_own=True))
    loads = {v["verifier"]: v["families"] for v in out["verifiers"]}
    assert loads == {"near": 20, "far": 20}
    got = {v["verifier"]: v["rt_codes"] for v in out["verifiers"]}
    assert got["near"] == ["r1", "r2"]  # the nearest RTs stay with the nearest verifier


def test_shares_follow_capacities():
    rts = [_rt(f"r{i}", 10 * i, 5) for i in range(12)]  # 60 families
    out = solve(Problem(rts, [_v("big", 0, 80), _v("small", 50, 40)], keep_off_own=True))
    loads = {v["verifier"]: v["families"] for v in out["verifiers"]}
    assert loads == {"big": 40, "small": 20}  # two thirds and one third of 60


def test_when_capacity_is_short_the_most_urgent_rts_are_served():
    rts = [_rt("urgent", 100, 30, priority=90), _rt("middle", 200, 20, priority=60), _rt("low", 300, 10, priority=10)]
    out = solve(Problem(rts, [_v("solo", 0, 35)], keep_off_own=True))
    assert out["verifiers"][0]["rt_codes"] == ["urgent"]
    assert [(x["rt_code"], x["families"]) for x in out["left_out"]] == [("low", 10), ("middle", 20)]
    assert all("more urgent" in x["reason"] for x in out["left_out"])
    assert out["summary"]["families_left_out"] == 30


def test_an_rt_head_is_kept_off_their_own_rt_unless_allowed():
    rts = [_rt("mine", 10, 5), _rt("next", 500, 5)]
    people = [_v("head", 0, 50, own={"mine"}), _v("other", 3_000, 50)]
    kept = {v["verifier"]: v["rt_codes"] for v in solve(Problem(rts, people, keep_off_own=True))["verifiers"]}
    assert "mine" in kept["other"]
    alone = solve(Problem([_rt("mine", 10, 5)], [_v("head", 0, 50, own={"mine"})], keep_off_own=True))
    assert alone["left_out"] == [{"rt_code": "mine", "families": 5, "reason": "its only verifier is its own RT head"}]
    allowed = solve(Problem([_rt("mine", 10, 5)], [_v("head", 0, 50, own={"mine"})], keep_off_own=False))
    assert allowed["verifiers"][0]["rt_codes"] == ["mine"]


def test_an_rt_larger_than_any_verifier_is_reported():
    out = solve(Problem([_rt("huge", 10, 60)], [_v("a", 0, 50), _v("b", 10, 50)], keep_off_own=True))
    assert out["left_out"][0]["rt_code"] == "huge" and "no verifier has room" in out["left_out"][0]["reason"]


def test_random_cities_never_exceed_a_capacity_nor_split_an_rt():
    rng = random.Random(5)
    for _ in range(20):
        rts = [_rt(f"r{i}", rng.uniform(0, 20_000), rng.randint(1, 25), rng.uniform(0, 100), rng.uniform(0, 20_000))
               for i in range(rng.randint(20, 150))]  # fmt: skip
        people = [_v(f"v{j}", rng.uniform(0, 20_000), rng.randint(10, 120), y=rng.uniform(0, 20_000),
                     own={f"r{rng.randrange(len(rts))}"}) for j in range(rng.randint(2, 15))]  # fmt: skip
        out = solve(Problem(rts, people, keep_off_own=True))
        given = [c for v in out["verifiers"] for c in v["rt_codes"]]
        assert len(given) == len(set(given))
        assert sorted(given + [x["rt_code"] for x in out["left_out"]]) == sorted(r["code"] for r in rts)
        load = {r["code"]: r["load"] for r in rts}
        for v, p in zip(out["verifiers"], people, strict=True):
            assert v["families"] == sum(load[c] for c in v["rt_codes"]) <= p["capacity"]
            assert not set(v["rt_codes"]) & p["own"]
