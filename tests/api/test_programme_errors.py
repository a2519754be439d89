"""Errors as work (issue 18): two programmes with different rules (PKH: official desil 1-4; Kartu Bahagia: local
desil 1-3 verified in the 12 months before the cut-off) and two offices each holding a key bound to one of them.
Rosters go in through the API, the eligibility lists come out, and the inclusion and exclusion errors are read per
RT (exact for Dinsos staff in their scope, published by the cell-key rule for everyone else) and as the
coordinators' work list with reasons, every family read audited.

Every expected figure is computed here in Python from the fixture's rows (the families' desil, category, visit
result and date, programmes, record keys) and the rosters this test sends, never from the product's SQL."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.api.test_programmes import _key as programme_key
from tests.conftest import _throwaway
from tests.people import PASSWORD, add_users, scope

SECRET = "programme-errors-test-key-0123456789abcdefgh"
KEY = SECRET.encode()
KOTA = "15.71"
PERIOD = "2026-11"  # cut-off 17 November 2026
CUTOFF = date(2026, 11, 17)
SINCE = date(2025, 11, 17)  # 12 months before the cut-off (Kartu Bahagia's window, exclusive)
KARTU = {"code": "KARTU-BAHAGIA", "name": "Kartu Bahagia", "owner": "Dinas Sosial Kota Jambi",
         "eligibility": {"desil": "local", "desil_max": 3, "verified_within_months": 12}}  # fmt: skip
DECEASED_ON = date(2026, 10, 3)
COLS = ("id", "rt_code", "kk_hash", "active", "hasil_verval", "tgl_verval", "desil_resmi", "local_desil", "programs",
        "record_key", "nama_kepala")  # fmt: skip


def _key(url: str, name: str, programme: str, *extra: str) -> str:
    """A programme key of this file's kab/kota (the programme tests' own helper)."""
    return programme_key(url, name, programme, KOTA, *extra)


def families(url: str) -> list[dict[str, Any]]:
    """Every family of the kab/kota as the fixture holds it."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"""SELECT {", ".join("h." + c if c != "local_desil" else "r.local_desil" for c in COLS)}
            FROM household h LEFT JOIN household_rank r ON r.household_id = h.id AND r.kota_code = h.kota_code
            WHERE h.kota_code = %s ORDER BY h.id""", (KOTA,)).fetchall()  # fmt: skip
    return [dict(zip(COLS, r, strict=True)) for r in rows]


def pkh_eligible(f: dict[str, Any]) -> bool:
    return bool(f["active"]) and f["desil_resmi"] is not None and 1 <= f["desil_resmi"] <= 4


def kartu_eligible(f: dict[str, Any]) -> bool:
    return (bool(f["active"]) and f["local_desil"] is not None and 1 <= f["local_desil"] <= 3
            and f["hasil_verval"] == 1 and f["tgl_verval"] is not None and SINCE < f["tgl_verval"] <= CUTOFF)


RULES = {"PKH": pkh_eligible, "KARTU-BAHAGIA": kartu_eligible}


def _pick(fams: list[dict[str, Any]], test: Any, n: int, taken: set[int]) -> list[dict[str, Any]]:
    """`n` families passing `test`, none taken before, each from an RT no earlier pick came from while there are
    such RTs (the errors spread over many RTs, as in a real city)."""
    fits = [f for f in fams if f["id"] not in taken and test(f)]
    used = {f["rt_code"] for f in fams if f["id"] in taken}
    fresh: list[dict[str, Any]] = []
    for f in fits:
        if f["rt_code"] not in used and len(fresh) < n:
            fresh.append(f)
            used.add(f["rt_code"])
    out = fresh + [f for f in fits if f not in fresh][: n - len(fresh)]
    assert len(out) == n, "the demo city lacks the families this fixture needs"
    taken.update(f["id"] for f in out)
    return out


def build_world(url: str, client: TestClient, auth: dict[str, dict[str, str]], kk_of: dict[str, str]
                ) -> dict[str, Any]:  # fmt: skip
    """Pick families, set what verification found for some, send each programme's rosters (two PKH versions: the
    newest one counts) and return what was sent."""
    fams = families(url)
    taken: set[int] = set()
    by_id = {f["id"]: f for f in fams}
    # PKH: six eligible recipients, four recipients above desil 4, one recipient found deceased, one found moved
    pkh_ok = _pick(fams, pkh_eligible, 6, taken)
    pkh_rich = _pick(fams, lambda f: f["active"] and (f["desil_resmi"] or 0) >= 7, 4, taken)
    dead, moved = _pick(fams, pkh_eligible, 2, taken)
    dropped = _pick(fams, lambda f: f["active"] and (f["desil_resmi"] or 0) >= 8, 1, taken)  # only in version 1
    # eligible for PKH, verified (hasil 1), receiving nothing: the registry's programme column emptied
    nothing = _pick(fams, lambda f: pkh_eligible(f) and f["hasil_verval"] == 1 and not kartu_eligible(f), 2, taken)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE household SET hasil_verval = 6, tgl_verval = %s WHERE id = %s", (DECEASED_ON, dead["id"]))
        conn.execute("UPDATE household SET hasil_verval = 3, tgl_verval = '2026-09-14' WHERE id = %s", (moved["id"],))
        conn.execute("UPDATE household SET programs = '{}' WHERE id = ANY (%s)", ([f["id"] for f in nothing],))
    # Kartu Bahagia: five eligible recipients, three verified too long ago or never
    kartu_ok = _pick(fams, kartu_eligible, 5, taken)
    kartu_stale = _pick(fams, lambda f: f["active"] and (f["local_desil"] or 9) <= 3 and not kartu_eligible(f), 3,
                        taken)  # fmt: skip
    sent = {"PKH": [f["id"] for f in (*pkh_ok, *pkh_rich, dead, moved)],
            "KARTU-BAHAGIA": [f["id"] for f in (*kartu_ok, *kartu_stale)]}  # fmt: skip

    def upload(who: str, code: str, ids: list[int]) -> dict[str, Any]:
        body = ("no_kk\n" + "".join(kk_of[by_id[i]["kk_hash"]] + "\n" for i in ids)).encode()
        r = client.post(f"/api/v1/programmes/{code}/rosters", files={"file": ("roster.csv", body, "text/csv")},
                        data={"period": PERIOD}, headers=auth[who])  # fmt: skip
        assert r.status_code == 201, r.text
        assert (r.json()["matched"], r.json()["unmatched"]) == (len(ids), 0)
        return dict(r.json())

    first = upload("pkh", "PKH", [*sent["PKH"], dropped[0]["id"]])
    newest = upload("pkh", "PKH", sent["PKH"])
    assert (first["version"], newest["version"]) == (1, 2)
    assert upload("kartu", "KARTU-BAHAGIA", sent["KARTU-BAHAGIA"])["version"] == 1
    # the match report named the inactive families (the deceased and the moved one) as possible inclusion errors
    assert len(newest["notes"]) == 2
    return {"sent": sent, "dead": dead["id"], "moved": moved["id"], "rich": [f["id"] for f in pkh_rich],
            "nothing": [f["id"] for f in nothing], "dropped": dropped[0]["id"], "stale": [f["id"] for f in kartu_stale]}


def load_programme_city(url: str) -> tuple[Any, str]:
    """The small demo city with Kartu Bahagia as its local programme; the city and the coordinator's kecamatan (the
    one with the most families). Shared with the portal's programme page test."""
    city = generate_city(DemoConfig(scale=0.02, seed=3, secret_key=KEY))
    with psycopg.connect(url) as conn:
        load_city(conn, city)
        conn.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'",
                     (Jsonb({KOTA: {"programs": {"local": [KARTU]}}}),))  # fmt: skip
        (kec,) = conn.execute("SELECT left(rt_code, 8) FROM household GROUP BY 1 ORDER BY count(*) DESC, 1"
                              " LIMIT 1").fetchone()  # fmt: skip
    return city, kec


