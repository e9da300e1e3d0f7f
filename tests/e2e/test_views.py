"""The traces, evaluations and sweeps views end to end: the demo store's real ``@tracklet.op`` calls, real
``tracklet.Evaluation`` runs and a real sweep run by ``tracklet.agent``, served by a real server, in Chromium."""

from __future__ import annotations

import httpx
import pytest

from browser_helpers import wait_js
from conftest import open_view
from demo_store import HOSTILE

pytestmark = pytest.mark.e2e

CALL_ROWS = "[...document.querySelectorAll('table.calls tbody tr[data-call]')].map(r => r.dataset.call)"
TREE = "[...document.querySelectorAll('.call-tree li[data-call] > .node-row .op')].map(e => e.textContent)"


def api(server, path: str, **params) -> object:
    return httpx.get(f"{server.url}/api/v1{path}", params=params).raise_for_status().json()


def ids(calls) -> list[str]:
    return [c["id"] for c in calls]


def test_the_calls_list_filters_and_sorts_through_the_server(page, server):
    open_view(page, "#/p/llm/traces")
    roots = api(server, "/calls", project="llm", roots="true", order="-started_at")
    assert len(roots) == 8  # five in the run, one outside it, two evaluations
    assert page.evaluate(CALL_ROWS) == ids(roots)
    page.get_by_role("button", name="Slowest first").click()
    slowest = ids(api(server, "/calls", project="llm", roots="true", order="-latency_ms"))
    wait_js(page, f"JSON.stringify({CALL_ROWS}) === JSON.stringify({slowest!r})")
    assert "order=-latency_ms" in page.url
    page.get_by_role("button", name="Sort by Tokens").click()  # one click: most tokens first
    wait_js(page, f"{CALL_ROWS}[0] === {ids(api(server, '/calls', project='llm', roots='true', order='-total_tokens'))[0]!r}")
    page.get_by_role("button", name="Sort by Op").click()
    by_op = ids(api(server, "/calls", project="llm", roots="true", order="-op_name"))
    wait_js(page, f"JSON.stringify({CALL_ROWS}) === JSON.stringify({by_op!r})")
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Op")
    page.get_by_role("button", name="Sort by Op").click()
    by_op = ids(api(server, "/calls", project="llm", roots="true", order="op_name"))
    wait_js(page, f"JSON.stringify({CALL_ROWS}) === JSON.stringify({by_op!r})")
    page.get_by_label("Status", exact=True).select_option("error")
    errors = api(server, "/calls", project="llm", roots="true", status="error")
    wait_js(page, f"JSON.stringify({CALL_ROWS}) === JSON.stringify({ids(errors)!r})")
    assert len(errors) == 1 and errors[0]["op_name"] == "rag"
    page.get_by_label("Status", exact=True).select_option("")
    run_id = api(server, "/runs", project="llm")[0]["id"]
    page.get_by_label("Run", exact=True).select_option(run_id)
    wait_js(page, f"{CALL_ROWS}.length === 5")
    page.get_by_label("Tokens at least").fill("70")
    page.get_by_label("Tokens at least").dispatch_event("change")
    many = api(server, "/calls", project="llm", roots="true", run_id=run_id, min_tokens=70)
    assert 0 < len(many) < 5
    wait_js(page, f"{CALL_ROWS}.length === {len(many)}")
    page.get_by_label("all calls, not only roots").check()
    every = api(server, "/calls", project="llm", run_id=run_id, min_tokens=70)
    assert len(every) > len(many)  # their generate calls too
    wait_js(page, f"{CALL_ROWS}.length === {len(every)}")
    url = page.url
    open_view(page, url.split("/", 3)[3])  # the URL holds the filters
    wait_js(page, f"{CALL_ROWS}.length === {len(every)}")
    assert page.get_by_label("Tokens at least").input_value() == "70"


