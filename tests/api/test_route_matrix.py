"""Role × route, written out by hand (issue 19): an independent oracle for who may call what.

An expectation derived from the routes' own declared rules would widen with a rule widened in the code.
The table below is written from DOMAIN.md's users
table and each route's purpose, not read from the app: a route added, removed or re-ruled fails here until
someone edits the table on purpose.

Columns: admin, coordinator (coord), verifier (verif), planner (plan), agency (an API key), programme (an API key
bound to one programme, issue 18), public (anyone, no credentials). PUBLIC means every principal, anonymous
included.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.policy import PUBLIC as DECLARED_PUBLIC
from api.policy import route_roles
from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.api.test_policy import SAMPLES, _routes, client, world  # noqa: F401  (fixtures: one city for both)
from tests.people import Bearers

ADMIN, COORD, VERIF, PLAN, AGENCY, PROG = "admin", "coordinator", "verifier", "planner", "agency", "programme"
PUBLIC = frozenset({"public"})
STAFF_RECORDS = frozenset({ADMIN, COORD, VERIF})  # personal data: DOMAIN.md "yes" rows, never planners/agencies
COORDINATION = frozenset({ADMIN, COORD})  # assign, follow progress, approve
PERSONS = frozenset({ADMIN, COORD, VERIF, PLAN})  # people with a login session
ROLES = (ADMIN, COORD, VERIF, PLAN, AGENCY, PROG)

# (method, path template) -> the roles admitted; written by hand, one line per route
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # probes: load balancers and container health checks call them without credentials
    ("GET", "/livez"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    # authentication: anyone may try to log in; a session (not an agency key) can be ended; anyone identified
    # may ask who they are
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PERSONS,
    ("GET", "/api/v1/auth/me"): frozenset({ADMIN, COORD, VERIF, PLAN, AGENCY}),
    # one family, its trail: personal data, staff in scope only
    ("GET", "/api/v1/households/{household_id}"): STAFF_RECORDS,
    ("GET", "/api/v1/households/{household_id}/trail"): STAFF_RECORDS,
    # boundaries and published figures: not personal, open to all
    ("GET", "/api/v1/areas"): PUBLIC,
    ("GET", "/api/v1/areas/{code}"): PUBLIC,
    ("GET", "/api/v1/stats/{level}"): PUBLIC,
    ("GET", "/api/v1/spatial/locate"): PUBLIC,
    # families by place: personal data, staff only
    ("GET", "/api/v1/spatial/households"): STAFF_RECORDS,
    ("POST", "/api/v1/spatial/households/within"): STAFF_RECORDS,
    # exports of area layers are public; the household layer is refused inside the route (by principal)
    ("GET", "/api/v1/exports/{layer}.{fmt}"): PUBLIC,
    # campaigns: planners read them (gaps, coverage); coordinators run them
    ("GET", "/api/v1/campaigns"): frozenset({ADMIN, COORD, PLAN}),
    ("POST", "/api/v1/campaigns"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}"): frozenset({ADMIN, COORD, PLAN}),
    ("GET", "/api/v1/campaigns/{campaign_id}/coverage"): frozenset({ADMIN, COORD, PLAN}),
    ("GET", "/api/v1/campaigns/{campaign_id}/priorities"): COORDINATION,
    ("POST", "/api/v1/campaigns/{campaign_id}/prelist"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/workload"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/progress"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/verifiers"): COORDINATION,
    ("POST", "/api/v1/campaigns/{campaign_id}/proposal"): COORDINATION,
    ("POST", "/api/v1/campaigns/{campaign_id}/proposal/accept"): COORDINATION,
    ("POST", "/api/v1/campaigns/{campaign_id}/backchecks"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/backchecks"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/berita-acara/{kelurahan}"): COORDINATION,
    # assignments: coordinators assign; verifiers see and move their own
    ("POST", "/api/v1/campaigns/{campaign_id}/assignments"): COORDINATION,
    ("GET", "/api/v1/campaigns/{campaign_id}/assignments"): STAFF_RECORDS,
    ("POST", "/api/v1/assignments/{assignment_id}/status"): STAFF_RECORDS,
    ("GET", "/api/v1/assignments/mine"): frozenset({VERIF}),
    # visits: recorded by the verifier in the field, reviewed and approved by coordinators
    ("POST", "/api/v1/verifications/batch"): frozenset({VERIF}),
    ("POST", "/api/v1/verifications/{verification_id}/photos"): frozenset({VERIF}),
    ("GET", "/api/v1/verifications/{verification_id}/photos/{sha256}"): STAFF_RECORDS,
    ("GET", "/api/v1/campaigns/{campaign_id}/verifications"): STAFF_RECORDS,
    ("POST", "/api/v1/verifications/{verification_id}/decision"): COORDINATION,
    # OGC API - Features: the area collections are public; households are records (agencies: masked, under an
    # agreement, refused inside the route without one)
    ("GET", "/ogc"): PUBLIC,
    ("GET", "/ogc/api"): PUBLIC,
    ("GET", "/ogc/conformance"): PUBLIC,
    ("GET", "/ogc/collections"): PUBLIC,
    ("GET", "/ogc/collections/{collectionId}"): PUBLIC,
    ("GET", "/ogc/collections/{collectionId}/queryables"): PUBLIC,
    ("GET", "/ogc/collections/{collectionId}/schema"): PUBLIC,
    ("GET", "/ogc/collections/{collectionId}/items"): PUBLIC,
    ("GET", "/ogc/collections/{collectionId}/items/{featureId}"): PUBLIC,
    ("GET", "/ogc/collections/households/items"): frozenset({ADMIN, COORD, VERIF, AGENCY}),
    ("GET", "/ogc/collections/households/items/{featureId}"): frozenset({ADMIN, COORD, VERIF, AGENCY}),
    # vector tiles: area layers public, households as the OGC items
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"): PUBLIC,
    ("GET", "/tiles/{layer}.json"): PUBLIC,
    ("GET", "/tiles/households/{z}/{x}/{y}.pbf"): frozenset({ADMIN, COORD, VERIF, AGENCY}),
    # the portal: page shells (their data comes from the API under its own rules) and sign-in
    ("GET", "/"): PUBLIC,
    ("GET", "/portal"): PUBLIC,
    ("GET", "/portal/cakupan"): PUBLIC,
    ("GET", "/portal/penugasan"): PUBLIC,
    ("GET", "/portal/verifikator"): PUBLIC,
    ("GET", "/portal/keluarga/{household_id}"): PUBLIC,
    ("GET", "/portal/dasbor"): PUBLIC,
    ("GET", "/portal/program"): PUBLIC,
    ("GET", "/portal/tinjau"): PUBLIC,
    ("GET", "/portal/sw.js"): PUBLIC,
    ("GET", "/portal/login"): PUBLIC,
    ("POST", "/portal/login"): PUBLIC,
    ("POST", "/portal/logout"): PERSONS,
    # programmes (issue 18): the configuration is read by staff, planners and a programme's own office; rosters are
    # sent by the office's programme key (or the administrator) and their versions read by Dinsos staff too
    ("GET", "/api/v1/programmes"): frozenset({ADMIN, COORD, PLAN, PROG}),
    ("POST", "/api/v1/programmes/{code}/rosters"): frozenset({ADMIN, PROG}),
    ("GET", "/api/v1/programmes/{code}/rosters"): frozenset({ADMIN, COORD, PROG}),
    ("GET", "/api/v1/programmes/{code}/rosters/{roster_id}"): frozenset({ADMIN, COORD, PROG}),
    # the eligibility list: personal (pseudonymous) records for the programme's own office, audited per family
    ("GET", "/api/v1/programmes/{code}/eligible"): frozenset({ADMIN, PROG}),
    # inclusion and exclusion errors per area: published figures for everyone (exact ones of their area for Dinsos
    # staff, decided inside the route); the work list names families: admin and coordinators in their area
    ("GET", "/api/v1/programmes/{code}/errors"): PUBLIC,
    ("GET", "/api/v1/programmes/{code}/errors/families"): COORDINATION,
}
ROUTE_COUNT = 72  # the app's routes (method × path) today; a new route changes this and the table on purpose

# routes the table admits a principal to that the route then refuses for a reason of its own: a key without
# the points agreement reads no record (403), whatever the route's rule
NO_AGREEMENT_REFUSED = {
    ("GET", "/ogc/collections/households/items"),
    ("GET", "/ogc/collections/households/items/{featureId}"),
    ("GET", "/tiles/households/{z}/{x}/{y}.pbf"),
}
# ending a session is called last, so the principal's token serves every other route first
LAST = {("POST", "/api/v1/auth/logout"), ("POST", "/portal/logout")}


def _app_routes():
    app = create_app(Settings(), url="postgresql://peta:x@127.0.0.1:1/peta")
    return _routes(app)


def test_the_table_and_the_app_have_exactly_the_same_routes():
    routes = _app_routes()
    assert len(MATRIX) == ROUTE_COUNT
    assert len(routes) == ROUTE_COUNT
    in_app = {(m, p) for m, p, _ in routes}
    assert len(in_app) == len(routes), "one (method, path) twice in the app"
    assert sorted(in_app - set(MATRIX)) == [], "routes of the app missing from MATRIX"
    assert sorted(set(MATRIX) - in_app) == [], "routes in MATRIX the app no longer has"


def test_every_routes_declared_roles_are_the_tables():
    routes = _app_routes()
    assert routes
    declared = {
        (m, p): (PUBLIC if route_roles(r) == (DECLARED_PUBLIC,) else frozenset(route_roles(r) or ()))
        for m, p, r in routes
    }
    wrong = {f"{m} {p}": (sorted(declared[(m, p)]), sorted(MATRIX[(m, p)]))
             for (m, p) in declared if declared[(m, p)] != MATRIX.get((m, p))}  # fmt: skip
    assert wrong == {}, "declared != table: (declared, table)"


@pytest.fixture(scope="module")
def agreement_key(world):  # noqa: F811
    """A city-wide agency key with the points agreement: the agency column of the table, unrefused."""
    get_settings.cache_clear()
    out = CliRunner().invoke(cli, ["keys", "create", "BPJS matrix", "--points-agreement"],
                             env={"DATABASE_URL": world[0]})  # fmt: skip
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]):  # noqa: F811
    sample = dict(SAMPLES[(method, path)])
    follow = sample.pop("follow_redirects", True)
    url = sample.pop("url", path)
    extra = sample.pop("headers", {})
    r = client.request(method, url, headers={**headers, **extra}, follow_redirects=follow, **sample)  # type: ignore[arg-type]
    assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
    if r.status_code == 401 and path != "/api/v1/auth/token":  # the sample logs in with a wrong password
        return "401"
    return "403" if r.status_code == 403 else "allowed"


def _expected(who: str, admitted: frozenset[str]) -> str:
    if admitted == PUBLIC or who in admitted:
        return "allowed"
    return "401" if who == "anonymous" else "403"


@pytest.fixture(scope="module")
def programme_key(world):  # noqa: F811
    """A city-wide key bound to PKH: the programme column of the table."""
    get_settings.cache_clear()
    out = CliRunner().invoke(cli, ["programmes", "key", "Dinsos PKH matrix", "--programme", "PKH"],
                             env={"DATABASE_URL": world[0]})  # fmt: skip
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    return out.stdout.strip().splitlines()[-1]


_login = Bearers()


@pytest.mark.parametrize("who", ("anonymous", ADMIN, COORD, VERIF, PLAN, AGENCY, "agency without agreement", PROG))
def test_every_principal_gets_what_the_table_says_on_every_route(client, world, agreement_key, programme_key,  # noqa: F811
                                                                 who):  # fmt: skip
    _login.clear()
    routes = sorted(((m, p) for m, p, _ in _routes(client.app)), key=lambda mp: mp in LAST)
    assert len(routes) == ROUTE_COUNT
    if who == "anonymous":
        headers: dict[str, str] = {}
    elif who == AGENCY:
        headers = {"X-API-Key": agreement_key}
    elif who == "agency without agreement":
        headers = {"X-API-Key": world[1]}
    elif who == PROG:
        headers = {"X-API-Key": programme_key}
    else:
        headers = _login(client, f"u.{who}")
    column = AGENCY if who.startswith("agency") else who
    wrong = {}
    for method, path in routes:
        expected = _expected(column, MATRIX[(method, path)])
        if who == "agency without agreement" and (method, path) in NO_AGREEMENT_REFUSED:
            expected = "403"
        if (method, path) in LAST and who in PERSONS:  # a fresh session each, as ending one is the point
            _login.clear()
            headers = _login(client, f"u.{who}")
        got = _call(client, method, path, headers)
        if got != expected:
            wrong[f"{method} {path}"] = (expected, got)
    assert wrong == {}, "(table, app)"
