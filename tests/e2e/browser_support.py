"""Tools for the end-to-end tests: Debian's Chromium driven by Playwright, a live uvicorn server, axe-core checks,
keyboard walks and screenshots.

Nothing here downloads a browser: Playwright (PyPI) talks to ``/usr/bin/chromium`` (apt) and axe-core comes from
npm (``tests/e2e/package-lock.json``); ``make install`` installs all three. A missing piece fails the tests with a
message saying so, it never skips them.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("KREISWISSEN_TEST_CHROMIUM", "/usr/bin/chromium"))

# Headless as root in a container on a closed network: no sandbox (needs user namespaces), no GPU, and none of
# Chromium's own connections to Google (updates, sync, field trials, QUIC probes) that would only be refused and
# logged. /dev/shm is often 64 MB in containers: use /tmp instead.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CONTEXT_OPTIONS: dict[str, Any] = {"locale": "de-DE", "timezone_id": "Europe/Berlin",
                                   "viewport": {"width": 1280, "height": 800}}
TIMEOUT_MS = 15_000  # per action and navigation: fail in seconds, not Playwright's default 30 s (2 shared cores)
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
INSTALL_HINT = "Run `make install` (installs Debian's chromium, Playwright from PyPI and axe-core from npm)."


def require_tools() -> None:
    """Fails the calling test (never skips it) when the browser or axe-core is not installed."""
    problems = []
    if importlib.util.find_spec("playwright") is None:
        problems.append("no Playwright in this Python (PyPI `playwright`, in the dev extra)")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
    if not AXE_JS.is_file():
        problems.append(f"no axe-core at {AXE_JS} (npm ci --prefix tests/e2e)")
    if problems:
        pytest.fail("End-to-end test tools missing: " + "; ".join(problems) + ". " + INSTALL_HINT, pytrace=False)


# --- the live server ------------------------------------------------------------------------------------------


@contextmanager
def serve(app: Any, startup_timeout: float = 30.0) -> Iterator[str]:
    """Serves the ASGI ``app`` with uvicorn (lifespan included) on a free loopback port in a background thread;
    yields its base URL (``http://127.0.0.1:PORT``, no trailing slash) and stops it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here and handed over: no race for the port
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 – reported to the waiting test below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            if failure and isinstance(failure[0], SystemExit):  # uvicorn exits with 3 when the lifespan fails
                raise RuntimeError(f"The app did not start on port {port} (its startup failed: uvicorn's log "
                                   "above has the traceback)") from None
            reason = repr(failure[0]) if failure else f"not started after {startup_timeout:.0f} s"
            raise RuntimeError(f"uvicorn did not start on port {port}: {reason}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} did not shut down within 15 s")


# --- what a page did ------------------------------------------------------------------------------------------


@dataclass
class BrowserLog:
    """What the page of one test did: every request URL, console errors and warnings (CSP violations land here),
    uncaught script errors."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}")
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def foreign_requests(self, base_url: str) -> list[str]:
        """Requests to anywhere but ``base_url`` (data:, blob: and about: URLs stay in the browser)."""
        return [url for url in self.requests
                if not (url == base_url or url.startswith(base_url + "/") or url.startswith(("data:", "blob:",
                                                                                               "about:")))]


# --- accessibility --------------------------------------------------------------------------------------------


def axe_violations(page: Any, impact_levels: Sequence[str] = ("serious", "critical"), *,
                   context: str | None = None, tags: Sequence[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    """Runs axe-core on the page (or on the elements matching the CSS selector ``context``) against the WCAG 2.0 /
    2.1 A and AA rules; returns the violations with an impact in ``impact_levels`` as
    ``{"id", "impact", "help", "help_url", "nodes": [{"target", "html", "summary"}]}``.

    axe is evaluated through the DevTools protocol (``page.evaluate``), which the page's Content-Security-Policy
    does not govern: the page is checked exactly as served, with its real CSP (``add_script_tag`` would insert an
    inline ``<script>`` that the app's ``script-src 'self'`` rightly blocks, and ``bypass_csp`` would test a
    different page than users get)."""
    require_tools()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async ([context, tags]) => {
            const r = await axe.run(context === null ? document : context,
                                    {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, help_url: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))}));
        }""",
        [context, list(tags)],
    )
    return [v for v in result if v["impact"] in impact_levels]


def format_violations(violations: list[dict[str, Any]], max_nodes: int = 5) -> str:
    """A readable assertion message: one block per rule with the offending elements."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['help_url']})")
        for node in v["nodes"][:max_nodes]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"    … and {len(v['nodes']) - max_nodes} more")
    return "\n".join(lines) or "no violations"


def assert_accessible(page: Any, context: str | None = None) -> None:
    """Fails with the list of serious or critical WCAG A/AA violations, if there are any."""
    violations = axe_violations(page, context=context)
    assert not violations, f"axe-core on {page.url}:\n{format_violations(violations)}"


# --- keyboard -------------------------------------------------------------------------------------------------

_ACTIVE_ELEMENT = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    const label = el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].innerText)
                  || el.innerText || el.value || el.getAttribute('title') || el.getAttribute('name') || '';
    return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'), type: el.getAttribute('type'),
            href: el.getAttribute('href'), text: label.trim().replace(/\\s+/g, ' ').slice(0, 80),
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
            box_shadow: style.boxShadow !== 'none',
            visible: rect.width > 0 && rect.height > 0};
}"""


def focused_element(page: Any) -> dict[str, Any] | None:
    """The element that has the keyboard focus (None for the document itself)."""
    return page.evaluate(_ACTIVE_ELEMENT)  # type: ignore[no-any-return]


def tab_through(page: Any, max_steps: int = 60) -> list[dict[str, Any]]:
    """Presses Tab from the top of the page until the focus leaves the page or comes back to the first stop;
    returns each stop as ``{"tag", "id", "name", "type", "href", "text", "outline", "box_shadow", "visible"}``.
    A visible focus indicator is ``outline or box_shadow`` (CSS ``:focus-visible`` applies to keyboard focus)."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    stops: list[dict[str, Any]] = []
    for _ in range(max_steps):
        page.keyboard.press("Tab")
        element = focused_element(page)
        if element is None or (stops and element == stops[0]):
            break
        stops.append(element)
    return stops


# --- screenshots ----------------------------------------------------------------------------------------------


def save_screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Writes ``docs/screenshots/<name>.png`` (the whole page; animations stopped and caret hidden, so reruns give
    the same picture) and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path
