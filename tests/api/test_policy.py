"""Every route declares an access rule and has a sample request (the samples drive test_route_matrix.py)."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.policy import route_roles
from boundaries.derive import derive_rt
from core.settings import Settings, get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.layers import KELURAHAN, load_sample_city

PASSWORD = "rahasia-sekali-123"
# one valid request per route; a new route needs a line here (and a rule), or the test below fails
SAMPLES: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/healthz"): {},
    ("GET", "/livez"): {},
    ("GET", "/readyz"): {},
    ("GET", "/api/v1/areas"): {"params": {"level": "kelurahan"}},
    ("POST", "/api/v1/auth/token"): {"data": {"username": "nobody", "password": "wrong-password"}},
    ("POST", "/api/v1/auth/logout"): {},
    ("GET", "/api/v1/auth/me"): {},
    ("GET", "/"): {"follow_redirects": False},
    ("GET", "/portal"): {},
    ("GET", "/api/v1/households/{household_id}"): {"url": "/api/v1/households/1"},
    ("GET", "/portal/login"): {},
    ("POST", "/portal/login"): {"data": {"username": "nobody", "password": "wrong-password", "csrf": "x"}},
    ("POST", "/portal/logout"): {"data": {"csrf": "x"}},
    ("GET", "/api/v1/stats/{level}"): {"url": "/api/v1/stats/kelurahan"},
    ("GET", "/api/v1/areas/{code}"): {"url": f"/api/v1/areas/{KELURAHAN[0][0]}"},
    ("GET", "/api/v1/spatial/locate"): {"params": {"lon": 103.6, "lat": -1.6}},
    ("GET", "/api/v1/spatial/households"): {"params": {"lon": 103.6, "lat": -1.6, "nearest": 3}},
    ("POST", "/api/v1/spatial/households/within"): {
        "json": {"type": "Polygon", "coordinates": [[[103.5, -1.7], [103.7, -1.7], [103.7, -1.5], [103.5, -1.7]]]}
    },
    ("GET", "/api/v1/exports/{layer}.{fmt}"): {"url": "/api/v1/exports/kecamatan.csv"},
    ("GET", "/api/v1/campaigns"): {},
    ("POST", "/api/v1/campaigns"): {"json": {"name": "x", "target_kind": "desil"}},
    ("GET", "/api/v1/campaigns/{campaign_id}"): {"url": "/api/v1/campaigns/1"},
    ("GET", "/api/v1/campaigns/{campaign_id}/coverage"): {"url": "/api/v1/campaigns/1/coverage"},
    ("GET", "/api/v1/campaigns/{campaign_id}/priorities"): {"url": "/api/v1/campaigns/1/priorities"},
    ("POST", "/api/v1/campaigns/{campaign_id}/assignments"): {"url": "/api/v1/campaigns/1/assignments", "json": {}},
    ("GET", "/api/v1/campaigns/{campaign_id}/assignments"): {"url": "/api/v1/campaigns/1/assignments"},
    ("GET", "/api/v1/campaigns/{campaign_id}/workload"): {"url": "/api/v1/campaigns/1/workload"},
    ("POST", "/api/v1/assignments/{assignment_id}/status"): {
        "url": "/api/v1/assignments/1/status",
        "json": {"status": "in_progress"},
    },
    ("POST", "/api/v1/verifications/batch"): {"json": {"visits": []}},
    ("GET", "/api/v1/campaigns/{campaign_id}/berita-acara/{kelurahan}"): {
        "url": f"/api/v1/campaigns/1/berita-acara/{KELURAHAN[0][0]}"
    },
    ("POST", "/api/v1/verifications/{verification_id}/decision"): {
        "url": "/api/v1/verifications/1/decision",
        "json": {"decision": "approve"},
    },
    ("GET", "/api/v1/campaigns/{campaign_id}/verifications"): {"url": "/api/v1/campaigns/1/verifications"},
    ("GET", "/api/v1/campaigns/{campaign_id}/progress"): {"url": "/api/v1/campaigns/1/progress"},
    ("POST", "/api/v1/campaigns/{campaign_id}/proposal"): {"url": "/api/v1/campaigns/1/proposal", "json": {}},
    ("POST", "/api/v1/campaigns/{campaign_id}/proposal/accept"): {
        "url": "/api/v1/campaigns/1/proposal/accept",
        "json": {"due_on": "2030-01-01", "plan": [{"verifier": "u.verifier", "rt_code": "15.71.01.1001.001.001"}]},
    },
    ("POST", "/api/v1/campaigns/{campaign_id}/backchecks"): {
        "url": "/api/v1/campaigns/1/backchecks",
        "json": {"due_on": "2030-01-01"},
    },
    ("GET", "/api/v1/campaigns/{campaign_id}/backchecks"): {"url": "/api/v1/campaigns/1/backchecks"},
    ("POST", "/api/v1/campaigns/{campaign_id}/prelist"): {
        "url": "/api/v1/campaigns/1/prelist",
        "files": {"file": ("prelist.csv", b"no_kk\n1571010000000001\n", "text/csv")},
    },
    ("POST", "/api/v1/verifications/{verification_id}/photos"): {
        "url": "/api/v1/verifications/1/photos",
        "content": b"not an image",
        "headers": {"content-type": "image/jpeg"},
    },
    ("GET", "/api/v1/verifications/{verification_id}/photos/{sha256}"): {
        "url": "/api/v1/verifications/1/photos/" + "0" * 64
    },
    ("GET", "/api/v1/campaigns/{campaign_id}/verifiers"): {"url": "/api/v1/campaigns/1/verifiers"},
    ("GET", "/api/v1/assignments/mine"): {},
    ("GET", "/api/v1/households/{household_id}/trail"): {"url": "/api/v1/households/1/trail"},
    ("GET", "/portal/cakupan"): {"follow_redirects": False},
    ("GET", "/portal/dasbor"): {"follow_redirects": False},
    ("GET", "/portal/program"): {"follow_redirects": False},
    ("GET", "/portal/tinjau"): {"follow_redirects": False},
    ("GET", "/portal/sw.js"): {},
    ("GET", "/portal/penugasan"): {"follow_redirects": False},
    ("GET", "/portal/verifikator"): {"follow_redirects": False},
    ("GET", "/portal/keluarga/{household_id}"): {"url": "/portal/keluarga/1", "follow_redirects": False},
    ("GET", "/ogc"): {},
    ("GET", "/ogc/conformance"): {},
    ("GET", "/ogc/api"): {},
    ("GET", "/ogc/collections"): {},
    ("GET", "/ogc/collections/{collectionId}"): {"url": "/ogc/collections/rt"},
    ("GET", "/ogc/collections/{collectionId}/queryables"): {"url": "/ogc/collections/rt/queryables"},
    ("GET", "/ogc/collections/{collectionId}/schema"): {"url": "/ogc/collections/kelurahan/schema"},
    ("GET", "/ogc/collections/{collectionId}/items"): {"url": "/ogc/collections/kelurahan/items"},
    ("GET", "/ogc/collections/{collectionId}/items/{featureId}"): {
        "url": f"/ogc/collections/kelurahan/items/{KELURAHAN[0][0]}"
    },
    ("GET", "/ogc/collections/households/items"): {},
    ("GET", "/ogc/collections/households/items/{featureId}"): {"url": "/ogc/collections/households/items/1"},
    ("GET", "/tiles/households/{z}/{x}/{y}.pbf"): {"url": "/tiles/households/10/816/508.pbf"},
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"): {"url": "/tiles/kelurahan/10/816/508.pbf"},
    ("GET", "/tiles/{layer}.json"): {"url": "/tiles/rt.json"},
    ("GET", "/api/v1/programmes"): {},
    ("POST", "/api/v1/programmes/{code}/rosters"): {
        "url": "/api/v1/programmes/PKH/rosters",
        "files": {"file": ("pkh.csv", b"no_kk\n1571010000000001\n", "text/csv")},
        "data": {"period": "2026-12"},
    },
    ("GET", "/api/v1/programmes/{code}/rosters"): {"url": "/api/v1/programmes/PKH/rosters"},
    ("GET", "/api/v1/programmes/{code}/rosters/{roster_id}"): {"url": "/api/v1/programmes/PKH/rosters/1"},
    ("GET", "/api/v1/programmes/{code}/eligible"): {"url": "/api/v1/programmes/PKH/eligible",
                                                   "params": {"period": "2026-11"}},
    ("GET", "/api/v1/programmes/{code}/errors"): {"url": "/api/v1/programmes/PKH/errors",
                                                 "params": {"period": "2026-11"}},
    ("GET", "/api/v1/programmes/{code}/errors/families"): {"url": "/api/v1/programmes/PKH/errors/families",
                                                          "params": {"period": "2026-11"}},
}
def _routes(app) -> list[tuple[str, str, APIRoute]]:
    """Every (method, full path, route), through included routers (FastAPI keeps them as lazy branches)."""
    out = [
        (m, ctx.path, ctx.original_route)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIRoute)
        for m in sorted(ctx.methods or ())
    ]
    assert len(out) > 40, "the route table looks empty: the walk above no longer sees the included routers"
    return out


@pytest.fixture(scope="module")
def world(committed_url, tmp_path_factory):
    """A small city with RTs, one user per role and an agency key (committed: the app reads it)."""
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    tmp = tmp_path_factory.mktemp("policy")
    with psycopg.connect(committed_url) as conn:
        load_sample_city(conn, tmp)
        c = KELURAHAN[0][2].centroid
        derive_rt(conn, [(0, f"{KELURAHAN[0][0]}.001.001", c.x, c.y)])
    runner = CliRunner()
    env = {"DATABASE_URL": committed_url}
    get_settings.cache_clear()
    for role in ("admin", "coordinator", "verifier", "planner"):
        scope = ["--scope-level", "rt", "--scope", f"{KELURAHAN[0][0]}.001.001"] if role == "verifier" else []
        result = runner.invoke(
            cli, ["users", "add", f"u.{role}", "--role", role, *scope], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
        )
        assert result.exit_code == 0, result.output
    key = runner.invoke(cli, ["keys", "create", "Dinkes"], env=env).stdout.strip().splitlines()[-1]
    get_settings.cache_clear()
    yield committed_url, key
    truncate_all(committed_url)


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(url=world[0])) as c:
        yield c


def test_every_route_declares_a_rule_and_has_a_sample():
    app = create_app(Settings(), url="postgresql://peta:x@127.0.0.1:1/peta")
    missing_rule = [f"{m} {p}" for m, p, r in _routes(app) if route_roles(r) is None]
    missing_sample = [f"{m} {p}" for m, p, _ in _routes(app) if (m, p) not in SAMPLES]
    assert missing_rule == [], "routes without an access rule (api.policy.allow)"
    assert missing_sample == [], "routes without a sample request in SAMPLES"


def test_security_headers_body_limit_and_cors(world, monkeypatch):
    monkeypatch.setenv("PETA_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("PETA_CORS_ORIGINS", "https://dinkes.example")
    with TestClient(create_app(Settings(), url=world[0])) as c:
        r = c.get("/healthz")
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        big = c.post(
            "/api/v1/auth/token", content=b"x" * 5000, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert big.status_code == 413 and big.json()["detail"] == "request body larger than 2,048 bytes"
        allowed = c.get("/healthz", headers={"Origin": "https://dinkes.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://dinkes.example"
        other = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
