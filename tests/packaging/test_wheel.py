"""The wheel alone carries the app (issue 15): built from this tree, installed in a fresh virtual environment
where the source tree is not importable, migrated, loaded and served by its own `peta` from another
directory, every page answering and every asset its pages reference (scripts, styles, images, the images
in the styles, the service worker) answered 200 with its content type.

Offline and quick: the wheel is built with the build backend of this environment (no build isolation, no
index) from a copy of the packages (nothing is written into the tree), installed without its dependencies,
which the new environment reads from this one's site-packages through a .pth: lines of a .pth only join
sys.path, so this environment's own .pth files (the editable install's finder among them) never run there.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import site
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import psycopg
import pytest

from db.connect import create_database, drop_database
from portal.shell import PAGES
from tests.live import free_port
from tests.people import PASSWORD

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
TOP_LEVEL = sorted({name.split(".")[0] for name in PROJECT["tool"]["setuptools"]["packages"]["find"]["include"]})
STATIC = REPO / "portal" / "static"
# what each kind of asset must be served as
TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",), ".png": ("image/png",),
         ".svg": ("image/svg+xml",), ".json": ("application/json", "application/manifest+json")}  # fmt: skip
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


def _setuptools_major() -> int:
    try:
        return int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


# the build backend pyproject.toml names (setuptools>=77: the SPDX licence); .[dev] installs it
pytestmark = pytest.mark.skipif(
    _setuptools_major() < 77, reason="setuptools>=77 is not installed here (pip install -e '.[dev]' installs it)"
)


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would point Python or the app elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PETA_", "VIRTUAL_ENV", "COVERAGE")) and k != "DATABASE_URL"}  # fmt: skip
    return {**env, "PYTHONNOUSERSITE": "1", "COLUMNS": "200", **extra}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of this tree's packages, built offline; no warning from the build backend."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    for top in TOP_LEVEL:
        shutil.copytree(REPO / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    log = _run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index",
                "-w", str(tmp / "dist"), str(src)], tmp)  # fmt: skip
    warnings = [line.strip() for line in log.splitlines() if re.search(r"\w+Warning\b", line)]
    assert not warnings, "the build warns:\n" + "\n".join(warnings)
    (wheel,) = (tmp / "dist").glob("peta_verval-*.whl")
    return wheel


def install(tmp: Path, wheel: Path) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies read from this environment."""
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
          str(wheel)], tmp)  # fmt: skip
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp).strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "zz_dependencies.pth").write_text("".join(p + "\n" for p in deps))
    return venv


def assert_isolated(venv: Path, cwd: Path) -> None:
    """Every package of the project imports from the new environment, and nothing of the source tree can."""
    probe = (
        "import importlib, json, sys; print(json.dumps({'path': sys.path, 'finders': [repr(f) for f in "
        "sys.meta_path], 'files': {n: importlib.import_module(n).__file__ for n in sys.argv[1:]}}))"
    )
    seen = json.loads(_run([str(venv / "bin" / "python"), "-c", probe, *TOP_LEVEL], cwd))
    for name, file in seen["files"].items():
        assert Path(file).resolve().is_relative_to(venv.resolve()), f"{name} imports from {file}, not the wheel"
    assert str(REPO) not in [str(Path(p or cwd).resolve()) for p in seen["path"]], seen["path"]
    assert not [f for f in seen["finders"] if "editable" in f.lower()], seen["finders"]


@pytest.fixture
def database(server_url: str) -> Iterator[str]:
    """An empty database with PostGIS, dropped after the test: the wheel's own `peta db migrate` builds it."""
    name = f"peta_test_wheel_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(server_url, name, drop_first=True)
    try:
        yield url
    finally:
        drop_database(server_url, name)


