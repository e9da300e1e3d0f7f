"""The dashboard end to end: a real server over a store made by real runs, in a real headless Chromium."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from browser_helpers import wait_js
from conftest import open_view
from demo_store import HOSTILE, HOSTILE_SCRIPT, SPIKE_STEP, SPIKE_VALUE

pytestmark = pytest.mark.e2e

NAMES = "[...document.querySelectorAll('table.runs tbody tr[data-run] td:nth-child(2) a')].map(a => a.textContent)"


def chart(page, key: str, what: str) -> object:
    """Something about the uPlot instance drawn for ``key`` (``u`` in ``what``)."""
    return page.evaluate(f"() => {{ const u = window.tracklet.charts.get({key!r}); return {what}; }}")


def test_runs_table_sorts_and_filters(page):
    open_view(page, "#/p/demo")
    assert len(page.evaluate(NAMES)) == 6
    page.get_by_role("button", name="Name").click()
    names = page.evaluate(NAMES)
    assert names == [HOSTILE, "long-spike", "lora-r8", "lora-r16", "lora-r32", "prep-corpus"]  # numbers in names sort as numbers
    page.get_by_role("button", name="Name ▲").click()
    assert page.evaluate(NAMES) == names[::-1]
    box = page.get_by_label("Filter expression")
    box.fill("config.lora_r >= 16 and summary.train/loss < 1.2")
    wait_js(page, f"JSON.stringify({NAMES}) === JSON.stringify(['lora-r16'])")
    assert "filter=" in page.url
    box.fill("config.lora_r >= ")
    message = wait_js(page, "document.getElementById('filter-error').textContent")
    assert "Filter not applied" in message and "ends where a value" in message
    assert box.get_attribute("aria-invalid") == "true"
    box.fill("config.lora_r < 10 or tags ~ long")
    wait_js(page, f"{NAMES}.length === 3")
    assert sorted(page.evaluate(NAMES)) == sorted(["lora-r8", "long-spike", HOSTILE])  # a run without lora_r is not < 10


def test_selecting_runs_draws_every_run(page, runs):
    open_view(page, "#/p/demo")
    for name in ("lora-r8", "lora-r16", "lora-r32"):
        page.get_by_label(f"Compare {name}").check()
    wait_js(page, "window.tracklet.ready && window.tracklet.charts.get('train/loss')")
    labels = chart(page, "train/loss", "u.series.map(s => s.label)")
    for name in ("lora-r8", "lora-r16", "lora-r32"):
        assert name in labels
        assert chart(page, "train/loss", f"u.series.findIndex(s => s.label === {name!r}) > 0 && "
                                         f"u.data[u.series.findIndex(s => s.label === {name!r})].filter(v => v != null).length") > 100
    assert "long-spike" not in labels
    assert all(runs[n] in page.url for n in ("lora-r8", "lora-r16", "lora-r32"))


def test_a_one_step_spike_in_100000_steps_is_drawn_at_full_zoom_out(page, runs):
    open_view(page, f"#/p/demo?sel={runs['long-spike']}&panels=train/loss")
    width = chart(page, "train/loss", "u.bbox.width / devicePixelRatio")
    xs = chart(page, "train/loss", "u.data[0].length")
    assert xs <= 2 * width + 2  # never more points than the panel can draw
    drawn_max = chart(page, "train/loss", "Math.max(...u.data.slice(1).flat().filter(v => v != null))")
    assert drawn_max == SPIKE_VALUE  # the bucket's max is a drawn series...
    assert chart(page, "train/loss", "u.scales.y.max") >= SPIKE_VALUE  # ...inside the y range shown
    assert chart(page, "train/loss", f"u.valToPos({SPIKE_VALUE}, 'y') >= 0")
    # zooming in on the spike fetches that window at full resolution
    page.evaluate(f"() => window.tracklet.charts.get('train/loss').setScale('x', {{min: {SPIKE_STEP - 100}, max: {SPIKE_STEP + 100}}})")
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length > 150 && "
                  f"window.tracklet.charts.get('train/loss').data[0].includes({SPIKE_STEP})")
    assert chart(page, "train/loss", f"u.data[1][u.data[0].indexOf({SPIKE_STEP})]") == SPIKE_VALUE
    assert page.get_by_role("button", name="Reset zoom of train/loss").is_visible()


def test_changing_x_axis_and_smoothing_redraws(page, runs):
    open_view(page, f"#/p/demo?sel={runs['lora-r8']}&panels=train/loss")
    steps_max = chart(page, "train/loss", "Math.max(...u.data[0])")
    assert steps_max > 500
    page.get_by_label("X-axis").select_option("epoch")
    wait_js(page, "window.tracklet.ready && Math.max(...window.tracklet.charts.get('train/loss').data[0]) <= 5")
    assert "x=epoch" in page.url
    page.get_by_label("X-axis").select_option("_step")
    wait_js(page, "window.tracklet.ready && Math.max(...window.tracklet.charts.get('train/loss').data[0]) > 500")
    n_series = chart(page, "train/loss", "u.series.length")
    raw = chart(page, "train/loss", "u.data[1].slice(0, 400)")
    slider = page.get_by_label("Smoothing")
    slider.fill("0.9")
    slider.dispatch_event("change")
    wait_js(page, f"window.tracklet.charts.get('train/loss').series.length === {n_series + 1}")
    smoothed = chart(page, "train/loss", "u.data[1].slice(0, 400)")
    assert smoothed != raw and chart(page, "train/loss", "u.data[2].slice(0, 400)") == raw  # raw curve drawn behind
    assert "smooth=0.9" in page.url


def test_run_page_shows_the_config_diff_and_console_output(page, runs):
    open_view(page, f"#/p/demo/run/{runs['lora-r16']}?diff={runs['lora-r8']}")
    differing = page.evaluate("[...document.querySelectorAll('table.diff-table tr.diff th')].map(t => t.textContent)")
    assert set(differing) == {"lr", "lora_r"}
    same = page.evaluate("[...document.querySelectorAll('table.diff-table tbody tr:not(.diff) th')].map(t => t.textContent)")
    assert "batch_size" in same and "model.layers" in same
    open_view(page, f"#/p/demo/run/{runs['lora-r16']}?tab=console")
    text = page.locator("pre.console").inner_text()
    assert "training lora-r16 with lr 0.0005" in text and "\x1b" not in text
    assert page.locator("pre.console .ansi-bold.ansi-fg32").first.inner_text() == "training"
    page.get_by_label("Search the console output").fill("done")
    wait_js(page, "document.querySelector('pre.console').textContent.trim().startsWith('done')")


def test_a_models_lineage_leads_to_its_dataset(page):
    open_view(page, "#/p/demo/artifacts/adapter?tab=lineage")
    wait_js(page, "document.querySelector('.lineage')")
    made_by = page.locator(".lineage-col", has_text="Made by")
    assert "lora-r16" in made_by.inner_text()
    page.get_by_role("link", name="corpus:v0 (dataset)").click()
    wait_js(page, "document.querySelector('.lineage .node.current').textContent.includes('corpus:v0')")
    assert "corpus:v0" in page.locator(".lineage .node.current").inner_text()
    assert "prep-corpus" in page.locator(".lineage-col", has_text="Made by").inner_text()
    assert "lora-r16" in page.locator(".lineage-col", has_text="Used by").inner_text()  # walked back down
    assert "adapter:v0" in page.locator(".lineage-col", has_text="Outputs").inner_text()
    files = page.get_by_role("tab", name="Files")
    files.click()
    wait_js(page, "document.querySelector('ul.tree a[download]')")
    link = page.get_by_role("link", name="Download data/train.jsonl")
    body = page.evaluate(f"async () => (await fetch({link.get_attribute('href')!r})).text()")
    assert body.startswith('{"text": "hello"}')


def test_a_copied_url_restores_the_view(page, runs, browser):
    open_view(page, "#/p/demo")
    page.get_by_label("Compare lora-r8").check()
    page.get_by_label("Compare lora-r32").check()
    page.get_by_label("Filter expression").fill("tags ~ lora")
    wait_js(page, f"{NAMES}.length === 3")
    page.get_by_label("X-axis").select_option("_runtime")
    wait_js(page, "window.tracklet.ready && location.hash.includes('x=_runtime')")
    url = page.url
    other = browser.new_context().new_page()
    try:
        other.base = page.base
        other.goto(url)
        wait_js(other, "window.tracklet && window.tracklet.ready && window.tracklet.charts.get('train/loss')")
        assert other.get_by_label("Filter expression").input_value() == "tags ~ lora"
        assert other.get_by_label("X-axis").input_value() == "_runtime"
        assert sorted(other.evaluate(NAMES)) == ["lora-r16", "lora-r32", "lora-r8"]
        assert other.get_by_label("Compare lora-r8").is_checked() and other.get_by_label("Compare lora-r32").is_checked()
        labels = chart(other, "train/loss", "u.series.map(s => s.label)")
        assert "lora-r8" in labels and "lora-r32" in labels and "lora-r16" not in labels
    finally:
        other.context.close()


def test_injected_markup_is_shown_as_text(page, runs):
    hostile = runs[HOSTILE]
    open_view(page, f"#/p/demo?sel={hostile}")
    open_view(page, f"#/p/demo/run/{hostile}")
    open_view(page, f"#/p/demo/run/{hostile}?tab=console")
    assert HOSTILE in page.locator("pre.console").inner_text() and HOSTILE_SCRIPT in page.locator("pre.console").inner_text()
    open_view(page, f"#/p/demo/run/{hostile}")
    assert page.locator("#run-name").inner_text() == HOSTILE
    assert page.get_by_role("textbox", name="Notes").input_value() == HOSTILE_SCRIPT
    assert HOSTILE_SCRIPT in page.locator("table[aria-label=Config]").inner_text()
    open_view(page, f"#/p/demo?sel={hostile}")
    assert HOSTILE in page.evaluate(NAMES)
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('main script, #crumbs script').length") == 0
    assert page.evaluate("window.__pwned") is None


@pytest.fixture(scope="module")
def keyed_server(demo):
    from server_process import ServerProcess, make_key

    key = make_key(demo, user="carol", project="demo", access="write")
    srv = ServerProcess(demo).start()
    yield srv, key
    srv.stop()


def test_the_api_key_is_asked_once_and_kept_in_an_httponly_cookie(browser, keyed_server):
    srv, key = keyed_server
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{srv.url}/#/p/demo")
        page.get_by_label("API key").wait_for()
        page.get_by_label("API key").fill(key[:-3] + "zzz")
        page.get_by_role("button", name="Sign in").click()
        wait_js(page, "document.querySelector('form.signin .error').textContent.includes('not valid')")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        wait_js(page, "window.tracklet.ready && document.querySelectorAll('table.runs tbody tr[data-run]').length === 6")
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] == key
        assert page.evaluate("document.cookie") == "" and page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert key not in page.url and quote(key) not in page.url
        assert "carol" in page.locator("#who").inner_text()
        # a second visit needs no key
        page.goto("about:blank")
        page.goto(f"{srv.url}/#/")
        wait_js(page, "window.tracklet.ready && document.querySelector('main table')")
        projects = page.evaluate("[...document.querySelectorAll('main tbody tr td:first-child a')].map(a => a.textContent)")
        assert projects == ["demo"]  # the store holds more; the key reads only demo
        # a write with the cookie but without the dashboard's header is refused (CSRF)
        status = page.evaluate("async () => (await fetch('/api/v1/runs/x/edits', {method: 'POST', body: '{}'})).status")
        assert status == 403
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("API key").wait_for()
        assert context.cookies() == []
    finally:
        context.close()


def test_a_live_run_is_marked_and_its_new_steps_are_fetched(page, demo, tmp_path):
    from demo_store import start_live

    proc = start_live(demo, str(tmp_path))
    try:
        open_view(page, "#/p/live")
        assert page.locator("table.runs .state.running").inner_text() == "● running"
        wait_js(page, "window.tracklet.charts.get('train/loss') && Math.max(...window.tracklet.charts.get('train/loss').data[0]) === 99")
        page.evaluate("() => { window.__curveBodies = []; const f = window.fetch; window.fetch = (u, o) => {"
                      " if (String(u).endsWith('/curves')) window.__curveBodies.push(JSON.parse(o.body)); return f(u, o); }; }")
        (tmp_path / "more").touch()
        assert proc.stdout.readline().strip() == "logged 200"
        wait_js(page, "Math.max(...window.tracklet.charts.get('train/loss').data[0]) === 199", timeout=20)
        asked = page.evaluate("window.__curveBodies")
        assert asked and all(b.get("min_step") == 100 for b in asked[:1])  # only the steps after those held
        assert chart(page, "train/loss", "u.data[0].length") == 200
        wait_js(page, "window.tracklet.charts.get('val/loss')", timeout=20)  # a metric logged since the page opened
        assert chart(page, "val/loss", "Array.from(u.data[0])") == list(range(100, 200, 10))
        (tmp_path / "stop").touch()
        proc.wait(timeout=30)
        wait_js(page, "document.querySelector('table.runs .state').textContent === 'finished'", timeout=20)  # the row follows
    finally:
        (tmp_path / "stop").touch()
        proc.wait(timeout=30)
        proc.stdout.close()


def test_live_runs_at_different_steps_each_get_their_own_new_steps(page, demo, tmp_path):
    """Each live run is asked for the steps after its own last one (one run ahead must not make another skip steps),
    and a run that ends between two refreshes still brings its last steps."""
    from demo_store import start_live

    fast = start_live(demo, str(tmp_path), project="live2", name="fast", first=100, total=200)
    slow = start_live(demo, str(tmp_path), project="live2", name="slow", first=40, total=140, linger=False)
    count = ("(name) => { const u = window.tracklet.charts.get('train/loss'); const i = u.series.findIndex(s => s.label === name);"
             " return i > 0 ? u.data[i].filter(v => v != null).length : -1; }")
    try:
        open_view(page, "#/p/live2")
        assert page.evaluate(count, "fast") == 100 and page.evaluate(count, "slow") == 40
        page.evaluate("() => { window.__curveBodies = []; const f = window.fetch; window.fetch = (u, o) => {"
                      " if (String(u).endsWith('/curves')) window.__curveBodies.push(JSON.parse(o.body)); return f(u, o); }; }")
        (tmp_path / "more").touch()
        assert fast.stdout.readline().strip() == "logged 200" and slow.stdout.readline().strip() == "logged 140"
        slow.wait(timeout=30)  # ended: its last steps are still fetched
        wait_js(page, f"({count})('fast') === 200 && ({count})('slow') === 140", timeout=20)
        asked = page.evaluate("window.__curveBodies")
        first_asks = {b["runs"][0]: b.get("min_step") for b in reversed(asked)}  # each run's first ask after the touch
        names = {r["name"]: r["id"] for r in page.evaluate("window.tracklet.table.rows.map(r => ({name: r.name, id: r.id}))")}
        assert first_asks[names["fast"]] == 100 and first_asks[names["slow"]] == 40
        wait_js(page, "[...document.querySelectorAll('table.runs .state')].some(s => s.textContent === 'finished')", timeout=20)
    finally:
        (tmp_path / "more").touch()
        (tmp_path / "stop").touch()
        for proc in (fast, slow):
            proc.wait(timeout=30)
            proc.stdout.close()


# NVML as a machine with one GPU answers it: this CI machine has none, and the page is what is checked here
_NVML = """
class _Memory:
    total = 80 * 1024 ** 3
