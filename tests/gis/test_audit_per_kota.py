"""One audit chain per kab/kota plus the deployment's own (migration 0023, issue 16): what a row records decides
its chain, each chain is positioned from 1, headed and sealed on its own, and the verifier names the chain where
it breaks. Expected hashes come from the Python encodings in gis.audit, computed independently of the SQL."""

from __future__ import annotations

import psycopg
import pytest

from db.migrate import downgrade, migrate
from gis.audit import GENESIS, digest_v4, take_anchors, verify_chain
from gis.households import audit_read
from tests.bridge import bridge
from tests.conftest import ON_CITUS, _throwaway
from tests.worlds import insert_kota_chains
from tests.worlds import tamper as _tamper

BOX = (103.5, -1.7, 103.7, -1.5)
KOTAS = ("15.71", "15.72")
_CRIT = ", ".join(f"k{i:02d}" for i in range(1, 15))


def _families(conn, kota: str, n: int) -> list[int]:
    rt = f"{kota}.01.1001.001.001"
    return [
        r[0]
        for r in conn.execute(
            f"INSERT INTO household (kk_hash, kk_masked, rt_code, kota_code, jumlah_anggota, source, {_CRIT})"
            f" SELECT %s || '-' || g, 'x', %s, %s, 3, 'test', {', '.join(['false'] * 14)}"
            " FROM generate_series(1, %s) g RETURNING id",
            (kota, rt, kota, n),
        ).fetchall()
    ]


