"""The rest of issue 12's dashboard, used as a user would: projects search, column picker, search by name or tag,
hover legend, log scale, wall time, panel picker, editing a run, the model registry, a narrow window, the dark theme."""

from __future__ import annotations

import pytest

from browser_helpers import wait_js
from conftest import open_view
from test_dashboard import NAMES, chart

pytestmark = pytest.mark.e2e


def test_projects_are_searched(page):
    open_view(page, "#/")
    projects = "[...document.querySelectorAll('main tbody tr td:first-child a')].map(a => a.textContent)"
    assert {"demo", "llm", "media"} <= set(page.evaluate(projects))
    page.get_by_label("Search projects").fill("DEM")
    wait_js(page, f"JSON.stringify({projects}) === JSON.stringify(['demo'])")
    assert "q=DEM" in page.url
    page.get_by_label("Search projects").fill("no-such-project")
    wait_js(page, "document.querySelector('main tbody').textContent.includes('No project matches')")


def test_a_column_from_the_picker_sorts_and_runs_are_searched_by_name_or_tag(page):
    open_view(page, "#/p/demo")
    headers = "[...document.querySelectorAll('table.runs thead th[data-key]')].map(t => t.dataset.key)"
    assert "summary.val/acc" not in page.evaluate(headers)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Find a column key").fill("val/acc")
    page.get_by_label("summary.val/acc").check()
    wait_js(page, f"{headers}.includes('summary.val/acc')")
    assert "summary.val%2Facc" in page.url or "summary.val/acc" in page.url
    page.locator("table.runs thead th[data-key='summary.val/acc'] button").click()  # ascending; runs without it last
    assert page.evaluate(NAMES)[:3] == ["lora-r32", "lora-r16", "lora-r8"]  # a smaller r learns faster here
    page.locator("table.runs thead th[data-key='summary.val/acc'] button").click()
    assert page.evaluate(NAMES)[:3] == ["lora-r8", "lora-r16", "lora-r32"]
    page.get_by_label("Search runs by name or tag").fill("R16")  # the name, any case
    wait_js(page, f"JSON.stringify({NAMES}) === JSON.stringify(['lora-r16'])")
    page.get_by_label("Search runs by name or tag").fill("long")  # a tag
    wait_js(page, f"JSON.stringify({NAMES}) === JSON.stringify(['long-spike'])")
    assert "q=long" in page.url


