"""`peta campaign` end to end: create, list, coverage, priorities, assign (with its refusal), workload."""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app

runner = CliRunner()
PASSWORD = "rahasia-sekali-123"


@pytest.fixture
def env(clean_committed, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", clean_committed)
    get_settings.cache_clear()
    with psycopg.connect(clean_committed) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.03, seed=4)))
    yield clean_committed
    get_settings.cache_clear()


def test_campaign_commands(env):
    start, end = date.today() - timedelta(days=10), date.today() + timedelta(days=50)
    made = runner.invoke(app, ["campaign", "create", "Verval CLI", "--starts", str(start), "--ends", str(end),
                               "--desil", "1-3"])  # fmt: skip
    assert made.exit_code == 0, made.output
    with psycopg.connect(env) as conn:
        expected = conn.execute("""SELECT count(*) FROM household h JOIN household_rank r ON r.household_id = h.id
                                   WHERE h.active AND r.local_desil BETWEEN 1 AND 3""").fetchone()[0]  # fmt: skip
        cid = conn.execute("SELECT id FROM campaign WHERE name = 'Verval CLI'").fetchone()[0]
    assert f"{expected:,} target families" in made.output
    listed = json.loads(runner.invoke(app, ["campaign", "list", "--json"]).output)
    assert [c["name"] for c in listed] == ["Verval CLI"]
    cov = json.loads(runner.invoke(app, ["campaign", "coverage", str(cid), "--level", "kecamatan", "--json"]).output)
    assert sum(r["targets"] for r in cov) == expected
    top = json.loads(runner.invoke(app, ["campaign", "priorities", str(cid), "--limit", "3", "--json"]).output)
    rt = top[0]["code"]
    out = runner.invoke(app, ["users", "add", "rt.cli", "--role", "verifier", "--scope-level", "rt", "--scope", rt,
                              "--kk", "1571010101700001"], input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert out.exit_code == 0, out.output
    with psycopg.connect(env) as conn:
        stored = conn.execute("SELECT kk_hash FROM app_user WHERE username = 'rt.cli'").fetchone()[0]
    assert len(stored) == 64 and "1571010101700001" not in stored
    short = runner.invoke(app, ["users", "add", "rt.kk", "--role", "verifier", "--scope-level", "rt", "--scope", rt,
                                "--kk", "123"], input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert short.exit_code == 2 and "--kk" in short.output
    due = str(date.today() + timedelta(days=7))
    ok = runner.invoke(app, ["campaign", "assign", str(cid), "--verifier", "rt.cli", "--due", due, "--rt", rt])
    assert ok.exit_code == 0 and "1 assignment(s) created for rt.cli" in ok.output, ok.output
    again = runner.invoke(app, ["campaign", "assign", str(cid), "--verifier", "rt.cli", "--due", due, "--rt", rt])
    assert again.exit_code == 1 and "already" in again.output
    load = json.loads(runner.invoke(app, ["campaign", "workload", str(cid), "--json"]).output)
    assert load[0]["verifier"] == "rt.cli" and load[0]["rts"] == 1
    bad = runner.invoke(app, ["campaign", "create", "X", "--starts", "kemarin", "--ends", str(end), "--desil", "1"])
    assert bad.exit_code == 2 and "--starts" in bad.output
    neither = runner.invoke(app, ["campaign", "create", "Y", "--starts", str(start), "--ends", str(end)])
    assert neither.exit_code == 2 and "one of --desil, --category or --prelist" in neither.output


def _visit_as(url: str, username: str, cid: int, family: int, minutes: int) -> int:
    """A field visit recorded through the same function the API calls (verifiers use the phone, not the CLI)."""
    import asyncio
    import uuid
    from datetime import UTC, datetime

    import verval.records
    import verval.visits
    from core.principal import User

    async def go() -> int:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            cur = await conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM household WHERE id = %s", (family,))
            lon, lat = await cur.fetchone()
            at = datetime.now(UTC) - timedelta(hours=5) + timedelta(minutes=minutes)
            visit = verval.records.Visit(client_id=str(uuid.uuid4()), campaign_id=cid, household_id=family,
                                         result_code=1, visited_at=at, lon=lon, lat=lat, accuracy_m=5,
                                         jumlah_anggota=3)  # fmt: skip
            out = await verval.visits.submit_visits(conn, [visit], User(0, username, "verifier", "rt", ()))
            assert out[0]["status"] == "created", out
            return int(out[0]["id"])

    return asyncio.run(go())


def test_prelist_proposal_review_backcheck_progress_and_berita_acara(env, tmp_path):
    start, end = date.today() - timedelta(days=10), date.today() + timedelta(days=50)
    due = str(date.today() + timedelta(days=7))
    for cmd in ("prelist", "propose", "backcheck", "disagreement", "progress", "visits", "status", "decide",
                "berita-acara"):  # fmt: skip
        assert runner.invoke(app, ["campaign", cmd, "--help"]).exit_code == 0, cmd
    made = runner.invoke(app, ["campaign", "create", "Prelist CLI", "--starts", str(start), "--ends", str(end),
                               "--prelist"])  # fmt: skip
    assert made.exit_code == 0 and "0 target families" in made.output, made.output
    with psycopg.connect(env) as conn:
        pid = conn.execute("SELECT id FROM campaign WHERE name = 'Prelist CLI'").fetchone()[0]
        ids = [i for (i,) in conn.execute("SELECT id FROM household WHERE active AND rt_code IS NOT NULL"
                                          " ORDER BY id LIMIT 3")]  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text("household_id\n" + "\n".join(map(str, ids)) + "\nx12\n")
    refused = runner.invoke(app, ["campaign", "prelist", str(pid), str(bad)])
    assert refused.exit_code == 1 and "row 5" in refused.output and "is not a number" in refused.output
    good = tmp_path / "good.csv"
    good.write_text("household_id\n" + "\n".join(map(str, ids)) + "\n")
    added = runner.invoke(app, ["campaign", "prelist", str(pid), str(good)])
    assert added.exit_code == 0 and "3 families added" in added.output, added.output

    made = runner.invoke(app, ["campaign", "create", "Desil CLI", "--starts", str(start), "--ends", str(end),
                               "--desil", "1-2"])  # fmt: skip
    assert made.exit_code == 0, made.output
    with psycopg.connect(env) as conn:
        cid = conn.execute("SELECT id FROM campaign WHERE name = 'Desil CLI'").fetchone()[0]
        _, rt_x, rt_y = conn.execute(
            """SELECT left(t.rt_code, 13), min(t.rt_code), max(t.rt_code) FROM campaign_target t
               WHERE t.campaign_id = %s GROUP BY 1 HAVING count(DISTINCT t.rt_code) >= 3
               ORDER BY count(*) DESC LIMIT 1""", (cid,)).fetchone()  # fmt: skip
    for name, rt in (("rt.x", rt_x), ("rt.y", rt_y)):
        out = runner.invoke(app, ["users", "add", name, "--role", "verifier", "--scope-level", "rt", "--scope", rt],
                            input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
        assert out.exit_code == 0, out.output
    preview = runner.invoke(app, ["campaign", "propose", str(cid), "--verifier", "rt.x:10", "--verifier", "rt.y:10",
                                  "--json"])  # fmt: skip
    assert preview.exit_code == 0, preview.output
    plan = json.loads(preview.output)
    assert plan["summary"]["verifiers"] == 2 and plan["summary"]["largest_workload"] <= 10
    table = runner.invoke(app, ["campaign", "propose", str(cid), "--verifier", "rt.x:10", "--verifier", "rt.y:10",
                                "--accept", "--due", due])  # fmt: skip
    assert table.exit_code == 0 and f"{plan['summary']['rts']} assignments created" in table.output, table.output
    assert runner.invoke(app, ["campaign", "propose", str(cid), "--accept"]).exit_code == 2  # needs --due
    with psycopg.connect(env) as conn:
        aid, rt = conn.execute("""SELECT a.id, a.rt_code FROM assignment a JOIN app_user u ON u.id = a.verifier_id
                                  WHERE a.campaign_id = %s AND u.username = 'rt.x'
                                    AND (SELECT count(*) FROM campaign_target t WHERE t.campaign_id = a.campaign_id
                                         AND t.rt_code = a.rt_code) >= 2
                                  ORDER BY a.id LIMIT 1""", (cid,)).fetchone()  # fmt: skip
        fams = [i for (i,) in conn.execute("SELECT household_id FROM campaign_target WHERE campaign_id = %s"
                                           " AND rt_code = %s ORDER BY household_id LIMIT 2", (cid, rt))]  # fmt: skip
    visits = [_visit_as(env, "rt.x", cid, f, 20 * i) for i, f in enumerate(fams)]
    kel = rt[:13]
    listed = json.loads(runner.invoke(app, ["campaign", "visits", str(cid), "--json"]).output)
    assert sorted(v["id"] for v in listed) == sorted(visits)
    ok = runner.invoke(app, ["campaign", "decide", str(visits[0]), "approve"])
    assert ok.exit_code == 0 and f"visit {visits[0]} approved" in ok.output, ok.output
    no_reason = runner.invoke(app, ["campaign", "decide", str(visits[-1]), "return"])
    assert no_reason.exit_code == 1 and "needs a reason" in no_reason.output
    with psycopg.connect(env) as conn:
        actor = conn.execute("SELECT decided_by FROM verification WHERE id = %s", (visits[0],)).fetchone()[0]
    assert actor.startswith("cli:")
    drawn = runner.invoke(app, ["campaign", "backcheck", str(cid), "--due", due, "--pool", "rt.y", "--rate", "0.5"])
    assert drawn.exit_code == 0 and "1 back-checks assigned" in drawn.output, drawn.output
    rates = json.loads(runner.invoke(app, ["campaign", "disagreement", str(cid), "--json"]).output)
    assert [(r["verifier"], r["drawn"], r["checked"]) for r in rates] == [("rt.x", 1, 0)]
    progress = json.loads(runner.invoke(app, ["campaign", "progress", str(cid), "--json", "--by", "day"]).output)
    assert sum(p["visits"] for p in progress["series"]) == 2
    moved = runner.invoke(app, ["campaign", "status", str(aid), "cancelled", "--reason", "dialihkan"])
    assert moved.exit_code == 0 and "is now cancelled" in moved.output, moved.output
    pdf = tmp_path / "ba.pdf"
    ba = runner.invoke(app, ["campaign", "berita-acara", str(cid), kel, "--out", str(pdf)])
    assert ba.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-"), ba.output
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    flat = "".join(text.split())  # long names wrap inside their cells
    with psycopg.connect(env) as conn:
        kel_name = conn.execute("SELECT name FROM area WHERE code = %s", (kel,)).fetchone()[0]
        heads = [n for (n,) in conn.execute("SELECT nama_kepala FROM household WHERE id = ANY(%s)", (fams,))]
    assert len(heads) == 2 and "2 keluarga dikunjungi" in text, text
    assert "".join(f"Berita Acara Musyawarah Kelurahan {kel_name} ({kel})".split()) in flat
    assert all("".join(h.split()) in flat for h in heads)  # each visited family is on the record
    csv_out = tmp_path / "ba.csv"
    assert runner.invoke(app, ["campaign", "berita-acara", str(cid), kel, "-o", str(csv_out)]).exit_code == 0
    assert (
        csv_out.read_text().splitlines()[0].startswith("rt_code,kk_masked")
        and len(csv_out.read_text().splitlines()) == 3
    )
    assert runner.invoke(app, ["campaign", "berita-acara", str(cid), kel, "-o", str(tmp_path / "x.txt")]).exit_code == 2
