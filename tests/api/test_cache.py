"""Public bodies from memory by data version (issue 13): the same bytes while the data holds, gzip and
identity each with its own strong ETag, a committed write shows at once, and staff and public never share."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.caching import BodyCache, Entry
from api.dataversion import newer
from core.settings import Settings
from portal.app import create_app
from tests.people import Bearers, add_users, db_rows, verval_city

GZ = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}
bearer = Bearers()


@pytest.fixture(scope="module")
def world(committed_url):
    from tests.conftest import truncate_all

    kel, rts = verval_city(committed_url, 1)
    add_users(committed_url, {"admin": ("admin", []), "koor": ("coordinator", ["--scope-level", "kelurahan",
              "--scope", kel]), "plan": ("planner", [])})  # fmt: skip
    bearer.clear()
    yield {"url": committed_url, "kel": kel, "rt": rts[0]}
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world["url"])) as c:
        yield c


def _get(client: TestClient, url: str, **headers: str) -> tuple[Any, bytes]:
    """The response and its body as sent (still gzip-encoded when it was)."""
    with client.stream("GET", url, headers=headers) as r:
        return r, b"".join(r.iter_raw())


def _version(url: str) -> int:
    return db_rows(url, "SELECT version FROM data_version WHERE name = 'public'")[0][0]


def _exact(url: str, kel: str) -> dict[str, tuple[int, int]]:
    """(families, people) of every RT of a kelurahan, counted from the families' own rows."""
    out: dict[str, list[int]] = {rt: [0, 0] for (rt,) in db_rows(url, "SELECT code FROM area WHERE level = 'rt'"
                                                                 " AND code LIKE %s", kel + ".%")}  # fmt: skip
    for rt, members in db_rows(url, "SELECT rt_code, jumlah_anggota FROM household WHERE rt_code LIKE %s", kel + ".%"):
        out[rt][0] += 1
        out[rt][1] += members
    return {rt: (f, p) for rt, (f, p) in out.items()}


def _figures(body: bytes) -> dict[str, tuple[int | None, int | None]]:
    return {a["code"]: (a["families"], a["people"]) for a in json.loads(body)["areas"]}


def _upgraded(client: TestClient, url: str, **headers: str) -> tuple[Any, bytes]:
    """The response once the entry has been recompressed at the warm level in the background."""
    for _ in range(100):
        r, raw = _get(client, url, **headers)
        if r.headers["etag"].endswith('-gz6"'):
            return r, raw
        time.sleep(0.02)
    raise AssertionError(f"{url} was never recompressed: {r.headers['etag']}")


def test_a_warm_hit_is_the_same_bytes_in_either_encoding(client, world):
    url = f"/api/v1/stats/rt?parent={world['kel']}"
    admin = bearer(client, "admin")
    first, raw = _get(client, url, **GZ, **admin)
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in first.headers["vary"] and first.headers["etag"].endswith('-gz3"')
    again, raw_again = _get(client, url, **GZ, **admin)
    assert raw_again == raw and again.headers["etag"] == first.headers["etag"]
    plain, body = _get(client, url, **PLAIN, **admin)
    assert "content-encoding" not in plain.headers and body == gzip.decompress(raw)
    assert plain.headers["etag"] != first.headers["etag"]  # another representation, another strong tag
    warm, raw_warm = _upgraded(client, url, **GZ, **admin)
    assert gzip.decompress(raw_warm) == body and len(raw_warm) < len(raw)
    assert _get(client, url, **GZ, **admin)[1] == raw_warm
    # a client still holding the cold bytes holds the same content: 304, naming the bytes it holds
    kept = _get(client, url, **GZ, **admin, **{"If-None-Match": first.headers["etag"]})[0]
    assert kept.status_code == 304 and kept.headers["etag"] == first.headers["etag"]
    # Dinsos staff read the exact figures: as many families and people as the registry holds
    assert _figures(body) == _exact(world["url"], world["kel"])
    assert json.loads(body)["suppressed"] is False