@pytest.fixture(scope="module")
def world(server_url: str) -> Iterator[dict[str, Any]]:
    with contextmanager(_throwaway)(server_url, "progerr") as url:
        city, kec = load_programme_city(url)
        add_users(url, {"admin": ("admin", scope("kota", KOTA)), "koor": ("coordinator", scope("kecamatan", kec)),
                        "plan": ("planner", scope("kota", KOTA))})  # fmt: skip
        keys = {"pkh": _key(url, "Dinsos Jambi PKH", "PKH"),
                "kartu": _key(url, "Dinsos Jambi Kartu Bahagia", "KARTU-BAHAGIA", "--no-hashes")}  # fmt: skip
        kk_of = dict(zip(city.households.kk_hash, city.households.kk, strict=True))
        get_settings.cache_clear()
        with TestClient(create_app(Settings(PETA_SECRET_KEY=SECRET, PETA_AUDIT_SEAL_SECONDS="0"), url=url)) as client:
            auth = {u: {"Authorization": "Bearer " + client.post(
                "/api/v1/auth/token", data={"username": u, "password": PASSWORD}).json()["access_token"]}
                for u in ("admin", "koor", "plan")}  # fmt: skip
            auth |= {k: {"X-API-Key": v} for k, v in keys.items()}
            built = build_world(url, client, auth, kk_of)
            yield {"url": url, "client": client, "auth": auth, "kec": kec, **built}


