"""Commit, then answer: every 2xx is a committed write, a COMMIT that fails is an error, and a crash while a
COMMIT is held back loses only what was never acknowledged. The COMMIT is held by a deferred constraint
trigger that waits on an advisory lock the test holds; the database is a private cluster the test crashes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from portal.app import create_app
from tests.crashable import Crashable, crashable
from tests.live import serve
from tests.people import PASSWORD, add_users, scope, verval_city

TODAY = date.today()
HOLD = 4242  # the advisory lock key that holds COMMITs back

# A deferred constraint trigger runs inside COMMIT: waiting there holds the COMMIT back, as a slow disk or a
# held network packet would, after the route's work is done.
HOLD_SQL = f"""
CREATE OR REPLACE FUNCTION peta_test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({HOLD});
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS test_hold ON %(table)s;
CREATE CONSTRAINT TRIGGER test_hold AFTER INSERT ON %(table)s DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION peta_test_hold_commit();
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Crashable]:
    with crashable() as c:
        kel, rts = verval_city(c.url, 3)
        add_users(c.url, {"koor": ("coordinator", scope("kelurahan", kel)),
                          "rt.satu": ("verifier", scope("rt", rts[0])), "rt.dua": ("verifier", scope("rt", rts[1])),
                          "admin": ("admin", [])})  # fmt: skip
        c.rts, c.kel = rts, kel  # type: ignore[attr-defined]
        yield c