def _chain(conn, kota: str) -> list[dict]:
    cur = conn.execute(
        "SELECT id, kota_code, seq, at, actor, role, action, object_type, object_ids, before::text AS before,"
        " after::text AS after, reason, prev_hash, hash, hash_version FROM audit_log WHERE kota_code = %s"
        " AND seq IS NOT NULL ORDER BY seq",
        (kota,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture
def two_cities(db):
    """Two kab/kota with families written in one statement each, and in one statement across both."""
    _tamper(db, "DELETE FROM audit_log")
    _tamper(db, "DELETE FROM audit_head")
    insert_kota_chains(db, KOTAS, BOX)
    ids = {kota: _families(db, kota, 3) for kota in KOTAS}
    db.execute("UPDATE household SET jumlah_anggota = 4 WHERE kota_code IN ('15.71', '15.72')")
    db.execute("SELECT peta_audit_seal()")
    return db, ids


def test_each_family_is_audited_in_its_kab_kota_chain(two_cities):
    db, ids = two_cities
    chains = [k for (k,) in db.execute("SELECT DISTINCT kota_code FROM audit_log ORDER BY 1").fetchall()]
    assert chains == ["", "15.71", "15.72"]  # the areas in the deployment's chain, the families in theirs
    for kota in KOTAS:
        rows = _chain(db, kota)
        # the insert, then the one update statement split at the kab/kota border
        assert [(r["action"], r["object_type"], r["object_ids"]) for r in rows] == [
            ("insert", "household", [str(i) for i in ids[kota]]),
            ("update", "household", [str(i) for i in ids[kota]]),
        ]
        assert [r["seq"] for r in rows] == [1, 2]  # positions of its own
        assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
        assert all(r["hash_version"] == 4 and r["hash"] == digest_v4(r["prev_hash"], r) for r in rows)
        assert db.execute("SELECT id, hash, seq FROM audit_head WHERE kota_code = %s", (kota,)).fetchone() == (
            rows[1]["id"], rows[1]["hash"], 2)  # fmt: skip
    areas = _chain(db, "")
    assert areas and {r["object_type"] for r in areas} == {"area"} and areas[0]["seq"] == 1
    report = db.call(verify_chain)
    assert report.ok and report.message == f"{len(areas) + 4} audit rows in 3 chains, chain intact"


def test_a_change_in_one_chain_is_named_with_its_chain(two_cities):
    db, _ = two_cities
    row = _chain(db, "15.72")[0]
    _tamper(db, "UPDATE audit_log SET reason = 'nothing to see' WHERE id = %s", (row["id"],))
    report = db.call(verify_chain)
    assert not report.ok
    assert report.message == f"audit row {row['id']} was changed (its hash no longer matches its content)" \
                             " in the chain of 15.72"  # fmt: skip


def test_a_row_moved_to_another_chain_is_detected(two_cities):
    db, _ = two_cities
    row = _chain(db, "15.72")[1]
    if ON_CITUS:  # a row never moves to another kab/kota's shard there, even with the triggers off
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            _tamper(db, "UPDATE audit_log SET kota_code = '15.71' WHERE id = %s", (row["id"],))
        return
    # moved to the end of 15.71's chain with its position and link re-pointed there: the hash covers the chain
    head = _chain(db, "15.71")[-1]
    _tamper(db, "UPDATE audit_log SET kota_code = '15.71', seq = %s, prev_hash = %s WHERE id = %s",
            (head["seq"] + 1, head["hash"], row["id"]))  # fmt: skip
    _tamper(db, "UPDATE audit_head SET (id, hash, seq) = (%s, %s, %s) WHERE kota_code = '15.71'",
            (row["id"], row["hash"], head["seq"] + 1))  # fmt: skip
    _tamper(db, "UPDATE audit_head SET (id, hash, seq) = (%s, %s, 1) WHERE kota_code = '15.72'",
            (_chain(db, "15.72")[0]["id"], _chain(db, "15.72")[0]["hash"]))  # fmt: skip
    report = db.call(verify_chain)
    assert not report.ok and report.message.startswith(f"audit row {row['id']} was changed")
    assert report.message.endswith("in the chain of 15.71")


def test_the_newest_rows_of_one_chain_removed_are_detected_by_its_head(two_cities):
    db, _ = two_cities
    first, last = _chain(db, "15.71")
    _tamper(db, "DELETE FROM audit_log WHERE id = %s", (last["id"],))
    report = db.call(verify_chain)
    assert not report.ok and report.message == (
        f"audit rows after {first['id']} were removed (the chain head was {last['id']}) in the chain of 15.71"
    )
    _tamper(db, "DELETE FROM audit_log WHERE kota_code = '15.71'")  # the whole chain gone, its head left
    report = db.call(verify_chain)
    assert not report.ok and report.message == (
        f"audit rows after the start were removed (the chain head was {last['id']}) in the chain of 15.71"
    )


def test_reads_are_audited_in_the_chain_of_the_families_read(two_cities):
    db, ids = two_cities
    wanted = [str(ids["15.72"][0]), str(ids["15.71"][1]), str(ids["15.72"][2]), "999999999"]
    db.call(audit_read, "api:uji", "planner", "household", wanted)
    rows = db.execute(
        "SELECT kota_code, object_ids FROM audit_log WHERE action = 'read' ORDER BY kota_code").fetchall()  # fmt: skip
    # one row per kab/kota, the ids in the order read; an id of no family goes to the deployment's chain
    assert rows == [("", ["999999999"]), ("15.71", [wanted[1]]), ("15.72", [wanted[0], wanted[2]])]
    db.call(audit_read, "api:uji", "planner", "household", [])
    # an empty read is recorded too, in the deployment's chain (ids are not ordered across Citus nodes: compare sets)
    rows = db.execute("SELECT kota_code, object_ids FROM audit_log WHERE action = 'read'"
                      " ORDER BY kota_code, cardinality(object_ids)").fetchall()  # fmt: skip
    assert rows == [("", []), ("", ["999999999"]), ("15.71", [wanted[1]]), ("15.72", [wanted[0], wanted[2]])]


def test_one_chain_is_sealed_while_another_chains_sealer_is_at_work(clean_committed):
    with bridge(clean_committed, keep=True) as a, psycopg.connect(clean_committed) as b:
        b.execute("SELECT peta_audit_seal()")  # whatever earlier tests left
        b.commit()
        insert_kota_chains(a, KOTAS, BOX)
        for kota in KOTAS:
            _families(a, kota, 1)
        a.commit()
        written = b.execute("SELECT kota_code, count(*) FROM audit_log WHERE seq IS NULL GROUP BY 1 ORDER BY 1")
        assert written.fetchall() == [("", 10), ("15.71", 1), ("15.72", 1)]  # 10 areas, a family each
        b.commit()
        a.execute("SELECT pg_advisory_xact_lock(hashtext('peta_audit_seal:15.71'))")  # 15.71's sealer at work
        assert b.execute("SELECT peta_audit_seal()").fetchone() == (11,)  # does not wait, and seals the others
        waiting = b.execute("SELECT kota_code, count(*) FROM audit_log WHERE seq IS NULL GROUP BY 1").fetchall()
        assert waiting == [("15.71", 1)]
        b.commit()
        a.commit()
        assert b.execute("SELECT peta_audit_seal()").fetchone() == (1,)
        b.commit()


def test_anchors_pin_every_chain(two_cities):
    db, _ = two_cities
    anchors = db.call(take_anchors)
    heads = db.execute("SELECT id, hash FROM audit_head ORDER BY kota_code").fetchall()
    assert len(heads) == 3 and [(a.id, a.hash) for a in anchors] == heads


@pytest.mark.skipif(ON_CITUS, reason="a distributed schema is not migrated down (0027 refuses, saying how)")
def test_the_upgrade_keeps_the_chain_and_the_downgrade_refuses_kab_kota_chains(server_url):
    for url in _throwaway(server_url, "audit0023"):
        downgrade(url, "0022")
        with psycopg.connect(url) as conn:
            conn.execute("SELECT peta_audit_seal()")
            before = conn.execute("SELECT id, seq, hash FROM audit_log ORDER BY seq").fetchall()
            conn.commit()
        assert before
        migrate(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT id, seq, hash FROM audit_log WHERE kota_code = '' ORDER BY seq"
                                ).fetchall() == before  # fmt: skip
            assert conn.execute("SELECT count(*) FROM audit_log WHERE kota_code <> ''").fetchone() == (0,)
            insert_kota_chains(conn, ("15.71",), BOX)
            _families(conn, "15.71", 1)
            conn.commit()
        with pytest.raises(Exception, match="cannot go back to one chain"):
            downgrade(url, "0022")
