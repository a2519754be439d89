"""Issue 12, scope and authorisation: every read and every visibility-granting write stays inside the caller's
area scope, outside it an object answers exactly as a missing one (404), and household tiles are audited.

Two kelurahan in two kecamatan of a small demo city: A (coordinator koor.a, kelurahan scope; verifiers rt.a1,
rt.a2) and B (coordinator koor.b, kecamatan scope; verifiers rt.b1, rt.b2), a verifier rt.ab whose RTs lie in
both, and agency keys with a points agreement scoped to kelurahan A and to the city. Every count asserted is
the exact one of the scope, recomputed from the database.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.privacy import keyed_hash
from core.settings import get_settings, load_secret_key
from peta.cli import app as cli
from portal.app import create_app
from tests.people import Bearers, add_users, db_rows, scope

TODAY = date.today()
DUE = str(TODAY + timedelta(days=14))
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
MISSING = 999_999_999  # no family, assignment or visit has this id


def _pick(conn: psycopg.Connection, outside: str | None) -> tuple[str, list[str]]:
    """The kelurahan (not in kecamatan `outside`) with the most RTs of desil 1-2 families, and its 3 busiest RTs."""
    kel = conn.execute(
        """SELECT left(h.rt_code, 13) FROM household h JOIN household_rank r ON r.household_id = h.id
           WHERE r.local_desil <= 2 AND left(h.rt_code, 8) <> COALESCE(%s, '')
           GROUP BY 1 ORDER BY count(DISTINCT h.rt_code) DESC, 1 LIMIT 1""",
        (outside,),
    ).fetchone()[0]
    rts = [r[0] for r in conn.execute(
        """SELECT h.rt_code FROM household h JOIN household_rank r ON r.household_id = h.id
           WHERE r.local_desil <= 2 AND h.rt_code LIKE %s GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3""",
        (kel + ".%",)).fetchall()]  # fmt: skip
    assert len(rts) == 3
    return kel, rts


@pytest.fixture(scope="module")
def world(committed_url):
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.05, seed=7)))
        conn.commit()
        kel_a, rts_a = _pick(conn, None)
        kel_b, rts_b = _pick(conn, kel_a[:8])
    add_users(committed_url, {
        "admin": ("admin", []), "plan": ("planner", []),
        "koor.a": ("coordinator", scope("kelurahan", kel_a)), "koor.b": ("coordinator", scope("kecamatan", kel_b[:8])),
        "rt.a1": ("verifier", scope("rt", rts_a[0])), "rt.a2": ("verifier", scope("rt", rts_a[1])),
        "rt.b1": ("verifier", scope("rt", rts_b[0])), "rt.b2": ("verifier", scope("rt", rts_b[1])),
        "rt.ab": ("verifier", ["--scope-level", "rt", "--scope", rts_a[1], "--scope", rts_b[1]]),
    })  # fmt: skip
    runner, env = CliRunner(), {"DATABASE_URL": committed_url}
    get_settings.cache_clear()
    keys = {}
    for name, options in (("Dinkes A", scope("kelurahan", kel_a)), ("BPJS kota", [])):
        out = runner.invoke(cli, ["keys", "create", name, *options, "--points-agreement"], env=env)
        assert out.exit_code == 0, out.output
        keys[name] = out.stdout.strip().splitlines()[-1]
    get_settings.cache_clear()
    yield {"url": committed_url, "A": kel_a, "B": kel_b, "rts_a": rts_a, "rts_b": rts_b,
           "key_a": keys["Dinkes A"], "key_city": keys["BPJS kota"]}  # fmt: skip
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world["url"])) as c:
        yield c


_as = Bearers()


def _db(world, sql: str, *params):
    return db_rows(world["url"], sql, *params)


def _one(world, sql: str, *params):
    return _db(world, sql, *params)[0][0]


def _ids(world, sql: str, *params) -> set[int]:
    return {r[0] for r in _db(world, sql, *params)}


@pytest.fixture(scope="module")
def cid(client, world):
    """A desil 1-2 campaign; koor.a assigns RT A3 to rt.a1, koor.b RT B3 to rt.b1; rt.a1 visits 4 families of
    A3, rt.b1 3 families of B3 (one with a photo)."""
    _as.clear()
    body = {"name": "Verval lingkup", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=30)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip
    made = client.post("/api/v1/campaigns", json=body, headers=_as(client, "admin"))
    assert made.status_code == 201, made.text
    c = made.json()["id"]
    for koor, rt, verifier, n in (("koor.a", world["rts_a"][2], "rt.a1", 4), ("koor.b", world["rts_b"][2], "rt.b1", 3)):
        r = client.post(f"/api/v1/campaigns/{c}/assignments", headers=_as(client, koor),
                        json={"rt_codes": [rt], "verifier": verifier, "due_on": DUE})  # fmt: skip
        assert r.status_code == 201, r.text
        fams = sorted(_ids(world, "SELECT id FROM household WHERE rt_code = %s AND active", rt))[:n]
        visits = [_visit(world, f, c, T0 + timedelta(hours=i)) for i, f in enumerate(fams)]
        out = client.post("/api/v1/verifications/batch", json={"visits": visits}, headers=_as(client, verifier))
        assert [v["status"] for v in out.json()["results"]] == ["created"] * n, out.text
    return c


def _visit(world, family: int, cid: int, at: datetime) -> dict:
    lon, lat = _db(world, "SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", family)[0]
    return {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
            "visited_at": at.isoformat(), "lon": lon, "lat": lat, "accuracy_m": 8, "jumlah_anggota": 4,
            "criteria": [True] * 9 + [False] * 5}  # fmt: skip


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _city_tile(world) -> tuple[int, int, int]:
    """A zoom-8 tile holding the whole city (checked)."""
    w, s, e, n = _db(world, "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)"
                     " FROM (SELECT ST_Extent(geom)::geometry b FROM area WHERE level = 'kota') q")[0]  # fmt: skip
    corners = {_tile_of(w - 0.01, n + 0.01, 8), _tile_of(e + 0.01, s - 0.01, 8)}
    assert len(corners) == 1
    return (8, *corners.pop())


def _last_read(world, actor: str) -> tuple[int, str, set[str]]:
    row = _db(world, "SELECT id, role, object_ids FROM audit_log WHERE action = 'read' AND object_type = 'household'"
              " AND actor = %s ORDER BY id DESC LIMIT 1", actor)  # fmt: skip
    return (row[0][0], row[0][1], set(row[0][2])) if row else (0, "", set())


def _key_actor(world, name: str) -> str:
    return f"key:{_one(world, 'SELECT id FROM api_key WHERE name = %s', name)}"


# --- 1. an agency key reads only the families of its scope, in every format -----------------------------------


def test_an_agency_key_reads_only_its_kelurahan_in_items_exports_and_tiles(client, world, tmp_path):
    import pyogrio

    key = {"X-API-Key": world["key_a"]}
    in_a = _one(world, "SELECT count(*) FROM household WHERE rt_code LIKE %s AND geom IS NOT NULL", world["A"] + ".%")
    in_city = _one(world, "SELECT count(*) FROM household WHERE geom IS NOT NULL")
    assert 0 < in_a < in_city
    items = client.get("/ogc/collections/households/items", params={"limit": 10000}, headers=key).json()
    assert items["numberMatched"] == items["numberReturned"] == in_a
    assert {f["properties"]["kelurahan_code"] for f in items["features"]} == {world["A"]}
    city = client.get("/ogc/collections/households/items", params={"limit": 1},
                      headers={"X-API-Key": world["key_city"]}).json()  # fmt: skip
    assert city["numberMatched"] == in_city  # a city-wide key: the whole city, as before
    # one family of B by its pseudonym: absent for the kelurahan key, there for the city key
    other = _one(world, "SELECT left(kk_hash, 16) FROM household WHERE rt_code LIKE %s ORDER BY id LIMIT 1",
                 world["B"] + ".%")  # fmt: skip
    assert client.get(f"/ogc/collections/households/items/{other}", headers=key).status_code == 404
    assert client.get(f"/ogc/collections/households/items/{other}",
                      headers={"X-API-Key": world["key_city"]}).status_code == 200  # fmt: skip
    mine = items["features"][0]["id"]
    assert client.get(f"/ogc/collections/households/items/{mine}", headers=key).json()["id"] == mine
    # exports: CSV, GeoJSON, GeoPackage
    csv_rows = client.get("/api/v1/exports/households.csv", headers=key).text.splitlines()
    assert len(csv_rows) == in_a + 1
    gj = client.get("/api/v1/exports/households.geojson", headers=key).json()
    assert len(gj["features"]) == in_a and {f["properties"]["kelurahan_code"] for f in gj["features"]} == {world["A"]}
    gpkg = client.get("/api/v1/exports/households.gpkg", headers=key)
    (tmp_path / "h.gpkg").write_bytes(gpkg.content)
    assert pyogrio.read_info(tmp_path / "h.gpkg", layer="households")["features"] == in_a
    # tiles: one tile holding the whole city has exactly the kelurahan's families
    z, x, y = _city_tile(world)
    layer = mapbox_vector_tile.decode(client.get(f"/tiles/households/{z}/{x}/{y}.pbf", headers=key).content)
    assert len(layer["households"]["features"]) == in_a
    assert {f["properties"]["kelurahan_code"] for f in layer["households"]["features"]} == {world["A"]}
    # a tile deep in B: the staff see its families, the kelurahan key nothing at all
    lon, lat = _db(world, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area WHERE code = %s) q",
                   world["rts_b"][0])[0]  # fmt: skip
    bx, by = _tile_of(lon, lat, 15)
    staff = _one(world, "SELECT count(*) FROM household WHERE ST_Intersects(geom, ST_Transform(ST_TileEnvelope("
                 "15, %s, %s, margin => 64 / 4096.0), 4326))", bx, by)  # fmt: skip
    shown = mapbox_vector_tile.decode(client.get(f"/tiles/households/15/{bx}/{by}.pbf",
                                                 headers=_as(client, "admin")).content)  # fmt: skip
    assert len(shown["households"]["features"]) == staff > 0
    assert client.get(f"/tiles/households/15/{bx}/{by}.pbf", headers=key).status_code == 204


# --- 5. every read of personal data is audited, tiles included ------------------------------------------------


def test_household_tiles_are_audited_naming_every_family(client, world):
    z, x, y = _city_tile(world)
    url = f"/tiles/households/{z}/{x}/{y}.pbf"
    everyone = {str(i) for i in _ids(world, "SELECT id FROM household WHERE geom IS NOT NULL")}
    in_a = {str(i) for i in _ids(world, "SELECT id FROM household WHERE rt_code LIKE %s AND geom IS NOT NULL",
                                 world["A"] + ".%")}  # fmt: skip
    for who, headers, actor, expected in (
        ("admin", _as(client, "admin"), "user:admin", everyone),
        ("coordinator", _as(client, "koor.a"), "user:koor.a", in_a),
        ("agency", {"X-API-Key": world["key_a"]}, _key_actor(world, "Dinkes A"), in_a),
    ):
        before = _last_read(world, actor)[0]
        r = client.get(url, headers=headers)
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        features = mapbox_vector_tile.decode(r.content)["households"]["features"]
        audit_id, role, ids = _last_read(world, actor)
        assert audit_id > before and role == who and ids == expected and len(features) == len(expected), who
    # a tile without families reads nobody and leaves no row
    before = _one(world, "SELECT count(*) FROM audit_log")
    assert client.get("/tiles/households/8/0/0.pbf", headers=_as(client, "admin")).status_code == 204
    assert _one(world, "SELECT count(*) FROM audit_log") == before


def test_agency_reads_and_exports_are_audited_by_record_number(client, world):
    key, actor = {"X-API-Key": world["key_a"]}, _key_actor(world, "Dinkes A")
    in_a = {str(i) for i in _ids(world, "SELECT id FROM household WHERE rt_code LIKE %s AND geom IS NOT NULL",
                                 world["A"] + ".%")}  # fmt: skip
    page = client.get("/ogc/collections/households/items", params={"limit": 10000}, headers=key)
    assert page.status_code == 200 and _last_read(world, actor)[2] == in_a
    client.get("/api/v1/exports/households.csv", headers=key)
    exported = _db(world, "SELECT object_ids FROM audit_log WHERE action = 'export' AND actor = %s"
                   " ORDER BY id DESC LIMIT 1", actor)[0][0]  # fmt: skip
    assert set(exported) == in_a and len(exported) == len(in_a)


# --- 2. writes that open families stay inside the writer's scope ----------------------------------------------


def test_a_coordinator_assigns_only_their_rts_and_families_to_their_verifiers(client, world, cid):
    koor = _as(client, "koor.a")
    url = f"/api/v1/campaigns/{cid}/assignments"
    before = _one(world, "SELECT count(*) FROM assignment")
    fam_b = min(_ids(world, "SELECT id FROM household WHERE rt_code = %s", world["rts_b"][1]))

    def post(body: dict) -> tuple[int, str]:
        r = client.post(url, headers=koor, json={"due_on": DUE, **body})
        return r.status_code, r.json()["detail"]

    rt = world["rts_a"][1]
    # another kecamatan's verifier, a verifier with an RT outside, and no one at all: the same answer
    assert post({"rt_codes": [rt], "verifier": "rt.b1"}) == (404, "no user 'rt.b1'")
    assert post({"rt_codes": [rt], "verifier": "rt.ab"}) == (404, "no user 'rt.ab'")
    assert post({"rt_codes": [rt], "verifier": "koor.b"}) == (404, "no user 'koor.b'")
    assert post({"rt_codes": [rt], "verifier": "nobody"}) == (404, "no user 'nobody'")
    # a family or an RT of B, and a family or an RT that does not exist: the same answer
    assert post({"household_ids": [fam_b], "verifier": "rt.a1"}) == (404, f"no families {fam_b}")
    assert post({"household_ids": [MISSING], "verifier": "rt.a1"}) == (404, f"no families {MISSING}")
    assert post({"rt_codes": [world["rts_b"][1]], "verifier": "rt.a1"}) == (404, f"no RT {world['rts_b'][1]}")
    # the proposal: naming rt.b1 or planning an RT of B is naming nothing; the default pool is A's two verifiers
    prop = f"/api/v1/campaigns/{cid}/proposal"
    named = client.post(prop, json={"verifiers": [{"username": "rt.b1"}]}, headers=koor)
    assert (named.status_code, named.json()["detail"]) == (404, "no active verifiers rt.b1")
    plan = client.post(prop, json={}, headers=koor).json()
    assert plan["summary"]["verifiers"] == 2 and {v["verifier"] for v in plan["verifiers"]} == {"rt.a1", "rt.a2"}
    assert all(c.startswith(world["A"] + ".") for v in plan["verifiers"] for c in v["rt_codes"])
    accept = f"{prop}/accept"
    rt_b = world["rts_b"][1]
    for row, detail in (({"verifier": "rt.b1", "rt_code": rt}, "no user 'rt.b1'"),
                        ({"verifier": "rt.a2", "rt_code": rt_b}, f"no RT {rt_b}")):  # fmt: skip
        r = client.post(accept, json={"due_on": DUE, "plan": [row]}, headers=koor)
        assert (r.status_code, r.json()["detail"]) == (404, detail)
    assert _one(world, "SELECT count(*) FROM assignment") == before  # nothing was written
    # the verifiers a coordinator may assign: those whose every RT lies in their area
    names = {who: [v["username"] for v in client.get(f"/api/v1/campaigns/{cid}/verifiers",
                                                     headers=_as(client, who)).json()]
             for who in ("koor.a", "koor.b", "admin")}  # fmt: skip
    assert names == {"koor.a": ["rt.a1", "rt.a2"], "koor.b": ["rt.b1", "rt.b2"],
                     "admin": ["rt.a1", "rt.a2", "rt.ab", "rt.b1", "rt.b2"]}  # fmt: skip
    # the admin may give rt.ab an RT of A: it is then koor.a's assignment to follow, not rt.ab's to see B through
    ok = client.post(url, headers=_as(client, "admin"), json={"rt_codes": [rt], "verifier": "rt.ab", "due_on": DUE})
    assert ok.status_code == 201, ok.text


def test_back_checks_are_drawn_only_inside_the_coordinators_area(client, world, cid):
    koor = _as(client, "koor.a")
    url = f"/api/v1/campaigns/{cid}/backchecks"
    visits_a = _ids(world, """SELECT v.id FROM verification v JOIN household h ON h.id = v.household_id
                              WHERE v.campaign_id = %s AND h.rt_code LIKE %s""", cid, world["A"] + ".%")  # fmt: skip
    visits_b = _ids(world, """SELECT v.id FROM verification v JOIN household h ON h.id = v.household_id
                              WHERE v.campaign_id = %s AND h.rt_code LIKE %s""", cid, world["B"] + ".%")  # fmt: skip
    assert (len(visits_a), len(visits_b)) == (4, 3)
    for pool in (["rt.b2"], ["rt.ab"], ["nobody"]):  # outside the area is the same as unknown
        r = client.post(url, json={"due_on": DUE, "pool": pool, "rate": 1}, headers=koor)
        assert (r.status_code, r.json()["detail"]) == (404, f"no active verifiers {pool[0]}")
    # the attack: a pool of one's own verifier and every visit drawn; only A's four visits are
    drawn = client.post(url, json={"due_on": DUE, "pool": ["rt.a2"], "rate": 1}, headers=koor)
    assert drawn.status_code == 201, drawn.text
    got = drawn.json()
    assert {a["backcheck_of"] for a in got} == visits_a and len(got) == 4
    assert {a["verifier"] for a in got} == {"rt.a2"} and all(a["rt_code"].startswith(world["A"] + ".") for a in got)
    assert _one(world, "SELECT count(*) FROM assignment WHERE kind = 'backcheck' AND rt_code LIKE %s",
                world["B"] + ".%") == 0  # fmt: skip
    # so the checker sees those four families of A and no family of B
    checker = _as(client, "rt.a2")
    for a in got:
        assert client.get(f"/api/v1/households/{a['household_id']}", headers=checker).status_code == 200
    fam_b = _one(world, "SELECT household_id FROM verification WHERE id = %s", min(visits_b))
    assert client.get(f"/api/v1/households/{fam_b}", headers=checker).status_code == 404
    # B's coordinator draws B's three for B's other verifier; the rates each sees are their own area's
    mine = client.post(url, json={"due_on": DUE, "pool": ["rt.b2"], "rate": 1}, headers=_as(client, "koor.b")).json()
    assert {a["backcheck_of"] for a in mine} == visits_b and {a["verifier"] for a in mine} == {"rt.b2"}
    rates = {who: [(r["verifier"], r["drawn"]) for r in client.get(url, headers=_as(client, who)).json()]
             for who in ("koor.a", "koor.b")}  # fmt: skip
    assert rates == {"koor.a": [("rt.a1", 4)], "koor.b": [("rt.b1", 3)]}


# --- 3. a prelist answers nothing about families outside the uploader's scope ---------------------------------


def test_a_prelist_row_outside_the_scope_reads_exactly_as_an_unknown_one(client, world):
    made = client.post("/api/v1/campaigns", headers=_as(client, "admin"), json={
        "name": "Prelist lingkup", "target_kind": "prelist", "starts_on": str(TODAY), "ends_on": DUE})  # fmt: skip
    pid = made.json()["id"]
    fam_a = min(_ids(world, "SELECT id FROM household WHERE rt_code = %s AND active", world["rts_a"][0]))
    fam_b = min(_ids(world, "SELECT id FROM household WHERE rt_code = %s AND active", world["rts_b"][0]))
    kk_a, kk_b, kk_none = "1571019999000001", "1571029999000002", "1571039999000003"
    key = load_secret_key(get_settings())
    with psycopg.connect(world["url"]) as conn:
        for kk, fam in ((kk_a, fam_a), (kk_b, fam_b)):
            conn.execute("UPDATE household SET kk_hash = %s WHERE id = %s", (keyed_hash(key, kk), fam))

    def upload(who: str, text: str, partial: bool = False):
        return client.post(f"/api/v1/campaigns/{pid}/prelist", headers=_as(client, who),
                           files={"file": ("p.csv", text.encode(), "text/csv")},
                           data={"partial": "true" if partial else "false"})  # fmt: skip

    # B's KK and a KK of no one: byte-identical answers, by number and by id
    outside, unknown = upload("koor.a", f"no_kk\n{kk_b}\n"), upload("koor.a", f"no_kk\n{kk_none}\n")
    assert outside.status_code == unknown.status_code == 400 and outside.content == unknown.content
    assert outside.json()["problems"] == ["row 2: no family with this KK number"]
    by_id = upload("koor.a", f"household_id\n{fam_b}\n{MISSING}\n").json()
    assert by_id["problems"] == ["row 2: no family with this id", "row 3: no family with this id"]
    # partial: A's family is added, B's is reported as unknown and not added
    part = upload("koor.a", f"no_kk\n{kk_a}\n{kk_b}\n", partial=True).json()
    assert (part["added"], part["refused"], part["issues"]) == (1, 1, ["row 3: no family with this KK number"])
    assert _ids(world, "SELECT household_id FROM campaign_target WHERE campaign_id = %s", pid) == {fam_a}
    # B's coordinator adds B's family
    assert upload("koor.b", f"no_kk\n{kk_b}\n").json()["added"] == 1
    assert _ids(world, "SELECT household_id FROM campaign_target WHERE campaign_id = %s", pid) == {fam_a, fam_b}


# --- 4. lists hold only the caller's area; single objects outside it are 404 ----------------------------------


def test_coordinators_lists_hold_exactly_their_area(client, world, cid):
    for who, area in (("koor.a", world["A"]), ("koor.b", world["B"][:8])):
        h = _as(client, who)
        like = area + ".%"
        base = f"/api/v1/campaigns/{cid}"
        got = {a["id"] for a in client.get(f"{base}/assignments", headers=h).json()}
        assert got == _ids(world, "SELECT id FROM assignment WHERE campaign_id = %s AND rt_code LIKE %s", cid, like)
        load = {w["verifier"]: w["active_assignments"] + w["backchecks"]
                for w in client.get(f"{base}/workload", headers=h).json()}  # fmt: skip
        expected = dict(_db(world, """SELECT u.username, count(*) FROM assignment a
                                      JOIN app_user u ON u.id = a.verifier_id
                                      WHERE a.campaign_id = %s AND a.rt_code LIKE %s
                                        AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned')
                                      GROUP BY 1""", cid, like))  # fmt: skip
        assert load == expected
        visits = {v["id"] for v in client.get(f"{base}/verifications", headers=h).json()}
        assert visits == _ids(world, """SELECT v.id FROM verification v JOIN household h ON h.id = v.household_id
                                        WHERE v.campaign_id = %s AND h.rt_code LIKE %s""", cid, like)  # fmt: skip
        progress = client.get(f"{base}/progress", params={"by": "day"}, headers=h).json()
        assert sum(p["visits"] for p in progress["series"]) == len(visits)
        assert {v["verifier"]: v["visits"] for v in progress["verifiers"]} == dict(_db(
            world, """SELECT u.username, count(*) FROM verification v JOIN household h ON h.id = v.household_id
                      JOIN app_user u ON u.id = v.verifier_id WHERE v.campaign_id = %s AND h.rt_code LIKE %s
                      GROUP BY 1""", cid, like))  # fmt: skip
        # coverage: the RTs of the area; above it, one row per level counting only the area's targets
        targets = _one(world, "SELECT count(*) FROM campaign_target WHERE campaign_id = %s AND rt_code LIKE %s",
                       cid, like)  # fmt: skip
        rts = client.get(f"{base}/coverage", params={"level": "rt"}, headers=h).json()
        in_area = _ids(world, "SELECT code FROM area WHERE level = 'rt' AND code LIKE %s", like)
        assert {r["code"] for r in rts} == in_area
        assert sum(r["targets"] for r in rts) == targets
        for level in ("kota", "kecamatan"):
            rows = client.get(f"{base}/coverage", params={"level": level}, headers=h).json()
            assert [(r["code"], r["targets"]) for r in rows] == [(area[: {"kota": 5, "kecamatan": 8}[level]], targets)]
        # priorities: every RT of the area with targets still to verify, none else
        prio = client.get(f"{base}/priorities", params={"limit": 5000}, headers=h).json()
        assert {p["code"] for p in prio} == {r["code"] for r in rts if r["pending"] > 0}
        assert progress["series"][-1]["verified_cumulative"] == sum(r["verified"] for r in rts)


def test_outside_the_scope_every_single_object_is_404_as_if_absent(client, world, cid):
    koor, fam_b = _as(client, "koor.a"), min(_ids(world, "SELECT id FROM household WHERE rt_code LIKE %s",
                                                      world["B"] + ".%"))  # fmt: skip
    visit_b = _one(world, """SELECT min(v.id) FROM verification v JOIN household h ON h.id = v.household_id
                             WHERE h.rt_code LIKE %s""", world["B"] + ".%")  # fmt: skip
    assign_b = _one(world, "SELECT min(id) FROM assignment WHERE rt_code LIKE %s", world["B"] + ".%")
    for path, missing in ((f"/api/v1/households/{fam_b}", f"/api/v1/households/{MISSING}"),
                          (f"/api/v1/households/{fam_b}/trail", f"/api/v1/households/{MISSING}/trail")):  # fmt: skip
        a, b = client.get(path, headers=koor), client.get(missing, headers=koor)
        assert (a.status_code, b.status_code) == (404, 404)
        assert a.json()["detail"].replace(str(fam_b), "N") == b.json()["detail"].replace(str(MISSING), "N")
    for obj, missing, body, what in (
        (f"/api/v1/assignments/{assign_b}/status", f"/api/v1/assignments/{MISSING}/status",
         {"status": "cancelled", "reason": "x"}, "assignment"),
        (f"/api/v1/verifications/{visit_b}/decision", f"/api/v1/verifications/{MISSING}/decision",
         {"decision": "approve"}, "verification"),
    ):  # fmt: skip
        a, b = client.post(obj, json=body, headers=koor), client.post(missing, json=body, headers=koor)
        assert (a.status_code, b.status_code) == (404, 404), what
        assert a.json()["detail"] == f"no {what} {assign_b if what == 'assignment' else visit_b}"
    # a photo of B's visit: B's coordinator reads it, A's gets the photo of a visit that does not exist
    png = _png()
    up = client.post(f"/api/v1/verifications/{visit_b}/photos", content=png,
                     headers={**_as(client, "rt.b1"), "content-type": "image/png"})  # fmt: skip
    assert up.status_code == 201, up.text
    photo = f"/api/v1/verifications/{visit_b}/photos/{up.json()['sha256']}"
    assert client.get(photo, headers=_as(client, "koor.b")).status_code == 200
    assert client.get(photo, headers=koor).status_code == 404
    assert client.get(photo, headers=_as(client, "rt.a1")).status_code == 404
    # progress of an area outside (or unknown) does not exist; the minutes of B's kelurahan neither
    for area in (world["B"], "15.71.99"):
        assert client.get(f"/api/v1/campaigns/{cid}/progress", params={"area": area}, headers=koor).status_code == 404
    assert client.get(f"/api/v1/campaigns/{cid}/progress", params={"area": world["A"]}, headers=koor).status_code == 200
    assert client.get(f"/api/v1/campaigns/{cid}/berita-acara/{world['B']}", headers=koor).status_code == 404


def test_a_verifier_sees_their_rts_and_open_assignments_only(client, world, cid):
    own, assigned = world["rts_a"][0], world["rts_a"][2]  # rt.a1's RT, and the RT koor.a assigned to them
    expected = _ids(world, "SELECT id FROM household WHERE rt_code IN (%s, %s)", own, assigned)
    h = _as(client, "rt.a1")
    items = client.get("/ogc/collections/households/items", params={"limit": 10000}, headers=h).json()
    assert items["numberMatched"] == len(expected) and {f["id"] for f in items["features"]} == expected
    csv_rows = client.get("/api/v1/exports/households.csv", headers=h).text.splitlines()
    assert len(csv_rows) == len(expected) + 1
    z, x, y = _city_tile(world)
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/households/{z}/{x}/{y}.pbf", headers=h).content)
    assert {f["id"] for f in tile["households"]["features"]} == expected
    fam_b = min(_ids(world, "SELECT id FROM household WHERE rt_code LIKE %s", world["B"] + ".%"))
    assert client.get(f"/api/v1/households/{fam_b}", headers=h).status_code == 404
    assert client.get(f"/api/v1/households/{min(expected)}", headers=h).status_code == 200
    mine = client.get(f"/api/v1/campaigns/{cid}/assignments", headers=h).json()
    theirs = _ids(world, """SELECT a.id FROM assignment a JOIN app_user u ON u.id = a.verifier_id
                            WHERE a.campaign_id = %s AND u.username = 'rt.a1'""", cid)  # fmt: skip
    assert {a["id"] for a in mine} == theirs


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(buf, format="PNG")
    return buf.getvalue()