@contextmanager
def served(venv: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """`peta serve` of the new environment on a free loopback port, once /readyz answers; stopped after."""
    port, log = free_port(), cwd / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(venv / "bin" / "peta"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        while not _ready(base):
            assert server.poll() is None, f"peta serve exited {server.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"peta serve not ready in 30 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class References(HTMLParser):
    """The `<script src>`, `<link href>` and `<img src>` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.found += [value for name, value in attrs if name == wanted and value]


def _same_origin(base: str, page: str, refs: list[str]) -> list[str]:
    urls = [urljoin(page, ref) for ref in refs if not ref.startswith(("data:", "#"))]
    return [url for url in urls if urlsplit(url).netloc == urlsplit(base).netloc]


def login(base: str, username: str) -> httpx.Client:
    """A client holding a portal session of `username` (the login form, CSRF token and all)."""
    client = httpx.Client(base_url=base, timeout=10)
    form = client.get("/portal/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    signed = client.post("/portal/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    assert signed.status_code == 303 and "peta_session" in client.cookies, (username, signed.text)
    return client


def page_assets(base: str, clients: dict[str, httpx.Client], pages: dict[str, str]) -> dict[str, str]:
    """Every page opened by the person it is for; {asset URL: the page that references it}."""
    assets: dict[str, str] = {}
    for path, who in pages.items():
        page = clients[who].get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), (path, who, page)
        parser = References()
        parser.feed(page.text)
        assets.update(dict.fromkeys(_same_origin(base, str(page.url), parser.found), path))
    return assets


def fetch_all(base: str, assets: dict[str, str]) -> list[str]:
    """Each asset and the images its stylesheets name; the failures, each with the page that wanted it."""
    failures, queue, done = [], dict(assets), set()
    # a connection each: a server error closes its connection, which must not fail the next asset
    with httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while queue:  # in order: a stylesheet before the images it names, so that they are named with it
            url = next(iter(queue))
            source = queue.pop(url)
            done.add(url)
            failures += _fetch(client, url, source, queue, done)
    return failures


def _fetch(client: httpx.Client, url: str, source: str, queue: dict[str, str], done: set[str]) -> list[str]:
    try:
        r = client.get(url)
    except httpx.TransportError as exc:
        return [f"{urlsplit(url).path} (referenced by {source}): no answer ({exc!r})"]
    kind = r.headers.get("content-type", "")
    wanted = TYPES.get(Path(urlsplit(url).path).suffix, ("",))
    if r.status_code != 200 or not r.content or not kind.startswith(wanted):
        return [f"{urlsplit(url).path} (referenced by {source}): {r.status_code} {kind!r}"]
    if kind.startswith("text/css"):
        refs = _same_origin(str(client.base_url), url, CSS_URL.findall(r.text))
        queue.update({ref: urlsplit(url).path for ref in refs if ref not in done})
    return []


def prepare(venv: Path, cwd: Path, env: dict[str, str], url: str) -> int:
    """The database built by the wheel's own `peta`: migrated, a small demo city, an admin and a verifier;
    returns a family's id."""
    peta = str(venv / "bin" / "peta")
    assert "migrated to head" in _run([peta, "db", "migrate"], cwd, env)  # the migrations and their SQL ship too
    _run([peta, "demo", "--scale", "0.01", "--seed", "7"], cwd, env)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT (SELECT min(code) FROM area WHERE level = 'rt'), min(id) FROM household").fetchone()
    assert row is not None and None not in row, "the demo city has no RT or no family"
    rt, family = row
    _run([peta, "users", "add", "admin", "--role", "admin", "--password", PASSWORD], cwd, env)
    _run([peta, "users", "add", "rt.satu", "--role", "verifier", "--scope-level", "rt", "--scope", rt,
          "--password", PASSWORD], cwd, env)  # fmt: skip
    return int(family)


PEOPLE = {"anonymous": "anonymous", "admin": "admin", "rt.satu": "verifier"}  # who opens the pages, and their role


def pages_to_open(family: int) -> dict[str, str]:
    """Every page of the navigation, each opened by the first person who may; the family page, the login form
    and the API's documentation."""
    pages = {path: next(who for who, role in PEOPLE.items() if role in roles) for path, _, roles in PAGES}
    public = dict.fromkeys(("/portal/login", "/docs", "/redoc"), "anonymous")
    return pages | {f"/portal/keluarga/{family}": "admin"} | public


def every_asset(base: str, referenced: dict[str, str]) -> dict[str, str]:
    """What the pages reference, the service worker, and every file of portal/static (what Leaflet's own
    script loads beside its stylesheet included)."""
    assets = {**referenced, f"{base}/portal/sw.js": "verifier.js"}
    seen = {urlsplit(url).path for url in referenced}
    for file in sorted(p for p in STATIC.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if (path := f"/static/{file.relative_to(STATIC).as_posix()}") not in seen:
            assets[base + path] = "the folder portal/static"
    return assets


def test_the_wheel_alone_serves_every_page_and_asset(tmp_path, database):
    venv = install(tmp_path, build_wheel(tmp_path))
    run = tmp_path / "elsewhere"  # the server's working directory: neither the tree nor the environment
    run.mkdir()
    assert_isolated(venv, run)
    env = _env(DATABASE_URL=database, PETA_HOME=str(tmp_path / "home"))
    pages = pages_to_open(prepare(venv, run, env, database))
    with served(venv, run, env) as base, httpx.Client(base_url=base, timeout=10) as anonymous:
        clients = {"anonymous": anonymous}
        try:
            clients |= {who: login(base, who) for who in PEOPLE if who != "anonymous"}
            referenced = page_assets(base, clients, pages)
            failures = fetch_all(base, every_asset(base, referenced))
        finally:
            for client in clients.values():
                client.close()
    assert not failures, "assets not served by the installed wheel:\n" + "\n".join(sorted(failures))
    own = {urlsplit(url).path for url in referenced if urlsplit(url).path.startswith("/static/portal/")}
    assert {p for p in own if p.endswith(".js")} and {p for p in own if p.endswith(".css")}, referenced
