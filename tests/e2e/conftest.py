"""The dashboard in a real headless Chromium: Debian's /usr/bin/chromium driven by Playwright, never a downloaded browser.

One browser and one demo store (made by real tracklet runs, ``demo_store.py``) serve the whole session; each
test gets a fresh browser context (no cookies, no storage). Where Chromium or Playwright is missing the tests
skip and say why, unless TRACKLET_TEST_REQUIRE_BROWSER=1 (set by .ci/run): then they fail.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from browser_helpers import ARGS, CHROMIUM, wait_js


def pytest_collection_modifyitems(items):
    """The browser tests run last: Playwright's sync API keeps an asyncio loop running in the main thread while
    its browser is open (the session's), and the unit tests' in-process client calls ``asyncio.run``."""
    items.sort(key=lambda item: "e2e" in item.path.parts)


def _missing(reason: str) -> None:
    (pytest.fail if os.environ.get("TRACKLET_TEST_REQUIRE_BROWSER") == "1" else pytest.skip)(reason)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo store's folder."""
    from demo_store import build

    return build(str(tmp_path_factory.mktemp("demo") / "store"))


@pytest.fixture(scope="session")
def server(demo):
    from server_process import ServerProcess

    srv = ServerProcess(demo).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def runs(server):
    """Run ids of the demo store by name."""
    import httpx

    return {r["name"]: r["id"] for r in httpx.get(f"{server.url}/api/v1/runs?project=demo").json()}


# what Chromium reports when logged HTML's scripts are stopped by the frame's sandbox (the Media tab): the guard working
_SANDBOXED = "Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed"


@pytest.fixture
def make_page(browser, server):
    """``make_page(**context_options)``: a page in a fresh context (a viewport, a colour scheme, ...); the test fails
    on any script error or CSP violation it caused."""
    made: list[tuple[Any, list[str]]] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**{"viewport": {"width": 1300, "height": 900}, **options})
        pg = context.new_page()
        problems: list[str] = []
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        pg.expected_console = ["status of 401", _SANDBOXED]  # a test adds what it provokes on purpose (a 400 it asks for)
        pg.on("console", lambda m: m.type == "error" and not any(e in m.text for e in pg.expected_console)
              and problems.append(f"console: {m.text}"))
        pg.base = server.url
        made.append((context, problems))
        return pg

    yield make
    for context, _ in made:
        context.close()
    assert not [p for _, problems in made for p in problems], made


@pytest.fixture
def page(make_page):
    """A page in a fresh context; the test fails on any script error or CSP violation it caused."""
    return make_page()


def open_view(page: Any, fragment: str) -> None:
    """Go to a view of the dashboard and wait until it has drawn (its charts included)."""
    page.goto("about:blank")  # a new document each time: a hash-only change would keep the last view's ready flag
    page.goto(f"{page.base}/{fragment}")
    wait_js(page, "window.tracklet && window.tracklet.ready")
