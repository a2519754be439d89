"""Playwright driving Debian's chromium (headless): pages, console errors, timings and screenshots."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

BLANK_TILE = base64.b64decode(  # a 1x1 transparent PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "tests" / "artifacts"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test does)")
# axe-core, vendored for the tests only (vendor/axe-core/README.md): injected into the page, never from a CDN
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# what a page may not have: serious and critical violations, and rules axe could not run ("error": a rule that
# throws is only listed as needing review, so a page would pass unchecked). "review": axe could not decide.
BLOCKING = ("serious", "critical", "error")
AXE_RUN = """async () => {
  const r = await axe.run(document), one = (v, impact) => ({id: v.id, impact: impact, help: v.help,
                                                             nodes: v.nodes.map(n => n.target.join(" "))});
  return r.violations.map(v => one(v, v.impact))
    .concat(r.incomplete.map(v => v.error ? {...one(v, "error"), help: String(v.error.message || v.error)}
                                          : one(v, "review")));
}"""
# axe-core (4.14.1) has no blend function for `mix-blend-mode: plus-lighter`, which Leaflet's stylesheet sets on
# map tiles (against a Chromium seam bug): its color-contrast rule throws on every map page and is skipped. The
# tests' tiles are blank; drawn normally, axe measures the contrast of every text on the page.
AXE_TILES = ".leaflet-container img.leaflet-tile { mix-blend-mode: normal !important; }"


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Session:
    """One person's browser context: their cookies, the console errors their pages raised."""

    def __init__(self, b: Any, base: str, *, phone: bool = False, service_workers: str = "allow") -> None:
        size = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 860}
        self.context = b.new_context(viewport=size, locale="id-ID", accept_downloads=True,
                                     geolocation={"longitude": 103.61, "latitude": -1.61},
                                     permissions=["geolocation"], service_workers=service_workers)  # fmt: skip
        self.base = base
        self.errors: list[str] = []
        # base-map tiles come from the internet: the tests answer them with one blank tile (hermetic runs)
        self.context.route(
            "https://*.openstreetmap.org/**",
            lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE),
        )
        self.context.route(
            "https://tile.openstreetmap.org/**",
            lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE),
        )
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, username: str, password: str, lang: str = "id") -> None:
        self.page.goto(f"{self.base}/portal/login?lang={lang}")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def ready(self, flag: str, timeout: float = 30_000) -> float:
        """Wait for the page to mark `flag` (data-ready-*) on its body; the ms since navigation it took.
        On a timeout the failure names what the page said and logged."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(f"body[data-{flag}]", state="attached", timeout=timeout)
        except PlaywrightTimeout as exc:
            status = self.page.evaluate("() => (document.getElementById('status') || {}).textContent || ''")
            raise AssertionError(f"{flag} never came: status {status!r}, console {self.errors}") from exc
        return float(self.page.get_attribute("body", f"data-{flag}") or "nan")

    def status(self, kind: str, timeout: float = 30_000) -> str:
        """Wait for the page's status line to turn `kind` (ok, error); its text. A timeout names what it says."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(f"#status.{kind}", timeout=timeout)
        except PlaywrightTimeout as exc:
            text = self.page.evaluate("() => (document.getElementById('status') || {}).textContent || ''")
            raise AssertionError(f"no {kind} status: it says {text!r}; console {self.errors}") from exc
        return self.page.inner_text("#status")

    def tab_to(self, selector: str, *, back: bool = False, limit: int = 120) -> None:
        """Press Tab (Shift+Tab with `back`) until the focus is on an element matching `selector`, as someone with
        only a keyboard does; fails naming where the focus was if it never gets there."""
        key = "Shift+Tab" if back else "Tab"
        for _ in range(limit):
            self.page.keyboard.press(key)
            if self.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
                return
        where = self.page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
        raise AssertionError(f"{limit} presses of {key} never reached {selector}: the focus is on {where}")

    def focused(self, attribute: str) -> str | None:
        """An attribute of the element that has the keyboard focus."""
        found: str | None = self.page.evaluate("a => document.activeElement.getAttribute(a)", attribute)
        return found

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's findings on the page as it stands (every rule it has): rule id, impact (or "error", or
        "review"), help and the elements' selectors. The script goes in as an inline script element, which the
        portal's own policy allows (the policy is not bypassed)."""
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.add_script_tag(path=str(AXE))
            self.page.add_style_tag(content=AXE_TILES)
        found: list[dict[str, Any]] = self.page.evaluate(AXE_RUN)
        return found

    def shot(self, name: str) -> str:
        """A screenshot of the page once its map (if any) has finished zooming and panning: mid-zoom, Leaflet
        draws its vector layers scaled up and blurred."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_function(
            """() => new Promise(done => { const m = window.PETA && window[window.PETA.map];
                 const still = () => !m || (!m._animatingZoom && !(m._panAnim && m._panAnim._inProgress));
                 const look = () => still() ? requestAnimationFrame(() => done(true)) : setTimeout(look, 50);
                 look(); })"""
        )
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return str(path.relative_to(REPO))

    def close(self) -> None:
        self.context.close()


def blocking(found: list[dict[str, Any]]) -> list[str]:
    """The serious and critical findings of an axe run and the rules it could not run, each as
    `rule (impact): what it says: selectors`."""
    return [f"{v['id']} ({v['impact']}): {v['help']}: {', '.join(v['nodes'][:5])}"
            for v in found if v["impact"] in BLOCKING]  # fmt: skip


def record_axe(name: str, found: list[dict[str, Any]]) -> None:
    """Every axe finding of a page (blocking or not), kept beside the screenshots: `rule (impact)` -> elements."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {f"{v['id']} ({v['impact']})": len(v["nodes"]) for v in found}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def record_timing(name: str, ms: float) -> None:
    """Load times measured in the browser, kept beside the screenshots (never asserted)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "portal-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = round(ms)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"{name}: {ms:.0f} ms")
