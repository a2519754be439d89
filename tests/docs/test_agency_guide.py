"""The README's "Untuk instansi / For agencies" section says only what the product does: every path it names is
a route of the app, every `peta` command and option it quotes exists, and every curl example answers an agency
key as the guide says (200 with an agreement; 403 for household records without one)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from boundaries.demo import DemoConfig, generate_city, load_city
from core.settings import get_settings
from peta.cli import app as cli
from portal.app import create_app
from tests.live import serve

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Untuk instansi / For agencies"
HOST = "https://peta.example.go.id"
# a path of the app as the guide writes it: after $PETA or the example host in commands, or alone in inline code
COMMAND_PATH = re.compile(r"(?:\$PETA|" + re.escape(HOST) + r")(/[^\s\"'?`]*)")
INLINE_PATH = re.compile(r"`((?:/ogc|/api/v1|/tiles)[^`\s?]*)")
FENCE = re.compile(r"```sh\n(.*?)```", re.S)


def section() -> str:
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, f"README.md has no {HEADING!r} section"
    body = text.split(HEADING, 1)[1]
    return HEADING + body.split("\n## ", 1)[0]


def code_lines() -> list[str]:
    """The lines of the section's shell blocks, continuation lines joined, comments dropped."""
    lines: list[str] = []
    for block in FENCE.findall(section()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _template(path: str) -> re.Pattern[str]:
    """A route path (or a path of the guide) with each {parameter} matching one path segment's worth."""
    parts = re.split(r"(\{[^}]*\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p))


def test_the_section_exists_in_both_languages():
    text = section()
    assert "### Bahasa Indonesia" in text and "### English" in text
    assert text.index("### Bahasa Indonesia") < text.index("### English")


def test_every_path_the_guide_names_is_a_route_of_the_app():
    app = create_app(url="postgresql://127.0.0.1:1/unused")  # not connected: only its route table is read
    routes = [ctx.path for ctx in iter_route_contexts(app.routes) if "GET" in (ctx.methods or ())]
    assert len(routes) > 20, "the route table looks empty: the walk no longer sees the included routers"
    text = section()
    paths = {p.rstrip(".,;:") for p in COMMAND_PATH.findall(text)} | set(INLINE_PATH.findall(text))
    assert len(paths) >= 10, sorted(paths)
    for path in sorted(paths):
        pattern = _template(path)
        assert any(_template(r).fullmatch(path) or pattern.fullmatch(r) for r in routes), (
            f"{path} is no GET route of the app"
        )


def _peta_commands() -> list[list[str]]:
    quoted = [line for line in code_lines() if line.startswith("peta ")]
    quoted += re.findall(r"`(peta [^`]+)`", section())
    return [shlex.split(q.replace("<id>", "ID"))[1:] for q in quoted]


def test_every_peta_command_and_option_quoted_exists():
    commands = _peta_commands()
    assert commands, "the guide quotes no peta command"
    runner = CliRunner()
    for words in commands:
        group, command = words[0], words[1]
        out = runner.invoke(cli, [group, command, "--help"], env={"COLUMNS": "200"})
        assert out.exit_code == 0, f"peta {group} {command}: {out.output}"
        for option in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
            assert option in out.output, f"peta {group} {command} has no {option}"


def _curl_requests() -> list[tuple[str, dict[str, str], list[tuple[str, str]]]]:
    """Each curl example as (path with its query, headers, --data-urlencode pairs)."""
    requests = []
    for line in code_lines():
        if not line.startswith("curl "):
            continue
        words = shlex.split(line.split(" #", 1)[0].replace("$PETA_KEY", "KEY").replace("$PETA", ""))
        headers, data, url = {}, [], None
        i = 1
        while i < len(words):
            w = words[i]
            if w == "-H":
                name, value = words[i + 1].split(":", 1)
                headers[name] = value.strip()
                i += 2
            elif w == "--data-urlencode":
                name, value = words[i + 1].split("=", 1)
                data.append((name, value))
                i += 2
            elif w == "-o":
                i += 2
            elif w.startswith("-"):
                i += 1
            else:
                url, i = w, i + 1
        assert url and url.startswith("/"), line
        requests.append((url, headers, data))
    return requests


@pytest.fixture(scope="module")
def city(committed_url):
    """A small demo city (Kota 15.71) with the keys of the guide's own `peta keys create` examples, by name."""
    from tests.conftest import truncate_all

    truncate_all(committed_url)
    with psycopg.connect(committed_url) as conn:
        load_city(conn, generate_city(DemoConfig(scale=0.05, seed=3)))
        conn.commit()
    keys = {}
    get_settings.cache_clear()
    try:
        for words in _peta_commands():
            if words[:2] == ["keys", "create"]:
                out = CliRunner().invoke(cli, words, env={"DATABASE_URL": committed_url, "COLUMNS": "200"})
                assert out.exit_code == 0, out.output
                keys[words[2]] = out.output.strip().splitlines()[-1]
    finally:
        get_settings.cache_clear()
    yield committed_url, keys
    truncate_all(committed_url)


def test_every_curl_example_answers_an_agency_as_the_guide_says(city):
    url, keys = city
    agreed = next(k for name, k in keys.items() if "BPJS" in name)  # the example with --points-agreement
    plain = next(k for name, k in keys.items() if "Dinas Kesehatan" in name)
    assert agreed.startswith("pv_") and plain.startswith("pv_")
    examples = _curl_requests()
    assert len(examples) >= 8, examples
    with TestClient(create_app(url=url)) as client:
        for path, headers, data in examples:
            assert headers.get("X-API-Key") == "KEY", f"{path}: the example sends no X-API-Key header"
            r = client.get(path, params=data or None, headers={"X-API-Key": agreed})
            assert r.status_code == 200, f"{path} {data}: {r.status_code} {r.text[:300]}"
            answer = client.get(path, params=data or None, headers={"X-API-Key": plain}).status_code
            assert answer == (403 if "households" in path else 200), f"{path} without an agreement: {answer}"
        me = client.get("/api/v1/auth/me", headers={"X-API-Key": agreed}).json()
        shown = re.findall(r"^# (\{.*\})$", section(), re.M)  # the answer the guide quotes, in each language
        assert len(shown) == 2 and all(json.loads(m) == me for m in shown), (shown, me)
        assert client.get("/api/v1/auth/me", headers={"X-API-Key": agreed[:-2] + "xx"}).status_code == 401


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin is not installed (make test installs it)")
def test_every_gdal_example_runs_with_the_key_in_gdal_http_headers(city, tmp_path):
    url, keys = city
    agreed = next(k for name, k in keys.items() if "BPJS" in name)
    commands = [line for line in code_lines() if line.startswith(("ogrinfo ", "ogr2ogr ")) and "OAPIF:$PETA" in line]
    assert len(commands) >= 4, commands
    assert 'GDAL_HTTP_HEADERS="X-API-Key: $PETA_KEY"' in section()
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"X-API-Key: {agreed}"}
    with serve(create_app(url=url)) as base:
        for line in commands:
            words = shlex.split(line.split(" #", 1)[0].replace("$PETA", base))
            r = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, f"{line}: {r.stderr}"
            if words[0] == "ogrinfo":
                assert "households" in r.stdout, r.stdout  # the key was sent: an agency with an agreement
            else:
                out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", words[3]], cwd=tmp_path, capture_output=True,
                                     text=True, timeout=60)  # fmt: skip
                assert re.search(r"Feature Count: [1-9]", out.stdout), f"{line}: {out.stdout}"