# --- the independent computation ------------------------------------------------------------------------------------


def expected(world: dict[str, Any], code: str) -> dict[int, dict[str, bool]]:
    """Each family's flags for a programme, from the fixture's rows and the rosters sent."""
    fams = families(world["url"])
    recipients = set(world["sent"][code])
    other = set(world["sent"]["KARTU-BAHAGIA" if code == "PKH" else "PKH"])
    out = {}
    for f in fams:
        rec, elig = f["id"] in recipients, RULES[code](f)
        incl = rec and not (elig and f["active"])
        excl = elig and f["hasil_verval"] == 1 and not rec
        none = excl and not f["programs"] and f["id"] not in other
        out[f["id"]] = {"recipient": rec, "eligible": elig, "inclusion": incl, "exclusion": excl, "none": none,
                        "rt": f["rt_code"], "key": f["record_key"]}  # fmt: skip
    return out


def per_area(flags: dict[int, dict[str, Any]], n: int, within: str | None = None) -> dict[str, dict[str, Any]]:
    """Counts and cell keys per area (the first `n` characters of the RT code) of the families inside `within`."""
    out: dict[str, dict[str, Any]] = {}
    for f in flags.values():
        if within and not f["rt"].startswith(within + "."):
            continue
        cell = out.setdefault(f["rt"][:n], Counter())
        for col, flag in (("recipients", "recipient"), ("eligible", "eligible"), ("inclusion", "inclusion"),
                          ("exclusion", "exclusion"), ("exclusion_no_programme", "none")):  # fmt: skip
            if f[flag]:
                cell[col] += 1
                cell["k_" + col] += f["key"]
    return out


def ckm(x: int, key: int) -> int | None:
    """The published value of a count: the cell-key noise (README, "Disclosure control"), 1..4 suppressed."""
    u = (key % 2**32) / 2**32
    if x <= 0:
        noisy = x
    elif x == 1:
        noisy = 0 if u < 0.45 else 1 if u < 0.65 else 2 if u < 0.90 else 3
    else:
        noisy = x + math.floor(u * 5) - 2
    return None if 1 <= noisy <= 4 else noisy


