"""tracklet.plot charts drawn on the Media tab, and one media key of several runs side by side on the workspace: the
images at the step of a slider (each run's last logged step at or before it), histograms, tables and charts."""

from __future__ import annotations

import httpx
import pytest

from browser_helpers import wait_js
from conftest import open_view
from demo_store import COMPARE_STEPS, HOSTILE_SCRIPT

pytestmark = pytest.mark.e2e

PLOT = "window.tracklet.charts.get('plot:{}')"


@pytest.fixture(scope="module")
def media_run(server):
    return httpx.get(f"{server.url}/api/v1/runs?project=media").json()[0]["id"]


@pytest.fixture(scope="module")
def compare(server):
    """Run id by name and, per run, the digest of its ``samples`` image at each step (from the API, not the page)."""
    runs = {r["name"]: r["id"] for r in httpx.get(f"{server.url}/api/v1/runs?project=compare").json()}
    digests = {name: {e["step"]: e["digest"] for e in httpx.get(f"{server.url}/api/v1/runs/{rid}/media?key=samples").json()}
               for name, rid in runs.items()}
    assert {name: sorted(d) for name, d in digests.items()} == COMPARE_STEPS
    return runs, digests


def _plot(page, run_id: str, key: str):
    open_view(page, f"#/p/media/run/{run_id}?tab=media&mkey={key}")
    return wait_js(page, f"{PLOT.format(key)} && {PLOT.format(key)}.data")


def test_a_line_plot_is_drawn_with_its_title_and_axes_and_its_table_a_click_away(page, media_run):
    x, y = _plot(page, media_run, "plots/loss")
    assert x == list(range(30))
    assert y == pytest.approx([1.0 / (e + 1) for e in range(30)])
    assert page.evaluate(f"{PLOT.format('plots/loss')}.axes.map(a => a.label)") == ["epoch", "loss"]
    assert page.locator(".plot-title").inner_text() == "Loss by epoch"
    assert page.get_by_role("img", name="line chart Loss by epoch: loss by epoch, 1 series, 30 rows").is_visible()
    assert page.locator("table.media-rows").count() == 0
    page.locator(".plot-table summary").click()  # the table it is drawn from, in the viewer
    wait_js(page, "window.tracklet.tableView && window.tracklet.tableView.ready")
    assert page.locator(".table-view .count").inner_text() == "30 rows"

    x, down, up = _plot(page, media_run, "plots/series")  # line_series: a line per key
    assert (x, down, up) == ([0, 1, 2, 3], [4, 3, 2, 1], [1, 2, 3, 4])
    assert page.locator(".plot-figure .legend").inner_text().split() == ["down", "up"]
    assert page.evaluate(f"{PLOT.format('plots/series')}.axes[0].label") == "epoch"


def test_a_bar_plot_draws_one_bar_per_row_and_its_title_as_text(page, media_run):
    x, counts = _plot(page, media_run, "plots/classes")
    assert (x, counts) == ([0, 1, 2, 3], [10, 20, 30, 40])
    assert page.locator(".plot-title").inner_text() == HOSTILE_SCRIPT  # the title is text, never markup
    assert page.evaluate("window.__pwned") is None
    # read the canvas (off the grid lines, drawn at whole x): filled at half of each bar's height, empty between
    # bars and above the shortest
    painted = """(() => { const u = %s;
      const at = (x, y) => u.ctx.getImageData(Math.round(u.valToPos(x, 'x', true)), Math.round(u.valToPos(y, 'y', true)), 1, 1).data[3] > 0;
      return {bars: [0, 1, 2, 3].filter(i => at(i + 0.2, u.data[1][i] / 2)).length,
              gaps: [0.5, 1.5, 2.5].filter(x => at(x, 5)).length, above: at(0.2, 15)}; })()""" % PLOT.format("plots/classes")
    assert page.evaluate(painted) == {"bars": 4, "gaps": 0, "above": False}

    _, counts = _plot(page, media_run, "plots/dist")  # a histogram plot: bins of the column, every row counted
    assert sum(counts) == 400 and len(counts) == 20


def test_a_confusion_matrix_is_a_shaded_grid_and_a_roc_curve_a_line_per_class(page, media_run):
    cells = _plot(page, media_run, "plots/confusion")
    assert cells == {"actual": ["cat", "dog", "bird"], "predicted": ["cat", "dog", "bird"],
                     "counts": [[1, 1, 0], [0, 1, 0], [1, 0, 2]]}
    grid = page.get_by_role("table", name="Confusion: actual class (rows) by predicted class (columns)")
    assert grid.locator("tbody tr").nth(2).locator("td").all_inner_texts() == ["1", "0", "2"]
    assert grid.locator("tbody th").all_inner_texts() == ["cat", "dog", "bird"]
    shades = grid.locator("td").evaluate_all("tds => tds.map(td => getComputedStyle(td).backgroundColor)")
    assert shades[8] != shades[2]  # the largest count is shaded, an empty cell is not

    x, neg, pos = _plot(page, media_run, "plots/roc")  # one line per class, false positive rate across
    assert page.locator(".plot-figure .legend").inner_text().split() == ["neg", "pos"]
    assert page.evaluate(f"{PLOT.format('plots/roc')}.axes.map(a => a.label)") == ["fpr", "tpr"]
    assert x[0] == 0 and x[-1] == 1 and max(v for v in pos if v is not None) == 1