def test_a_failed_calls_tree_exception_usage_and_feedback(page, server):
    (failed,) = api(server, "/calls", project="llm", roots="true", status="error")
    open_view(page, f"#/p/llm/traces/{failed['id']}")
    assert page.evaluate(TREE) == ["rag", "retrieve", "generate"]
    bars = page.evaluate("[...document.querySelectorAll('.call-tree .bar')].map(b => b.getBoundingClientRect().width)")
    assert bars[0] > bars[1] and bars[0] >= bars[2] > 0  # latency bars on the trace's time line
    page.get_by_role("button", name="Collapse rag").click()
    wait_js(page, f"{TREE}.length === 1")
    page.get_by_role("button", name="Expand rag").press("Enter")  # keyboard reachable
    wait_js(page, f"{TREE}.length === 3")
    page.locator(".call-tree .pick", has_text="generate").click()
    wait_js(page, "document.querySelector('.call-detail h2').textContent.startsWith('generate')")
    assert "call=" in page.url
    detail = page.locator(".call-detail")
    assert "ValueError: the model refused" in detail.locator(".exception").inner_text()
    assert "Traceback (most recent call last)" in detail.locator(".exception pre").inner_text()
    assert "please fail" in page.get_by_role("region", name="Inputs").inner_text()
    usage = page.locator("table.usage tbody tr td").all_inner_texts()
    assert usage[0] == "tiny-llm" and usage[1] == "1"
    page.locator(".call-tree .pick", has_text="rag").click()  # the root holds the feedback given through the API
    wait_js(page, "document.querySelectorAll('ul.feedback li .note').length === 1")
    assert page.locator("ul.feedback .note").inner_text() == HOSTILE
    page.get_by_label("Note", exact=True).fill("checked by the e2e test")
    page.get_by_role("button", name="Add note").click()
    wait_js(page, "document.querySelectorAll('ul.feedback li .note').length === 2")
    stored = api(server, f"/calls/{failed['id']}/feedback")
    assert [f["value"] for f in stored if f["kind"] == "note"] == [HOSTILE, "checked by the e2e test"]
    assert page.evaluate("document.querySelectorAll('main img').length") == 0


def test_untrusted_inputs_and_attributes_are_shown_as_text(page, server):
    (hostile,) = [c for c in api(server, "/calls", project="llm", op="rag") if HOSTILE in c["inputs"]["question"]]
    open_view(page, f"#/p/llm/traces/{hostile['id']}")
    tag = HOSTILE.split('"')[0]  # shown as JSON: its quotes are escaped
    for region in ("Inputs", "Attributes", "Output"):
        assert tag in page.get_by_role("region", name=region).inner_text()
    assert page.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert page.evaluate("window.__pwned") is None


def test_evaluations_side_by_side_link_to_their_calls(page, server):
    evals = api(server, "/calls", project="llm", kind="evaluation")
    open_view(page, "#/p/llm/evaluations")
    heads = page.locator("table.evals thead th a").all_inner_texts()
    assert heads == ["qa · echo_model", "qa · shouting_model"]
    row = page.locator("table.evals tr[data-key='exact.true_fraction'] td.num").all_inner_texts()
    assert row == ["1", "0"]
    assert "diff" in page.locator("table.evals tr[data-key='exact.true_fraction']").get_attribute("class")
    assert "diff" not in page.locator("table.evals tr[data-key='Length.chars.mean']").get_attribute("class")
    info = {k: page.locator(f"table.evals tr[data-info='{k}'] td.num").all_inner_texts() for k in ("prompts", "tokens", "cost")}
    assert info == {"prompts": ["qa-prompt:v0", "qa-prompt:v1"], "tokens": ["45", "75"], "cost": ["$0.000090", "$0.00012"]}
    page.get_by_role("link", name="qa · shouting_model").click()
    wait_js(page, f"location.hash.includes({evals[1]['id']!r}) && document.querySelector('.call-tree')")
    tree = page.evaluate(TREE)
    assert tree[0] == "Evaluation.evaluate" and tree.count("Evaluation.predict_and_score") == 3
    assert {"shouting_model", "exact", "Length"} <= set(tree)