def _errors(world: dict[str, Any], who: str | None, code: str = "PKH", **params: Any) -> Any:
    return world["client"].get(f"/api/v1/programmes/{code}/errors", params={"period": PERIOD, **params},
                               headers=world["auth"][who] if who else {})  # fmt: skip


def _work(world: dict[str, Any], who: str, code: str = "PKH", **params: Any) -> Any:
    return world["client"].get(f"/api/v1/programmes/{code}/errors/families", params={"period": PERIOD, **params},
                               headers=world["auth"][who])  # fmt: skip


COUNTS = ("recipients", "eligible", "inclusion", "exclusion")


# --- the round trip ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["PKH", "KARTU-BAHAGIA"])
def test_the_administrators_counts_per_rt_are_the_fixtures(world, code):
    flags = expected(world, code)
    want = per_area(flags, 21)
    got = _errors(world, "admin", code, level="rt")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["published"] is False and body["kab_kota"] == [KOTA] and body["cutoff"] == CUTOFF.isoformat()
    areas = body["areas"]
    assert areas and len(areas) >= len(want)
    with_errors = [a for a in areas if a["inclusion"] or a["exclusion"]]
    assert with_errors, "no RT holds an error: the fixture tests nothing"
    for a in areas:
        cell = want.get(a["code"], Counter())
        assert {c: a[c] for c in (*COUNTS, "exclusion_no_programme")} == {
            c: cell[c] for c in (*COUNTS, "exclusion_no_programme")}, a["code"]
        assert a["suppressed"] == []
    # the totals: every recipient sent is counted once, the version-1-only family is not
    assert sum(a["recipients"] for a in areas) == len(world["sent"][code])
    assert sum(a["inclusion"] for a in areas) == sum(f["inclusion"] for f in flags.values()) > 0
    if code == "PKH":
        assert not flags[world["dropped"]]["recipient"]
        assert sum(a["exclusion_no_programme"] for a in areas) >= len(world["nothing"])


def test_the_two_rules_give_different_errors(world):
    pkh, kartu = expected(world, "PKH"), expected(world, "KARTU-BAHAGIA")
    incl = {c: {i for i, f in flags.items() if f["inclusion"]} for c, flags in (("PKH", pkh), ("KARTU", kartu))}
    assert incl["PKH"] >= {world["dead"], world["moved"], *world["rich"]}
    assert incl["KARTU"] == set(world["stale"]) and incl["PKH"] != incl["KARTU"]


def test_a_coordinator_counts_only_their_kecamatan(world):
    """Guards the scope filter: without it the coordinator's counts are the whole kab/kota's and this fails (as
    does the work-list test below)."""
    kec = world["kec"]
    flags = expected(world, "PKH")
    got = _errors(world, "koor", level="kelurahan").json()
    want = per_area(flags, 13, within=kec)
    assert got["published"] is False
    assert got["areas"] and {a["code"][:8] for a in got["areas"]} == {kec}
    for a in got["areas"]:
        assert {c: a[c] for c in COUNTS} == {c: want.get(a["code"], Counter())[c] for c in COUNTS}
    # the whole kab/kota, as the coordinator sees it: their kecamatan's part only (not the city's)
    (city,) = _errors(world, "koor", level="kota").json()["areas"]
    whole = per_area(flags, 5)[KOTA]
    mine = per_area(flags, 5, within=kec)[KOTA]
    assert {c: city[c] for c in COUNTS} == {c: mine[c] for c in COUNTS}
    assert mine["eligible"] < whole["eligible"]


