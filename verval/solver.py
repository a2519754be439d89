"""Automatic assignment proposal: the campaign's unassigned priority RTs shared among verifiers.

The problem: RTs r, each with a load (its unassigned target families) and a point; verifiers v, each
with a home point and a capacity in families. Find an assignment that
- respects every capacity (an RT is never split),
- keeps each verifier's RTs near home, hence compact (they lie around one point),
- balances workloads: each verifier's share is proportional to their capacity,
- (configurable) never gives an RT head their own RT,
- when the capacity does not cover every RT, serves the most urgent RTs first.

Method, in plane metres (the RTs' own UTM zone: gis.queries.metric_srid):
1. The RTs that fit are the most urgent ones, by priority, up to the total capacity.
2. Greedy by regret: the RT that would lose most by missing its nearest verifier is placed first,
   each on the nearest verifier under a balanced cap (fair share plus half the largest RT load).
   What does not fit there goes to the nearest verifier with real room.
3. Local search: single moves and pairwise swaps between near verifiers, accepted when they lower
   travel + lambda * imbalance (lambda converts imbalance into metres: the median distance from an RT to
   its nearest verifier per family of mean RT load, times `verval.proposal.balance_weight`), never taking
   a verifier beyond the balanced cap, repeated until nothing improves or a pass limit.
The result is a proposal only (verval.proposal): coordinators preview it, edit it and accept it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NEAREST = 12  # candidate verifiers per RT in the local search
PASSES = 8


@dataclass(frozen=True)
class VerifierSpec:
    username: str
    capacity: int | None = None  # families; None: the configured default
    lon: float | None = None  # home; None: the verifier's first scope RT
    lat: float | None = None


@dataclass
class Problem:
    rts: list[dict[str, Any]]  # code, load, priority, x, y
    verifiers: list[dict[str, Any]]  # username, capacity, x, y, own (RT codes)
    keep_off_own: bool
    balance_weight: float = 16.0  # verval.proposal.balance_weight: 0 = travel only
    notes: list[str] = field(default_factory=list)


def solve(problem: Problem) -> dict[str, Any]:
    """The proposal: per verifier their RTs, families and travel; the RTs left out and why; the balance."""
    rts, people = problem.rts, problem.verifiers
    n_v = len(people)
    cap = np.array([p["capacity"] for p in people], dtype=float)
    order = sorted(range(len(rts)), key=lambda i: (-rts[i]["priority"], rts[i]["code"]))
    left_out: list[dict[str, Any]] = []
    chosen, room = [], float(cap.sum())
    for i in order:  # the most urgent RTs that the total capacity can take
        if rts[i]["load"] <= room:
            chosen.append(i)
            room -= rts[i]["load"]
        else:
            left_out.append({"rt_code": rts[i]["code"], "families": rts[i]["load"],
                             "reason": "the verifiers' capacity is used by more urgent RTs"})  # fmt: skip
    if not chosen:
        return _report(problem, {}, left_out)
    r_xy = np.array([[rts[i]["x"], rts[i]["y"]] for i in chosen])
    v_xy = np.array([[p["x"], p["y"]] for p in people])
    dist = np.hypot(r_xy[:, 0, None] - v_xy[None, :, 0], r_xy[:, 1, None] - v_xy[None, :, 1])  # metres, RT x verifier
    if problem.keep_off_own:
        row_of = {rts[i]["code"]: k for k, i in enumerate(chosen)}
        for j, p in enumerate(people):
            for code in p["own"]:
                if code in row_of:
                    dist[row_of[code], j] = np.inf
    load = np.array([rts[i]["load"] for i in chosen], dtype=float)
    share = cap * min(1.0, load.sum() / cap.sum())  # each verifier's fair share of the families
    soft = np.minimum(cap, share + load.max() / 2)
    n_near = min(NEAREST, n_v)
    if n_near < n_v:
        near = np.argpartition(dist, n_near - 1, axis=1)[:, :n_near]
    else:
        near = np.tile(np.arange(n_v), (len(chosen), 1))
    # 1. regret greedy
    sorted_d = np.partition(dist, 1, axis=1)[:, :2] if n_v > 1 else dist
    sorted_d.sort(axis=1)
    regret = (sorted_d[:, 1] - sorted_d[:, 0]) if n_v > 1 else sorted_d[:, 0]
    regret = np.where(np.isfinite(regret), regret, 1e12)
    owner = np.full(len(chosen), -1)
    used = np.zeros(n_v)
    for k in sorted(range(len(chosen)), key=lambda k: (-regret[k], -load[k])):
        j = _place(k, dist, load, used, soft)
        if j < 0:
            j = _place(k, dist, load, used, cap)
        if j < 0:
            i = chosen[k]
            reason = ("no verifier has room for its families (capacities are fragmented)" if np.isfinite(dist[k]).any()
                      else "its only verifier is its own RT head")  # fmt: skip
            left_out.append({"rt_code": rts[i]["code"], "families": rts[i]["load"], "reason": reason})
            continue
        owner[k] = j
        used[j] += load[k]
    # 2. local search
    finite = sorted_d[:, 0][np.isfinite(sorted_d[:, 0])]
    scale = float(np.median(finite)) / max(float(load.mean()), 1.0) if finite.size else 1.0
    lam = problem.balance_weight * scale
    _improve(owner, dist, load, used, soft, share, near, lam)
    plan = {j: [chosen[k] for k in np.flatnonzero(owner == j)] for j in range(n_v)}
    return _report(problem, plan, left_out, dist_of={(chosen[k], owner[k]): dist[k, owner[k]]
                                                     for k in range(len(chosen)) if owner[k] >= 0})  # fmt: skip


def _place(k: int, dist: np.ndarray, load: np.ndarray, used: np.ndarray, limit: np.ndarray) -> int:
    """The nearest verifier (not forbidden) under `limit` after taking RT k, or -1."""
    fits = (used + load[k] <= limit + 1e-9) & np.isfinite(dist[k])
    if not fits.any():
        return -1
    return int(np.argmin(np.where(fits, dist[k], np.inf)))


def _imbalance(used: Any, share: Any) -> Any:
    """(used - share)^2 / share, for scalars or arrays: a verifier far from their share costs quadratically."""
    return (used - share) ** 2 / np.maximum(share, 1.0)


def _improve(
    owner: np.ndarray,
    dist: np.ndarray,
    load: np.ndarray,
    used: np.ndarray,
    soft: np.ndarray,
    share: np.ndarray,
    near: np.ndarray,
    lam: float,
) -> None:
    """Moves and swaps that lower travel + lam * imbalance; no verifier grows beyond its balanced cap
    (one already beyond it, from the greedy's fallback, may only shrink). Each RT's best move, else its
    best swap with an RT of a near verifier, is computed over all candidates at once (numpy)."""
    members: list[set[int]] = [set() for _ in range(len(used))]
    for k, j in enumerate(owner):
        if j >= 0:
            members[int(j)].add(k)

    def fits(j: Any, new: Any) -> Any:
        return (new <= soft[j] + 1e-9) | (new <= used[j])

    for _ in range(PASSES):
        improved = False
        for k in range(len(owner)):
            a = int(owner[k])
            if a < 0:
                continue
            cand = near[k][near[k] != a]
            cand = cand[np.isfinite(dist[k, cand])]
            if cand.size == 0:
                continue
            lk, ua0, dka = load[k], used[a], dist[k, a]
            out_a = _imbalance(ua0 - lk, share[a]) - _imbalance(ua0, share[a])
            # the best move of k to a near verifier
            ub = used[cand] + lk
            delta = (
                dist[k, cand] - dka + lam * (out_a + _imbalance(ub, share[cand]) - _imbalance(used[cand], share[cand]))
            )
            delta = np.where(fits(cand, ub), delta, np.inf)
            i = int(np.argmin(delta))
            if delta[i] < -1e-6:
                b = int(cand[i])
                owner[k], used[a], used[b] = b, ua0 - lk, used[b] + lk
                members[a].discard(k)
                members[b].add(k)
                improved = True
                continue
            # else the best swap of k with an RT m of a near verifier b
            ms = [m for b in cand for m in members[b]]
            if not ms:
                continue
            m_arr = np.array(ms)
            b_arr = np.array([b for b in cand for _ in members[b]])
            ua = ua0 - lk + load[m_arr]
            ub = used[b_arr] - load[m_arr] + lk
            delta = (dist[k, b_arr] + dist[m_arr, a] - dka - dist[m_arr, b_arr]
                     + lam * (_imbalance(ua, share[a]) - _imbalance(ua0, share[a])
                              + _imbalance(ub, share[b_arr]) - _imbalance(used[b_arr], share[b_arr])))  # fmt: skip
            ok = fits(a, ua) & fits(b_arr, ub) & np.isfinite(dist[m_arr, a])
            delta = np.where(ok, delta, np.inf)
            i = int(np.argmin(delta))
            if delta[i] < -1e-6:
                m, b = int(m_arr[i]), int(b_arr[i])
                owner[k], owner[m] = b, a
                used[a] += load[m] - lk
                used[b] += lk - load[m]
                members[a].discard(k)
                members[a].add(m)
                members[b].discard(m)
                members[b].add(k)
                improved = True
        if not improved:
            break


def _report(
    problem: Problem,
    plan: dict[int, list[int]],
    left_out: list[dict[str, Any]],
    dist_of: dict[tuple[int, int], float] | None = None,
) -> dict[str, Any]:
    dist_of = dist_of or {}
    rows = []
    for j, p in enumerate(problem.verifiers):
        mine = sorted(plan.get(j, []), key=lambda i: problem.rts[i]["code"])
        metres = [float(dist_of[(i, j)]) for i in mine]
        xs = [problem.rts[i]["x"] for i in mine]
        ys = [problem.rts[i]["y"] for i in mine]
        spread = (sum(math.hypot(x - sum(xs) / len(xs), y - sum(ys) / len(ys)) for x, y in zip(xs, ys, strict=True))
                  / len(xs)) if xs else 0.0  # fmt: skip
        rows.append({
            "verifier": p["username"], "capacity": p["capacity"], "rt_codes": [problem.rts[i]["code"] for i in mine],
            "families": sum(problem.rts[i]["load"] for i in mine),
            "travel_km": round(sum(metres) / 1000, 2), "farthest_km": round(max(metres, default=0) / 1000, 2),
            "spread_km": round(spread / 1000, 2),
        })  # fmt: skip
    loads = [r["families"] for r in rows]
    all_m = [m for m in dist_of.values()]
    summary = {
        "rts": sum(len(r["rt_codes"]) for r in rows),
        "families": sum(loads),
        "rts_left_out": len(left_out),
        "families_left_out": sum(x["families"] for x in left_out),
        "verifiers": len(rows),
        "verifiers_used": sum(1 for r in rows if r["rt_codes"]),
        "largest_workload": max(loads, default=0),
        "smallest_workload": min(loads, default=0),
        "smallest_used_workload": min((x for x in loads if x), default=0),
        "largest_share_pct": max((round(100 * r["families"] / r["capacity"], 1) for r in rows), default=0),
        "smallest_share_pct": min((round(100 * r["families"] / r["capacity"], 1) for r in rows), default=0),
        "travel_km": round(sum(all_m) / 1000, 2),
        "mean_distance_km": round(sum(all_m) / len(all_m) / 1000, 3) if all_m else 0.0,
        "farthest_km": round(max(all_m, default=0) / 1000, 2),
        "own_rt_kept_off": problem.keep_off_own,
    }
    return {"summary": summary, "verifiers": rows, "left_out": sorted(left_out, key=lambda x: x["rt_code"])}