def test_a_sweeps_runs_best_run_and_parallel_coordinates(page, server):
    (sweep,) = api(server, "/sweeps", project="tune")
    open_view(page, "#/p/tune/sweeps")
    cells = page.locator(f"table.sweeps tr[data-sweep='{sweep['id']}'] td").all_inner_texts()
    assert cells[1:5] == ["running", "random", "▼ minimize val/loss", "6"]
    page.get_by_role("link", name=sweep["id"]).click()
    wait_js(page, "document.querySelector('svg.parcoords')")
    trials = api(server, f"/sweeps/{sweep['id']}")["trials"]
    best = min(trials, key=lambda t: t["summary"]["val/loss"])
    assert page.locator("p.best a").inner_text() == best["run_id"]
    assert page.locator("table.trials tbody tr").count() == 6
    assert page.locator("table.trials tr.best").get_attribute("data-run") == best["run_id"]
    assert page.locator("svg.parcoords path.line").count() == 6
    kinds = page.evaluate("Object.fromEntries([...document.querySelectorAll('svg.parcoords g.axis')]"
                          ".map(g => [g.dataset.axis, g.getAttribute('class')]))")
    assert kinds == {"lr": "axis log", "optimizer": "axis categorical", "layers": "axis categorical", "val/loss": "axis linear"}
    labels = page.locator("svg.parcoords g[data-axis=optimizer] .tick text").all_text_contents()
    assert labels == ["adam", "sgd"]
    assert page.locator("svg.over-trials circle.point").count() == 6
    page.locator("p.best a").click()
    wait_js(page, f"window.tracklet.ready && document.getElementById('run-name') && location.hash.includes({best['run_id']!r})")
    page.get_by_role("link", name=f"sweep {sweep['id']}").click()  # the run page leads back to its sweep
    wait_js(page, "document.querySelector('svg.parcoords')")
    page.get_by_role("button", name="Pause").click()  # as `tracklet sweep pause` does
    wait_js(page, "document.getElementById('sweep-state').textContent === 'paused'")
    assert api(server, f"/sweeps/{sweep['id']}")["state"] == "paused"
    page.get_by_role("button", name="Resume").click()
    wait_js(page, "document.getElementById('sweep-state').textContent === 'running'")
    assert api(server, f"/sweeps/{sweep['id']}")["state"] == "running"


def test_a_run_page_lists_its_calls(page, server):
    run = api(server, "/runs", project="llm")[0]
    open_view(page, f"#/p/llm/run/{run['id']}?tab=calls")
    mine = api(server, "/calls", project="llm", run_id=run["id"], roots="true")
    assert sorted(page.evaluate(CALL_ROWS)) == sorted(ids(mine)) and len(mine) == 5
    page.locator("table.calls tbody tr[data-call] a").first.click()
    wait_js(page, "document.querySelector('.call-tree')")


def test_a_big_trace_opens_with_its_roots_children_only(page, demo, tmp_path):
    import os
    import subprocess
    import sys

    code = ("import tracklet\ntracklet.init_tracing('big')\n@tracklet.op\ndef leaf(i): return i\n"
            "@tracklet.op\ndef step(i): return leaf(i)\n@tracklet.op\ndef loop(n):\n    return [step(i) for i in range(n)]\n"
            "loop(200)\ntracklet.tracing.stop_tracing()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKLET_")}
    env.update(TRACKLET_DIR=demo, TRACKLET_SILENT="true")
    subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, check=True)
    open_view(page, "#/p/big/traces")
    page.get_by_role("link", name="loop").click()
    wait_js(page, "document.querySelector('.call-tree')")
    assert "401 calls" in page.locator(".page-head h2 + .muted").inner_text()
    assert page.evaluate(f"{TREE}.length") == 201  # the root and its 200 children; their children wait
    page.get_by_role("button", name="Expand step").first.click()
    wait_js(page, f"{TREE}.length === 202")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Collapse step"
    assert "flip=" in page.url


def test_the_time_filter_is_sent_to_the_server(page, server):
    open_view(page, "#/p/llm/traces")
    box = page.get_by_label("Started after")
    box.fill("2999-01-01T00:00")
    box.dispatch_event("change")
    wait_js(page, f"{CALL_ROWS}.length === 0 && location.hash.includes('since=')")
    box.fill("2000-01-01T00:00")
    box.dispatch_event("change")
    wait_js(page, f"{CALL_ROWS}.length === 8")