@pytest.mark.parametrize("who", [None, "plan", "pkh"])
def test_everyone_else_reads_the_published_counts(world, who):
    """Guards the disclosure step: every published count is the cell-key value of its families computed here
    (README, "Disclosure control"), so exact counts, or counts of 1..4 shown, fail."""
    flags = expected(world, "PKH")
    want = per_area(flags, 21)
    body = _errors(world, who, level="rt").json()
    assert body["published"] is True and body["counts"] == list(COUNTS)
    areas = body["areas"]
    assert areas
    small = noisy = 0
    for a in areas:
        cell = want.get(a["code"], Counter())
        for c in COUNTS:
            assert a[c] == ckm(cell[c], cell["k_" + c]), (a["code"], c)
            small += 1 <= cell[c] <= 4
            noisy += a[c] is not None and a[c] != cell[c]
        assert a["suppressed"] == [c for c in COUNTS if a[c] is None]
        assert "exclusion_no_programme" not in a  # it links other programmes' rosters: never published
    # cells of 1..4 families exist in the fixture, and the noise moved some others
    assert small > 0 and noisy > 0
    for a in areas:  # no published count is 1..4
        assert all(a[c] is None or not 1 <= a[c] <= 4 for c in COUNTS)


def test_published_figures_do_not_reveal_a_small_count_by_differencing(world):
    """A parent minus its children: the same families give the same noisy value wherever they are counted, so the
    difference of published counts is not the hidden count (it is the true difference plus noise)."""
    flags = expected(world, "PKH")
    kel = _errors(world, None, level="kelurahan").json()["areas"]
    rts = _errors(world, None, level="rt").json()["areas"]
    want_kel, want_rt = per_area(flags, 13), per_area(flags, 21)
    assert kel and rts
    for a in kel:
        cell = want_kel.get(a["code"], Counter())
        assert a["inclusion"] == ckm(cell["inclusion"], cell["k_inclusion"])
    # one RT's inclusion count the same whether asked for under its kelurahan or for the whole kab/kota
    rt = next(r for r in rts if want_rt.get(r["code"], Counter())["inclusion"] >= 1)
    under = _errors(world, None, level="rt", parent=rt["code"][:13]).json()["areas"]
    assert next(r for r in under if r["code"] == rt["code"])["inclusion"] == rt["inclusion"]


def test_a_programme_key_reads_its_own_programme_only(world):
    assert _errors(world, "pkh", level="kecamatan").status_code == 200
    assert _errors(world, "kartu", "KARTU-BAHAGIA", level="kecamatan").status_code == 200
    for who, code, own in (("pkh", "KARTU-BAHAGIA", "PKH"), ("kartu", "PKH", "KARTU-BAHAGIA")):
        r = _errors(world, who, code, level="rt")
        assert r.status_code == 403
        assert r.json()["detail"] == f"this key serves programme {own} only, not {code}"
        assert _work(world, who, code).status_code == 403
        assert _work(world, who, own).status_code == 403  # the work list is Dinsos's, not the office's
    assert _work(world, "plan").status_code == 403


def _reasons(item: dict[str, Any]) -> list[str]:
    return [r["text"] for r in item["reasons"]]


def test_the_work_list_names_each_family_with_its_reasons_and_action(world):
    url = world["url"]
    flags = expected(world, "PKH")
    want = {i for i, f in flags.items() if f["inclusion"] or f["exclusion"]}
    r = _work(world, "admin", limit=5000)
    assert r.status_code == 200, r.text
    out = r.json()
    items = out["items"]
    assert items and {i["household_id"] for i in items} == want and out["total"] == len(want)
    by_id = {i["household_id"]: i for i in items}
    dead = by_id[world["dead"]]
    assert dead["kind"] == "inclusion" and dead["action"] == "propose_removal"
    assert _reasons(dead)[0] == f"recipient, found deceased at verification {DECEASED_ON.isoformat()}"
    moved = by_id[world["moved"]]
    assert _reasons(moved)[0] == "recipient, found moved or building gone at verification 2026-09-14"
    fams = {f["id"]: f for f in families(url)}
    for i in world["rich"]:
        assert by_id[i]["kind"] == "inclusion"
        assert f"recipient, desil {fams[i]['desil_resmi']} above the rule's 4" in _reasons(by_id[i])
        assert by_id[i]["action"] == ("propose_removal" if fams[i]["hasil_verval"] == 1 else "re_verify")
    for i in world["nothing"]:
        item = by_id[i]
        assert (item["kind"], item["action"]) == ("exclusion", "propose_for_programme")
        assert _reasons(item) == [f"eligible and verified {fams[i]['tgl_verval'].isoformat()}, receives no programme"]
    # the families receiving nothing come first; no KK or NIK, masked or not, in any item
    nothing = [i["household_id"] for i in items if i["reasons"][0]["code"] == "no_programme"]
    assert nothing and [i["household_id"] for i in items[: len(nothing)]] == nothing
    assert not {k for i in items for k in i if "kk" in k or "nik" in k}
    assert all(fams[i["household_id"]]["kk_hash"] not in r.text for i in items)


