"""Deleting runs from the dashboard: the run page and the runs table, each through a dialog that names what goes.

A store and server of their own (the demo store's runs stay for the other browser tests).
"""

from __future__ import annotations

import httpx
import pytest

from browser_helpers import wait_js
from conftest import open_view
from demo_store import _run, start_live

pytestmark = pytest.mark.e2e

_RUN = r'''
import sys, tracklet
run = tracklet.init(project="trash", name=sys.argv[1], config={"lr": 0.1})
for step in range(20):
    run.log({"train/loss": 1.0 / (step + 1)})
run.finish()
'''
ROWS = "[...document.querySelectorAll('table.runs tbody tr[data-run] td:nth-child(2) a')].map(a => a.textContent).sort()"


@pytest.fixture(scope="module")
def trash(tmp_path_factory):
    """A server over a store of four finished runs in project ``trash``; yields it and the run ids by name."""
    from server_process import ServerProcess

    folder = str(tmp_path_factory.mktemp("trash") / "store")
    import os

    os.makedirs(folder)
    for name in ("keep-me", "<b>bold</b>", "old-1", "old-2"):
        _run(_RUN, folder, name)
    srv = ServerProcess(folder).start()
    ids = {r["name"]: r["id"] for r in httpx.get(f"{srv.url}/api/v1/runs?project=trash").json()}
    yield srv, ids
    srv.stop()


def _names(srv) -> list[str]:
    return sorted(r["name"] for r in httpx.get(f"{srv.url}/api/v1/runs?project=trash").json())


def test_a_run_is_deleted_from_its_page_after_confirming(page, trash):
    srv, ids = trash
    page.base = srv.url
    open_view(page, f"#/p/trash/run/{ids['<b>bold</b>']}")
    page.get_by_role("button", name="Delete run…").click()
    dialog = page.get_by_role("dialog", name="Delete this run?")
    assert f"<b>bold</b> ({ids['<b>bold</b>']})" in dialog.inner_text()  # the name shown as text, with its id
    assert "artifact versions they logged" in dialog.inner_text()
    page.keyboard.press("Escape")  # closing it deletes nothing
    wait_js(page, "!document.querySelector('dialog')")
    assert "<b>bold</b>" in _names(srv)
    page.get_by_role("button", name="Delete run…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete run").click()
    wait_js(page, "/^#\\/p\\/trash($|\\?)/.test(location.hash)")  # the project's runs (its view state may follow)
    wait_js(page, f"JSON.stringify({ROWS}) === JSON.stringify(['keep-me', 'old-1', 'old-2'])")
    assert "<b>bold</b>" not in _names(srv)


def test_selected_runs_are_deleted_from_the_runs_table(page, trash):
    srv, ids = trash
    page.base = srv.url
    open_view(page, "#/p/trash")
    button = page.get_by_role("button", name="Delete selected…")
    assert button.is_disabled()
    page.get_by_label("Compare old-1").check()
    page.get_by_label("Compare old-2").check()
    button.click()
    dialog = page.get_by_role("dialog", name="Delete 2 runs?")
    listed = dialog.get_by_role("listitem").all_inner_texts()
    assert sorted(listed) == sorted([f"old-1 ({ids['old-1']})", f"old-2 ({ids['old-2']})"])
    assert dialog.get_by_role("button", name="Cancel").evaluate("b => b === document.activeElement")  # the safe default
    dialog.get_by_role("button", name="Delete 2 runs").click()
    wait_js(page, f"JSON.stringify({ROWS}) === JSON.stringify(['keep-me'])")
    assert _names(srv) == ["keep-me"]
    assert "sel=" not in page.url and button.is_disabled()
    assert page.locator("#toast").inner_text() == "Deleted 2 runs."


def test_a_running_run_offers_no_delete(page, trash, tmp_path):
    srv, _ = trash
    page.base = srv.url
    proc = start_live(srv.folder, str(tmp_path))
    try:
        run_id = next(r["id"] for r in httpx.get(f"{srv.url}/api/v1/runs?project=live").json())
        open_view(page, f"#/p/live/run/{run_id}")
        assert page.get_by_role("button", name="Delete run…").is_disabled()
        assert "cannot be deleted" in page.locator(".delete-run").inner_text()
        r = httpx.delete(f"{srv.url}/api/v1/runs/{run_id}", headers={"X-Tracklet-CSRF": "1"})
        assert r.status_code == 400 and "still running" in r.json()["error"]
    finally:
        (tmp_path / "more").touch()
        (tmp_path / "stop").touch()
        proc.wait(timeout=30)
        proc.stdout.close()
