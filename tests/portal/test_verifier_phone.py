"""Tugas Saya on a phone, in a real headless Chromium: this campaign's targets first (still to visit, then done, with
their counts), the other families of the assigned RTs after and removed families without "Kunjungi"; the map on top
with markers by status, a legend, the assigned RTs' outlines, the phone's position and the distance to each family;
a visit with two members and a photo of the house made while offline, kept on the phone, and sent (the photo made
smaller on the phone first) when the connection is back. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import httpx
import psycopg
import pytest
from PIL import Image
from pyproj import Geod

from db.acting import acting_as_sync
from portal.app import create_app
from tests.live import serve
from tests.people import PASSWORD, add_users, scope, verval_city
from tests.portal.browser import Session, blocking, browser, needs_chromium, record_axe

pytestmark = needs_chromium

DUE = str(date.today() + timedelta(days=7))
# the markers as the map holds them: status and fill of every circle marker (the phone's position included)
MARKERS = """() => { const out = [];
  window[window.PETA.map].eachLayer(l => { if (l instanceof L.CircleMarker && l.options.status) {
    out.push({status: l.options.status, fill: l.options.fillColor}); } });
  return out; }"""
OUTLINES = """() => { let n = 0;
  window[window.PETA.map].eachLayer(l => { if (l.options && l.options.status === 'outline') { n += 1; } });
  return n; }"""


def _token(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def field(committed_url):
    """The small demo city; rt.satu, the verifier of its busiest RT, holds that RT and one target family of a second
    RT in a campaign (desil 1-2). Of rt.satu's targets one was visited (awaiting a decision), one visited and
    approved, one visited and returned, and one has since left the registry (deceased); one other family of the RT
    has moved away."""
    from tests.conftest import truncate_all

    kel, rts = verval_city(committed_url, 2)
    add_users(committed_url, {"admin": ("admin", []), "koor": ("coordinator", scope("kelurahan", kel)),
                              "rt.satu": ("verifier", scope("rt", rts[0]))})  # fmt: skip
    with serve(create_app(url=committed_url)) as base:
        koor = {"Authorization": f"Bearer {_token(base, 'koor')}"}
        made = httpx.post(f"{base}/api/v1/campaigns", headers=koor, json={
            "name": "Verval uji", "target_kind": "desil", "desil_min": 1, "desil_max": 2,
            "starts_on": str(date.today() - timedelta(days=20)), "ends_on": str(date.today() + timedelta(days=60))})
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
        with psycopg.connect(committed_url) as conn:
            targets = [i for (i,) in conn.execute(
                "SELECT household_id FROM campaign_target WHERE campaign_id = %s AND rt_code = %s"
                " ORDER BY household_id", (cid, rts[0]))]  # fmt: skip
            away = conn.execute("SELECT household_id FROM campaign_target WHERE campaign_id = %s AND rt_code = %s"
                                " ORDER BY household_id LIMIT 1", (cid, rts[1])).fetchone()[0]  # fmt: skip
            others = [i for (i,) in conn.execute(
                "SELECT id FROM household WHERE rt_code = %s AND active AND id <> ALL(%s) ORDER BY id",
                (rts[0], targets))]  # fmt: skip
        assert len(targets) >= 5 and len(others) >= 2, (targets, others)
        for body in ({"rt_codes": [rts[0]]}, {"household_ids": [away]}):
            r = httpx.post(f"{base}/api/v1/campaigns/{cid}/assignments", headers=koor,
                           json={**body, "verifier": "rt.satu", "due_on": DUE})  # fmt: skip
            assert r.status_code == 201, r.text
        satu = {"Authorization": f"Bearer {_token(base, 'rt.satu')}"}
        visited, approved, returned = targets[0], targets[1], targets[3]
        sent = httpx.post(f"{base}/api/v1/verifications/batch", headers=satu, json={"visits": [
            {"client_id": f"00000000-0000-4000-8000-00000000000{i}", "campaign_id": cid, "household_id": h,
             "result_code": 1, "visited_at": f"{date.today() - timedelta(days=1)}T0{i}:00:00+07:00"}
            for i, h in enumerate((visited, approved, returned), 1)]})  # fmt: skip
        assert [r["status"] for r in sent.json()["results"]] == ["created"] * 3, sent.text
        ids = {r["client_id"][-1]: r["id"] for r in sent.json()["results"]}
        for n, decision in (("2", {"decision": "approve"}), ("3", {"decision": "return", "reason": "foto tidak ada"})):
            ok = httpx.post(f"{base}/api/v1/verifications/{ids[n]}/decision", headers=koor, json=decision)
            assert ok.status_code == 200, ok.text
    deceased, moved = targets[2], others[0]
    with psycopg.connect(committed_url) as conn:
        acting_as_sync(conn, "cli:test")
        conn.execute("UPDATE household SET hasil_verval = 6, version = version + 1 WHERE id = %s", (deceased,))
        conn.execute("UPDATE household SET hasil_verval = 3, version = version + 1 WHERE id = %s", (moved,))
        conn.commit()
    yield {"url": committed_url, "cid": cid, "rts": rts, "targets": targets, "away": away, "visited": visited,
           "approved": approved, "returned": returned, "deceased": deceased, "moved": moved}  # fmt: skip
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def site(field):
    with serve(create_app(url=field["url"])) as base, browser() as b:
        yield base, b


def _expected(field) -> dict[str, list[int]]:
    """The list's parts as the data says they are, each poorest first: targets to visit, targets visited, the other
    families of the assigned RTs, and after them the removed ones (no longer active in the registry)."""
    with psycopg.connect(field["url"]) as conn:
        rows = conn.execute(
            """SELECT h.id, h.active FROM household h LEFT JOIN household_rank r ON r.household_id = h.id
               WHERE h.rt_code = %s OR h.id = %s ORDER BY COALESCE(r.score, 0) DESC, h.id""",
            (field["rts"][0], field["away"]),
        ).fetchall()
    targets = set(field["targets"]) | {field["away"]}
    done = {field["visited"], field["approved"]}
    return {"pending": [i for i, active in rows if i in targets and i not in done and active],
            "done": [i for i, _ in rows if i in done],
            "other": [i for i, active in rows if i not in targets and active],
            "inactive": [i for i, active in rows if i not in done and not active]}  # fmt: skip


def _point(url: str, household: int) -> tuple[float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", (household,)).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def _metres(text: str) -> float:
    """A distance as the page writes it in Indonesian ("850 m dari Anda", "1.250 m", "1,2 km dari Anda")."""
    found = re.fullmatch(r"(\d{1,3}(?:\.\d{3})*|\d+(?:,\d)?) (m|km) dari Anda", text)
    assert found, text
    value = float(found[1].replace(".", "").replace(",", "."))
    return value * 1000 if found[2] == "km" else value


def _phone(b, base: str, near: tuple[float, float] | None = None, **kw) -> Session:
    s = Session(b, base, phone=True, **kw)
    if near:  # the phone stands 50 m north of this point
        s.context.set_geolocation({"longitude": near[0], "latitude": near[1] + 50 / 110_574, "accuracy": 8})
    s.login("rt.satu", PASSWORD)
    s.ready("ready-verifier")
    return s


def test_targets_come_first_to_visit_then_done_with_counts_and_markers_by_status(site, field):
    base, b = site
    want = _expected(field)
    first = want["pending"][0]
    s = _phone(b, base, near=_point(field["url"], first), service_workers="block")
    # the three parts, their counts in the headings, in the order of the data
    assert s.page.inner_text("#pending-h") == f"Target belum dikunjungi ({len(want['pending'])})"
    assert s.page.inner_text("#done-h") == f"Target sudah dikunjungi ({len(want['done'])})"
    rest = len(want["other"]) + len(want["inactive"])
    assert s.page.inner_text("#others-h") == f"Keluarga lain di RT tugas Anda ({rest})"

    def ids(part: str) -> list[int]:
        return [int(i) for i in s.page.locator(f"#families li[data-status='{part}']").evaluate_all(
            "rows => rows.map(r => r.dataset.id)")]

    assert {part: ids(part) for part in want} == want
    assert {field["deceased"], field["moved"]} <= set(want["inactive"])
    assert s.page.evaluate("() => document.getElementById('others').open") is False  # collapsed: secondary
    assert int(s.page.get_attribute("body", "data-families")) == sum(len(v) for v in want.values())
    # "Kunjungi" on the targets to visit and the other active families, never on the done or removed ones
    for part, button in (("pending", True), ("done", False), ("other", True), ("inactive", False)):
        rows = s.page.locator(f"#families li[data-status='{part}']")
        with_button = s.page.locator(f"#families li[data-status='{part}'] button[data-id]")
        assert with_button.count() == (rows.count() if button else 0), part
    states = s.page.locator("#families li[data-status='done'] .state").all_inner_texts()
    assert sorted(states) == ["disetujui", "terkirim, menunggu keputusan"]
    # a visit returned by the coordinator: to visit again
    again = f"#families li[data-id='{field['returned']}']"
    assert s.page.get_attribute(again, "data-status") == "pending"
    assert s.page.inner_text(f"{again} .state") == "dikembalikan, kunjungi lagi"
    assert "tidak aktif: 6 · meninggal" in s.page.text_content(f"#families li[data-id='{field['deceased']}']")
    # the task line counts what is left
    lines = s.page.locator("#tasks li").all_inner_texts()
    in_rt = len([i for i in want["pending"] if i != field["away"]])
    assert lines[0].endswith(f"· {in_rt} dari {len(field['targets'])} target belum dikunjungi"), lines
    assert lines[1].endswith("· 1 dari 1 target belum dikunjungi") and f"#{field['away']}" in lines[1], lines
    # markers by status (each family with a point), the phone's position, the two RTs' outlines, the legend
    markers = s.page.evaluate(MARKERS)
    count = {k: sum(1 for m in markers if m["status"] == k) for k in ("pending", "done", "other", "inactive", "here")}
    assert count == {**{part: len(ids) for part, ids in want.items()}, "here": 1}
    fills = {m["status"]: m["fill"] for m in markers}
    assert len(set(fills.values())) == 5, fills
    s.page.wait_for_function("() => document.body.dataset.outlines !== undefined")
    assert s.page.evaluate(OUTLINES) == 2
    # the map shows every family of the list, closely (not the whole kab/kota the page opened on)
    s.page.wait_for_function("() => !P.map()._animatingZoom")
    shown, zoom = s.page.evaluate("""() => { const m = P.map(), top = m.getSize().y - document.getElementById('vlegend')
        .getBoundingClientRect().height - 10; let all = true;  // above the legend
        m.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.status && l.options.status !== 'here') {
          const p = m.latLngToContainerPoint(l.getLatLng());
          if (p.x < 0 || p.y < 0 || p.x > m.getSize().x || p.y > top) { all = false; } } });
        return [all, m.getZoom()]; }""")
    assert shown and zoom >= 14, zoom
    legend = s.page.inner_text("#vlegend")
    for label in ("Target belum dikunjungi", "Target sudah dikunjungi", "Bukan target", "Tidak aktif", "Anda di sini",
                  "Batas RT tugas Anda"):
        assert label in legend
    # the distance to each family, in Indonesian numbers, from the phone 50 m north of the first one
    geod = Geod(ellps="WGS84")
    lon, lat = _point(field["url"], first)
    assert s.page.inner_text(f"#families li[data-id='{first}'] .dist") == "50 m dari Anda"
    for other in want["pending"][1:]:
        olon, olat = _point(field["url"], other)
        metres = geod.inv(lon, lat + 50 / 110_574, olon, olat)[2]
        text = s.page.inner_text(f"#families li[data-id='{other}'] .dist")
        assert abs(_metres(text) - metres) <= 0.006 * metres + (50 if "km" in text else 1), (text, metres)
    assert "Posisi Anda ditemukan" in s.page.inner_text("#here")
    found = s.axe()
    record_axe("portal-verifikator, targets first on a phone, as verifier", found)
    assert blocking(found) == []
    s.shot("portal-verifier-targets-phone")
    # the other families open; the map stays on top while the list scrolls under it
    s.page.click("#others summary")
    s.page.evaluate("() => window.scrollTo(0, 900)")
    s.page.wait_for_timeout(200)
    box = s.page.evaluate("""() => { const m = window[window.PETA.map].getContainer().getBoundingClientRect();
        return {top: m.top, bottom: m.bottom, header: document.getElementById('header').getBoundingClientRect().bottom,
                scrolled: window.scrollY}; }""")
    assert box["scrolled"] > 300 and abs(box["top"] - box["header"]) <= 2 and box["bottom"] - box["top"] > 250, box
    s.shot("portal-verifier-list-scrolled-phone")
    # a family's form: its distance, its title under the header
    s.page.evaluate("() => window.scrollTo(0, 0)")
    s.page.click(f"#families li[data-id='{first}'] button")
    s.page.wait_for_function("() => !document.getElementById('visit').hidden")
    assert s.page.inner_text("#dist") == "50 m"
    gap = s.page.evaluate("""() => document.getElementById('visit-title').getBoundingClientRect().top
                                   - document.getElementById('header').getBoundingClientRect().bottom""")
    assert 0 <= gap <= 40, gap
    # while the form is open, tapping another family on the map only marks it: the form keeps what was written
    title = s.page.inner_text("#visit-title")
    s.page.fill("#notes", "pintu terkunci")
    s.page.evaluate("""() => P.map().eachLayer(l => {
        if (l.options.status === 'pending' && l.options.color !== '#1565c0') { l.fire('click'); } })""")
    assert s.page.inner_text("#visit-title") == title and s.page.input_value("#notes") == "pintu terkunci"
    assert s.errors == []
    s.close()


def _house_photo() -> bytes:
    """A camera-sized JPEG (2400 x 1800) with something on it."""
    img = Image.new("RGB", (2400, 1800), (180, 200, 220))
    for x in range(0, 2400, 200):
        img.paste((120 + x % 120, 80, 40), (x, 900, x + 100, 1800))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_a_visit_with_two_members_and_a_photo_made_offline_is_sent_when_back_online(site, field):
    base, b = site
    family = _expected(field)["pending"][1]
    s = _phone(b, base, near=_point(field["url"], family))
    s.page.click(f"#families li[data-id='{family}'] button")
    s.page.wait_for_function("() => !document.getElementById('visit').hidden")
    s.page.select_option("#result", "1")
    s.page.check("#ck02")
    s.page.click("#add-person")
    s.page.click("#add-person")
    s.page.fill("#p1-nama", "Siti Aminah")
    s.page.select_option("#p1-hubungan", "kepala")
    s.page.select_option("#p1-jk", "P")
    s.page.fill("#p1-tahun", "1980")
    s.page.fill("#p1-nik", "1571015003800001")
    s.page.fill("#p2-nama", "Andi")
    s.page.select_option("#p2-hubungan", "anak")
    s.page.select_option("#p2-jk", "L")
    s.page.fill("#p2-tahun", "2010")
    assert s.page.input_value("#members") == "2"  # the count follows the members written down
    assert s.page.get_attribute("#photo", "accept") == "image/*"
    assert s.page.get_attribute("#photo", "capture") == "environment"
    s.page.set_input_files("#photo", files=[{"name": "rumah.jpg", "mimeType": "image/jpeg", "buffer": _house_photo()}])
    s.page.wait_for_selector("#shots[data-photos='1'] img")
    found = s.axe()
    record_axe("portal-verifikator, a visit with members and a photo on a phone, as verifier", found)
    assert blocking(found) == []
    s.page.locator("#photo-set").scroll_into_view_if_needed()
    s.shot("portal-verifier-visit-members-photo-phone")
    # offline: kept on the phone, nothing reaches the server
    s.context.set_offline(True)
    s.page.click("#save")
    s.page.wait_for_function("() => document.body.dataset.queued === '1' && document.body.dataset.photosQueued === '1'")
    assert s.page.inner_text("#queue").startswith("Luring: kunjungan disimpan di ponsel · Belum terkirim: 1")
    assert s.page.get_attribute(f"#families li[data-id='{family}']", "data-status") == "done"
    assert "tersimpan di ponsel" in s.page.inner_text(f"#families li[data-id='{family}'] .state")
    assert "· 0 dari 1 target belum dikunjungi" in s.page.inner_text("#tasks")  # the family given on its own
    with psycopg.connect(field["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM verification WHERE household_id = %s", (family,)).fetchone()[0] == 0
    s.shot("portal-verifier-queued-offline-phone")
    # back online: the visit, then its photo (asking for the interface language: a refusal comes back in it)
    languages: list[str | None] = []
    s.page.on("request", lambda r: languages.append(r.headers.get("accept-language")) if "/photos" in r.url else None)
    s.context.set_offline(False)
    s.page.wait_for_function("() => document.body.dataset.queued === '0' && document.body.dataset.photosQueued === '0'",
                             timeout=30_000)
    with psycopg.connect(field["url"]) as conn:
        vid, members, crit, near = conn.execute(
            """SELECT v.id, v.members, v.criteria[2], ST_Distance(v.visit_geom::geography, h.geom::geography)
               FROM verification v JOIN household h ON h.id = v.household_id WHERE v.household_id = %s""",
            (family,)).fetchone()  # fmt: skip
        photos = conn.execute("SELECT data, content_type FROM verification_photo WHERE verification_id = %s",
                              (vid,)).fetchall()  # fmt: skip
    assert crit is True and 45 < near < 55
    assert [(m["nama"], m["hubungan"], m["jenis_kelamin"], m["tahun_lahir"]) for m in members] == [
        ("Siti Aminah", "kepala", "P", 1980), ("Andi", "anak", "L", 2010)]
    assert members[0]["nik_masked"] == "157101******0001" and "1571015003800001" not in str(members)
    assert len(photos) == 1 and photos[0][1] == "image/jpeg"
    assert languages == ["id"]
    with Image.open(io.BytesIO(bytes(photos[0][0]))) as img:
        assert img.format == "JPEG" and img.size == (1600, 1200)  # resized on the phone: longest side 1,600 px
    assert len(photos[0][0]) < len(_house_photo())
    assert s.page.inner_text("#queue") == "Belum terkirim: 0"
    assert "terkirim, menunggu keputusan" in s.page.inner_text(f"#families li[data-id='{family}'] .state")
    s.shot("portal-verifier-sent-phone-photo")
    assert [e for e in s.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    s.close()


def test_without_location_permission_the_page_says_so_and_still_works(site, field):
    base, b = site
    s = Session(b, base, phone=True, service_workers="block")
    s.context.clear_permissions()
    s.login("rt.satu", PASSWORD)
    s.ready("ready-verifier")
    s.page.wait_for_function("() => document.body.dataset.located === 'denied'")
    assert s.page.inner_text("#here").startswith("Izin lokasi ditolak.")
    assert s.page.locator("#families li .dist").all_inner_texts() == [""] * s.page.locator("#families li").count()
    assert not any(m["status"] == "here" for m in s.page.evaluate(MARKERS))
    pending = _expected(field)["pending"][2]
    s.page.click(f"#families li[data-id='{pending}'] button")
    assert re.match(r"^belum ada posisi GPS \(Izin lokasi ditolak", s.page.inner_text("#gps"))
    assert s.page.inner_text("#dist") == "belum ada posisi GPS"
    s.shot("portal-verifier-no-location-phone")
    assert s.errors == []
    s.close()


def test_the_same_page_in_english_and_on_a_desktop(site, field):
    base, b = site
    s = Session(b, base)
    s.login("rt.satu", PASSWORD, lang="en")
    s.ready("ready-verifier")
    pending = s.page.locator("#families li[data-status='pending']").count()  # one fewer after the visit above
    assert pending >= 1 and s.page.inner_text("#pending-h") == f"Targets not visited yet ({pending})"
    box = s.page.evaluate("""() => { const m = window[window.PETA.map].getContainer().getBoundingClientRect();
        const p = document.getElementById('panel').getBoundingClientRect(); return [m.left, m.width, p.right]; }""")
    assert box[0] >= box[2] - 1 and box[1] > 600, box  # the map beside the panel, as on the other pages
    # the phone 2 km from its families: "you are here" is in the map's view with them, not outside it
    s.page.wait_for_function("() => document.body.dataset.located === '1' && document.body.dataset.hereFar !== ''")
    inside = s.page.evaluate("""() => { const m = window[window.PETA.map]; let here = null;
        m.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.status === 'here') here = l.getLatLng(); });
        return here && m.getBounds().contains(here); }""")
    assert inside is True
    assert s.page.get_attribute("body", "data-here-far") == "0"
    assert s.page.inner_text("#here").startswith("Your position was found")
    found = s.axe()
    record_axe("portal-verifikator on a desktop in English, as verifier", found)
    assert blocking(found) == []
    s.shot("portal-verifier-desktop-en")
    assert s.errors == []
    s.close()


def test_a_phone_far_from_its_families_is_told_how_far_and_the_map_keeps_to_the_families(site, field):
    """Some 110 km east of the first target, beyond the whole city (so whatever other tests of this module assigned
    the verifier, every family is far): the map stays on the families (not shrunk to take in the phone) and the line
    under it says how far the nearest family is."""
    base, b = site
    lon, lat = _point(field["url"], field["targets"][0])
    s = Session(b, base, phone=True, service_workers="block")
    s.context.set_geolocation({"longitude": lon + 1.0, "latitude": lat, "accuracy": 8})
    s.login("rt.satu", PASSWORD)
    s.ready("ready-verifier")
    s.page.wait_for_function("() => document.body.dataset.located === '1'")
    # the position may come before the families are on the map: "far" is said once they are
    s.page.wait_for_function("() => document.body.dataset.hereFar !== ''")
    assert s.page.get_attribute("body", "data-here-far") == "1"
    said = s.page.inner_text("#here")
    far = r"Posisi Anda ditemukan \(ketelitian ± 8 m\): \d+(,\d)? km dari keluarga terdekat\."
    assert re.fullmatch(far, said), said
    inside = s.page.evaluate("""() => { const m = window[window.PETA.map]; let here = null;
        m.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.status === 'here') here = l.getLatLng(); });
        return here && m.getBounds().contains(here); }""")
    assert inside is False
    s.shot("portal-verifier-far-phone")
    assert s.errors == []
    s.close()