def test_the_kartu_work_list_says_verified_too_long_ago(world):
    items = _work(world, "admin", "KARTU-BAHAGIA").json()["items"]
    stale = [i for i in items if i["household_id"] in world["stale"]]
    assert len(stale) == len(world["stale"])
    for i in stale:
        assert "recipient, not verified in the 12 months before the cut-off 2026-11-17" in _reasons(i)
        assert i["action"] == "re_verify"


def test_a_coordinators_work_list_is_their_kecamatan_and_every_read_is_audited(world):
    url, kec = world["url"], world["kec"]
    flags = expected(world, "PKH")
    want = {i for i, f in flags.items() if (f["inclusion"] or f["exclusion"]) and f["rt"].startswith(kec + ".")}
    assert want
    with psycopg.connect(url) as conn:
        (before,) = conn.execute("SELECT clock_timestamp()").fetchone()  # by time: on Citus ids are per node
    items = _work(world, "koor").json()["items"]
    assert {i["household_id"] for i in items} == want
    with psycopg.connect(url) as conn:
        audited = conn.execute("SELECT kota_code, role, object_ids FROM audit_log WHERE at > %s AND actor = 'user:koor'"
                               " AND action = 'read' AND object_type = 'household'", (before,)).fetchall()  # fmt: skip
    assert [(k, role) for k, role, _ in audited] == [(KOTA, "coordinator")]
    assert sorted(int(i) for i in audited[0][2]) == sorted(want)
    # one kelurahan of theirs: its families only; a kelurahan of another kecamatan does not exist for them
    kel = sorted({flags[i]["rt"][:13] for i in want})[0]
    mine = _work(world, "koor", area=kel).json()["items"]
    assert mine and {i["household_id"] for i in mine} == {i for i in want if flags[i]["rt"].startswith(kel + ".")}
    other = next(f["rt"][:13] for f in flags.values() if not f["rt"].startswith(kec + "."))
    refused = _work(world, "koor", area=other)
    assert refused.status_code == 404 and refused.json()["detail"] == f"no area {other}"


def test_an_office_without_the_hash_agreement_gets_no_hashes(world):
    own = world["client"].get("/api/v1/programmes/KARTU-BAHAGIA/eligible", params={"period": PERIOD},
                              headers=world["auth"]["kartu"])  # fmt: skip
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["fields"] == ["pseudonym", "kota_code", "desil_resmi", "local_desil", "tgl_verval"]
    items = body["items"]
    assert items and not any("kk_hash" in i or "nik_hash" in i for i in items)
    want = {f["id"] for f in families(world["url"]) if kartu_eligible(f)}
    assert body["total"] == len(want)
    pkh = world["client"].get("/api/v1/programmes/PKH/eligible", params={"period": PERIOD},
                              headers=world["auth"]["pkh"]).json()  # fmt: skip
    assert "kk_hash" in pkh["fields"] and all(len(i["kk_hash"]) == 64 for i in pkh["items"])


def test_keys_list_shows_each_keys_programme(world):
    get_settings.cache_clear()
    out = CliRunner().invoke(cli, ["keys", "list"], env={"DATABASE_URL": world["url"], "COLUMNS": "200"})
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert any("Dinsos Jambi PKH" in line and " PKH " in line for line in lines), out.stdout
    assert any("Kartu Bahagia" in line and "KARTU-BAHAGIA (no hashes)" in line for line in lines), out.stdout