def nvmlInit(): pass
def nvmlSystemGetDriverVersion(): return "550.54.15"
def nvmlDeviceGetCount(): return 1
def nvmlDeviceGetHandleByIndex(i): return i
def nvmlDeviceGetName(h): return b"NVIDIA H100 80GB HBM3"
def nvmlDeviceGetMemoryInfo(h): return _Memory()
"""


def test_the_environment_shows_git_commit_and_dirty_diff_command_packages_host_and_gpu(page, demo, tmp_path):
    import os
    import socket
    import subprocess

    from demo_store import run_python

    repo = tmp_path / "repo"
    repo.mkdir()
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    (repo / "train.py").write_text("import tracklet\nrun = tracklet.init(project='env', name='dirty')\nrun.log({'loss': 1.0})\nrun.finish()\n")
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=git_env)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()
    with open(repo / "train.py", "a") as f:
        f.write("print('uncommitted <b>change</b>')\n")
    fake = tmp_path / "nvml"
    fake.mkdir()
    (fake / "pynvml.py").write_text(_NVML)
    run_python(demo, str(repo), "train.py", "--lr", "0.1", PYTHONPATH=str(fake))
    import httpx

    (run_id,) = [r["id"] for r in httpx.get(f"{page.base}/api/v1/runs?project=env").json()]
    open_view(page, f"#/p/env/run/{run_id}")
    table = page.locator("table[aria-label=Environment]")
    rows = dict(zip(table.locator("th").all_inner_texts(), table.locator("td").all_inner_texts()))
    assert rows["command"].endswith("train.py --lr 0.1") and rows["host"] == socket.gethostname()
    assert rows["gpu 0"] == "NVIDIA H100 80GB HBM3 · 80 GB · driver 550.54.15"
    git = page.locator("table[aria-label=Git]").inner_text()
    assert commit in git and "dirty\ttrue" in git
    page.get_by_text("Uncommitted changes (diff against").click()
    diff = page.get_by_label("Uncommitted changes").inner_text()
    assert "+print('uncommitted <b>change</b>')" in diff and "diff --git a/train.py b/train.py" in diff  # as text
    packages = page.locator("summary", has_text="Packages (").inner_text()
    assert int(packages.split("(")[1].rstrip(")")) > 5


def test_grouped_runs_are_drawn_as_mean_and_band(page, runs):
    sel = ",".join(runs[n] for n in ("lora-r8", "lora-r16", "lora-r32"))
    open_view(page, f"#/p/demo?sel={sel}&group=config.batch_size&panels=val/loss")
    labels = chart(page, "val/loss", "u.series.map(s => s.label)")
    assert labels[1:] == ["8 (3)", "8 (3) min", "8 (3) max"]
    mean, lo, hi = (chart(page, "val/loss", f"u.data[{i}]") for i in (1, 2, 3))
    assert all(v is not None for v in mean) and all(a <= m <= b for m, a, b in zip(mean, lo, hi))
    assert lo[-1] < mean[-1] < hi[-1]  # the runs part: the band holds all three, the mean lies between
    assert chart(page, "val/loss", "u.bands.length") == 1
    assert page.locator("tr.group-row", has_text="config.batch_size = 8 · 4 runs").count() == 1  # long-spike too


def test_the_runs_table_is_walked_with_the_keyboard(page):
    open_view(page, "#/p/demo")
    first = page.locator("table.runs tbody tr[data-run] input").first
    first.focus()
    page.keyboard.press("ArrowDown")
    second = page.evaluate("document.activeElement.closest('tr').dataset.run")
    assert second == page.locator("table.runs tbody tr[data-run]").nth(1).get_attribute("data-run")
    page.keyboard.press("Space")
    wait_js(page, f"location.hash.includes('sel={second}')")
    page.keyboard.press("End")
    last = page.locator("table.runs tbody tr[data-run]").last.get_attribute("data-run")
    assert page.evaluate("document.activeElement.closest('tr').dataset.run") == last
    page.keyboard.press("Enter")  # opens the run
    wait_js(page, f"location.hash.startsWith('#/p/demo/run/{last}') && document.getElementById('run-name')")


def test_system_metrics_are_read_when_asked_for(page, demo, tmp_path):
    from demo_store import run_python

    code = ("import time, tracklet\nrun = tracklet.init(project='sys', name='with-system')\n"
            "for i in range(10):\n    run.log({'train/loss': 1 / (i + 1)}); time.sleep(0.1)\nrun.finish()\n")
    run_python(demo, str(tmp_path), "-c", code, TRACKLET_SYSTEM_INTERVAL="0.2")
    open_view(page, "#/p/sys")
    assert not any(k.startswith("system/") for k in page.evaluate("[...window.tracklet.charts.keys()]"))
    page.get_by_text("system/ and other metrics").click()
    wait_js(page, "[...window.tracklet.charts.keys()].includes('system/cpu_percent')")
    assert "closed=%21system" in page.url or "closed=!system" in page.url
    open_view(page, page.url.split("/", 3)[3])  # the URL brings them back at once
    wait_js(page, "[...window.tracklet.charts.keys()].includes('system/cpu_percent')")
