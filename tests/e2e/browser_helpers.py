"""What the browser tests, the screenshots and the dashboard benchmark share: which Chromium, its flags, waiting."""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["ARGS", "CHROMIUM", "wait_js"]

CHROMIUM = os.environ.get("TRACKLET_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def wait_js(page: Any, expression: str, timeout: float = 15.0) -> Any:
    """Poll ``expression`` (a JS expression) in the page until truthy, and return it. Polling with evaluate, not
    wait_for_function: the latter evals a string in the page, which the dashboard's CSP rightly forbids."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(f"() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.03)
