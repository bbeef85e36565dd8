"""Fixtures for the end-to-end tests in a real headless Chromium: ``live_server``, ``browser``, ``page``,
``browser_log``. The helpers (axe-core, keyboard, screenshots) are in ``browser_support.py``.

One Chromium serves all tests in this folder. It is started on first use and stopped as soon as the run leaves
this folder, not at the end of the session: while Playwright's sync API is alive, its event loop counts as running
in the main thread, so a later test calling ``asyncio.run()`` would fail.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, CONTEXT_OPTIONS, TIMEOUT_MS, BrowserLog, require_tools, serve

from kreiswissen.runtime import Runtime
from kreiswissen.web import create_app

HERE = Path(__file__).resolve().parent


class _Chromium:
    """The one Playwright driver and browser, started lazily, stopped by :func:`pytest_runtest_teardown`."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is None or not self._browser.is_connected():
            require_tools()
            self.stop()
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            # LANGUAGE: Chromium on Linux picks its UI language from the environment (--lang alone is ignored).
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                env={**os.environ, "LANGUAGE": "de", "LANG": "de_DE.UTF-8"})
        return self._browser

    def stop(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            finally:
                self._browser = None
        if self._playwright is not None:
            try:
                self._playwright.stop()
            finally:
                self._playwright = None


_CHROMIUM = _Chromium()
_CALL_FAILED = pytest.StashKey[bool]()


def _in_e2e(item: pytest.Item | None) -> bool:
    return item is not None and HERE in Path(item.path).resolve().parents


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    yield  # the test's own fixtures (contexts, pages) are closed first
    if not _in_e2e(nextitem):
        _CHROMIUM.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed



@pytest.fixture(scope="session")
def live_server(corpus_rt: Runtime) -> Iterator[str]:
    """The web app over the shared read-only corpus, served by uvicorn on loopback (lifespan included): its base
    URL, e.g. ``http://127.0.0.1:43117``. For another runtime: ``with serve(create_app(rt)) as url: ...``."""
    with serve(create_app(corpus_rt)) as url:
        yield url


@pytest.fixture
def browser() -> Any:
    """Headless Debian Chromium (``playwright.sync_api.Browser``), shared by the tests of this folder."""
    return _CHROMIUM.get()


@pytest.fixture
def browser_log() -> BrowserLog:
    """Requests, console errors/warnings and script errors of this test's ``page``."""
    return BrowserLog()


@pytest.fixture
def page(browser: Any, browser_log: BrowserLog, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh context (own cookies; German locale, 1280×800) and page; on failure a screenshot of the page goes
    to the test's tmp directory (its path is printed in the report)."""
    context = browser.new_context(**CONTEXT_OPTIONS)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    browser_log.attach(page)
    try:
        yield page
    finally:
        if request.node.stash.get(_CALL_FAILED, False) and not page.is_closed():
            shot = tmp_path / "failure.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nScreenshot of the failed page ({page.url}): {shot}")
            except Exception as exc:  # noqa: BLE001 – the test's own failure is what matters
                print(f"\nNo screenshot of the failed page: {exc}")
        context.close()
