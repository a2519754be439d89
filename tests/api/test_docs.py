"""The API's documentation: /docs and /redoc from this server's own assets under a strict CSP (in Chromium too),
the security schemes each operation accepts, /ogc/api an OpenAPI 3.0 document as its conformance claims, and
the documented examples accepted by the app."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from api.app import EXAMPLES, operation_security
from api.middleware import SECURITY_HEADERS
from api.policy import route_roles
from api.routers.ogc import CONFORMANCE, _schemas_used
from core.settings import Settings
from portal.app import create_app
from tests.api.test_policy import _routes
from tests.layers import load_sample_city
from tests.live import serve
from tests.people import PASSWORD, add_users
from tests.portal.browser import browser, needs_chromium

NO_DATABASE = "postgresql://peta:nope@127.0.0.1:1/peta"  # the documentation needs none
OAS30 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
GLOBAL_CSP = dict(SECURITY_HEADERS)[b"content-security-policy"].decode()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=NO_DATABASE)) as c:
        yield c


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


# --- /docs and /redoc: only this server's assets, a policy of their own --------------------------------------


@pytest.mark.parametrize("path, assets", [
    ("/docs", ["/static/docs/swagger-ui-5.35.0/swagger-ui.css", "/static/docs/swagger-ui-5.35.0/favicon-32x32.png",
               "/static/docs/swagger-ui-5.35.0/swagger-ui-bundle.js"]),
    ("/redoc", ["/static/docs/swagger-ui-5.35.0/favicon-32x32.png", "/static/docs/redoc-2.5.4/redoc.standalone.js"]),
])  # fmt: skip
def test_a_documentation_page_loads_only_this_servers_assets(client, path, assets):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == assets  # every one same-origin, none on a CDN
    assert "googleapis" not in page and "cdn." not in page
    types = {".css": "text/css", ".png": "image/png", ".js": "text/javascript"}
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
        assert asset.headers["content-type"].startswith(types[url[url.rindex(".") :]]), url
    assert 'spec-url="/openapi.json"' in page if path == "/redoc" else "url: '/openapi.json'" in page
    assert client.get("/static/docs/swagger-ui-5.35.0/nothing.js").status_code == 404


def test_each_documentation_page_has_its_own_strict_policy(client):
    docs, redoc = client.get("/docs"), client.get("/redoc")
    for r in (docs, redoc):
        assert len(r.headers.get_list("content-security-policy")) == 1  # its own replaces the global one
        policy = _directives(r.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["img-src"] == ["'self'", "data:"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    # Swagger UI is started by the page's one inline script, allowed by its hash and by nothing wider
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert len(inline) == 1 and _directives(docs.headers["content-security-policy"])["script-src"] == [
        "'self'", f"'sha256-{digest}'"]  # fmt: skip
    assert _directives(docs.headers["content-security-policy"])["worker-src"] == ["'self'"]
    # Redoc has no inline script; its search index runs in a worker made from a blob: URL
    assert _directives(redoc.headers["content-security-policy"])["script-src"] == ["'self'"]
    assert _directives(redoc.headers["content-security-policy"])["worker-src"] == ["'self'", "blob:"]
    # every other response keeps the global policy
    for other in ("/openapi.json", "/static/docs/redoc-2.5.4/redoc.standalone.js", "/ogc/api"):
        assert client.get(other).headers.get_list("content-security-policy") == [GLOBAL_CSP], other


@needs_chromium
def test_both_documentation_pages_render_in_chromium_offline_and_under_their_policy():
    """No request leaves the server (none is even attempted), no CSP violation, no console error."""
    app = create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=NO_DATABASE)
    operations = sum(len(ops) for ops in app.openapi()["paths"].values())
    with serve(app) as base, browser() as b:
        context = b.new_context()
        context.add_init_script("window.__violations = [];"
                                "document.addEventListener('securitypolicyviolation', e =>"
                                " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")  # fmt: skip
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{base}/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        assert page.inner_text(".swagger-ui .information-container .title").startswith("Peta Verval")
        assert page.locator(".opblock").count() == operations
        page.click(".btn.authorize")
        dialog = page.inner_text(".dialog-ux .modal-ux-content")
        assert "bearer (OAuth2, password)" in dialog and "apiKey\xa0(apiKey)" in dialog
        assert "/api/v1/auth/token" in dialog and "X-API-Key" in dialog

        page.goto(f"{base}/redoc")
        page.wait_for_selector("h1", timeout=30_000)
        assert page.inner_text("h1").startswith("Peta Verval")
        page.fill("input[placeholder='Search...']", "campaign")  # the search index lives in the worker
        page.wait_for_selector("[data-role='search:results'] li", timeout=30_000)
        assert page.locator("[data-role='search:results'] li").count() >= 5
        violations = page.evaluate("window.__violations")
        context.close()
    assert violations == [] and errors == []
    outside = [u for u in requests if not u.startswith((base + "/", f"blob:{base}/"))]
    assert outside == []
    assert f"{base}/static/docs/redoc-2.5.4/redoc.standalone.js" in requests


@needs_chromium
def test_swagger_ui_logs_in_with_the_declared_password_flow_and_calls_the_api(clean_committed, tmp_path):
    with psycopg.connect(clean_committed) as conn:
        load_sample_city(conn, tmp_path, population_step=1000)  # an admin's scope is the kab/kota loaded
        conn.commit()
    add_users(clean_committed, {"u.admin": ("admin", [])})
    with serve(create_app(Settings(PETA_AUDIT_SEAL_SECONDS="0"), url=clean_committed)) as base, browser() as b:
        page = b.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/docs")
        page.click(".btn.authorize")
        page.fill("#oauth_username", "u.admin")
        page.fill("#oauth_password", PASSWORD)
        with page.expect_response(f"{base}/api/v1/auth/token") as issued:
            page.click(".auth-container .btn.modal-btn.authorize")
        assert issued.value.status == 200 and "grant_type=password" in (issued.value.request.post_data or "")
        page.wait_for_selector(".auth-container:has-text('Authorized')", timeout=10_000)
        page.click(".btn-done")
        page.click("#operations-auth-me_api_v1_auth_me_get .opblock-summary")
        page.click("#operations-auth-me_api_v1_auth_me_get .try-out__btn")
        with page.expect_response(f"{base}/api/v1/auth/me") as answer:
            page.click("#operations-auth-me_api_v1_auth_me_get .execute")
        assert answer.value.status == 200 and answer.value.json()["name"] == "u.admin"
        assert answer.value.request.headers["authorization"].startswith("Bearer ")
    assert errors == []


# --- security schemes --------------------------------------------------------------------------------------


def test_the_bearer_token_and_the_agency_key_are_declared(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"] == {
        "bearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
                   "description": "A person's bearer token from POST /api/v1/auth/token (the OAuth2 password flow), "
                                  "valid 8 hours"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "An agency's key (`peta keys create`), at most 200 characters"},
    }  # fmt: skip
    assert "security" not in doc  # nothing global: each operation says
    paths = doc["paths"]
    assert paths["/api/v1/households/{household_id}"]["get"]["security"] == [{"bearer": []}]
    assert paths["/ogc/collections/households/items"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert paths["/api/v1/verifications/batch"]["post"]["security"] == [{"bearer": []}]  # verifiers only
    for public in (paths["/ogc"]["get"], paths["/ogc/collections/{collectionId}/items"]["get"]):
        assert public["security"] == [{}, {"bearer": []}, {"apiKey": []}]  # optional
    headers = [(p, m) for p, ops in paths.items() for m, op in ops.items()
               for q in op.get("parameters", []) if q["name"].lower() == "x-api-key"]  # fmt: skip
    assert headers == []  # the key is the apiKey scheme, not a parameter as well


def test_every_operation_declares_what_its_access_rule_admits(client):
    doc = client.get("/openapi.json").json()
    routes = [(m, p, r) for m, p, r in _routes(client.app) if r.include_in_schema]  # the portal's pages are not
    for method, path, route in routes:
        roles = route_roles(route)
        op = doc["paths"][path][method.lower()]
        assert op["security"] == operation_security(roles), (method, path)
        assert ({} in op["security"]) == (roles == ("public",)), (method, path)
    assert len(routes) == sum(len(ops) for ops in doc["paths"].values())
    assert operation_security(("admin", "coordinator")) == [{"bearer": []}]
    assert operation_security(("agency",)) == [{"apiKey": []}]
    assert operation_security(None) is None


def test_a_household_route_needs_credentials_while_ogc_is_public(api, seeded):
    assert api.get("/ogc").status_code == 200
    assert api.get("/ogc/collections/rt/items", params={"limit": 1}).status_code == 200
    for path in ("/ogc/collections/households/items", "/api/v1/households/1"):
        assert api.get(path).status_code == 401, path
        assert api.get(path, headers={"X-API-Key": "not-a-key"}).status_code == 401, path
    assert api.get("/ogc/collections/households/items", headers=seeded.auth("admin")).status_code == 200


# --- /ogc/api: OpenAPI 3.0, as the oas30 conformance class says --------------------------------------------


def test_the_ogc_document_is_openapi_30_as_its_conformance_claims(client):
    r = client.get("/ogc/api")
    assert r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.json()
    assert OAS30 in CONFORMANCE and doc["openapi"] == "3.0.3"
    assert list(OpenAPIV30SpecValidator(doc).iter_errors()) == []
    assert doc["components"]["schemas"] == {}  # the app's other schemas (3.1 JSON Schema) are not carried
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["paths"]["/collections/households/items"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}]
    params = {p["name"]: p for p in doc["paths"]["/collections/rt/items"]["get"]["parameters"]}
    assert params["filter"]["examples"] == EXAMPLES[("get", "/ogc/collections/{collectionId}/items")]["filter"]
    households = {p["name"]: p for p in doc["paths"]["/collections/households/items"]["get"]["parameters"]}
    assert households["filter"]["examples"]["poorest"]["value"] == "local_desil <= 2"
    main = client.get("/openapi.json").json()
    assert main["openapi"].startswith("3.1.") and list(OpenAPIV31SpecValidator(main).iter_errors()) == []


def test_the_landing_page_names_the_version_served(api):
    links = {link["rel"]: link for link in api.get("/ogc").json()["links"]}
    assert links["service-desc"]["type"] == api.get("/ogc/api").headers["content-type"]
    assert api.get("/ogc/conformance").json()["conformsTo"] == CONFORMANCE


def test_only_the_schemas_a_path_refers_to_are_kept():
    schemas = {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {"items": [{"type": "x"}]},
               "C": {"$ref": "#/components/schemas/A"}}  # fmt: skip
    paths = {"/x": {"get": {"parameters": [{"schema": {"$ref": "#/components/schemas/A"}}]}}}
    assert _schemas_used(paths, {"schemas": schemas}) == {"A": schemas["A"], "B": schemas["B"]}
    assert _schemas_used(paths, {}) == {}


# --- the examples are what the app accepts ---------------------------------------------------------------------


def _example(method: str, path: str, name: str, which: str | None = None):
    examples = EXAMPLES[(method, path)][name]
    return examples[which or next(iter(examples))]["value"]


def test_every_example_is_in_the_document(client):
    doc = client.get("/openapi.json").json()
    for (method, path), examples in EXAMPLES.items():
        op = doc["paths"][path][method]
        named = {p["name"]: p.get("examples") for p in op.get("parameters", [])}
        named |= {m: c.get("examples") for m, c in op.get("requestBody", {}).get("content", {}).items()}
        assert {k: named.get(k) for k in examples} == examples, (method, path)


def test_the_items_examples_select_what_they_say(api, seeded):
    path = ("get", "/ogc/collections/{collectionId}/items")
    bbox = _example(*path, "bbox")
    query = {"bbox": ",".join(map(str, bbox)), "filter": _example(*path, "filter", "poor"), "limit": 10_000}
    body = api.get(f"/ogc/collections/rt/items?{urlencode(query)}", headers=seeded.auth("admin")).json()
    expected = api.db.execute(
        """SELECT count(*) FROM area_stats s JOIN area a ON a.code = s.code WHERE s.level = 'rt' AND s.families >= 20
           AND round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) > 30
           AND ST_Intersects(a.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))""", bbox).fetchone()[0]  # fmt: skip
    assert body["numberMatched"] == len(body["features"]) == expected > 0
    assert all(f["properties"]["poverty_rate_pct"] > 30 and f["properties"]["families"] >= 20
               for f in body["features"])  # fmt: skip
    under = api.get("/ogc/collections/kelurahan/items", params={"filter": _example(*path, "filter", "kecamatan")})
    assert under.status_code == 200 and {f["properties"]["parent_code"] for f in under.json()["features"]} <= {
        "15.71.01"}  # fmt: skip


def test_the_body_examples_are_accepted(api, seeded):
    campaign = ("post", "/api/v1/campaigns")
    for which in ("desil", "category"):
        r = api.post("/api/v1/campaigns", json=_example(*campaign, "application/json", which),
                     headers=seeded.auth("koor"))  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["name"] == _example(*campaign, "application/json", which)["name"]
    token = _example("post", "/api/v1/auth/token", "application/x-www-form-urlencoded")
    refused = api.post("/api/v1/auth/token", data=token)
    assert refused.status_code == 401  # a well-formed login of somebody who is not there
    assert api.post("/api/v1/auth/token", data={**token, "username": "koor", "password": PASSWORD}
                    ).status_code == 200  # fmt: skip
    batch = _example("post", "/api/v1/verifications/batch", "application/json")
    r = api.post("/api/v1/verifications/batch", json=batch, headers=seeded.auth("rt.satu"))
    assert r.status_code == 200, r.text  # shaped right: the visit itself is refused (no such campaign here)
    assert [v["status"] for v in r.json()["results"]] == ["rejected"]
    street = _example("post", "/api/v1/spatial/households/within", "application/json")
    assert api.post("/api/v1/spatial/households/within", json=street, headers=seeded.auth("admin")).status_code == 200
