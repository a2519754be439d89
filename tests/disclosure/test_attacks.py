"""Differencing attacks on the published figures of the full demo city, as every principal outside Dinsos.

Each attack computes, from published responses only, a value for counts whose true value is 1..4 (the
cells small-count protection exists for), and we measure how often that value is the true count. It must
be no better than always guessing the commonest true value among those cells. The truth comes from the
families' rows read directly, never from the product's figures. Each attack is first run on the exact
figures (what the product published before the cell-key method, and what Dinsos staff see): there it
recovers every cell, so the test shows the attack is real. The measured rates are written to
tests/artifacts/disclosure-attacks.json.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.conftest import REPO, _throwaway
from tests.people import PASSWORD, add_users, scope

LEVELS = {"rt": 21, "rw": 17, "kelurahan": 13, "kecamatan": 8, "kota": 5}
PARENT_OF = {"rt": "rw", "rw": "kelurahan", "kelurahan": "kecamatan", "kecamatan": "kota"}
STORED = ("families", "removed_families", "poor_bps_families", "verified_families", "recipients_pkh",
          "poor_without_pkh", "target_families")  # fmt: skip
PRINCIPALS = ("anonymous", "planner", "agency", "verifier")
Cells = dict[tuple, int | None]  # a published (or true) table: cell -> count


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[dict[str, Any]]:
    """The full demo city in its own database, a campaign of local desil 1-2, and the principals."""
    for url in _throwaway(server_url, "attacks"):
        with psycopg.connect(url) as conn:
            load_city(conn, generate_city(DemoConfig(scale=1.0, seed=2026)))
            # record keys are drawn at random on insert; fixed ones here make the run repeatable
            conn.execute("UPDATE household SET record_key = ('x' || left(md5('attack:' || id), 8))::bit(32)::bigint")
            conn.commit()
            rt = conn.execute("SELECT min(code) FROM area WHERE level = 'rt'").fetchone()[0]
            # the filtered tables are read for the kecamatan with the most families (the costliest queries)
            kec = conn.execute("SELECT left(rt_code, 8) FROM household GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                               ).fetchone()[0]  # fmt: skip
        add_users(url, {"plan": ("planner", []), "rt.satu": ("verifier", scope("rt", rt)), "admin": ("admin", [])})
        runner, env = CliRunner(), {"DATABASE_URL": url}
        key = runner.invoke(cli, ["keys", "create", "BPS"], env=env).stdout.strip().splitlines()[-1]
        start, end = date.today() - timedelta(days=400), date.today() + timedelta(days=60)
        made = runner.invoke(cli, ["campaign", "create", "Serangan", "--starts", str(start), "--ends", str(end),
                                   "--desil", "1-2"], env=env)  # fmt: skip
        assert made.exit_code == 0, made.output
        get_settings.cache_clear()
        with TestClient(create_app(url=url)) as client:
            yield {"url": url, "client": client, "key": key, "truth": _truth(url, kec), "kecamatan": kec}


def _headers(city: dict[str, Any], who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if who == "agency":
        return {"X-API-Key": city["key"]}
    user = {"planner": "plan", "verifier": "rt.satu", "admin": "admin"}[who]
    token = city["client"].post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


# --- the truth, from the families' rows ----------------------------------------------------------------


def _truth(url: str, kecamatan: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        fams = conn.execute(
            "SELECT h.id, h.rt_code, h.active, h.bps_count, h.tgl_verval, h.programs, r.local_desil, h.desil_resmi,"
            " h.jumlah_anggota FROM household h LEFT JOIN household_rank r ON r.household_id = h.id"
        ).fetchall()
        cid, starts = conn.execute("SELECT id, starts_on FROM campaign").fetchone()
        targets = {i for (i,) in conn.execute("SELECT household_id FROM campaign_target WHERE campaign_id = %s",
                                              (cid,))}  # fmt: skip
    assert len(fams) > 90_000 and len(targets) > 15_000
    stored: Cells = Counter()
    filtered: Cells = Counter()
    coverage: Cells = Counter()
    people: Cells = Counter()
    for fid, rt, active, bps, verval, programs, desil, resmi, size in fams:
        member = {
            "families": True, "removed_families": not active, "poor_bps_families": active and bps >= 9,
            "verified_families": verval is not None, "recipients_pkh": active and "PKH" in programs,
            "poor_without_pkh": active and bps >= 9 and "PKH" not in programs,
            "target_families": resmi is not None and resmi <= 2,
            "poor_with_pkh": active and bps >= 9 and "PKH" in programs,
        }  # fmt: skip
        for level, n in LEVELS.items():
            code = rt[:n]
            for col, yes in member.items():
                stored[(level, code, col)] += int(yes)
            if active and bps >= 9:
                people[(level, code, "poor_bps_people")] += size
            if active and desil is not None and rt.startswith(kecamatan + ".") and level in ("rt", "rw"):
                for k in range(desil, 11):
                    filtered[(level, code, k, None)] += 1
                    if "PKH" in programs:
                        filtered[(level, code, k, "PKH")] += 1
            if fid in targets:
                done = verval is not None and verval >= starts
                coverage[(level, code, "targets")] += 1
                coverage[(level, code, "verified" if done else "pending")] += 1
                coverage[(level, code, "unassigned_targets")] += int(not done)  # nothing is assigned yet
    return {"stored": stored, "filtered": filtered, "coverage": coverage, "people": people, "campaign": cid,
            "size": sum(f[8] for f in fams) / len(fams)}  # fmt: skip


# --- what a principal can obtain ---------------------------------------------------------------------


def _published(city: dict[str, Any], who: str) -> dict[str, Any]:
    client, headers = city["client"], _headers(city, who)

    def get(path: str) -> Any:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (who, path, r.text)
        return r.json()

    stored: Cells = {}
    people: Cells = {}
    filtered: Cells = {}
    for level in LEVELS:
        for a in get(f"/api/v1/stats/{level}")["areas"]:
            for col in (*STORED, "poor_bps_people"):
                (people if col.endswith("people") else stored)[(level, a["code"], col)] = a[col]
            stored[(level, a["code"], "poor_with_pkh")] = None  # not published: only reachable by differencing
        if level in ("rt", "rw"):
            for k in range(1, 11):
                for program in (None, "PKH"):
                    query = f"parent={city['kecamatan']}&desil_max={k}" + (f"&program={program}" if program else "")
                    for a in get(f"/api/v1/stats/{level}?{query}")["areas"]:
                        filtered[(level, a["code"], k, program)] = a["families"]
    refused = client.get("/api/v1/stats/rt?desil_min=3&desil_max=3", headers=headers)
    assert refused.status_code == 400 and "desil_min" in refused.json()["detail"]
    out = {"stored": stored, "people": people, "filtered": filtered, "coverage": {}, "campaign_targets": None}
    if who == "planner":
        cid = city["truth"]["campaign"]
        out["campaign_targets"] = get(f"/api/v1/campaigns/{cid}")["targets"]
        for level in ("rt", "rw", "kelurahan", "kecamatan"):
            for a in get(f"/api/v1/campaigns/{cid}/coverage?level={level}"):
                for col in ("targets", "verified", "pending", "unassigned_targets"):
                    out["coverage"][(level, a["code"], col)] = a[col]
    return out


def _exact(city: dict[str, Any]) -> dict[str, Any]:
    """The same tables with true counts and counts of 1..4 hidden: small-count suppression alone."""
    t = city["truth"]

    def hide(table: Cells) -> Cells:
        return {c: None if v is not None and 1 <= v <= 4 else v for c, v in table.items()}

    return {"stored": hide(t["stored"]), "people": hide(t["people"]), "filtered": hide(t["filtered"]),
            "coverage": hide(t["coverage"]),
            "campaign_targets": t["coverage"][("kota", "15.71", "targets")]}  # fmt: skip


# --- the attacks ---------------------------------------------------------------------------------------

Estimates = dict[tuple, float]


def overlapping_filters(p: dict[str, Any]) -> Estimates:
    """1. The families of one desil: the same area with desil_max = k minus desil_max = k - 1."""
    f, out = p["filtered"], {}
    for (level, code, k, program), v in f.items():
        below = 0 if k == 1 else f.get((level, code, k - 1, program))
        if level == "rt" and v is not None and below is not None:
            out[("desil", level, code, k, program)] = v - below
    return out


def filtered_minus_unfiltered(p: dict[str, Any]) -> Estimates:
    """2. Families removed after verification: all families minus those left in desil 1..10."""
    s, f, out = p["stored"], p["filtered"], {}
    for (level, code, col), v in s.items():
        rest = f.get((level, code, 10, None))
        if col == "families" and level == "rt" and v is not None and rest is not None:
            out[("stored", level, code, "removed_families")] = v - rest
    return out


def _parent_minus_children(table: Cells, key: Callable[[tuple], tuple | None]) -> Estimates:
    groups: dict[tuple, list[tuple[tuple, int | None]]] = defaultdict(list)
    for cell, v in table.items():
        g = key(cell)
        if g is not None:
            groups[g].append((cell, v))
    out: Estimates = {}
    for (parent_cell, _), kids in groups.items():
        hidden = [c for c, v in kids if v is None]
        total = table.get(parent_cell)
        if len(hidden) == 1 and total is not None:
            out[hidden[0]] = total - sum(v for _, v in kids if v is not None)
    return out


def linked_levels(p: dict[str, Any]) -> Estimates:
    """3. A hidden child: its parent minus its visible siblings (zeros included), stored and filtered tables."""
    out: Estimates = {}

    def stored_key(cell: tuple) -> tuple | None:
        level, code, col = cell
        if level == "kota":
            return None
        up = PARENT_OF[level]
        return ((up, code[: LEVELS[up]], col), level)

    for cell, v in _parent_minus_children(p["stored"], stored_key).items():
        out[("stored", *cell)] = v

    def filtered_key(cell: tuple) -> tuple | None:
        level, code, k, program = cell
        return (("rw", code[:17], k, program), level) if level == "rt" else None

    for cell, v in _parent_minus_children(p["filtered"], filtered_key).items():
        out[("filtered", *cell)] = v
    for cell, v in _parent_minus_children(p["coverage"], stored_key).items():
        out[("coverage", *cell)] = v
    return out


def across_columns(p: dict[str, Any]) -> Estimates:
    """4. Linked columns of one row: targets = verified + pending; poor = with PKH + without PKH."""
    c, s, out = p["coverage"], p["stored"], {}
    for (level, code, col), v in c.items():
        if col == "targets" and v is not None:
            pending, verified = c.get((level, code, "pending")), c.get((level, code, "verified"))
            if pending is not None:
                out[("coverage", level, code, "verified")] = v - pending
            if verified is not None:
                out[("coverage", level, code, "pending")] = v - verified
    for (level, code, col), v in s.items():
        if col == "poor_bps_families" and v is not None and s.get((level, code, "poor_without_pkh")) is not None:
            out[("stored", level, code, "poor_with_pkh")] = v - s[(level, code, "poor_without_pkh")]
    return out


def totals_elsewhere(p: dict[str, Any]) -> Estimates:
    """5. The campaign's total targets minus every other kecamatan's published targets."""
    total, c = p["campaign_targets"], p["coverage"]
    kec = {cell: v for cell, v in c.items() if cell[0] == "kecamatan" and cell[2] == "targets"}
    hidden = [cell for cell, v in kec.items() if v is None]
    if total is None or len(hidden) != 1:
        return {}
    return {("coverage", *hidden[0]): total - sum(v for v in kec.values() if v is not None)}


def people_beside_families(p: dict[str, Any]) -> Estimates:
    """6. A hidden count of poor families read off the poor people published beside it."""
    size, out = p.get("size", 3.6), {}
    for (level, code, _), v in p["people"].items():
        if v is not None:
            out[("stored", level, code, "poor_bps_families")] = round(v / size)
    return out


def averaged(p: dict[str, Any]) -> Estimates:
    """7. Every estimate of the same cell from the attacks above, averaged and rounded."""
    pooled: dict[tuple, list[float]] = defaultdict(list)
    for attack in ATTACKS[:-1]:
        for cell, v in attack(p).items():
            pooled[_canonical(cell)].append(v)
    return {cell: round(sum(vs) / len(vs)) for cell, vs in pooled.items() if len(vs) >= 2}


ATTACKS = [overlapping_filters, filtered_minus_unfiltered, linked_levels, across_columns, totals_elsewhere,
           people_beside_families, averaged]  # fmt: skip


def _canonical(cell: tuple) -> tuple:
    """Cells named by different attacks in one form: ('desil', level, code, k, program) for one desil."""
    if cell[0] == "filtered":
        return cell  # a cumulative band, not a single desil
    return cell


def _true(truth: dict[str, Any], cell: tuple) -> int | None:
    kind, *rest = cell
    if kind == "desil":
        level, code, k, program = rest
        return truth["filtered"][(level, code, k, program)] - (
            0 if k == 1 else truth["filtered"][(level, code, k - 1, program)]
        )
    if kind == "filtered":
        return truth["filtered"][tuple(rest)]
    if kind == "coverage":
        return truth["coverage"][tuple(rest)]
    return truth["stored"][tuple(rest)]


def score(truth: dict[str, Any], estimates: Estimates) -> dict[str, Any]:
    """Over the cells whose true count is 1..4: how often the estimate is exact, and the best blind guess."""
    pairs = [(v, _true(truth, c)) for c, v in estimates.items()]
    small = [(v, t) for v, t in pairs if t is not None and 1 <= t <= 4]
    if not small:
        return {"cells": 0, "exact": 0.0, "guess": 0.0}
    commonest = Counter(t for _, t in small).most_common(1)[0][1]
    return {"cells": len(small), "exact": sum(v == t for v, t in small) / len(small), "guess": commonest / len(small)}


# --- the tests -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results(city: dict[str, Any]) -> dict[str, dict[str, Any]]:
    truth = city["truth"]
    out: dict[str, dict[str, Any]] = {}
    exact = dict(_exact(city), size=truth["size"])
    out["small counts suppressed, exact figures"] = {a.__name__: score(truth, a(exact)) for a in ATTACKS}
    for who in PRINCIPALS:
        published = dict(_published(city, who), size=truth["size"])
        out[who] = {a.__name__: score(truth, a(published)) for a in ATTACKS}
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "disclosure-attacks.json").write_text(json.dumps(out, indent=2))
    return out


def test_every_attack_recovers_small_cells_from_exact_figures(results):
    """The attacks are real: against exact figures with small counts hidden, each pins every cell it reaches."""
    exact = results["small counts suppressed, exact figures"]
    for name in ("overlapping_filters", "filtered_minus_unfiltered", "linked_levels", "across_columns"):
        assert exact[name]["cells"] >= 50 and exact[name]["exact"] == 1.0, (name, exact[name])


def _chance_of_at_least(hits: int, cells: int, p: float) -> float:
    """P(X >= hits) for X ~ Binomial(cells, p): how likely a blind guess is to do as well."""
    return sum(math.comb(cells, i) * p**i * (1 - p) ** (cells - i) for i in range(hits, cells + 1))


@pytest.mark.parametrize("who", PRINCIPALS)
def test_no_attack_beats_a_blind_guess(results, who):
    """Each attack is right no more often than the commonest true value; where it reaches few cells, a
    rate above it must be within chance (a blind guess does as well with probability >= 1 %)."""
    reached = 0
    for name, r in results[who].items():
        if r["cells"] >= 200:
            assert r["exact"] <= r["guess"], (who, name, r)
        elif r["cells"]:
            hits = round(r["exact"] * r["cells"])
            assert _chance_of_at_least(hits, r["cells"], r["guess"]) >= 0.01, (who, name, r)
        reached += r["cells"]
    assert results[who]["overlapping_filters"]["cells"] >= 500 and results[who]["linked_levels"]["cells"] >= 50
    assert reached >= 1000, results[who]