def _rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _token(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Held:
    """Hold every COMMIT that inserted into `table` until released (or the database goes)."""

    def __init__(self, url: str, table: str) -> None:
        self.url, self.table = url, table

    def __enter__(self) -> Held:
        with psycopg.connect(self.url, autocommit=True) as c:
            c.execute(HOLD_SQL % {"table": self.table})
        self.locker = psycopg.connect(self.url, autocommit=True)
        self.locker.execute("SELECT pg_advisory_lock(%s)", (HOLD,))
        return self

    def release(self) -> None:
        if not self.locker.closed:
            self.locker.execute("SELECT pg_advisory_unlock(%s)", (HOLD,))

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
            self.locker.close()
            with psycopg.connect(self.url, autocommit=True) as c:
                c.execute(f"DROP TRIGGER IF EXISTS test_hold ON {self.table}")
        except psycopg.OperationalError:
            pass  # crashed: the test restarts the database and drops the trigger itself


def _campaign(base: str, koor: dict[str, str]) -> int:
    body = {"name": f"Verval {uuid.uuid4().hex[:6]}", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(TODAY - timedelta(days=5)), "ends_on": str(TODAY + timedelta(days=60))}  # fmt: skip
    r = httpx.post(f"{base}/api/v1/campaigns", json=body, headers=koor, timeout=30)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _in_background(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["response"] = fn()
        except httpx.HTTPError as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_write_is_answered_only_once_committed_and_is_then_visible(box):
    with serve(create_app(url=box.url)) as base:
        koor = _token(base, "koor")
        cid = _campaign(base, koor)
        rt = box.rts[2]
        body = {"rt_codes": [rt], "verifier": "rt.dua", "due_on": str(TODAY + timedelta(days=9))}
        with Held(box.url, "assignment") as held:
            thread, out = _in_background(
                lambda: httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", json=body, headers=koor, timeout=30)
            )
            thread.join(1.5)
            # the route's work is done and its COMMIT waits: no answer yet, and nothing visible
            assert thread.is_alive() and out == {}
            assert _rows(box.url, "SELECT count(*) FROM assignment WHERE campaign_id = %s", cid) == [(0,)]
            held.release()
            thread.join(10)
            assert out["response"].status_code == 201, out["response"].text
            # the moment the answer is in, any reader sees the write
            assert _rows(box.url, "SELECT rt_code FROM assignment WHERE campaign_id = %s", cid) == [(rt,)]


def test_an_audited_read_sends_nothing_before_its_audit_row_is_committed(box):
    with serve(create_app(url=box.url)) as base:
        admin = _token(base, "admin")
        family = _rows(box.url, "SELECT id FROM household WHERE rt_code = %s ORDER BY id LIMIT 1", box.rts[0])[0][0]
        before = _rows(box.url, "SELECT count(*) FROM audit_log WHERE action = 'read'")[0][0]
        with Held(box.url, "audit_log") as held:
            thread, out = _in_background(
                lambda: httpx.get(f"{base}/api/v1/households/{family}", headers=admin, timeout=30)
            )
            thread.join(1.5)
            assert thread.is_alive() and out == {}  # the record waits for its audit row's COMMIT
            held.release()
            thread.join(10)
        assert out["response"].status_code == 200 and out["response"].json()["id"] == family
        reads = _rows(box.url, "SELECT object_ids, id FROM audit_log WHERE action = 'read' ORDER BY id")
        assert len(reads) == before + 1 and reads[-1][0] == [str(family)]
        # the served app's sealer chains it within about a second (PETA_AUDIT_SEAL_SECONDS)
        deadline = time.monotonic() + 10
        while _rows(box.url, "SELECT seq FROM audit_log WHERE id = %s", reads[-1][1]) == [(None,)]:
            assert time.monotonic() < deadline, "the audit row was not sealed"
            time.sleep(0.2)


def test_the_same_visit_batch_sent_at_once_is_created_once_and_answered_duplicate(box):
    with serve(create_app(url=box.url)) as base:
        koor, v1 = _token(base, "koor"), _token(base, "rt.satu")
        cid = _campaign(base, koor)
        rt = box.rts[0]
        due = str(TODAY + timedelta(days=9))
        r = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", headers=koor, timeout=30,
                       json={"rt_codes": [rt], "verifier": "rt.satu", "due_on": due})  # fmt: skip
        assert r.status_code == 201, r.text
        family, lon, lat = _rows(box.url, """SELECT h.id, ST_X(h.geom), ST_Y(h.geom) FROM campaign_target t
                                             JOIN household h ON h.id = t.household_id
                                             WHERE t.campaign_id = %s AND h.rt_code = %s ORDER BY h.id LIMIT 1""",
                                 cid, rt)[0]  # fmt: skip
        visit = {"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": family, "result_code": 1,
                 "visited_at": datetime.now(UTC).isoformat(), "lon": lon, "lat": lat, "accuracy_m": 8,
                 "jumlah_anggota": 4, "criteria": [True] * 9 + [False] * 5}  # fmt: skip
        senders = 8
        with Held(box.url, "verification") as held, ThreadPoolExecutor(senders) as pool:
            # every copy reaches the server while the first one's COMMIT is held back
            futures = [pool.submit(httpx.post, f"{base}/api/v1/verifications/batch", json={"visits": [visit]},
                                   headers=v1, timeout=60) for _ in range(senders)]  # fmt: skip
            time.sleep(1.5)
            held.release()
            answers = [f.result() for f in futures]
        assert [a.status_code for a in answers] == [200] * senders, [a.text for a in answers]
        statuses = sorted(a.json()["results"][0]["status"] for a in answers)
        assert statuses == ["created"] + ["duplicate"] * (senders - 1)
        ids = {a.json()["results"][0]["id"] for a in answers}
        stored = _rows(box.url, "SELECT id FROM verification WHERE client_id = %s", visit["client_id"])
        assert len(ids) == 1 and stored == [(ids.pop(),)]


def test_a_crash_loses_no_acknowledged_write_and_keeps_none_that_failed(box):
    with serve(create_app(url=box.url)) as base:
        koor = _token(base, "koor")
        cid = _campaign(base, koor)
        due = str(TODAY + timedelta(days=9))
        families = [r[0] for r in _rows(box.url, """SELECT t.household_id FROM campaign_target t
                                                     JOIN household h ON h.id = t.household_id
                                                     WHERE t.campaign_id = %s AND h.rt_code LIKE %s
                                                     ORDER BY 1 LIMIT 5""", cid, box.kel + ".%")]  # fmt: skip
        assert len(families) == 5

        def assign(family: int) -> httpx.Response:
            return httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", headers=koor, timeout=30,
                              json={"household_ids": [family], "verifier": "rt.dua", "due_on": due})  # fmt: skip

        # acknowledged before the crash
        done = [assign(f) for f in families[:3]]
        assert [r.status_code for r in done] == [201] * 3, [r.text for r in done]
        # one more, its COMMIT held back when the database dies
        with Held(box.url, "assignment"):
            thread, out = _in_background(lambda: assign(families[3]))
            thread.join(1.5)
            assert thread.is_alive()
            box.crash()
            thread.join(20)
        box.start()
        answer = out.get("response")
        # the held write was never acknowledged: its failed COMMIT is answered, with a 503 saying why
        assert answer is not None, out.get("error")
        assert answer.status_code == 503 and answer.json()["detail"] == "the database is not reachable", answer.text
        assert answer.headers["Retry-After"].isdigit()
        with psycopg.connect(box.url, autocommit=True) as c:
            c.execute("DROP TRIGGER IF EXISTS test_hold ON assignment")
        present = {r[0] for r in _rows(box.url, "SELECT household_id FROM assignment WHERE campaign_id = %s", cid)}
        acknowledged = {f for f, r in zip(families[:3], done, strict=True) if r.status_code == 201}
        assert present == acknowledged  # every 2xx survived; the failed one does not exist
        # and the service carries on after the restart
        again = assign(families[4])
        assert again.status_code == 201, again.text


