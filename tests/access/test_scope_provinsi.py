"""Scopes of a province (migration 0022, issue 16): a user or agency key scoped to province 15 holds every kab/kota
loaded under 15 and nothing of another province; a province code must be two digits with a kab/kota loaded."""

from __future__ import annotations

import pytest
from psycopg import sql

from access.keys import create_key
from access.users import add_user
from core.errors import InputError
from core.principal import Agency, User
from core.scope import area_scope, within
from gis.scope_sql import records_sql, scoped
from tests.worlds import insert_areas

BOX = (103.5, -1.7, 103.7, -1.5)
FAMILIES = ((1, "15.71.01.1001.001.001"), (2, "15.72.01.1001.001.001"), (3, "12.71.01.1001.001.001"),
            (4, "151.71.01.1001.001.001"))  # fmt: skip  (4: starts with 15 but not with "15.": outside)


@pytest.fixture
def three_cities(db):
    insert_areas(db, [(k, "kota", None, BOX) for k in ("15.71", "15.72", "12.71")])
    return db


def test_a_province_scope_needs_two_digits_and_a_kab_kota_loaded_there(three_cities):
    db = three_cities
    db.call(add_user, "prov.koor", "rahasia-sekali-123", "coordinator", "provinsi", ["15"])
    stored = db.execute("SELECT scope_level, scope_codes FROM app_user WHERE username = 'prov.koor'").fetchone()
    assert stored == ("provinsi", ["15"])
    for codes, reason in ((["99"], "no kab/kota is loaded in province(s) 99"),
                          (["1", "15.71"], "province codes are two digits (e.g. 15), got 1, 15.71")):  # fmt: skip
        with pytest.raises(InputError) as refused:
            db.call(add_user, "prov.lain", "rahasia-sekali-123", "coordinator", "provinsi", codes)
        assert str(refused.value) == reason
    key = db.call(create_key, "Dinsos Provinsi Jambi", "provinsi", ["15"])
    assert key.startswith("pv_")
    assert db.execute("SELECT scope_level, scope_codes FROM api_key WHERE name = 'Dinsos Provinsi Jambi'"
                      ).fetchone() == ("provinsi", ["15"])  # fmt: skip


def test_a_province_scope_holds_its_kab_kota_and_nothing_else(conn):
    koor = User(7, "prov.koor", "coordinator", "provinsi", ("15",))
    agency = Agency(8, "Dinsos Provinsi", "provinsi", ("15",), True)
    for who in (koor, agency):
        scope = area_scope(who)
        assert scope == ("15",)
        assert [within(scope, rt) for _, rt in FAMILIES] == [True, True, False, False]
        rows = sql.SQL(", ").join(sql.SQL("({}, {})").format(sql.Literal(i), sql.Literal(rt)) for i, rt in FAMILIES)
        query = sql.SQL("SELECT h.id FROM (VALUES {}) h(id, rt_code) WHERE {} ORDER BY h.id").format(
            rows, records_sql(who)
        )
        assert [r[0] for r in conn.execute(query).fetchall()] == [1, 2]  # the SQL twin agrees
    marked = scoped("SELECT c FROM unnest(%(codes)s::text[]) c WHERE SHARES_SCOPE(c) ORDER BY c")
    codes = ["15.71", "15.72", "12.71", "15.71.01"]
    assert [r[0] for r in conn.execute(marked, {"codes": codes, "scope": ["15"]}).fetchall()] == [
        "15.71", "15.71.01", "15.72"]  # fmt: skip