def test_hover_legend_log_scale_wall_time_and_the_panel_picker(page, runs):
    sel = ",".join(runs[n] for n in ("lora-r8", "lora-r32"))
    open_view(page, f"#/p/demo?sel={sel}&panels=train/loss,val/loss")
    assert sorted(page.evaluate("[...window.tracklet.charts.keys()]")) == ["train/loss", "val/loss"]
    # hovering a panel: its legend names each run's value at that x
    box = page.locator("figure.panel[data-key='train/loss'] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    legend = page.locator("figure.panel[data-key='train/loss'] .legend")
    wait_js(page, "!document.querySelector(\"figure.panel[data-key='train/loss'] .legend\").textContent.startsWith('last')")
    at = chart(page, "train/loss", "u.data[0][u.cursor.idx]")
    text = legend.inner_text()
    assert text.startswith(f"{at} ·") and "lora-r8: " in text and "lora-r32: " in text
    # log scale
    page.get_by_label("Log scale").check()
    wait_js(page, "window.tracklet.charts.get('train/loss').scales.y.distr === 3")
    assert "log=1" in page.url
    # wall time: a time axis of the runs' timestamps
    page.get_by_label("X-axis").select_option("_timestamp")
    wait_js(page, "window.tracklet.ready && window.tracklet.charts.get('train/loss') && "
                  "window.tracklet.charts.get('train/loss').data[0][0] > 1.7e9")
    assert chart(page, "train/loss", "u.scales.x.time") is True and "x=_timestamp" in page.url
    assert chart(page, "train/loss", "u.scales.y.distr") == 3  # log scale kept
    # the panel picker: one panel off
    page.get_by_text("Panels", exact=True).click()
    page.locator(".chart-tools .picker-list input[data-key='val/loss']").uncheck()
    wait_js(page, "window.tracklet.ready && !window.tracklet.charts.has('val/loss') && window.tracklet.charts.has('train/loss')")
    assert "panels=train%2Floss" in page.url or "panels=train/loss" in page.url


def test_a_finished_run_is_renamed_tagged_and_noted(page, demo, tmp_path):
    import httpx

    from demo_store import run_python

    code = "import tracklet\nrun = tracklet.init(project='edit', name='before')\nrun.log({'loss': 1.0})\nrun.finish()\n"
    run_python(demo, str(tmp_path), "-c", code)
    (run_id,) = [r["id"] for r in httpx.get(f"{page.base}/api/v1/runs?project=edit").json()]
    open_view(page, f"#/p/edit/run/{run_id}")
    page.get_by_label("Run name").fill("after")
    page.get_by_label("Tags (comma separated)").fill("good, baseline")
    page.get_by_role("textbox", name="Notes").fill("best so far")
    page.get_by_role("button", name="Save").click()
    wait_js(page, "document.getElementById('toast').textContent === 'Saved.'")
    assert page.locator("#run-name").inner_text() == "after"
    run = wait_js(page, "fetch('/api/v1/runs/" + run_id + "').then(r => r.json()).then(r => r.name === 'after' && r)")
    assert run["tags"] == ["good", "baseline"] and run["notes"] == "best so far"
    open_view(page, "#/p/edit")
    assert page.evaluate(NAMES) == ["after"]
    assert page.locator("table.runs tbody .tag").all_inner_texts() == ["good", "baseline"]


def test_the_registry_shows_versions_aliases_and_the_audit_trail(page):
    open_view(page, "#/")
    page.get_by_role("link", name="Model registry").click()
    page.get_by_role("link", name="chat-adapter").click()
    wait_js(page, "document.querySelectorAll('main table').length === 2")
    versions = page.locator("main section", has_text="Versions").locator("tbody tr")
    assert versions.count() == 1
    assert versions.first.locator(".alias").all_inner_texts() == ["production"]
    assert "demo/adapter:v0" in versions.first.inner_text()
    trail = page.locator("main section", has_text="Audit trail").locator("tbody tr")
    actions = [trail.nth(i).locator("td").nth(2).inner_text() for i in range(trail.count())]
    assert actions == ["link", "alias"] and "production" in trail.nth(1).inner_text()
    versions.first.get_by_role("link").click()  # to the artifact version and its lineage
    wait_js(page, "document.querySelector('.lineage .node.current')")
    assert "adapter:v0" in page.locator(".lineage .node.current").inner_text()


def test_the_workspace_in_a_narrow_window_and_the_dark_theme(make_page, runs):
    page = make_page(viewport={"width": 400, "height": 900}, color_scheme="dark")
    open_view(page, f"#/p/demo?sel={runs['lora-r8']}")
    wait_js(page, "window.tracklet.charts.get('train/loss')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # the page itself never scrolls sideways
    right = page.evaluate("Math.max(...[...document.querySelectorAll('figure.panel')].map(f => f.getBoundingClientRect().right))")
    assert right <= 400
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    rgb = [int(v) for v in background[background.index("(") + 1:background.index(")")].split(",")[:3]]
    assert sum(rgb) < 3 * 80, background  # dark, following the system
    page.get_by_label("Compare lora-r16").check()  # the table is still usable
    wait_js(page, "window.tracklet.ready && window.tracklet.charts.get('train/loss').series.some(s => s.label === 'lora-r16')")


def test_the_config_is_compared_with_a_run_of_another_project(page, runs):
    import httpx

    other = httpx.get(f"{page.base}/api/v1/runs?project=tune").json()[0]
    open_view(page, f"#/p/demo/run/{runs['lora-r16']}")
    page.expected_console.append("status of 404")  # the unknown id below, asked on purpose
    page.get_by_label("Compare the config with a run of any project, by id").fill("nosuchrun")
    page.get_by_label("Compare the config with a run of any project, by id").press("Enter")
    wait_js(page, "document.getElementById('toast').textContent.startsWith('No run nosuchrun')")
    page.get_by_label("Compare the config with a run of any project, by id").fill(f"tune/{other['id']}")
    page.get_by_label("Compare the config with a run of any project, by id").press("Enter")
    wait_js(page, "document.querySelector('table.diff-table')")
    assert f"diff={other['id']}" in page.url
    assert page.get_by_label("Compare the config with another run").input_value() == other["id"]
    differing = page.evaluate("[...document.querySelectorAll('table.diff-table tr.diff th')].map(t => t.textContent)")
    assert "lora_r" in differing and set(other["config"]) & set(differing)
    open_view(page, page.url.split("/", 3)[3])  # the link shows the same comparison
    assert page.get_by_label("Compare the config with another run").input_value() == other["id"]
    assert f"tune/{other['id']}" in page.get_by_label("Compare the config with another run").inner_text()


def test_dragging_zooms_in_at_full_resolution_and_reset_and_double_click_zoom_out(page, runs):
    open_view(page, f"#/p/demo?sel={runs['long-spike']}&panels=train/loss")
    full = chart(page, "train/loss", "[u.data[0].length, u.data[0][0], u.data[0][u.data[0].length - 1]]")
    over = page.locator("figure.panel[data-key='train/loss'] .u-over")
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5 + 3, y, steps=2)  # 3 px of ~1,000: about 300 steps
    page.mouse.up()
    wait_js(page, "(() => { const d = window.tracklet.charts.get('train/loss').data[0];"
                  " return d.length > 100 && d.every((x, i) => !i || x - d[i - 1] === 1); })()")  # every step in the window
    assert page.get_by_role("button", name="Reset zoom of train/loss").is_visible()
    page.get_by_role("button", name="Reset zoom of train/loss").click()
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length === {full[0]}")
    assert chart(page, "train/loss", "[u.scales.x.min <= u.data[0][0], u.scales.x.max >= u.data[0][u.data[0].length - 1]]") == [True, True]
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2 + 3, y, steps=2)
    page.mouse.up()
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length !== {full[0]}")
    over.dblclick()
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length === {full[0]}")