def test_two_runs_images_side_by_side_follow_the_step_slider(page, compare):
    runs, digests = compare
    open_view(page, "#/p/compare?mkey=samples&mstep=8")
    wait_js(page, "window.tracklet.mediaReady")
    shown = """Object.fromEntries([...document.querySelectorAll('.media-column')].map(c =>
      [c.querySelector('h3').textContent, [Number(c.dataset.step), c.querySelector('img').dataset.digest,
       c.querySelector('img').complete && c.querySelector('img').naturalWidth]]).sort())"""

    def at(a: int, b: int) -> dict:
        return {"cmp-a": [a, digests["cmp-a"][a], 24], "cmp-b": [b, digests["cmp-b"][b], 24]}

    wait_js(page, f"Object.values({shown}).every(v => v[2] === 24)")
    assert page.evaluate(shown) == at(5, 8)  # the slider at 8: cmp-a's last image at or before it is step 5's
    captions = page.locator(".media-column figcaption").all_inner_texts()
    assert sorted(c.split(" · ")[0] for c in captions) == [f"cmp-a 5 {HOSTILE_SCRIPT}", f"cmp-b 8 {HOSTILE_SCRIPT}"]

    slider = page.get_by_label("Step of samples across runs")
    slider.focus()
    page.keyboard.press("End")  # the keyboard moves the slider; both columns follow
    wait_js(page, f"JSON.stringify({shown}) === JSON.stringify({at(10, 12)})")
    assert "mstep=12" in page.url and "mkey=samples" in page.url
    page.keyboard.press("Home")
    wait_js(page, f"JSON.stringify(Object.values({shown}).map(v => v[0])) === '[0,0]'")
    assert page.evaluate(shown) == at(0, 0)
    page.keyboard.press("ArrowRight")  # step 4: cmp-a has none at 4, it keeps step 0's
    wait_js(page, f"JSON.stringify(Object.values({shown}).map(v => v[0]).sort()) === '[0,4]'")
    assert page.evaluate(shown) == at(0, 4)

    page.wait_for_load_state("networkidle")  # the neighbouring steps were read ahead: moving on asks for nothing
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.keyboard.press("ArrowRight")
    wait_js(page, f"window.tracklet.mediaReady && JSON.stringify(Object.values({shown}).map(v => v[0]).sort()) !== '[0,4]'")
    wait_js(page, f"Object.values({shown}).every(v => v[2] === 24)")
    assert [u for u in asked if "/media" in u or "/blobs/" in u] == []


def test_a_histogram_key_a_table_key_and_a_plot_key_across_runs(page, compare):
    runs, _ = compare
    open_view(page, "#/p/compare?mkey=samples")
    wait_js(page, "window.tracklet.mediaReady")
    page.get_by_label("Media key").select_option("weights")
    wait_js(page, "window.tracklet.mediaReady && document.querySelectorAll('.media-column canvas').length === 2")
    assert "mkey=weights" in page.url
    for name, step in (("cmp-a", 10), ("cmp-b", 12)):
        canvas = page.get_by_role("img", name=f"Histogram weights of {name} at step {step}: 16 bins", exact=False)
        assert canvas.evaluate("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)")

    page.get_by_label("Media key").select_option("preds")
    wait_js(page, "window.tracklet.mediaReady && document.querySelectorAll('.table-summary').length === 2")
    sizes = page.evaluate("[...document.querySelectorAll('.media-column')].map(c => [c.querySelector('h3').textContent, "
                          "c.querySelector('.table-summary p').textContent, c.querySelector('.table-summary a').getAttribute('href')])")
    assert sorted(sizes) == [
        ["cmp-a", "5 rows × 3 columns", f"#/p/compare/run/{runs['cmp-a']}?tab=media&mkey=preds&mstep=10"],
        ["cmp-b", "6 rows × 3 columns", f"#/p/compare/run/{runs['cmp-b']}?tab=media&mkey=preds&mstep=12"]]
    assert page.locator(".media-column .columns-list").first.inner_text().split() == ["id", "int", "text", "str", "score", "float"]

    page.get_by_label("Media key").select_option("curve")
    for n, name in enumerate(("cmp-a", "cmp-b")):
        x, y = wait_js(page, f"window.tracklet.mediaReady && {PLOT.format('curve:' + runs[name])} && {PLOT.format('curve:' + runs[name])}.data")
        assert x == list(range(10)) and y == [i * (n + 1) for i in range(10)]
    page.get_by_role("link", name="Open in cmp-b's Media tab").click()
    wait_js(page, f"{PLOT.format('curve')} && {PLOT.format('curve')}.data")
    assert page.locator(".plot-title").inner_text() == "curve of cmp-b"


def test_the_media_section_works_in_a_narrow_window(make_page, compare):
    page = make_page(viewport={"width": 420, "height": 900})
    page.goto(f"{page.base}/#/p/compare?mkey=samples&mstep=12")
    wait_js(page, "window.tracklet && window.tracklet.mediaReady")
    boxes = page.evaluate("[...document.querySelectorAll('.media-column')].map(c => c.getBoundingClientRect().right)")
    assert len(boxes) == 2 and max(boxes) <= 420  # one column under the other, nothing past the window