def test_if_none_match_is_304_for_the_representation_the_client_holds(client, world):
    url = f"/ogc/collections/rt/items?filter=parent_code LIKE '{world['kel'][:8]}%25'&limit=50"
    r, raw = _get(client, url, **GZ)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"].startswith("public")
    tag = r.headers["etag"]
    held = _get(client, url, **GZ, **{"If-None-Match": tag})[0]
    assert held.status_code == 304 and held.headers["etag"] == tag and held.headers["vary"] == "Accept-Encoding"
    assert _get(client, url, **PLAIN, **{"If-None-Match": tag})[0].status_code == 200  # identity is not what it holds
    plain_tag = _get(client, url, **PLAIN)[0].headers["etag"]
    assert _get(client, url, **PLAIN, **{"If-None-Match": f'"x", {plain_tag}'})[0].status_code == 304
    feats = json.loads(gzip.decompress(raw))["features"]
    expected = db_rows(world["url"], "SELECT count(*) FROM area WHERE level = 'rt' AND code LIKE %s",
                       world["kel"][:8] + ".%")[0][0]  # fmt: skip
    assert len(feats) == min(50, expected)


def test_a_committed_write_bumps_the_version_in_its_transaction_and_shows_at_once(client, world):
    url, rt = f"/api/v1/stats/rt?parent={world['kel']}", world["rt"]
    admin = bearer(client, "admin")
    before, body = _get(client, url, **PLAIN, **admin)
    public_before = _get(client, url, **PLAIN)[0].headers["etag"]
    fam, members = db_rows(world["url"], "SELECT id, jumlah_anggota FROM household WHERE rt_code = %s AND active"
                           " ORDER BY id LIMIT 1", rt)[0]  # fmt: skip
    v0 = _version(world["url"])
    with psycopg.connect(world["url"]) as conn:
        conn.execute("SET ROLE peta_app")  # the application's own role, as an approved visit writes
        conn.execute("UPDATE household SET jumlah_anggota = %s, version = version + 1 WHERE id = %s",
                     (members + 3, fam))  # fmt: skip
        inside = conn.execute("SELECT version FROM data_version WHERE name = 'public'").fetchone()[0]
        assert inside == v0 + 1 and _version(world["url"]) == v0  # bumped in the transaction, unseen outside
        # not committed yet: every other caller still gets the committed figures, from the cache
        assert _get(client, url, **PLAIN, **admin)[0].headers["etag"] == before.headers["etag"]
        conn.commit()
    assert _version(world["url"]) == v0 + 1
    after, new_body = _get(client, url, **PLAIN, **admin)
    assert after.headers["etag"] != before.headers["etag"]
    assert _figures(new_body)[rt][1] == _figures(body)[rt][1] + 3
    assert _figures(new_body) == _exact(world["url"], world["kel"])
    assert _get(client, url, **PLAIN)[0].headers["etag"] != public_before


def test_a_rolled_back_write_does_not_bump(client, world):
    url = "/api/v1/stats/kelurahan"
    tag = _get(client, url, **GZ)[0].headers["etag"]
    v0 = _version(world["url"])
    with psycopg.connect(world["url"]) as conn:
        conn.execute("SET ROLE peta_app")
        conn.execute("UPDATE household SET jumlah_anggota = jumlah_anggota + 1, version = version + 1"
                     " WHERE rt_code = %s", (world["rt"],))  # fmt: skip
        conn.rollback()
    assert _version(world["url"]) == v0
    assert _get(client, url, **GZ, **{"If-None-Match": tag})[0].status_code == 304


def test_the_app_role_reads_the_version_and_cannot_set_it(world):
    with psycopg.connect(world["url"]) as conn:
        conn.execute("SET ROLE peta_app")
        assert conn.execute("SELECT version FROM data_version").fetchone()[0] >= 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE data_version SET version = 1")


