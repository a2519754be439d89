"""Issue 19, the scope rule itself (core/scope.py, gis/scope_sql.py), one function at a time over hand-written
rows: who is bounded (area_scope), what IN_SCOPE and SHARES_SCOPE hold (scoped), and which family rows each kind
of principal may read (records_sql). The expected rows are written out by hand from the docstring of core/scope.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from psycopg import sql

from core.errors import Forbidden
from core.principal import Agency, CliPrincipal, User
from core.scope import area_scope, household_view, may_read_visit
from gis.scope_sql import records_sql, scoped

KEC = "15.71.01"
KEL = "15.71.01.1001"
RT = "15.71.01.1001.001"
OTHER_KEL = "15.71.02.2001"

# (id, rt_code) of hand-written families: two in KEL (RTs 001 and 002), one in another kelurahan of the same
# kecamatan, one in another kecamatan
FAMILIES = ((1, RT), (2, KEL + ".002"), (3, "15.71.01.1002.001"), (4, OTHER_KEL + ".001"))


def test_admins_planners_and_the_command_line_are_unbounded_whatever_scope_is_stored():
    # an admin or planner created with a narrow scope is still unbounded: the stored scope is not used
    assert area_scope(None) is None
    assert area_scope(User(1, "admin", "admin", "kelurahan", (KEL,))) is None
    assert area_scope(User(2, "plan", "planner", "kelurahan", (KEL,))) is None
    assert area_scope(User(3, "koor", "coordinator", "kelurahan", (KEL,))) == (KEL,)
    assert area_scope(User(4, "rt", "verifier", "rt", (RT, OTHER_KEL + ".001"))) == (RT, OTHER_KEL + ".001")
    assert area_scope(Agency(5, "Dinkes", "kelurahan", (KEL,), True)) == (KEL,)


def test_household_fields_by_kind_of_principal_with_the_reason_of_a_refusal():
    for staff in (User(1, "admin", "admin", "kota", ()), User(3, "koor", "coordinator", "kelurahan", (KEL,)),
                  User(4, "rt", "verifier", "rt", (RT,)), CliPrincipal("cli:root")):  # fmt: skip
        assert household_view(staff) == "staff", staff
    assert household_view(Agency(5, "BPJS", "kota", (), points_agreement=True)) == "agency"
    refusals = {
        Agency(6, "Dinkes", "kota", ()): "this agency key has no agreement for household records (aggregates only)",
        User(2, "plan", "planner", "kota", ()): "the planner role sees aggregates only, not household records",
        None: "the None role sees aggregates only, not household records",
    }
    for principal, reason in refusals.items():
        with pytest.raises(Forbidden) as refused:
            household_view(principal)
        assert str(refused.value) == reason


def test_a_visit_is_read_by_its_verifier_and_by_staff_whose_scope_holds_its_rt():
    rt, other_rt = RT + ".002", OTHER_KEL + ".001.001"
    admin, cli = User(1, "admin", "admin", "kelurahan", (KEL,)), CliPrincipal("cli:root")  # unbounded, whatever stored
    koor = User(3, "koor", "coordinator", "kelurahan", (KEL,))
    own, other = User(4, "rt.satu", "verifier", "rt", (RT,)), User(5, "rt.dua", "verifier", "rt", (RT,))
    plan = User(2, "rt.satu", "planner", "kota", ())  # a planner never reads visits, whatever its name
    cases = [
        (admin, rt, True), (admin, other_rt, True), (cli, other_rt, True),
        (koor, rt, True), (koor, other_rt, False),
        (own, rt, True), (own, other_rt, True),  # their own visit: moved RTs since do not matter
        (other, rt, False), (plan, rt, False),
    ]  # fmt: skip
    for principal, code, allowed in cases:
        assert may_read_visit(principal, "rt.satu", code) is allowed, (principal, code)


def _marked(conn, mark: str, scope: list[str] | None) -> list[str]:
    codes = [KEC, KEL, RT, KEL + "0", "15.71.01.1002", OTHER_KEL, "15.71"]
    query = scoped(f"SELECT c FROM unnest(%(codes)s::text[]) c WHERE {mark}(c) ORDER BY c")
    return [r[0] for r in conn.execute(query, {"codes": codes, "scope": scope}).fetchall()]


@pytest.mark.parametrize(
    ("mark", "scope", "expected"),
    [
        # IN_SCOPE: the scope's areas and what lies below them, never an area containing them
        ("IN_SCOPE", [KEL], [KEL, RT]),
        ("IN_SCOPE", [KEC], [KEC, KEL, KEL + "0", RT, "15.71.01.1002"]),
        ("IN_SCOPE", [RT, OTHER_KEL], [RT, OTHER_KEL]),
        # SHARES_SCOPE: also the areas containing one of the scope's areas (kecamatan and city of KEL)
        ("SHARES_SCOPE", [KEL], ["15.71", KEC, KEL, RT]),
        ("SHARES_SCOPE", [RT, OTHER_KEL], ["15.71", KEC, KEL, RT, OTHER_KEL]),
        # NULL: unbounded
        ("IN_SCOPE", None, ["15.71", KEC, KEL, KEL + "0", RT, "15.71.01.1002", OTHER_KEL]),
        ("SHARES_SCOPE", None, ["15.71", KEC, KEL, KEL + "0", RT, "15.71.01.1002", OTHER_KEL]),
    ],
)
def test_in_scope_holds_the_scope_and_below_shares_scope_also_what_contains_it(conn, mark, scope, expected):
    assert _marked(conn, mark, scope) == sorted(expected)


def _visible(conn, principal) -> list[int]:
    rows = sql.SQL(", ").join(
        sql.SQL("({}, {}, {})").format(sql.Literal(i), sql.Literal(rt), sql.Literal(rt[:5])) for i, rt in FAMILIES
    )
    query = sql.SQL("SELECT h.id FROM (VALUES {}) h(id, rt_code, kota_code) WHERE {} ORDER BY h.id").format(
        rows, records_sql(principal)
    )
    return [r[0] for r in conn.execute(query).fetchall()]


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (User(1, "admin", "admin", "kelurahan", (KEL,)), [1, 2, 3, 4]),
        (User(2, "koor", "coordinator", "kelurahan", (KEL,)), [1, 2]),
        (User(3, "koor.kec", "coordinator", "kecamatan", (KEC,)), [1, 2, 3]),
        (User(4, "rt", "verifier", "rt", (RT,)), [1]),  # no open assignment in this database
        (Agency(5, "Dinkes", "kelurahan", (KEL,), True), [1, 2]),
        (Agency(6, "Dinkes", "kecamatan", (KEC,), True), [1, 2, 3]),
        # agencies without a points agreement and planners read no record, whatever their scope
        (Agency(7, "Dinkes", "kelurahan", (KEL,), False), []),
        (Agency(8, "BPJS", "kota", ("15.71",), False), []),
        (User(9, "plan", "planner", "kota", ("15.71",)), []),
        (SimpleNamespace(id=10, role="planner", scope_codes=("15.71",), points_agreement=True), []),
        # a principal that says nothing about an agreement has none (fail closed)
        (SimpleNamespace(id=11, role="agency", scope_codes=("15.71",)), []),
        (None, []),
    ],
    ids=lambda v: getattr(v, "username", None) or getattr(v, "name", None) or str(getattr(v, "role", v)),
)
def test_each_kind_of_principal_reads_exactly_the_family_rows_of_the_rule(conn, principal, expected):
    assert _visible(conn, principal) == expected