def test_artifacts_by_type_versions_aliases_and_metadata(page):
    open_view(page, "#/p/demo")
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Artifacts").click()
    wait_js(page, "document.querySelectorAll('main section[aria-label$=\" artifacts\"]').length >= 2")
    assert page.locator("section[aria-label='dataset artifacts'] a").all_inner_texts() == ["corpus"]
    assert page.locator("section[aria-label='model artifacts'] a").all_inner_texts() == ["adapter"]
    page.get_by_role("link", name="adapter").click()
    wait_js(page, "document.querySelector('ul.tree')")
    head = page.locator("main h2", has_text="adapter:v0")
    assert sorted(head.locator(".alias").all_inner_texts()) == ["best", "latest"]
    assert page.locator("ul.tree li.file").inner_text().startswith("adapter.bin 4.0 KiB ")  # its size and digest
    page.get_by_role("tab", name="Metadata").click()
    wait_js(page, "document.querySelector('main pre.code')")
    assert '"lora_r": 16' in page.locator("main pre.code").inner_text()


def test_a_run_page_lists_the_artifacts_it_used_and_produced(page, runs):
    open_view(page, f"#/p/demo/run/{runs['lora-r16']}?tab=artifacts")
    wait_js(page, "document.querySelectorAll('#tab-panel section').length === 2")
    used = page.locator("#tab-panel section", has_text="Used")
    made = page.locator("#tab-panel section", has_text="Produced")
    assert used.get_by_role("link").all_inner_texts() == ["corpus:v0"] and "dataset" in used.inner_text()
    assert made.get_by_role("link").all_inner_texts() == ["adapter:v0"] and "best" in made.inner_text()
    made.get_by_role("link", name="adapter:v0").click()
    wait_js(page, "document.querySelector('ul.tree')")
    assert "/artifacts/adapter" in page.url


def test_a_run_pages_system_tab_charts_its_system_metrics(page, demo, tmp_path):
    import httpx

    from demo_store import run_python

    code = ("import time, tracklet\nrun = tracklet.init(project='sys-tab', name='sampled')\n"
            "for i in range(10):\n    run.log({'loss': 1 / (i + 1)}); time.sleep(0.1)\nrun.finish()\n")
    run_python(demo, str(tmp_path), "-c", code, TRACKLET_SYSTEM_INTERVAL="0.2")
    (run_id,) = [r["id"] for r in httpx.get(f"{page.base}/api/v1/runs?project=sys-tab").json()]
    open_view(page, f"#/p/sys-tab/run/{run_id}")
    page.get_by_role("tab", name="System").click()
    wait_js(page, "window.tracklet.ready && window.tracklet.charts.has('system/cpu_percent')")
    assert chart(page, "system/cpu_percent", "u.data[0].length") >= 2  # sampled more than once, drawn against run time
    assert page.get_by_role("tab", name="System").get_attribute("aria-selected") == "true" and "tab=system" in page.url


def test_zooming_on_another_metric_as_x_fetches_that_window_at_full_resolution(page, demo, tmp_path):
    import httpx

    from demo_store import run_python

    code = ("import tracklet\nrun = tracklet.init(project='tokens', name='by-tokens')\n"
            "for step in range(20000):\n"
            "    run.log({'train/loss': 9.0 if step == 12345 else 1.0 + (step % 7) * 0.01, 'tokens': step * 512})\n"
            "run.finish()\n")
    run_python(demo, str(tmp_path), "-c", code)
    (run_id,) = [r["id"] for r in httpx.get(f"{page.base}/api/v1/runs?project=tokens").json()]
    open_view(page, f"#/p/tokens?sel={run_id}&panels=train/loss&x=tokens")
    xs = chart(page, "train/loss", "Array.from(u.data[0])")
    assert len(xs) < 2_000 and chart(page, "train/loss", "Math.max(...u.data.slice(1).flat().filter(v => v != null))") == 9.0
    lo, hi = 12_300 * 512, 12_400 * 512  # 101 steps around the spike
    page.evaluate("() => { window.__curveBodies = []; const f = window.fetch; window.fetch = (u, o) => {"
                  " if (String(u).endsWith('/curves')) window.__curveBodies.push(JSON.parse(o.body)); return f(u, o); }; }")
    page.evaluate(f"() => window.tracklet.charts.get('train/loss').setScale('x', {{min: {lo}, max: {hi}}})")
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length === 101")
    (asked,) = page.evaluate("window.__curveBodies")
    assert asked["x"] == "tokens" and asked["min_x"] == lo and asked["max_x"] == hi and "min_step" not in asked
    assert chart(page, "train/loss", "Array.from(u.data[0])") == [step * 512 for step in range(12_300, 12_401)]
    assert chart(page, "train/loss", f"u.data[1][u.data[0].indexOf({12_345 * 512})]") == 9.0  # every point, the spike's too
    page.get_by_role("button", name="Reset zoom of train/loss").click()
    wait_js(page, f"window.tracklet.charts.get('train/loss').data[0].length === {len(xs)}")
