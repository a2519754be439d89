"""Tinjau Kunjungan with approval in two steps, in a real headless Chromium: the verifier officer checks a visit,
the page then tells them it waits for the head of office and offers them nothing more; the head of office (made
one with `peta users head-of-office`) sees the step and who checked it, and approves it into the family's record.
Screenshots and axe findings go to tests/artifacts/."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.live import serve
from tests.people import PASSWORD, add_users, scope, verval_city
from tests.portal.browser import Session, blocking, browser, needs_chromium, record_axe

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def city(committed_url, tmp_path_factory):
    """A small demo city configured for two approval steps: a coordinator (the verifier officer), a coordinator who
    is head of office, a verifier, and two visits of the verifier awaiting a decision."""
    from tests.conftest import truncate_all

    kel, (rt,) = verval_city(committed_url, 1)
    add_users(committed_url, {"koor": ("coordinator", scope("kelurahan", kel)),
                              "kepala": ("coordinator", scope("kelurahan", kel)),
                              "rt.satu": ("verifier", scope("rt", rt))})  # fmt: skip
    runner, env = CliRunner(), {"DATABASE_URL": committed_url}
    config = tmp_path_factory.mktemp("cfg") / "two-steps.yaml"
    config.write_text("verval: {approval_steps: 2}\n")
    get_settings.cache_clear()
    try:
        for args in (["users", "head-of-office", "kepala"], ["rank", "apply", "--config", str(config)]):
            out = runner.invoke(cli, args, env=env)
            assert out.exit_code == 0, out.output
    finally:
        get_settings.cache_clear()
    yield {"url": committed_url, "kel": kel, "rt": rt}
    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:  # peta_config outlives the truncation: the default for the next
        conn.execute("UPDATE peta_config SET value = value || '{\"approval_steps\": 1}' WHERE key = 'verval'")


@pytest.fixture(scope="module")
def site(city):
    with serve(create_app(url=city["url"])) as base, browser() as b:
        yield base, b


def _token(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _two_visits(base: str, city) -> list[int]:
    koor = _token(base, "koor")
    today = date.today()
    made = httpx.post(f"{base}/api/v1/campaigns", headers=koor, json={
        "name": "Verval dua tahap", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
        "starts_on": str(today - timedelta(days=10)), "ends_on": str(today + timedelta(days=30))})  # fmt: skip
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    r = httpx.post(
        f"{base}/api/v1/campaigns/{cid}/assignments",
        headers=koor,
        json={"rt_codes": [city["rt"]], "verifier": "rt.satu", "due_on": str(today + timedelta(days=7))},
    )
    assert r.status_code == 201, r.text
    with psycopg.connect(city["url"]) as conn:
        families = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM household WHERE rt_code = %s ORDER BY id"
                                " LIMIT 2", (city["rt"],)).fetchall()  # fmt: skip
    assert len(families) == 2
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    visits = [{"client_id": str(uuid.uuid4()), "campaign_id": cid, "household_id": fam, "result_code": 1,
               "visited_at": (t0 + timedelta(minutes=30 * i)).isoformat(), "lon": lon, "lat": lat, "accuracy_m": 5,
               "jumlah_anggota": 3, "criteria": [True] * 9 + [False] * 5}
              for i, (fam, lon, lat) in enumerate(families)]  # fmt: skip
    sent = httpx.post(f"{base}/api/v1/verifications/batch", json={"visits": visits}, headers=_token(base, "rt.satu"))
    assert sent.status_code == 200, sent.text
    return [r["id"] for r in sent.json()["results"]]


def _row(s: Session, vid: int) -> str:
    return s.page.inner_text(f"#table tr[data-code='{vid}']")


def test_the_officer_checks_and_the_head_of_office_approves(site, city):
    base, b = site
    first, second = _two_visits(base, city)

    # step 1: the verifier officer sees the step and a button that checks and passes the visit on
    s = Session(b, base)
    s.login("koor", PASSWORD)
    s.page.goto(f"{base}/portal/tinjau")
    s.ready("ready-review")
    assert int(s.page.get_attribute("body", "data-visits")) == 2
    button = s.page.locator(f"button[data-approve='{first}']")
    assert button.inner_text() == "Periksa & teruskan" and button.get_attribute("data-step") == "1"
    assert "Tahap 1 dari 2: pemeriksaan petugas verifikator" in _row(s, first)
    found = s.axe()
    record_axe("portal-tinjau, two steps, step 1 as the verifier officer", found)
    assert blocking(found) == []
    s.shot("portal-review-two-step-1")
    button.click()
    assert s.status("ok") == f"#{first}: Diperiksa"
    with psycopg.connect(city["url"]) as conn:
        got = conn.execute("SELECT status, checked_by, decided_by FROM verification WHERE id = %s", (first,)).fetchone()
    assert got == ("checked", "user:koor", None)
    # the checked visit waits for the head of office: its checker is offered nothing more
    s.page.wait_for_function(f"() => !document.querySelector(\"#table tr[data-code='{first}']\")")
    s.page.select_option("#state", "checked")
    s.page.wait_for_function(f"() => !!document.querySelector(\"#table tr[data-code='{first}']\")")
    assert s.page.locator(f"#table tr[data-code='{first}'] button").count() == 0
    assert s.page.inner_text(f"#table tr[data-code='{first}'] [data-refusal]") == "Menunggu keputusan kepala dinas"
    assert s.errors == []
    s.close()

    # step 2: the head of office sees the step and who checked it, and approves it into the family's record
    h = Session(b, base)
    h.login("kepala", PASSWORD)
    h.page.goto(f"{base}/portal/tinjau?status=checked")
    h.ready("ready-review")
    assert int(h.page.get_attribute("body", "data-visits")) == 1
    assert "Tahap 2 dari 2: keputusan kepala dinas" in _row(h, first)
    h.page.locator(f"#table tr[data-code='{first}'] td").first.click()
    h.ready("ready-visit")
    info = h.page.inner_text("#info")
    assert "Diperiksa oleh" in info and "koor" in info
    assert "Tahap 2 dari 2: keputusan kepala dinas" in info
    # the visit was made at the family's point: no line nor length drawn over the two points, "sama titik" said
    assert h.page.get_attribute("body", "data-same-point") == "1"
    assert "0 m (sama titik)" in info and h.page.locator(".leaflet-tooltip.distance").count() == 0
    assert "Kunjungan di titik keluarga (sama titik)" in h.page.inner_text("#legend")
    found = h.axe()
    record_axe("portal-tinjau, two steps, step 2 as the head of office", found)
    assert blocking(found) == []
    h.shot("portal-review-two-step-2")
    button = h.page.locator(f"button[data-approve='{first}']")
    assert button.inner_text() == "Setujui" and button.get_attribute("data-step") == "2"
    button.click()
    assert "Disetujui" in h.status("ok")
    with psycopg.connect(city["url"]) as conn:
        got = conn.execute(
            "SELECT v.status, v.checked_by, v.decided_by, h.hasil_verval FROM verification v"
            " JOIN household h ON h.id = v.household_id WHERE v.id = %s",
            (first,),
        ).fetchone()
    assert got == ("approved", "user:koor", "user:kepala", 1)
    # in English: the other visit's first step, which a head of office may take too
    h.page.goto(f"{base}/portal/tinjau?status=submitted&lang=en")
    h.ready("ready-review")
    assert h.page.locator(f"button[data-approve='{second}']").inner_text() == "Check and pass on"
    assert "Step 1 of 2: the verifier officer's check" in _row(h, second)
    h.shot("portal-review-two-step-en")
    assert h.errors == []
    h.close()