def _stalled_export(base: str, headers: dict[str, str], path: str) -> Any:
    """A client that asks for an export, reads its first bytes and then stops reading (a tiny receive window)."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(base)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((where.hostname, where.port))
    lines = [f"GET {path} HTTP/1.1", f"Host: {where.netloc}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    sock.sendall("\r\n".join(lines).encode())
    assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    return sock


def _export_backends(url: str) -> list[tuple[str, str]]:
    return _rows(
        url,
        """SELECT state, query FROM pg_stat_activity
                         WHERE datname = current_database() AND pid <> pg_backend_pid()
                           AND (query ILIKE '%%peta_export%%' OR query ILIKE 'FETCH%%')""",
    )


def test_a_client_that_stops_reading_an_export_stalls_nobody_and_is_let_go(box, monkeypatch):
    monkeypatch.setenv("PETA_SEND_STALL_SECONDS", "12")
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        app = create_app(url=box.url)
    finally:
        get_settings.cache_clear()
    with serve(app) as base:
        admin = _token(base, "admin")
        family = _rows(box.url, "SELECT id FROM household ORDER BY id LIMIT 1")[0][0]
        stalled = _stalled_export(base, admin, "/api/v1/exports/households.geojson")
        try:
            time.sleep(1)
            # the export is held mid-way, in its transaction ...
            assert [s for s, _ in _export_backends(box.url)] == ["idle in transaction"]
            # ... and everybody else goes on: the process is alive, audited reads do not queue behind it
            started = time.monotonic()
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            for _ in range(10):
                r = httpx.get(f"{base}/api/v1/households/{family}", headers=admin, timeout=5)
                assert r.status_code == 200
            assert time.monotonic() - started < 6  # long before the stalled export is let go (12 s)
            # stalled exports hold at most the expensive share: the rest of the pool still serves
            more = [_stalled_export(base, admin, "/api/v1/exports/households.geojson") for _ in range(4)]
            try:
                time.sleep(0.5)
                assert httpx.get(f"{base}/api/v1/stats/kecamatan", timeout=5).status_code == 200
                assert httpx.get(f"{base}/api/v1/households/{family}", headers=admin, timeout=5).status_code == 200
                sixth = httpx.get(f"{base}/api/v1/exports/households.geojson", headers=admin, timeout=10)
                assert sixth.status_code == 503 and sixth.headers["Retry-After"].isdigit(), sixth.text
                assert sixth.json()["detail"].startswith("the server is busy")
            finally:
                for sock in more:
                    sock.close()
            # the stalled export is stopped after PETA_SEND_STALL_SECONDS and its connection given back
            deadline = time.monotonic() + 25
            while any(s != "idle" for s, _ in _export_backends(box.url)):
                assert time.monotonic() < deadline, _export_backends(box.url)
                time.sleep(0.3)
        finally:
            stalled.close()


def test_a_client_that_leaves_cancels_its_export(box):
    with serve(create_app(url=box.url)) as base:
        admin = _token(base, "admin")
        stalled = _stalled_export(base, admin, "/api/v1/exports/households.geojson")
        time.sleep(0.5)
        assert [s for s, _ in _export_backends(box.url)] == ["idle in transaction"]
        stalled.close()
        deadline = time.monotonic() + 5
        while any(s != "idle" for s, _ in _export_backends(box.url)):
            assert time.monotonic() < deadline, _export_backends(box.url)
            time.sleep(0.2)


def test_more_exports_than_connections_all_finish(box):
    with serve(create_app(url=box.url)) as base:
        admin = _token(base, "admin")
        with ThreadPoolExecutor(12) as pool:
            futures = [pool.submit(httpx.get, f"{base}/api/v1/exports/{layer}", headers=admin, timeout=60)
                       for layer in ["households.geojson", "households.csv", "rt.geojson"] * 4]  # fmt: skip
            answers = [f.result() for f in futures]
        statuses = [a.status_code for a in answers]
        assert len(statuses) == 12 and set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 5  # the share for exports (PETA_POOL_EXPENSIVE) is taken in turn, no deadlock
        for a in answers:
            if a.status_code == 503:
                assert "Retry-After" in a.headers
            elif a.headers["content-type"].startswith("application/geo+json"):
                assert a.json()["type"] == "FeatureCollection"