def test_staff_and_the_public_never_share_an_entry(client, world):
    exact = _exact(world["url"], world["kel"])
    # the public first, then staff, then the public again
    url = f"/api/v1/stats/rt?parent={world['kel']}&f=json"
    anon, anon_body = _get(client, url, **PLAIN)
    staff, staff_body = _get(client, url, **PLAIN, **bearer(client, "koor"))
    again = _get(client, url, **PLAIN)[1]
    assert json.loads(anon_body)["suppressed"] is True and json.loads(staff_body)["suppressed"] is False
    assert _figures(staff_body) == exact and _figures(anon_body) != exact and again == anon_body
    assert anon.headers["etag"] != staff.headers["etag"]
    assert anon.headers["cache-control"].startswith("public") and staff.headers["cache-control"].startswith("private")
    # a planner is outside Dinsos: the published entry, privately
    plan, plan_body = _get(client, url, **PLAIN, **bearer(client, "plan"))
    assert plan_body == anon_body and plan.headers["etag"] == anon.headers["etag"]
    assert plan.headers["cache-control"].startswith("private")
    # staff first, then the public (OGC items)
    items = f"/ogc/collections/rt/items?limit=500&filter=parent_code LIKE '{world['kel']}%25'&properties=families"
    staff_feats = json.loads(_get(client, items, **PLAIN, **bearer(client, "admin"))[1])["features"]
    anon_feats = json.loads(_get(client, items, **PLAIN)[1])["features"]
    assert {f["id"]: f["properties"]["families"] for f in staff_feats} == {rt: n for rt, (n, _) in exact.items()}
    assert {f["id"]: f["properties"]["families"] for f in anon_feats} != {rt: n for rt, (n, _) in exact.items()}


def test_links_follow_the_host_without_poisoning_the_cache(client):
    url = "/ogc/collections/kecamatan/items?limit=3"
    evil = json.loads(_get(client, url, **PLAIN, host="evil.example")[1])
    assert all(lk["href"].startswith("http://evil.example/") for lk in evil["links"])
    ours = json.loads(_get(client, url, **PLAIN)[1])
    assert all(lk["href"].startswith("http://testserver/") for lk in ours["links"])


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_a_tile_is_recomputed_after_a_write(client, world):
    lon, lat = db_rows(world["url"], "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM area"
                       " WHERE code = %s) q", world["rt"])[0]  # fmt: skip
    x, y = _tile_of(lon, lat, 14)
    tiles = client.app.state.tile_cache
    assert client.get(f"/tiles/rt/14/{x}/{y}.pbf").status_code == 200
    generation = tiles.generation
    assert any(k[0] == generation for k in tiles.items)
    with psycopg.connect(world["url"]) as conn:
        conn.execute("UPDATE household SET jumlah_anggota = jumlah_anggota + 1, version = version + 1"
                     " WHERE id = (SELECT min(id) FROM household WHERE rt_code = %s)", (world["rt"],))  # fmt: skip
    assert client.get(f"/tiles/rt/14/{x}/{y}.pbf").status_code == 200
    assert tiles.generation != generation and all(k[0] == tiles.generation for k in tiles.items)


