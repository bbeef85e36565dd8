"""The browser-test tools themselves, in real headless Chromium: the live server, the API docs page served without
any third party, the axe-core checker (it must find a known violation, not just report none), the keyboard walk."""

from __future__ import annotations

import json
from typing import Any

from browser_support import (
    AXE_JS,
    CHROMIUM,
    BrowserLog,
    axe_violations,
    format_violations,
    require_tools,
    save_screenshot,
    tab_through,
)

BROKEN = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Kaputt</title></head><body><main>
<h1>Formular</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="40" height="40">
<form><input type="text" name="q"><button type="submit">Suchen</button></form>
</main></body></html>"""

CLEAN = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Suche</title></head><body>
<header><a href="#inhalt">Zum Inhalt</a></header><main id="inhalt"><h1>Suche</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Wappen des Kreises" width="40" height="40">
<form><label for="q">Suchbegriff</label><input id="q" type="text" name="q"><button type="submit">Suchen</button>
</form></main></body></html>"""


def test_tools_are_installed() -> None:
    require_tools()  # fails, with the hint to run `make install`, when Chromium or axe-core is missing
    assert CHROMIUM.is_file() and AXE_JS.stat().st_size > 100_000


def test_health_in_the_browser(page: Any, live_server: str) -> None:
    response = page.goto(f"{live_server}/api/v1/health")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert json.loads(response.text()) == {"status": "ok"}
    assert '"status":"ok"' in page.inner_text("body").replace(" ", "")


def test_api_docs_load_from_this_server_only(page: Any, live_server: str, browser_log: BrowserLog) -> None:
    response = page.goto(f"{live_server}/api/docs")
    assert response is not None and response.status == 200
    # Swagger UI builds the page from /api/openapi.json: the title and an operation come from there.
    page.get_by_role("heading", name="Kreiswissen").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/search").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert f"{live_server}/api/openapi.json" in browser_log.requests
    assert browser_log.foreign_requests(live_server) == [], "requests left the server"
    assert browser_log.page_errors == []
    assert not [m for m in browser_log.console if "Content Security Policy" in m], browser_log.console
    save_screenshot(page, "api-docs")


def test_axe_finds_known_violations(page: Any) -> None:
    page.set_content(BROKEN)
    violations = axe_violations(page)
    found = {v["id"]: v for v in violations}
    assert {"image-alt", "label"} <= set(found), format_violations(violations)
    assert found["image-alt"]["impact"] == "critical"
    assert found["image-alt"]["nodes"][0]["target"] == ["img"]
    assert "image-alt" in format_violations(violations)


def test_axe_passes_a_clean_page(page: Any) -> None:
    page.set_content(CLEAN)
    violations = axe_violations(page, impact_levels=("minor", "moderate", "serious", "critical"))
    assert violations == [], format_violations(violations)


def test_axe_runs_under_the_apps_strict_csp(page: Any, live_server: str, browser_log: BrowserLog) -> None:
    # The JSON pages send "default-src 'none'": axe must still run there (evaluated over DevTools, not injected).
    page.goto(f"{live_server}/api/v1/health")
    assert isinstance(axe_violations(page), list)
    assert page.evaluate("() => typeof window.axe") == "object"
    assert browser_log.page_errors == []


def test_keyboard_walk(page: Any) -> None:
    page.set_content(CLEAN)
    stops = tab_through(page)
    assert [(s["tag"], s["text"]) for s in stops] == [("a", "Zum Inhalt"), ("input", "Suchbegriff"),
                                                       ("button", "Suchen")]
    assert all(s["visible"] and (s["outline"] or s["box_shadow"]) for s in stops), stops  # Chromium's focus ring
