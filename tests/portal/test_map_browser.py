"""The area map in a real headless Chromium: Leaflet served locally, every layer fetched and drawn."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
import uvicorn

from portal.app import create_app
from tests.conftest import REPO
from tests.layers import load_sample_city

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(clean_committed, tmp_path):
    with psycopg.connect(clean_committed) as conn:
        load_sample_city(conn, tmp_path, population_step=5000)
        conn.commit()
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(url=clean_committed), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _chromium(args: list[str], profile: Path) -> str:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def test_every_layer_loads_in_the_browser(server, tmp_path):
    dom = _chromium(["--dump-dom", f"{server}/portal"], tmp_path / "profile")
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    attrs = dict(re.findall(r'data-layer-([a-z-]+)="([^"]*)"', body.group(0)))
    assert attrs == {"kelurahan-fill": "4", "kelurahan-line": "4", "kecamatan-line": "2"}
    assert "leaflet-interactive" in dom  # polygons were drawn as SVG paths
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "portal-area-map.png"
    _chromium(["--window-size=1280,800", f"--screenshot={shot}", f"{server}/portal"], tmp_path / "profile2")
    assert shot.exists() and shot.stat().st_size > 10_000