def test_the_cache_stays_under_its_byte_bound(world):
    settings = Settings(PETA_CACHE_MB=1)
    with TestClient(create_app(settings, url=world["url"])) as small:
        urls = [f"/ogc/collections/rt/items?limit={n}" for n in (10, 20, 40, 80, 160, 320)]
        urls += [f"/api/v1/stats/{lv}?f={f}" for lv in ("kecamatan", "kelurahan", "rw", "rt") for f in ("json", "csv")]
        sent = {}
        for url in urls * 2:
            r, raw = _get(small, url, **GZ)
            assert r.status_code == 200, r.text
            sent.setdefault(url, gzip.decompress(raw) if r.headers.get("content-encoding") else raw)
            cache = small.app.state.body_cache
            assert cache.used == sum(e.size for e in cache.items.values()) <= cache.max_bytes
        total = sum(len(b) for b in sent.values())
        assert total > cache.max_bytes and len(cache.items) < len(urls)  # some were evicted
        assert all(e.size <= cache.max_bytes // 4 for e in cache.items.values())
        # what was evicted is built again, with the same content
        assert _get(small, urls[-1], **PLAIN)[1] == sent[urls[-1]]


def test_body_cache_is_lru_by_bytes_and_drops_older_generations():
    cache = BodyCache(max_bytes=40_000)
    v1, v2, v3 = "7.900.2026-12-01", "8.905.2026-12-01", "8.905.2026-12-02"

    def entry(n: int) -> Entry:
        return Entry("t", "application/json", {}, b"x" * n, key_size=10)

    cache.observe(v1)
    for i in range(4):
        cache.put((v1, i), entry(8_000))
    cache.get((v1, 0))  # used: the oldest now is 1
    cache.put((v1, 4), entry(8_000))
    assert list(cache.items) == [(v1, 2), (v1, 3), (v1, 0), (v1, 4)] and cache.used <= 40_000
    cache.put((v1, 5), entry(10_001))  # over a quarter of the bound: not kept
    assert (v1, 5) not in cache.items
    cache.set_gzip((v1, 4), cache.items[(v1, 4)], b"z" * 9_000, 3)
    assert cache.used == sum(e.size for e in cache.items.values()) <= 40_000
    cache.observe(v2)
    assert not cache.items and cache.used == 0
    cache.put((v2, 0), entry(10))
    # a request that read the version before the write finishes late: it neither switches back nor keeps
    cache.observe(v1)
    cache.put((v1, 1), entry(10))
    assert cache.generation == v2 and list(cache.items) == [(v2, 0)]
    cache.observe(v3)  # the next day: days_since_verval moved on
    assert cache.generation == v3 and not cache.items


def test_generations_are_ordered_by_day_and_version():
    assert newer("1.5.2026-12-01", None) and not newer("1.5.2026-12-01", "1.5.2026-12-01")
    assert newer("10.9.2026-12-01", "9.12.2026-12-01") and not newer("9.12.2026-12-01", "10.9.2026-12-01")
    assert newer("1.3.2026-12-02", "40.2.2026-12-01")
    assert newer("5.77.2026-12-01", "5.70.2026-12-01")  # the same number in a recreated database


def test_concurrent_requests_share_a_version_read_that_started_after_they_came(world):
    import asyncio

    from api.dataversion import VersionReader

    async def run() -> int:
        conns = [await psycopg.AsyncConnection.connect(world["url"]) for _ in range(30)]
        try:
            reader = VersionReader()
            versions = await asyncio.gather(*(reader.read(c) for c in conns))
            assert len(set(versions)) == 1 and versions[0].startswith(f"{_version(world['url'])}.")
            # a connection that read is inside its transaction; one that shared a read sent nothing
            readers = sum(c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS for c in conns)
            await _stale_read_is_not_shared(world["url"], reader, conns[0], conns[1])
            return readers
        finally:
            for c in conns:
                await c.close()

    assert 1 <= asyncio.run(run()) < 30


async def _stale_read_is_not_shared(url: str, reader: Any, first: Any, second: Any) -> None:
    """A read that took its snapshot before a write committed and is still running when the next request
    comes, after the commit: that request must not take its answer."""
    import asyncio

    with psycopg.connect(url, autocommit=True) as sync:
        for _ in range(50):
            await first.rollback()
            await second.rollback()
            running = asyncio.ensure_future(reader.read(first))
            while not running.done():
                await asyncio.sleep(0)
                # the server has answered the read but this loop has not taken the answer yet: commit a write
                # now (blocking the loop), then a request comes
                answered = sync.execute("SELECT state = 'idle in transaction' AND query LIKE %s"
                                        " FROM pg_stat_activity WHERE pid = %s",
                                        ("%data_version%", first.info.backend_pid)).fetchone()  # fmt: skip
                if answered == (True,) and not running.done():
                    sync.execute("UPDATE peta_config SET value = value WHERE false")  # a public table: a bump
                    after = await reader.read(second)
                    assert int(after.split(".")[0]) == int((await running).split(".")[0]) + 1
                    assert int(after.split(".")[0]) == _version(url)
                    return
            await running
    raise AssertionError("never caught a read between its answer and its reader (rerun)")