@pytest.mark.parametrize(("who", "path", "params", "status", "detail"), [
    ("admin", "errors", {}, 400, "period"),
    ("admin", "errors", {"period": "2026-13"}, 400, "period"),
    ("admin", "errors", {"period": "2026-Q4"}, 400, "period: programme PKH runs by month, e.g. 2026-12; got '2026-Q4'"),
    ("admin", "errors", {"period": PERIOD, "level": "rw"}, 400, "level"),
    ("admin", "errors", {"period": PERIOD, "parent": "15.7x"}, 400, "parent"),
    ("admin", "errors", {"period": PERIOD, "level": "kecamatan", "parent": "15.71.01.1001"}, 400,
     "parent: 15.71.01.1001 is not an area code above the kecamatan level"),
    (None, "errors/families", {"period": PERIOD}, 401, "authentication required"),
    ("admin", "errors/families", {"period": PERIOD, "limit": 0}, 400, "limit"),
    ("admin", "errors/families", {"period": PERIOD, "limit": 5001}, 400, "limit"),
    ("admin", "errors/families", {"period": PERIOD, "area": "15.71.99"}, 404, "no area 15.71.99"),
    ("admin", "errors/families", {"period": PERIOD, "area": "x"}, 400, "area"),
    ("admin", "errors/families", {"period": "2026"}, 400, "period: programme PKH runs by month"),
])  # fmt: skip
def test_wrong_requests_are_refused_with_a_reason(world, who, path, params, status, detail):
    r = world["client"].get(f"/api/v1/programmes/PKH/{path}", params=params,
                            headers=world["auth"][who] if who else {})  # fmt: skip
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]


def test_unknown_programmes_and_programmes_without_a_rule_are_refused(world):
    r = world["client"].get("/api/v1/programmes/BEASISWA/errors", params={"period": PERIOD})
    assert r.status_code == 404 and r.json()["detail"].startswith("no programme BEASISWA; configured:")
    with psycopg.connect(world["url"]) as conn:
        conn.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'", (Jsonb({KOTA: {"programs": {
            "local": [KARTU, {"code": "KARTU-SEHAT", "name": "Kartu Sehat"}]}}}),))  # fmt: skip
    try:
        for path in ("errors", "errors/families"):
            r = world["client"].get(f"/api/v1/programmes/KARTU-SEHAT/{path}", params={"period": PERIOD},
                                    headers=world["auth"]["admin"])  # fmt: skip
            assert r.status_code == 400
            assert r.json()["detail"] == ("programme KARTU-SEHAT has no eligibility rule in the configuration"
                                          " (eligibility: ...)")
    finally:
        with psycopg.connect(world["url"]) as conn:
            conn.execute("UPDATE peta_config SET value = %s WHERE key = 'kab_kota'",
                         (Jsonb({KOTA: {"programs": {"local": [KARTU]}}}),))  # fmt: skip


def test_the_errors_are_worded_in_indonesian_on_request(world):
    r = world["client"].get("/api/v1/programmes/PKH/errors", params={"period": "2026-Q4"},
                            headers={**world["auth"]["admin"], "Accept-Language": "id"})  # fmt: skip
    assert r.status_code == 400
    assert r.json()["detail"] == "Period: program PKH berjalan per bulan, mis. 2026-12; diberikan '2026-Q4'"
    assert r.json()["error_code"] == "programme_period"
    r = world["client"].get("/api/v1/programmes/KARTU-BAHAGIA/errors", params={"period": PERIOD},
                            headers={**world["auth"]["pkh"], "Accept-Language": "id"})  # fmt: skip
    assert r.json()["detail"] == "Kunci ini hanya melayani program PKH, bukan KARTU-BAHAGIA"
